"""Every rule carries every engine's form, a spec file of its own and a soundness case.

A rule added with only its pandas mask, or without hand-written answers, fails here: add its
naive and SQL forms beside it (``lib/screening/rules/README.md``), ``tests/spec/test_<rule>.py``,
and a case in ``tests/test_soundness.py`` (a shipped protocol using it is enough).
"""

from pathlib import Path

from screening.rules.library import RULES
from screening.rules.registry import ENGINES

SPEC = Path(__file__).parent


def test_every_rule_has_every_engine():
    missing = {name: [e for e in ENGINES if getattr(r, e) is None] for name, r in RULES.items()}
    assert {name: engines for name, engines in missing.items() if engines} == {}


def test_every_rule_has_a_spec_file_that_calls_it():
    lacking = [name for name in RULES if not (SPEC / f"test_{name}.py").exists()
               or f'"{name}"' not in (SPEC / f"test_{name}.py").read_text(encoding="utf-8")]
    assert lacking == []


def test_every_rule_has_a_soundness_case():
    from test_soundness import CASES

    assert set(RULES) - {name for name, _ in CASES} == set()


def test_the_spec_runs_every_engine():
    from conftest import ENGINES as SPEC_ENGINES

    assert SPEC_ENGINES == ["pandas", "naive", "duckdb", "postgres"]
