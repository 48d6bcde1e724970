"""The command line: funnel output for scripts, reports, and clear errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd

from screening.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = str(ROOT / "data" / "synthetic")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_funnel_csv(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "csv", "--small-cell", "0")
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert table["remaining"].iloc[-1] == 18 and table["entering"].iloc[0] == 54


def test_funnel_json_with_override(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "json", "--small-cell", "0",
                       "--set", "sledai.min=5")
    rows = json.loads(out)
    assert rows[-1]["remaining"] == 19


def test_funnel_suppresses_by_default(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "csv")
    assert code == 0 and "≤10" in out


def test_bad_path_parameter_and_protocol_exit_2():
    code, _, err = run("funnel", "--data", "/no/such/folder")
    assert code == 2 and "expected a folder" in err
    code, _, err = run("funnel", "--data", DATA, "--set", "sledai.minimum=4")
    assert code == 2 and "Did you mean min" in err
    code, _, err = run("funnel", "--data", DATA, "--protocol", "nope.yaml")
    assert code == 2 and "shipped protocol" in err
    code, _, err = run("funnel", "--data", DATA, "--set", "sledai.min")
    assert code == 2 and "name=value" in err


def test_report_tables_only(tmp_path):
    code, out, err = run("report", "--data", DATA, "--out", str(tmp_path / "r"), "--tables-only")
    assert code == 0 and (tmp_path / "r" / "tables" / "attrition.csv").exists()
    assert "loading" in err  # progress goes to stderr
    code, _, err = run("report", "--data", DATA, "--out", str(tmp_path / "r"), "--tables-only")
    assert code == 2 and "already exists" in err


def test_protocols_listing():
    code, out, _ = run("protocols")
    assert "misle-phase2" in out and "misle-phase1-pilot" in out


def test_rules_lists_every_rule_and_parameter():
    from screening.rules.criteria import RULES

    code, out, _ = run("rules")
    assert code == 0
    for r in RULES.values():
        assert f"{r.name}: {r.doc}" in out
        for name in r.params:
            assert f"  {name}: " in out, f"{r.name}.{name}"
    assert "  min_age: whole number [years], default 18. youngest age allowed, inclusive." in out
    assert "      allowed: A, B, C, D, E" in out


def test_protocols_show_prints_each_criterion_with_its_parameters():
    code, out, _ = run("protocols", "--show", "misle-phase1-pilot")
    assert code == 0
    assert out.startswith("misle-phase1-pilot: UC-MSCs in SLE, Phase 1 pilot (NCT03171194)")
    assert (" 4. sledai (inclusion): SLEDAI-2K 4–10\n    rule sledai; source: Inclusion 4\n"
            "    min = 4\n    max = 10") in out
    assert "consent (screening_visit): Informed consent" in out


def test_lint_exits_1_on_errors(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("extends: misle-phase2\nset: {belimumab.drugs: [], belimumab.months: 0}\n", encoding="utf-8")
    code, out, _ = run("lint", "--protocol", str(path))
    assert code == 1
    assert "error: belimumab.drugs: names no drug and no class: the criterion is never met" in out
    code, out, _ = run("lint", "--protocol", "misle-phase2")
    assert code == 0 and out.strip() == "misle-phase2: 0 findings"


def run_process(*args: str) -> tuple[int, str]:
    """The CLI as a user runs it: argparse errors exit before main's handler."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "screening", *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr


def test_bad_command_lines_exit_2_with_one_message(boundary_dir):
    cases = [
        (("funnel", "--data", str(boundary_dir), "--small-cell", "-5"),
         "argument --small-cell: expected a whole number of at least 0 (0 turns suppression off), got -5"),
        (("funnel", "--data", str(boundary_dir), "--set", "sledai.min=.nan"),
         "error: --set, sledai.min: expected a finite number."),
        (("funnel", "--data", str(boundary_dir), "--set", "bilag.grades=Z"),
         "error: --set, bilag.grades: expected values from A, B, C, D, E."),
        (("funnel", "--data", str(boundary_dir), "--baseline", "2024-06-15"),
         "--baseline, --before and --index apply to omop: and synthea: sources"),
        (("funnel", "--data", f"omop:{boundary_dir}", "--index", "visits"),
         "funnel prints the funnel at baseline only, so index dates (visits) would be read and then ignored"),
        (("funnel", "--data", f"synthea:{boundary_dir}"),
         "patients.csv, column 'ID, BIRTHDATE': expected the columns of a Synthea patients.csv"),
    ]
    for args, message in cases:
        code, err = run_process(*args)
        assert code == 2, args
        assert message in err, (args, err)
        assert "Traceback" not in err


def test_funnel_ends_with_the_headline_in_one_line(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--small-cell", "0")
    _, csv, _ = run("funnel", "--data", str(boundary_dir), "--small-cell", "0", "--format", "csv")
    unknown = int(pd.read_csv(io.StringIO(csv))["not_assessable"].sum())
    assert code == 0 and max(map(len, out.splitlines())) <= 100
    assert out.splitlines()[-1] == f"eligible 18 of 54 · not assessable {unknown} · range 18 to {18 + unknown} · " \
        "counts exact"


def test_funnel_json_gives_counts_as_numbers_and_small_ones_as_text(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["entering"] == 55 and rows[0]["pct_of_total"] == 100.0
    assert {type(r["excluded"]) for r in rows} == {int, str} and {r["excluded"] for r in rows} & {"≤10"}


def test_funnel_by_takes_age_band_and_refuses_by_without_a_table():
    from screening.cli import build_parser

    assert build_parser().parse_args(["funnel", "--table", "makeup", "--by", "age_band"]).by == "age_band"
    code, _, err = run("funnel", "--by", "sex")
    assert code == 2 and "--by needs --table makeup, differential or leave_one_out" in err


def test_every_python_line_of_the_makefile_imports_what_it_names():
    """`make network` named a function the package had moved: each `-c "from X import Y"` must still import."""
    import importlib
    import re

    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    found = re.findall(r'-c "from ([\w.]+) import ([\w, ]+);', makefile)
    assert found
    for module, names in found:
        for name in names.split(","):
            assert hasattr(importlib.import_module(module), name.strip()), (module, name)
