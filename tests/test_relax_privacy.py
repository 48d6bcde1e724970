"""The shareable relaxation tables (Shapley shares, best relaxations, near-miss histogram) under attack.

An outsider reads the written tables, turns each label into an interval, and solves linear programs over
every relation the library declares, plus what the closed form of the Shapley value adds (a criterion's
share lies within half-way between its unique and alone exclusions, which the library cannot state
without a constant term). No count of 1 to 10 in those tables may be narrowed below three values: the
rule the library's own audit applies (an empty cell holds no one to identify).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shown
from lp_attack import narrowed
from screening import load_extract, screen
from screening.disclosure.audit import audit
from screening.disclosure.rule import MIN_VALUES, SmallCellRule
from screening.disclosure.shareable import published_counts, shareable_tables
from screening.synth.synthetic import generate, write_extract

RULE = SmallCellRule(10, 5)
RELAX = ("shapley", "relaxations", "near_misses")


def _outsider(pub, tables: dict[str, pd.DataFrame]) -> list[tuple]:
    names, bounds = [], []
    top = 10 * max(pub.cells.values)
    for (table, row, col), i in sorted(pub.cells._index.items(), key=lambda kv: kv[1]):
        label = shown.label(pub, tables, table, row, col)
        bounds.append(tuple(int(v) for v in RULE.intervals([label], cap=top)[0]))
        # Attack the relaxation tables' small counts holding someone; every other count still constrains them.
        names.append(((table, row, col), label if table in RELAX and pub.cells.values[i] >= 1 else "(other)"))
    one = len(names)
    names.append((("one",), "1"))
    bounds.append((1, 1))
    extra = []
    crit = pub.tables["criteria"]
    for j in range(len(crit)):  # 2 × apportioned Shapley ≤ unique + alone + 2 (its fraction plus 1 each side)
        w, u, a = (pub.cells[pub._r(n)] for n in (("shapley", j, "shapley"), ("criteria", j, "excluded_uniquely"),
                                                   ("criteria", j, "excluded_alone")))
        extra.append({w: 2, u: -1, a: -1, one: -2})
    return narrowed(names, bounds, pub.cells.equalities, pub.cells.inequalities + extra, RULE.small, MIN_VALUES)


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
@pytest.mark.parametrize("n, seed", [(5000, None), (2000, 11)], ids=["bundled", "2000-seed-11"])
def test_no_small_relaxation_count_can_be_recovered(n, seed, tmp_path):
    ex = load_extract("data/synthetic") if seed is None else load_extract(write_extract(generate(n, seed), tmp_path))
    s = screen(ex)
    tables = shareable_tables(s, RULE)
    assert set(RELAX) <= set(tables) and all(len(tables[t]) for t in RELAX)
    pub = published_counts(s, RULE)
    shown.states(pub, tables)  # the attacker sees exactly what was shared
    assert audit(pub.cells) == []
    assert _outsider(pub, tables) == []


def test_shared_relaxation_tables_hold_only_rounded_counts(synthetic_extract):
    s = screen(synthetic_extract)
    tables = shareable_tables(s, RULE)
    for name, columns in {"shapley": ["shapley"], "relaxations": ["eligible", "not_assessable"],
                          "near_misses": ["patients"]}.items():
        for col in columns:
            for v in tables[name][col].astype(str):
                assert v in ("≤10", "*") or (int(v) >= 15 and int(v) % 5 == 0), (name, col, v)
    # No patient identifier, and Shapley shares from the rounded counts alone.
    ids = set(synthetic_extract.patients.index)
    for name in ("shapley", "relaxations", "near_misses"):
        assert not ids & set(tables[name].astype(str).to_numpy().ravel())
    shap = tables["shapley"].set_index("criterion")
    excluded = int(tables["headline"]["patients"].iloc[4])
    assert float(shap.loc["sledai", "share_of_excluded"]) == round(100 * int(shap.loc["sledai", "shapley"]) /
                                                                   excluded, 1)
    # The best relaxations of one criterion are listed by name, each with its rounded pool.
    exact = s.relaxations(1)
    best = exact[exact["n_dropped"] == 1].head(5).sort_values("dropped")
    shown = tables["relaxations"][tables["relaxations"]["n_dropped"] == 1]
    assert shown["relaxation"].tolist() == best["dropped"].tolist()
    assert shown["eligible"].tolist() == RULE.labels(best["eligible"])


def test_declared_relations_hold_and_tie_near_misses_to_the_sweeps(synthetic_extract):
    """SLEDAI ≥ 5 gains exactly the 1-point near misses (a missing score stays unknown): declared both ways."""
    s = screen(synthetic_extract)
    pub = published_counts(s, RULE)
    names = pub.cells.names
    sweeps = pub.tables["sweeps"]
    i = int(np.flatnonzero((sweeps["parameter"] == "sledai.min") & (sweeps["value"] == 5))[0])
    hist = pub.tables["near_misses"]
    band = int(np.flatnonzero((hist["criterion"] == "sledai") & (hist["band"] == "1 points"))[0])
    tied = [{names[k]: c for k, c in r.items()} for r in pub.cells.inequalities]
    assert {("sweeps", i, "eligible"): -1, ("headline", 1, "patients"): 1, ("near_misses", band, "patients"): 1} \
        in tied
    gain = s.sweep("sledai.min", [5])["eligible"].iloc[0] - s.summary()["patients"].iloc[0]
    assert gain == hist["patients"].iloc[band]  # and the truth agrees
