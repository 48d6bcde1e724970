"""Eligible over time, shareable: the per-visit series registered with the relations their definitions imply.

Three tables from an :class:`~screening.engine.over_time.EligibilityOverTime`, protected with
the report's own (:func:`~screening.disclosure.shareable.shareable_tables`, ``over_time=``):

* ``over_time_status``: patients, and patients by status at the last visit (the report's headline:
  the same cells) and over their visits of the 12 months before it;
* ``over_time_monthly``: per month of the last :data:`MONTHS`, visits, eligible visits, newly
  eligible (settled and at most) and the newly eligible summed so far;
* ``over_time_by_site``: per site and month, newly eligible (settled and at most), and
  ``over_time_by_site_12_months``: their sums over the last 12 months per site and for the network;
  breakdowns by site (withheld with the others in a small extract);
* ``over_time_turning``: per criterion, how often it turns a patient eligible (``into``) or
  ineligible (``out_of``) between consecutive visits, and how often it alone does.

Relations declared to the audit (:mod:`screening.disclosure.audit`): each status column adds
up to the patients; eligible at some visit ≥ eligible at the last, excluded at every visit ≤
excluded at the last; per month newly eligible ≤ eligible visits ≤ visits, newly eligible ≤
its upper end ≤ visits; the running sum grows by each month's newly eligible (so differencing
two consecutive months of it is differencing cells the audit already protects); the sites of
a month add up to the month, a site's year to its months, the network's year to the sites' and to
the months'; a criterion turns a step alone at most as often as it turns one.

Example
-------
>>> from screening import load_extract, load_protocol
>>> from screening.engine.over_time import EligibilityOverTime
>>> over = EligibilityOverTime(load_extract("tests/fixtures/visits"),
...                            load_protocol("tests/fixtures/visits/protocol.yaml"))
>>> over_time_tables(over)["over_time_status"].values.tolist()
[['patients', '≤10', '≤10'], ['eligible', '≤10', '≤10'], ['excluded', '≤10', '≤10'], ['not_assessable', '≤10', '≤10']]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.disclosure.audit import protect
from screening.disclosure.published import tighten
from screening.disclosure.relations import Published
from screening.disclosure.rule import SHAREABLE, SmallCellRule
from screening.engine.over_time import EligibilityOverTime

__all__ = ["MONTHS", "TABLES", "add_over_time", "over_time_tables", "render_over_time", "published_projection",
           "series_intervals", "network_year"]

#: Months of the series a report publishes, the latest last.
MONTHS = 24
TABLES = ("over_time_status", "over_time_monthly", "over_time_by_site", "over_time_by_site_12_months",
          "over_time_turning")
_TURNING = ["into", "into_alone", "out_of", "out_of_alone"]
_MONTHLY = ["visits", "eligible_visits", "newly_eligible", "newly_eligible_max", "newly_eligible_so_far"]
_SITE = ["newly_eligible", "newly_eligible_max"]
_CAP = 10 ** 9  # the largest count a hidden cell (``*``) may hold: no bound


def _series(over: EligibilityOverTime) -> tuple[pd.DataFrame, pd.DataFrame]:
    monthly = over.monthly().rename(columns={"eligible": "eligible_visits"}).tail(MONTHS).reset_index(drop=True)
    monthly["newly_eligible_so_far"] = monthly["newly_eligible"].cumsum()
    months = set(monthly["month"])
    by_site = over.monthly(by_site=True)
    by_site = by_site[by_site["month"].isin(months)][["month", "site", *_SITE]].reset_index(drop=True)
    for frame in (monthly, by_site):
        frame["month"] = frame["month"].astype(str)
    return monthly, by_site


def add_over_time(pub: Published, over: EligibilityOverTime) -> None:
    """Register the three tables and their relations; the last visit's counts are the headline's cells."""
    last = over.at_last_visit.set_index("status")["patients"]
    anytime = over.any_visit(12).set_index("status")["patients"].reindex(last.index)
    status = pd.DataFrame({"status": ["patients", *last.index],
                           "last_visit": [int(last.sum()), *last.to_numpy()],
                           "any_visit_12_months": [int(anytime.sum()), *anytime.to_numpy()]})
    known = (pub.status_cells | {"patients": pub.head(0)}) if "headline" in pub.tables else {}
    pub.add("over_time_status", status, ["last_visit", "any_visit_12_months"],
            alias=lambda i, col: known.get(status["status"].iloc[i]) if col == "last_visit" else None)
    cell = lambda row, col: pub.cell("over_time_status", row, col)  # noqa: E731
    pub.same(cell(0, "any_visit_12_months"), cell(0, "last_visit"))
    for col in ("last_visit", "any_visit_12_months"):
        pub.total(cell(0, col), [cell(i, col) for i in (1, 2, 3)])
    pub.le(cell(1, "last_visit"), cell(1, "any_visit_12_months"))
    pub.le(cell(2, "any_visit_12_months"), cell(2, "last_visit"))

    monthly, by_site = _series(over)
    pub.add("over_time_monthly", monthly, _MONTHLY)
    m = lambda i, col: ("over_time_monthly", i, col)  # noqa: E731
    for i in range(len(monthly)):
        pub.le(m(i, "newly_eligible"), m(i, "eligible_visits"))
        pub.le(m(i, "eligible_visits"), m(i, "visits"))
        pub.le(m(i, "newly_eligible"), m(i, "newly_eligible_max"))
        pub.le(m(i, "newly_eligible_max"), m(i, "visits"))
        pub.total(m(i, "newly_eligible_so_far"), [m(i, "newly_eligible")] + ([m(i - 1, "newly_eligible_so_far")]
                                                                           if i else []))
    pub.add("over_time_by_site", by_site, _SITE)
    # rows looked up in plain arrays: the what-if panel declares these relations at every change
    month_of, site_of = by_site["month"].to_numpy(dtype=object), by_site["site"].to_numpy(dtype=object)
    months = list(monthly["month"])
    for col in _SITE:
        for i, month in enumerate(months):  # each month's sites, in the order of the first row of each
            if (rows := np.flatnonzero(month_of == month)).size:
                pub.total(m(i, col), [("over_time_by_site", int(j), col) for j in rows])
    # A year's total per site and for the network: larger counts, what the recruitment projection reads.
    year = set(months[-12:])
    in_year = np.isin(month_of, list(year))
    recent = by_site[in_year]
    totals = recent.groupby("site", sort=True)[_SITE].sum().reset_index()
    totals = pd.concat([totals, pd.DataFrame({"site": ["network"], **{c: [int(monthly[c].tail(12).sum())]
                                                                       for c in _SITE}})], ignore_index=True)
    pub.add("over_time_by_site_12_months", totals, _SITE)
    for col in _SITE:
        for i, site in enumerate(totals["site"]):
            if site == "network":
                parts = [m(j, col) for j, month in enumerate(months) if month in year]
                pub.total(("over_time_by_site_12_months", i, col),
                          [("over_time_by_site_12_months", k, col) for k in range(len(totals) - 1)])
            else:
                parts = [("over_time_by_site", int(j), col) for j in np.flatnonzero(in_year & (site_of == site))]
            pub.total(("over_time_by_site_12_months", i, col), parts)
    _add_turning(pub, over)


def _add_turning(pub: Published, over: EligibilityOverTime) -> None:
    """Per criterion, the steps between visits it turns (alone): alone ≤ all; the alone steps of all
    criteria are distinct steps, so they add up to at most the steps any criterion turns."""
    turning = over.turning()
    pub.add("over_time_turning", turning, _TURNING)
    t = lambda i, col: ("over_time_turning", i, col)  # noqa: E731
    for i in range(len(turning)):
        pub.le(t(i, "into_alone"), t(i, "into"))
        pub.le(t(i, "out_of_alone"), t(i, "out_of"))


def render_over_time(pub: Published) -> dict[str, pd.DataFrame]:
    """The three tables with their counts as published."""
    out = {}
    for name in TABLES:
        if name in pub.tables:
            shown = pub.tables[name].copy()
            for col in pub.columns[name]:
                shown[col] = [pub.label((name, i, col)) for i in range(len(shown))]
            out[name] = shown
    return out


def over_time_tables(over: EligibilityOverTime, rule: SmallCellRule = SHAREABLE) -> dict[str, pd.DataFrame]:
    """The three tables alone, protected together (a report protects them with its other tables)."""
    pub = Published(rule)
    add_over_time(pub, over)
    if not rule.internal:
        protect(pub.cells)
    return render_over_time(pub)


def series_intervals(table: pd.DataFrame, rule, cap: int = _CAP) -> dict[str, np.ndarray]:
    """Per column of a published ``over_time_monthly``, the ``(months, 2)`` true counts its labels allow.

    Narrowed by its running sum (so far = so far of the month before + newly eligible), as a
    reader who knows the rule narrows them: a hidden running sum (``*``) lies within the month
    before's plus the month's own.
    """
    n = len(table)
    bounds = np.vstack([rule.intervals(table[c].astype(str), cap) for c in _MONTHLY])
    at = {c: k * n for k, c in enumerate(_MONTHLY)}
    new, so_far = at["newly_eligible"], at["newly_eligible_so_far"]
    relations = [{so_far + i: 1, new + i: -1, **({so_far + i - 1: -1} if i else {})} for i in range(n)]
    bounds = tighten(bounds, relations)
    return {c: bounds[at[c]:at[c] + n] for c in _MONTHLY}


def network_year(shown: dict[str, pd.DataFrame], rule: SmallCellRule = SHAREABLE) -> dict[str, tuple[int, int]]:
    """Per pool, the network's newly eligible patients over the last 12 published months, as an interval.

    The tightest the published tables allow together: the network's year as shown, the sites' years, the
    months, and for the settled pool the running sum's difference across the year (so a network year
    hidden as ``*``, or sites each ``≤10``, still give a usable range). From labels alone.
    """
    monthly = shown.get("over_time_monthly")
    if monthly is None or not len(monthly):
        return {}
    months = series_intervals(monthly.reset_index(drop=True), rule)
    n, k = len(monthly), min(12, len(monthly))
    totals = shown.get("over_time_by_site_12_months", pd.DataFrame(columns=["site", *_SITE]))
    sites = totals[totals["site"] != "network"]
    out = {}
    for pool in _SITE:
        # cells: the year, the months of the year, then the sites' years (and the running sums, settled pool)
        year = rule.intervals(totals.loc[totals["site"] == "network", pool].astype(str), _CAP)
        bounds = [year[0] if len(year) else np.array([0, _CAP]), *months[pool][n - k:]]
        relations = [{0: 1, **{1 + j: -1 for j in range(k)}}]
        if len(sites):
            first = len(bounds)
            bounds += list(rule.intervals(sites[pool].astype(str), _CAP))
            relations.append({0: 1, **{first + j: -1 for j in range(len(sites))}})
        if pool == "newly_eligible":
            so_far = months["newly_eligible_so_far"]
            first = len(bounds)
            bounds += [so_far[n - 1]] + ([so_far[n - k - 1]] if n > k else [])
            relations.append({0: 1, first: -1, **({first + 1: 1} if n > k else {})})
        low, high = tighten(np.array(bounds, dtype=np.int64), relations)[0]
        out[pool] = (int(low), int(high))
    return out


def published_projection(shown: dict[str, pd.DataFrame], rule: SmallCellRule = SHAREABLE, window: int = 12,
                         target: int | None = None) -> dict[str, pd.DataFrame]:
    """The recruitment projection from the series as published, never from exact counts.

    An exact projection would give the exact counts back (its rate is the count over the months).
    Each label stands for an interval (``≤10`` for 0 to 10, ``15`` for 11 to 17): the settled pool
    takes the low ends, the upper pool the high ends. Each site from its year
    (``over_time_by_site_12_months``; none when the sites are withheld); the network, its time to
    the target and its month-by-month enrolment (``over_time_cumulative``) from the network's year as
    the published tables bound it together (:func:`network_year`), which is tighter than its sites'
    ``≤10`` cells summed.
    """
    from screening.engine.projection import MISLE_TARGET, project_totals

    totals = shown.get("over_time_by_site_12_months")
    year = network_year(shown, rule)
    if totals is None or not len(totals) or not year:
        return {}
    target = target or MISLE_TARGET
    network = project_totals(pd.DataFrame({"newly_eligible": [year["newly_eligible"][0]],
                                           "newly_eligible_max": [year["newly_eligible_max"][1]]}),
                             12, window, target)
    by_site = network.by_site
    sites = totals[totals["site"] != "network"]
    withheld = "over_time_by_site" in shown and not len(shown["over_time_by_site"])
    if len(sites) and not withheld:
        numbers = pd.DataFrame({"site": sites["site"].to_numpy(),
                                "newly_eligible": rule.intervals(sites["newly_eligible"].astype(str), _CAP)[:, 0],
                                "newly_eligible_max": rule.intervals(sites["newly_eligible_max"].astype(str),
                                                                     _CAP)[:, 1]})
        per_site = project_totals(numbers, 12, window, target).by_site
        by_site = pd.concat([per_site[per_site["site"] != "network"], network.by_site]) \
            .sort_values("pool", kind="stable").reset_index(drop=True)
    return {"over_time_projection": by_site, "over_time_time_to_target": network.time_to_target,
            "over_time_cumulative": network.cumulative}
