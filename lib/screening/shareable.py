"""The tables a report shares, protected together so no small count can be derived from any of them.

:func:`shareable_tables` computes every table from a :class:`~screening.funnel.Screening`,
registers each count and the sums that tie them (:mod:`screening.disclosure`),
hides small counts and whatever else the audit needs, and renders the tables
with ``<11`` and ``*``. Percentages follow their counts: hidden when the count is.

Example
-------
>>> from screening import load_extract, screen
>>> tables = shareable_tables(screen(load_extract("data/synthetic")))
>>> tables["headline"]["patients"].tolist()
['5000', '87', '368', '455', '4545']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .disclosure import Cells, protect
from .errors import DisclosureError
from .funnel import Screening
from .quality import missingness

__all__ = ["shareable_tables", "disclosure_rule", "AGE_BINS", "round_counts"]

AGE_BINS = [0, 18, 30, 40, 50, 66, 91]
STEP_COLUMNS = ("entering", "excluded", "not_assessable", "remaining")
OUTCOME_COLUMNS = ("eligible", "excluded", "not_assessable", "total")
CRITERIA_COLUMNS = ("excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped")


def disclosure_rule(threshold: int) -> dict:
    """How the shareable tables show counts, for ``provenance.json`` (read by :mod:`screening.published`)."""
    if threshold <= 0:
        return {"rule": "none", "threshold": 0}
    return {"rule": "suppress", "threshold": threshold}


def round_counts(table: pd.DataFrame, columns: list[str], threshold: int = 10, base: int = 5,
                 as_text: bool = True) -> pd.DataFrame:
    """Counts rounded to ``base`` with small ones hidden: for what-if tables, where neighbouring
    rows differ by a few patients and the differences themselves would be small counts.

    ``as_text=False`` gives numbers for charts (small counts drawn as 0).
    """
    out = table.copy()
    if threshold <= 0:
        return out
    for col in columns:
        values = out[col].to_numpy()
        small = (values >= 1) & (values <= threshold)
        rounded = (np.round(values / base) * base).astype(int)
        if as_text:
            text = rounded.astype(str).astype(object)
            text[small] = f"<{threshold + 1}"
            out[col] = text
        else:
            out[col] = np.where(small, 0, rounded)
    return out


def _register_steps(cells: Cells, table: str, frame: pd.DataFrame, key, lock_ends: bool) -> dict:
    """Cells of one attrition table and its chain relations; returns (step, column) -> cell."""
    ids = {}
    last = len(frame) - 1
    for i, row in frame.iterrows():  # steps (tens), not patients
        for col in STEP_COLUMNS:
            if col == "entering" and i > 0:
                ids[(i, col)] = ids[(i - 1, "remaining")]  # the same published number: one cell
                continue
            locked = lock_ends and ((i == 0) or (i == last and col == "remaining"))
            ids[(i, col)] = cells.add(table, (key, i), col, int(row[col]), locked=locked)
    for i in range(1, len(frame)):
        cells.relate({ids[(i, "entering")]: 1, ids[(i, "excluded")]: -1, ids[(i, "not_assessable")]: -1,
                      ids[(i, "remaining")]: -1})
    return ids


#: Tables that may be withheld, whole or in part, when nothing else protects a count in them.
OPTIONAL = ("composition", "outcome_by", "criteria", "missingness", "not_assessable", "overlap")


def shareable_tables(s: Screening, threshold: int = 10, subgroup: str = "site") -> dict[str, pd.DataFrame]:
    """Every shareable table, with small counts and anything that would reveal one hidden.

    The sequential funnel within each subgroup is only shared without suppression
    (``threshold=0``, for internal use): split by eight sites, most of its steps
    are small counts, and protecting them would hide most of the funnel itself.
    When a small pool cannot be broken down safely (the sex mix of 14 eligible
    patients, say), that breakdown is withheld and listed in ``_withheld``; when
    the funnel itself cannot be protected, :class:`~screening.errors.DisclosureError`.
    """
    if threshold <= 0:
        return _unsuppressed(s, subgroup)
    withheld: set = set()
    for _ in range(12):
        try:
            tables = _build(s, threshold, subgroup, withheld)
        except DisclosureError as exc:
            blocks = set()
            for table, row, _col in exc.cells:
                if table == "composition":
                    blocks.add(("composition", row[0], row[2]))
                elif table.startswith(OPTIONAL):
                    blocks.add((table,))
                else:
                    raise
            withheld |= blocks
            continue
        tables["_withheld"] = pd.DataFrame({"withheld": [" / ".join(map(str, b)) for b in sorted(withheld)]})
        return tables
    raise DisclosureError("small-cell protection kept failing after withholding breakdowns")


def _build(s: Screening, threshold: int, subgroup: str, withheld: set) -> dict[str, pd.DataFrame]:
    cells = Cells(threshold)
    attrition = s.attrition()
    steps = _register_steps(cells, "attrition", attrition, None, lock_ends=True)
    last = len(attrition) - 1

    headline = s.headline()
    head = {m: cells.add("headline", m, "patients", v, locked=m in ("patients in extract",
                                                                   "eligible on registry data"))
            for m, v in zip(headline["measure"], headline["patients"], strict=True)}
    n_cell, elig, na, upper, excl = (head[m] for m in headline["measure"])
    cells.relate({elig: 1, steps[(last, "remaining")]: -1})
    cells.relate({n_cell: 1, steps[(0, "entering")]: -1})
    cells.relate({na: 1, **{steps[(i, "not_assessable")]: -1 for i in range(1, last + 1)}})
    cells.relate({excl: 1, **{steps[(i, "excluded")]: -1 for i in range(1, last + 1)}})
    cells.relate({upper: 1, elig: -1, na: -1})

    outcome = s.outcome_by(subgroup)
    out_ids = {}
    for _, row in outcome.iterrows():
        g = row[subgroup]
        ids = {c: cells.add(f"outcome_by_{subgroup}", g, c, int(row[c])) for c in OUTCOME_COLUMNS}
        out_ids[g] = ids
        cells.relate({ids["total"]: 1, ids["eligible"]: -1, ids["excluded"]: -1, ids["not_assessable"]: -1})
    for col, total in (("eligible", elig), ("excluded", excl), ("not_assessable", na), ("total", n_cell)):
        cells.relate({total: 1, **{out_ids[g][col]: -1 for g in out_ids}})

    crit = s.criteria_table()
    crit_ids = {}
    for _, row in crit.iterrows():
        crit_ids[row["criterion"]] = {c: cells.add("criteria", row["criterion"], c, int(row[c]))
                                      for c in CRITERIA_COLUMNS}
    # The first step removes exactly the patients its criterion removes alone.
    cells.relate({crit_ids[crit["criterion"].iloc[0]]["excluded_alone"]: 1, steps[(1, "excluded")]: -1})

    quality = missingness(s.extract)
    miss_ids = {row["column"]: cells.add("missingness", row["column"], "missing", int(row["missing"]))
                for _, row in quality.iterrows()}
    # A criterion that reads one column is unassessable exactly where that column is missing.
    for c in s.criteria:
        column = {"age": "age_years", "sledai": "sledai_2k"}.get(c.rule) or \
            (c.params.get("column") if c.rule == "column" else None)
        if column in miss_ids and s.policy == "separate":
            cells.relate({crit_ids[c.id]["not_assessable_alone"]: 1, miss_ids[column]: -1})

    comp = _composition(s)
    comp_ids = [cells.add("composition", (r.column, r.group, r.population), "patients", int(r.patients))
                for r in comp.itertuples()]
    population_total = {"extract": n_cell, "eligible": elig, "not_assessable": na}
    for (column, population), part in comp.groupby(["column", "population"], sort=False):
        cells.relate({population_total[population]: 1, **{comp_ids[j]: -1 for j in part.index}})
        missing_group = part[part["group"] == "(missing)"]
        if population == "extract" and len(missing_group) and column in miss_ids:
            cells.relate({comp_ids[missing_group.index[0]]: 1, miss_ids[column]: -1})

    na_table = s.missing_by_criterion().drop(columns=["first_missing"])
    na_ids = [cells.add("not_assessable", r.criterion, "missing_any", int(r.missing_any))
              for r in na_table.itertuples()]

    overlap = s.overlap(min_patients=threshold + 1)
    listed = int(overlap["patients"].sum()) if len(overlap) else 0
    other = int(s.summary().set_index("status").loc["excluded", "patients"]) - listed
    ov_ids = [cells.add("overlap", i, "patients", int(v)) for i, v in enumerate(overlap["patients"])]
    other_id = cells.add("overlap", "other", "patients", other)
    cells.relate({excl: 1, other_id: -1, **{j: -1 for j in ov_ids}})

    def is_withheld(name) -> bool:
        table, row, _ = name
        if table == "composition":
            return ("composition", row[0], row[2]) in withheld
        return (table,) in withheld

    cells.withhold(is_withheld)
    protect(cells)

    def render(frame: pd.DataFrame, ids_of, columns, pct_from=None) -> pd.DataFrame:
        """Labels for the count ``columns``; percentages hidden where a count they derive from is hidden."""
        out = frame.copy()
        for col in columns:
            out[col] = [cells.label(ids_of(k, col)) for k in range(len(frame))]
        hidden = np.zeros(len(frame), dtype=bool)
        for col in pct_from or columns:
            hidden |= ~out[col].astype(str).str.fullmatch(r"\d+")
        for col in [c for c in out.columns if c.startswith("pct") or c == "percent"]:
            out[col] = np.where(hidden, HIDDEN_PCT, out[col].astype(str)).astype(object)
        return out

    tables = {
        "headline": render(headline, lambda k, c: head[headline["measure"].iloc[k]], ["patients"]),
        "attrition": render(attrition, lambda k, c: steps[(k, c)], list(STEP_COLUMNS),
                            pct_from=["entering", "remaining"]),
        "criteria": render(crit.drop(columns=["excluded_in_sequence", "not_assessable_in_sequence"]),
                           lambda k, c: crit_ids[crit["criterion"].iloc[k]][c], list(CRITERIA_COLUMNS)),
        "overlap": pd.concat([overlap.assign(patients=[cells.label(j) for j in ov_ids]),
                              pd.DataFrame({"patients": [cells.label(other_id)], "criteria": [0]})
                              .assign(**{cid: False for cid in s.ids})], ignore_index=True)
        .assign(combination=lambda t: ["listed"] * len(ov_ids) + ["other combinations (each under "
                                                                   f"{threshold + 1})"]),
        "not_assessable": render(na_table, lambda k, c: na_ids[k], ["missing_any"]),
        f"outcome_by_{subgroup}": render(outcome, lambda k, c: out_ids[outcome[subgroup].iloc[k]][c],
                                         list(OUTCOME_COLUMNS)),
        "composition": render(comp, lambda k, c: comp_ids[k], ["patients"]),
        "missingness": render(quality, lambda k, c: miss_ids[quality["column"].iloc[k]], ["missing"]),
    }
    keep = [("composition", c, p) not in withheld for c, p in zip(comp["column"], comp["population"], strict=True)]
    tables["composition"] = tables["composition"][keep].reset_index(drop=True)
    for name in [t for t in tables if (t,) in withheld]:
        tables[name] = tables[name].iloc[0:0]  # withheld whole: published empty, listed in _withheld
    tables["_protection"] = pd.DataFrame({"cells": [len(cells.values)],
                                          "small_hidden": [sum(1 for x in cells.state if x == 1)],
                                          "also_hidden": [sum(1 for x in cells.state if x == 2)]})
    return tables


HIDDEN_PCT = "*"


def _composition(s: Screening) -> pd.DataFrame:
    """Composition by sex, race/ethnicity and age band, stacked: column, group, population, patients, percent."""
    parts = [s.composition(c, bins=AGE_BINS if c == "age_years" else None).rename(columns={c: "group"})
             .assign(column=c) for c in ("sex", "race_ethnicity", "age_years")]
    return pd.concat(parts, ignore_index=True)[["column", "group", "population", "patients", "percent"]]


def _unsuppressed(s: Screening, subgroup: str) -> dict[str, pd.DataFrame]:
    """The same tables with every count shown, plus the funnel within each subgroup: never for sharing."""
    return {
        "headline": s.headline(), "attrition": s.attrition(),
        "criteria": s.criteria_table().drop(columns=["excluded_in_sequence", "not_assessable_in_sequence"]),
        "overlap": s.overlap(), "not_assessable": s.missing_by_criterion().drop(columns=["first_missing"]),
        f"outcome_by_{subgroup}": s.outcome_by(subgroup),
        "composition": _composition(s),
        "missingness": missingness(s.extract), f"attrition_by_{subgroup}": s.attrition_by(subgroup),
    }
