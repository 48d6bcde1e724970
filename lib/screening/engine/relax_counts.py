"""The relaxation tables a shareable report publishes, with every relation their definitions imply.

All-subset counts invite differencing (two subsets one criterion apart pin the
patients that criterion alone holds), so a shareable report publishes only:

* ``shapley``: each criterion's Shapley value, apportioned to whole patients
  (:func:`~screening.engine.relaxations.apportion`), shown rounded;
* ``relaxations``: the best few subsets of 1, 2 and 3 criteria dropped, with the
  pool each gives (eligible, not assessable);
* ``near_misses``: per criterion, patients failing only it, per band of distance
  past its threshold.

Relations declared for the audit (:mod:`screening.disclosure.audit`), besides each
table's labels:

* Shapley values add up to the excluded; each lies between the criterion's
  "excluded uniquely" and "excluded alone";
* a pool with criteria dropped holds the shipped pool, its upper end the shipped
  upper end, and never exceeds the extract; a subset's pool holds every listed
  sub-subset's; one criterion dropped gives eligible + its gain if dropped; the
  patients a subset adds to the upper end are the excluded whose failures all lie
  in it: at least the listed overlap combinations inside it and the criteria's
  unique exclusions, at most those plus the unlisted combinations, and at most the
  criteria's exclusions alone;
* a criterion's near misses are at most its unique exclusions and its gain if
  dropped, and add up to at most the excluded; against each published sweep of a
  one-sided threshold, the patients a looser value gains hold every band wholly
  inside the loosening, and at most the bands it reaches plus those unknown on
  that criterion alone (gain if dropped minus near misses).

Not declared: that a fractional Shapley value also lies within a half of its
criterion's unique and alone counts, and its closed form over the overlap
combinations (both need a constant term; the audit's relations have none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.engine.counts import percent_of
from screening.engine.relaxations import apportion

__all__ = ["add_relaxations", "declare_shapley", "declare_relaxations", "declare_near_misses", "render_relaxations",
           "relaxations_published", "TOP"]

#: Subsets of each size (1, 2, 3 criteria dropped) a shareable report lists.
TOP = 5
NEAR = "near_misses"


def relaxations_published(s, top: int = TOP) -> pd.DataFrame:
    """The best ``top`` subsets of 1, 2 and 3 criteria dropped (exact table) by eligible gained, named in order."""
    table = s.relaxations(3)
    best = table[table["n_dropped"] > 0].groupby("n_dropped", sort=True).head(top)
    # Listed by name within each size: an order by exact counts would tell apart pools shown alike.
    best = best.sort_values(["n_dropped", "dropped"], kind="stable")
    return best.rename(columns={"dropped": "relaxation"})[["relaxation", "n_dropped", "eligible",
                                                           "not_assessable"]].reset_index(drop=True)


def add_relaxations(pub, s, top: int = TOP) -> None:
    """Register ``shapley``, ``relaxations`` and ``near_misses`` in ``pub`` with their relations."""
    shap = s.shapley()
    whole = apportion(shap["shapley_excluded"].to_numpy(), int(s.counts.status[1]))
    declare_shapley(pub, pd.DataFrame({"criterion": shap["criterion"], "label": shap["label"], "shapley": whole}))
    declare_relaxations(pub, relaxations_published(s, top), s.ids)
    hist = s.near_miss_histogram()
    declare_near_misses(pub, hist, s.ids)
    if "sweeps" in pub.tables and "criteria" in pub.tables:
        _tie_to_sweeps(pub, s, hist)


def declare_shapley(pub, table: pd.DataFrame) -> None:
    """Register ``shapley`` (criterion, shapley): the shares add up to the excluded, each between its criterion's
    unique and alone exclusions."""
    pub.add("shapley", table, ["shapley"])
    pub.total(pub.status_cells["excluded"], pub.column("shapley", "shapley"))
    if "criteria" in pub.tables:
        ids = pub.tables["criteria"]["criterion"].tolist()
        for i, cid in enumerate(table["criterion"]):
            j = ids.index(cid)
            pub.le(("criteria", j, "excluded_uniquely"), ("shapley", i, "shapley"))
            pub.le(("shapley", i, "shapley"), ("criteria", j, "excluded_alone"))


def declare_relaxations(pub, best: pd.DataFrame, ids: list[str]) -> None:
    """Register ``relaxations`` (:func:`relaxations_published`) against the headline, the criteria and overlap
    tables, and each other."""
    head = pub.status_cells
    eligible, unknown, excluded, n = head["eligible"], head["not_assessable"], head["excluded"], pub.head(0)
    pub.add("relaxations", best, ["eligible", "not_assessable"])
    sets = [frozenset(r.split(" + ")) for r in best["relaxation"]]
    combinations = _combinations(pub.tables["overlap"]) if "overlap" in pub.tables else None
    for i, dropped in enumerate(sets):
        e, u = ("relaxations", i, "eligible"), ("relaxations", i, "not_assessable")
        pub.le(eligible, e)
        pub.le([eligible, unknown], [e, u])
        pub.le([e, u], n)
        for i2, other in enumerate(sets):
            if other < dropped:
                pub.le(("relaxations", i2, "eligible"), e)
                pub.le([("relaxations", i2, "eligible"), ("relaxations", i2, "not_assessable")], [e, u])
        if "criteria" not in pub.tables:
            continue
        js = [ids.index(c) for c in dropped]
        if len(js) == 1:
            pub.total(e, [eligible, ("criteria", js[0], "gain_if_dropped")])
        # Added to the upper end: the excluded whose failed criteria all lie in the subset.
        pub.le([eligible, unknown] + [("criteria", j, "excluded_uniquely") for j in js], [e, u])
        pub.le([e, u], [eligible, unknown] + [("criteria", j, "excluded_alone") for j in js])
        pub.le([e, u], [eligible, unknown, excluded])
        pub.le(e, [eligible] + [("criteria", j, c) for j in js for c in ("excluded_alone", "not_assessable_alone")])
        if combinations is not None:
            _tie_to_overlap(pub, combinations, dropped, e, u)


def declare_near_misses(pub, hist: pd.DataFrame, ids: list[str]) -> None:
    """Register ``near_misses`` (criterion, band, patients): a criterion's near misses are at most its unique
    exclusions and its gain if dropped, and all add up to at most the excluded."""
    pub.add(NEAR, hist, ["patients"])
    rows = hist["criterion"].to_numpy()
    every = []
    for j, cid in enumerate(ids):
        bands = [(NEAR, int(i), "patients") for i in np.flatnonzero(rows == cid)]
        every += bands
        if "criteria" in pub.tables and bands:
            pub.le(bands, ("criteria", j, "excluded_uniquely"))
            pub.le(bands, ("criteria", j, "gain_if_dropped"))
    pub.le(every, pub.status_cells["excluded"])


def _combinations(table: pd.DataFrame) -> list[frozenset]:
    """The criteria each listed row of ``overlap`` fails (its yes/no columns), the unlisted rest left out."""
    ids = [c for c in table.columns if table[c].dtype == bool]
    members = table[ids].to_numpy()[:-1]
    return [frozenset(ids[k] for k in np.flatnonzero(row)) for row in members]


def _tie_to_overlap(pub, combinations: list[frozenset], dropped: frozenset, e: tuple, u: tuple) -> None:
    """Listed failure combinations inside the subset are among those it adds; the unlisted rest may be too."""
    inside = [("overlap", i, "patients") for i, failed in enumerate(combinations) if failed and failed <= dropped]
    head = pub.status_cells
    rest = ("overlap", len(combinations), "patients")
    pub.le([head["eligible"], head["not_assessable"]] + inside, [e, u])
    pub.le([e, u], [head["eligible"], head["not_assessable"], rest] + inside)


def _loosening(s, cid: str, param: str, value) -> tuple[float, float] | None:
    """The distances past criterion ``cid``'s threshold a looser ``param`` value surely admits and may admit.

    A patient at distance d passes when d < the loosening (an "at least" score: d ≤ it). None when the
    near-miss distance is not measured along this parameter (two-sided or composite thresholds).
    """
    from screening.engine.near_misses import distance

    c = s.criteria[s.ids.index(cid)]
    now = c.params[param]
    step = abs(value - now)
    if c.rule in ("sledai", "classification") and param in ("min", "acr_min") and c.params.get("max") is None:
        return step, step  # whole-number scores: a distance up to the step passes
    if c.rule == "age":
        return -1, step  # two-sided: the bands mix both ends, so none is surely admitted by one end's loosening
    if distance(s, s.ids.index(cid))[2]:
        return step, step  # the near-miss distance is on this grid itself
    if param == "months" and c.rule in ("drug_exposure", "regimen_change"):
        # Calendar months: 28 to 31 days each, a day's margin either side; a regimen change's distance is
        # measured from its latest change only, so it never surely admits.
        return (28 * step - 1 if c.rule == "drug_exposure" else -1), 31 * step + 1
    return None


def _tie_to_sweeps(pub, s, hist: pd.DataFrame) -> None:
    """A looser threshold gains the near misses it reaches, plus at most those unknown on it alone."""
    from screening.engine.frontier import looser

    sweeps = pub.tables["sweeps"]
    eligible = pub.status_cells["eligible"]
    for i, (name, value) in enumerate(zip(sweeps["parameter"], sweeps["value"], strict=True)):
        cid, param = name.split(".", 1)
        if cid not in s.ids or not looser(param, value, s.criteria[s.ids.index(cid)].params[param]):
            continue
        reach = _loosening(s, cid, param, value)
        if reach is None:
            continue
        j = s.ids.index(cid)
        rows = np.flatnonzero(hist["criterion"].to_numpy() == cid)
        surely, maybe = [], []
        for r in rows:
            lo, hi = hist["distance_from"].iloc[r], hist["distance_to"].iloc[r]
            if np.isnan(lo):
                maybe.append((NEAR, int(r), "patients"))  # not measured: anywhere
                continue
            if hi <= reach[0]:
                surely.append((NEAR, int(r), "patients"))
            if lo <= reach[1]:
                maybe.append((NEAR, int(r), "patients"))
        gain = ("sweeps", i, "eligible")
        low: dict = {pub._r(gain): -1, pub._r(eligible): 1}
        for cell in surely:
            low[cell] = low.get(cell, 0) + 1
        high: dict = {pub._r(gain): 1, pub._r(eligible): -1, pub._r(("criteria", j, "gain_if_dropped")): -1}
        for cell in rows_of(rows):
            high[cell] = high.get(cell, 0) + 1
        for cell in maybe:
            high[cell] = high.get(cell, 0) - 1
        for relation in (low, high):
            relation = {k: v for k, v in relation.items() if v}
            # Declared only where it holds: a rule whose unknowns the distance does not model (a course
            # with a missing date, say) breaks the reasoning, and then no reader can rely on it either.
            if sum(v * pub.cells.values[pub.cells[k]] for k, v in relation.items()) <= 0:
                pub.cells.at_most(relation)


def rows_of(rows) -> list[tuple]:
    return [(NEAR, int(r), "patients") for r in rows]


def render_relaxations(out: dict[str, pd.DataFrame]) -> None:
    """Shapley shares as a percentage of the excluded, from the counts as shown (rounded)."""
    if "shapley" not in out:
        return
    shown = out["shapley"]["shapley"].astype(str)
    excluded = out["headline"]["patients"].astype(str).iloc[4]
    number = pd.to_numeric(shown.where(shown.str.fullmatch(r"\d+")), errors="coerce")
    total = float(excluded) if excluded.isdigit() else np.nan
    share = percent_of(number, total)
    out["shapley"]["share_of_excluded"] = np.where(np.isnan(share), "*", share.astype(str)).astype(object)
