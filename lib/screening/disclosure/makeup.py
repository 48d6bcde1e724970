"""The make-up tables in a shareable report: their relations to the funnel and to each other, and their rendering.

:func:`~screening.engine.composition.makeup_tables` counts who is in play after
each step and whom each criterion removes, by sex, race/ethnicity, age band and
site; :func:`add_makeup` registers those counts with every relation their
definitions imply, so the attack (:mod:`screening.disclosure.audit`) sees them;
:func:`render_makeup` computes percentages, SMDs, shares and ratios from the
counts as shown (rounded), so they say no more than the counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.engine.composition import Makeup, smd
from screening.engine.counts import percent_of
from screening.engine.groups import SMALL_GROUPS

__all__ = ["SHARED_ALONG", "SHARED_BY", "min_group_size", "add_makeup", "declare_makeup", "render_makeup"]

#: Characteristics the shareable report describes along the funnel, and those it breaks exclusion down by.
SHARED_ALONG = ("sex", "race_ethnicity", "age_years", "site")
SHARED_BY = ("sex", "race_ethnicity", "age_years")


def min_group_size(threshold: int) -> int:
    """Fewer patients than this in the extract and a group is too small to describe along the funnel.

    Most of such a group's 25 step counts would be at or below the threshold anyway.
    """
    return 3 * threshold


def add_makeup(pub, makeup: Makeup | None, ids: list[str], subgroup: tuple[str, str] | None = None) -> list[str]:
    """Register the make-up tables in ``pub`` (a :class:`~screening.disclosure.relations.Published`) with their
    relations.

    Published counts: ``makeup`` (patients in play per step and group),
    ``differential_<column>`` (removed alone and in sequence per criterion and group)
    and ``leave_one_out_<column>`` (eligible gained per group if a criterion were
    dropped). What ties them to the funnel, and to each other:

    * a step's groups add up to the patients in play after it (the attrition table);
      step 0 is the extract's composition, the last step the eligible pool's;
    * a group never grows along the funnel, and a step removes no more of it than
      entered minus what is left;
    * per criterion, the groups' removals add up to the criterion's own (alone) and
      to the step's excluded count (in sequence); the first step removes exactly who
      fails its criterion; in sequence never exceeds alone;
    * per criterion, the groups' gains add up to its gain if dropped.

    Groups smaller than :func:`min_group_size` were merged; a merged group still that
    small was withheld (then a step's groups add up to at most its total). Returns
    what was merged or withheld, for provenance. ``subgroup`` is the report's
    (table name, column) split by outcome, whose totals are the same patients.
    """
    if makeup is None:
        return []
    notes = [f"makeup / {column}: merged {', '.join(small)} into {SMALL_GROUPS}" if makeup.complete[column]
             else f"makeup / {column}: withheld {', '.join(small)} (too few patients even merged)"
             for column, small in makeup.merged.items() if small]
    gains = {column: loo.assign(gain=loo["eligible_without"] - loo["eligible"])[["criterion", "label", column, "gain"]]
             for column, loo in makeup.leave_one_out.items()}
    declare_makeup(pub, makeup.along, makeup.complete, makeup.differential, gains, ids, subgroup)
    return notes


def declare_makeup(pub, table: pd.DataFrame, complete: dict[str, bool], differential: dict[str, pd.DataFrame],
                   gains: dict[str, pd.DataFrame], ids: list[str], subgroup: tuple[str, str] | None = None) -> None:
    """Register the make-up tables as published, with every relation of :func:`add_makeup`.

    ``table``: patients in play (characteristic, step, group, patients); ``complete``: per characteristic,
    False when a group was withheld; ``differential`` and ``gains``: per characteristic, the
    ``differential_<column>`` and ``leave_one_out_<column>`` tables (with their ``gain``).
    """
    k = len(ids)
    pub.add("makeup", table, ["patients"])
    row = {(r.characteristic, r.step, r.group): i for i, r in enumerate(table.itertuples())}
    cell = lambda char, step, group: ("makeup", row[(char, step, group)], "patients")  # noqa: E731
    for (char, step), part in table.groupby(["characteristic", "step"], sort=False):
        parts = [("makeup", i, "patients") for i in part.index]
        if complete[char]:
            pub.total(("attrition", int(step), "remaining"), parts)
        else:
            pub.le(parts, ("attrition", int(step), "remaining"))
    for (char, step, group), i in row.items():
        if step > 0:
            pub.le(("makeup", i, "patients"), cell(char, step - 1, group))
    _tie_to_breakdowns(pub, row, complete, k, subgroup)
    for column, d in differential.items():
        _add_by(pub, ids, column, d, gains[column], cell)


def _tie_to_breakdowns(pub, row: dict, described, k: int, subgroup) -> None:
    """Step 0 and the last step are the extract's and the eligible pool's composition (and the subgroup table's).

    ``described``: the characteristics the make-up describes along the funnel.
    """
    ties = []  # (column, population step, published table, row position, column of that table)
    if "composition" in pub.tables:
        comp = pub.tables["composition"]
        for j, r in enumerate(comp.itertuples()):
            step = {"extract": 0, "eligible": k}.get(r.population)
            if step is not None:
                ties.append((r.column, step, str(r.group), ("composition", j, "patients")))
    if subgroup is not None and subgroup[0] in pub.tables:
        name, column = subgroup
        outcome = pub.tables[name]
        for j, group in enumerate(outcome.iloc[:, 0].astype(str)):
            ties += [(column, 0, group, (name, j, "total")), (column, k, group, (name, j, "eligible"))]
    merged: dict[tuple, list] = {}
    for column, step, group, other in ties:
        if column not in described:
            continue
        if (column, step, group) in row:
            pub.same(("makeup", row[(column, step, group)], "patients"), other)
        elif (column, step, SMALL_GROUPS) in row:  # a merged group is the sum of its parts
            merged.setdefault((column, step, other[0], other[2]), []).append(other)
    for (column, step, _table, _col), parts in merged.items():
        pub.total(("makeup", row[(column, step, SMALL_GROUPS)], "patients"), parts)


def _add_by(pub, ids: list[str], column: str, d: pd.DataFrame, loo: pd.DataFrame, cell) -> None:
    """Differential exclusion and leave-one-out by ``column``, tied to the criteria table and the make-up."""
    name = f"differential_{column}"
    pub.add(name, d[["criterion", "label", column, "removed_alone", "removed_in_sequence"]],
            ["removed_alone", "removed_in_sequence"])
    loo_name = f"leave_one_out_{column}"
    pub.add(loo_name, loo, ["gain"])
    criteria, gained, groups = d["criterion"].to_numpy(), loo["criterion"].to_numpy(), d[column].astype(str).to_numpy()
    for j, cid in enumerate(ids):
        rows = np.flatnonzero(criteria == cid)
        pub.total(("criteria", j, "excluded_alone"), [(name, int(i), "removed_alone") for i in rows])
        pub.total(("attrition", j + 1, "excluded"), [(name, int(i), "removed_in_sequence") for i in rows])
        gains = np.flatnonzero(gained == cid)
        pub.total(("criteria", j, "gain_if_dropped"), [(loo_name, int(i), "gain") for i in gains])
        for i in rows:
            i, group = int(i), groups[i]
            alone, seq = (name, i, "removed_alone"), (name, i, "removed_in_sequence")
            pub.le(seq, alone)
            pub.le(alone, cell(column, 0, group))
            pub.le([seq, cell(column, j + 1, group)], cell(column, j, group))
            if j == 0:
                pub.same(seq, alone)


def _number(text: pd.Series) -> pd.Series:
    """Shown counts as numbers; redacted (≤N) or hidden (*) ones as missing."""
    text = text.astype(str)
    return pd.to_numeric(text.where(text.str.fullmatch(r"\d+")), errors="coerce")


def _text(values, digits: int) -> np.ndarray:
    """Rounded numbers as text, ``*`` where a count they derive from is not shown."""
    values = np.round(np.asarray(values, dtype=float), digits) + 0.0
    return np.where(np.isfinite(values), values.astype(str), "*").astype(object)


def render_makeup(out: dict[str, pd.DataFrame]) -> None:
    """Percentages, SMDs, shares and ratios of the make-up tables, from the counts as shown (rounded).

    ``out`` holds every published table with its counts as labels; the derived
    columns are computed from those labels alone, so they say no more than the counts.
    """
    if "makeup" not in out:
        return
    m = out["makeup"]
    remaining = _number(out["attrition"]["remaining"]).to_numpy()
    patients = _number(m["patients"]).to_numpy()
    total = remaining[m["step"].to_numpy()]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, patients / total, np.nan)
    keys = list(zip(m["characteristic"], m["group"], strict=True))
    first = {key: share[i] for i, key in enumerate(keys) if m["step"].iloc[i] == 0}
    by_step = {(key, int(step)): share[i] for i, (key, step) in enumerate(zip(keys, m["step"], strict=True))}
    p0 = np.array([first.get(key, np.nan) for key in keys])
    prev = np.array([by_step.get((key, max(int(step) - 1, 0)), np.nan) for key, step in zip(keys, m["step"],
                                                                                            strict=True)])
    m["percent"] = _text(percent_of(patients, total), 1)
    m["smd_vs_extract"] = _text(smd(share, p0), 3)
    m["smd_vs_previous"] = _text(smd(share, prev), 3)
    n = _number(out["headline"]["patients"]).iloc[0]
    crit = out.get("criteria")
    for name in [t for t in out if t.startswith("differential_")]:
        d, column = out[name], name.removeprefix("differential_")
        j = d["criterion"].map({c: i for i, c in enumerate(crit["criterion"])}).to_numpy()
        size = np.array([by_step.get(((column, g), 0), np.nan) for g in d[column]]) * n
        entering = np.array([by_step.get(((column, g), int(i)), np.nan) for g, i in zip(d[column], j, strict=True)])
        entering = entering * remaining[j]
        alone, seq = _number(d["removed_alone"]).to_numpy(), _number(d["removed_in_sequence"]).to_numpy()
        all_alone = _number(crit["excluded_alone"]).to_numpy()[j] / n
        all_seq = _number(out["attrition"]["excluded"]).to_numpy()[j + 1] / remaining[j]
        after = np.array([by_step.get(((column, g), int(i) + 1), np.nan) for g, i in zip(d[column], j, strict=True)])
        before = np.array([by_step.get(((column, g), int(i)), np.nan) for g, i in zip(d[column], j, strict=True)])
        with np.errstate(invalid="ignore", divide="ignore"):
            d["share_alone"] = _text(100 * alone / size, 1)
            d["ratio_alone"] = _text(alone / size / all_alone, 2)
            d["share_in_sequence"] = _text(100 * seq / entering, 1)
            d["ratio_in_sequence"] = _text(seq / entering / all_seq, 2)
            d["share_change"] = _text(100 * (after - before), 1)
        change = pd.to_numeric(d["share_change"], errors="coerce").abs()
        d["rank_within_group"] = change.groupby(d[column]).rank(method="first", ascending=False).astype("Int64")
    eligible = _number(out["headline"]["patients"]).iloc[1]
    for name in [t for t in out if t.startswith("leave_one_out_")]:
        t, column = out[name], name.removeprefix("leave_one_out_")
        j = t["criterion"].map({c: i for i, c in enumerate(crit["criterion"])}).to_numpy()
        last = len(remaining) - 1
        now = np.array([by_step.get(((column, g), last), np.nan) for g in t[column]]) * eligible
        gain, gain_all = _number(t["gain"]).to_numpy(), _number(crit["gain_if_dropped"]).to_numpy()[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            t["share_now"] = _text(100 * now / eligible, 1)
            t["share_without"] = _text(100 * (now + gain) / (eligible + gain_all), 1)
            t["share_change"] = _text(100 * ((now + gain) / (eligible + gain_all) - now / eligible), 1)
