"""The bundled report read as a reader reads it: totals against their parts, percentages against their counts.

Every count is rounded on its own (:mod:`screening.disclosure.rule`), so a shown
total may differ from the sum of its shown parts, and a set of percentages from
100 %, but never by more than the rounding the report states: each label is an
interval (``115`` is 113 to 117, ``≤10`` is 0 to 10) and the true counts obey
every relation the tables' definitions imply (:mod:`screening.disclosure.relations`).
Here those relations are checked against the CSV files the report writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening import load_extract, screen
from screening.disclosure.rule import SHAREABLE
from screening.disclosure.shareable import published_counts
from screening.views.report import build_report

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
#: Columns computed from the counts (from true counts in the registered tables, shown ones in the files): not keys.
DERIVED = ("pct_", "percent", "share", "ratio", "smd", "rank_")


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = build_report(SYNTHETIC, out=tmp_path_factory.mktemp("sums") / "report", notebooks=False, release_log=None)
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in (out / "tables").glob("*.csv")}


@pytest.fixture(scope="module")
def published():
    return published_counts(screen(load_extract(SYNTHETIC)), SHAREABLE)


def _key(value) -> str:
    """A row key as text, numbers compared as numbers (16 and 16.0 are one value)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def _label(published, shown: dict, name: tuple, index: dict) -> str:
    """The label a reader sees for the cell ``name`` (table, row, column) in the written CSV.

    Rows are found by their key columns (criterion, group, step, ...): a file may list them in another order.
    """
    table, row, column = name
    frame, csv = published.tables[table], shown[table]
    keys = [c for c in frame.columns if c not in published.columns[table] and c in csv.columns
            and not c.startswith(DERIVED)]
    if table not in index:
        rows: dict = {}
        for i, values in enumerate(zip(*(csv[c] for c in keys), strict=True)):
            rows.setdefault(tuple(map(_key, values)), []).append(i)
        index[table] = rows
    found = index[table].get(tuple(_key(frame[c].iloc[row]) for c in keys), [])
    assert len(found) == 1, (name, keys, found)
    return csv[column].iloc[found[0]]


def test_no_shown_total_differs_from_its_shown_parts_by_more_than_the_rounding(published, shown):
    checked, index = 0, {}
    for relation in published.cells.equalities:
        names = [published.cells.names[i] for i in relation]
        labels = [_label(published, shown, name, index) for name in names]
        bounds = SHAREABLE.intervals(labels)
        signs = np.array(list(relation.values()))
        # sum(sign × count) = 0 has a solution within every label's interval.
        low = np.where(signs > 0, bounds[:, 0], -bounds[:, 1]) @ np.abs(signs)
        high = np.where(signs > 0, bounds[:, 1], -bounds[:, 0]) @ np.abs(signs)
        assert low <= 0 <= high, list(zip(names, labels, signs, strict=True))
        checked += 1
    assert checked > 500  # every relation of the bundled report, funnel to sweeps


def _percent_sets(shown: dict) -> list[tuple[str, pd.DataFrame, str, str]]:
    """Each set of percentages that describes one whole: (where, rows, count column, percent column)."""
    head = shown["headline"].set_index("measure")["patients"]
    sets = []
    comp = shown["composition"]
    whole = {"extract": head.iloc[0], "eligible": head.iloc[1], "not_assessable": head.iloc[2]}
    for (column, population), part in comp.groupby(["column", "population"]):
        sets.append((f"composition {column} {population}", part.assign(whole=whole[population]), "patients",
                     "percent"))
    makeup, remaining = shown["makeup"], shown["attrition"].set_index("step")["remaining"]
    for (step, characteristic), part in makeup.groupby(["step", "characteristic"]):
        sets.append((f"makeup step {step} {characteristic}", part.assign(whole=remaining[step]), "patients",
                     "percent"))
    sets.append(("shapley", shown["shapley"].assign(whole=head.iloc[4]), "shapley", "share_of_excluded"))
    return sets


def test_every_percentage_is_its_shown_count_over_its_stated_whole(shown):
    for where, part, count, percent in _percent_sets(shown):
        both = part[part[count].str.fullmatch(r"\d+") & part["whole"].str.fullmatch(r"\d+")]
        # Halves up, as on a calculator: 1000 × count / whole is exact at a half.
        expected = np.floor(1000 * both[count].astype(int) / both["whole"].astype(int) + 0.5) / 10
        assert (both[percent].astype(float) == expected).all(), where
        assert (part.loc[~part.index.isin(both.index), percent] == "*").all(), where


def test_no_percentage_set_sums_outside_100_by_more_than_its_rounding(shown):
    for where, part, count, percent in _percent_sets(shown):
        whole = SHAREABLE.intervals(part["whole"].iloc[:1])[0]
        if part["whole"].iloc[0] in ("0", "") or whole[0] == 0:
            continue
        bounds = SHAREABLE.intervals(part[count])
        numbers = part[count].str.fullmatch(r"\d+").to_numpy()
        counts = np.where(numbers, pd.to_numeric(part[count], errors="coerce").fillna(0), 0)
        # The shown percentages sum to 100 × (sum of shown counts) / (shown whole): off from 100 by the
        # parts' and the whole's rounding, plus half a displayed decimal per percentage.
        error = np.maximum(counts - bounds[:, 0], bounds[:, 1] - counts)[numbers].sum()
        error += max(int(part["whole"].iloc[0]) - whole[0], whole[1] - int(part["whole"].iloc[0]))
        shown_whole = int(part["whole"].iloc[0])
        total = pd.to_numeric(part[percent], errors="coerce").fillna(0).sum()
        unseen = 100 * bounds[~numbers, 1].sum() / shown_whole  # a ≤10 part: its share is not shown
        slack = 100 * error / shown_whole + 0.05 * len(part)
        assert total - slack <= 100 <= total + unseen + slack, (where, total, slack, unseen)
