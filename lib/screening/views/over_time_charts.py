"""Eligible over time as a report shows it: charts and sentences drawn from the shared ``over_time_*`` tables alone.

A shareable report's series hold labels (``≤10``, counts rounded to 5, a rare ``*``), so
every figure here is drawn from the interval each label stands for under the report's
rule, never from exact counts; with suppression off (``small_cell = 0``) the intervals
are the exact counts. The tables come from :func:`screening.views.report.report_tables`
on an extract with visits (:mod:`screening.disclosure.over_time`).

Example
-------
>>> import pandas as pd
>>> from screening.disclosure.rule import SHAREABLE
>>> status = pd.DataFrame({"status": ["patients", "eligible", "excluded", "not_assessable"],
...                        "last_visit": ["5000", "90", "4545", "365"],
...                        "any_visit_12_months": ["5000", "155", "3635", "1215"]})
>>> over_time_sentence({"over_time_status": status}, SHAREABLE)
'**90** patients are eligible at their last visit, **155** at some visit in the 12 months before it.'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.disclosure.over_time import network_year
from screening.disclosure.rule import SmallCellRule
from screening.engine.projection import Projection

__all__ = ["has_series", "in_words", "over_time_sentence", "per_month", "projection_of", "projection_table",
           "time_to_target_sentence", "monthly_chart", "site_chart", "site_monthly_chart", "cumulative_chart",
           "NO_VISITS"]

#: What the section says, and all it says, for an extract without visits.
NO_VISITS = ("The extract has no visits table, so each patient is screened at the baseline alone and there is no "
             "series over time (`data/README.md`, *visits*).")
_CAP = 10 ** 6


#: The over-time tables' columns and pools as a reader names them (the CSVs keep their code names).
_WORDS = {"last_visit": "at the last visit", "any_visit_12_months": "at any visit in the last 12 months",
          "eligible_visits": "eligible visits", "newly_eligible": "newly eligible",
          "newly_eligible_max": "newly eligible, at most", "newly_eligible_so_far": "newly eligible so far",
          "newly_eligible_per_month": "newly eligible a month (last 12 months ÷ 12)",
          "not_assessable": "not assessable",
          "expected_low": "enrolled in 12 months, low", "expected_high": "enrolled in 12 months, high",
          "interval_low": "90% interval, low", "interval_high": "90% interval, high"}


def in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """An over-time table to show: headers and the status / pool names in words, enrolment in whole patients.

    >>> in_words(pd.DataFrame({"status": ["not_assessable"], "last_visit": ["365"]})).to_dict("records")
    [{'status': 'not assessable', 'at the last visit': '365'}]
    """
    out = frame.copy()
    for column in ("status", "pool"):
        if column in out:
            out[column] = out[column].map(lambda v: _WORDS.get(v, v))
    for column in ("expected_low", "expected_high", "interval_low", "interval_high"):
        if column in out and pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round().astype("Int64")
    return out.rename(columns=_WORDS)


def has_series(tables: dict[str, pd.DataFrame]) -> bool:
    """Whether the report holds the over-time series (its extract has visits)."""
    return "over_time_monthly" in tables


def _interval(labels, rule: SmallCellRule) -> np.ndarray:
    return rule.intervals(pd.Series(labels).astype(str), _CAP)


def _span(lo: float, hi: float, digits: int = 0) -> str:
    text = [f"{v:,.{digits}f}" for v in (lo, hi)]
    return text[0] if text[0] == text[1] else f"{text[0]}–{text[1]}"


def per_month(interval, months: int) -> str:
    """A count of ``months`` months as a rate a month: the interval the shown count stands for ÷ ``months``.

    The one figure the sentence, the projection table and the what-if panel give.

    >>> per_month((33, 37), 12), per_month((0, 10), 12), per_month((4, 4), 12)
    ('2.8–3.1', '0.0–0.8', '0.3')
    """
    low, high = interval
    return "withheld" if high >= _CAP else _span(low / months, high / months, 1)


def _rate_months(tables: dict[str, pd.DataFrame]) -> int:
    return max(min(12, len(tables["over_time_monthly"])), 1)


def over_time_sentence(tables: dict[str, pd.DataFrame], rule: SmallCellRule) -> str:
    """Eligible at the last visit against any visit in 12 months, and newly eligible per month, as published."""
    status = tables["over_time_status"].set_index("status")
    text = (f"**{status.loc['eligible', 'last_visit']}** patients are eligible at their last visit, "
            f"**{status.loc['eligible', 'any_visit_12_months']}** at some visit in the 12 months before it.")
    year = network_year(tables, rule)
    if year:
        months = _rate_months(tables)
        settled, most = (per_month(year[p], months) for p in ("newly_eligible", "newly_eligible_max"))
        text += (f" Over the last {months} months of the series, **{settled} patients a month** became newly "
                 f"eligible (the settled newly eligible of those months, as the shown counts allow, ÷ {months}), "
                 f"up to {most} if every not-assessable visit that could be one were.")
    return text


def projection_of(tables: dict[str, pd.DataFrame]) -> Projection | None:
    """The report's recruitment projection (``over_time_projection`` and the tables beside it), to chart."""
    if "over_time_cumulative" not in tables:
        return None
    cumulative, times = tables["over_time_cumulative"], tables["over_time_time_to_target"]
    return Projection(tables["over_time_projection"], times, int(cumulative["month"].max()),
                      int(times["target"].iloc[0]), cumulative)


def projection_table(tables: dict[str, pd.DataFrame], rule: SmallCellRule) -> pd.DataFrame:
    """The projection per site and for the network as shown: each rate a month the interval its shown count
    stands for (:func:`per_month`; a site's ``≤10`` reads 0.0–0.8, never 0.0), the network's the sentence's.

    The CSV (``over_time_projection``) keeps the rates the projection read (each label's low or high end).
    """
    shown = tables["over_time_projection"].copy()
    months, year = _rate_months(tables), network_year(tables, rule)
    totals = tables["over_time_by_site_12_months"].set_index("site")
    labels = [totals.at[site, pool] if site in totals.index else "*"
              for site, pool in zip(shown["site"], shown["pool"], strict=True)]
    bounds = _interval(labels, rule)
    network = (shown["site"] == "network").to_numpy()
    bounds[network] = [year[pool] for pool in shown.loc[network, "pool"]]
    shown["newly_eligible_per_month"] = [per_month(b, months) for b in bounds]
    return shown


def time_to_target_sentence(projection: Projection) -> str:
    """Months to the target sample size from each pool, with the 90% interval."""
    t = projection.time_to_target.set_index("pool")
    settled, most = t.loc["newly_eligible"], t.loc["newly_eligible_max"]
    return (f"To enrol {projection.target} patients: **{_span(settled['months_low'], settled['months_high'])} "
            f"months** (median {settled['months_median']:,.0f}) from the settled newly eligible; "
            f"{_span(most['months_low'], most['months_high'])} months (median {most['months_median']:,.0f}) if "
            "every not-assessable visit that could be newly eligible were (90% intervals).")


def monthly_chart(tables: dict[str, pd.DataFrame], rule: SmallCellRule, axes=None):
    """Newly eligible per month (settled, and at most) and summed so far, each as the interval its label allows.

    Returns the two Axes.
    """
    import matplotlib.pyplot as plt

    monthly = tables["over_time_monthly"]
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 3.5), layout="constrained")
    x = pd.PeriodIndex(monthly["month"], freq="M").to_timestamp()
    settled, most = _interval(monthly["newly_eligible"], rule), _interval(monthly["newly_eligible_max"], rule)
    left, right = axes
    left.fill_between(x, settled[:, 1], most[:, 1], step="mid", alpha=0.2,
                      label="at most: not-assessable visits resolved to add most")
    left.fill_between(x, settled[:, 0], settled[:, 1], step="mid", alpha=0.6, label="newly eligible (settled)")
    left.set_ylabel("patients per month")
    left.set_title("Newly eligible per month")
    left.legend(loc="upper right", frameon=False, fontsize="small")
    so_far = _interval(monthly["newly_eligible_so_far"], rule)
    shown = so_far[:, 1] < _CAP  # a hidden running sum (*) draws no band
    right.fill_between(x[shown], so_far[shown, 0], so_far[shown, 1], step="mid", alpha=0.6)
    right.set_ylabel("patients")
    right.set_title("Newly eligible (settled), summed from the first month shown")
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="x", labelrotation=30)
    return axes


def site_chart(tables: dict[str, pd.DataFrame], rule: SmallCellRule, ax=None):
    """Per site, newly eligible over the last 12 months: the settled interval and the upper end; returns the Axes.

    A site's count hidden as ``*`` draws no bar. The network is the sentence's (:func:`over_time_sentence`).
    """
    import matplotlib.pyplot as plt

    totals = tables["over_time_by_site_12_months"]
    totals = totals[totals["site"] != "network"]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.4 * len(totals) + 1))
    y = np.arange(len(totals))
    settled, most = _interval(totals["newly_eligible"], rule), _interval(totals["newly_eligible_max"], rule)
    most = np.where(most < _CAP, most, 0)
    settled = np.where(settled < _CAP, settled, 0)
    ax.barh(y, most[:, 1], color="#c6d4e8", label="at most (with not-assessable visits)")
    ax.barh(y, settled[:, 1], color="#4c72b0", label="newly eligible (settled), upper end of its label")
    ax.set_yticks(y, totals["site"])
    ax.invert_yaxis()
    ax.set_xlabel("patients newly eligible in the last 12 months")
    ax.legend(loc="lower right", frameon=False, fontsize="small")
    return ax


def site_monthly_chart(tables: dict[str, pd.DataFrame], rule: SmallCellRule, axes=None, columns: int = 4):
    """Per site, newly eligible month by month (``over_time_by_site``): one panel a site, each month the interval its
    label stands for (settled, and at most with the not-assessable visits); returns the Axes, one a site.

    A site's month hidden as ``*``, or with no visit, draws nothing; the months are the network series'.
    """
    import matplotlib.pyplot as plt

    by_site = tables["over_time_by_site"]
    by_site = by_site[by_site["site"] != "network"]
    sites = list(dict.fromkeys(by_site["site"]))
    months = pd.PeriodIndex(tables["over_time_monthly"]["month"], freq="M")
    if axes is None:
        rows = max(-(-len(sites) // columns), 1)
        _, grid = plt.subplots(rows, columns, figsize=(13, 2.2 * rows + 0.6), sharex=True, sharey=True,
                               layout="constrained", squeeze=False)
        for ax in grid.ravel()[len(sites):]:
            ax.set_visible(False)
        axes = grid.ravel()[:len(sites)]
    x = months.to_timestamp()
    for ax, site in zip(axes, sites, strict=True):
        part = by_site[by_site["site"] == site]
        settled, most = (_interval(part[col], rule) for col in ("newly_eligible", "newly_eligible_max"))
        band = pd.DataFrame({"lo": settled[:, 0], "hi": settled[:, 1], "top": most[:, 1]}, dtype=float,
                            index=pd.PeriodIndex(part["month"], freq="M"))
        band = band.where(band < _CAP)  # a hidden count (*) bounds nothing
        band.loc[band["hi"].isna(), "lo"] = np.nan
        band = band.reindex(months)
        ax.fill_between(x, band["hi"], band["top"], step="mid", alpha=0.2, color="#4c72b0",
                        label="at most: with not-assessable visits")
        ax.fill_between(x, band["lo"], band["hi"], step="mid", alpha=0.6, color="#4c72b0",
                        label="newly eligible (settled)")
        ax.set_title(site, fontsize="medium")
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    if len(sites):
        axes[0].set_ylabel("patients per month")
        axes[0].legend(loc="upper left", frameon=False, fontsize="x-small")
    return axes


def cumulative_chart(projection: Projection, ax=None):
    """The network's enrolment month by month, both pools with their 90% bands, and the target; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for pool, label in (("newly_eligible_max", "with not-assessable visits"), ("newly_eligible", "settled")):
        band = projection.cumulative[projection.cumulative["pool"] == pool]
        line, = ax.plot(band["month"], band["median"], label=f"{label}: median, 90% interval")
        ax.fill_between(band["month"], band["low"], band["high"], alpha=0.25, color=line.get_color())
    ax.axhline(projection.target, color="grey", linestyle="--", label=f"target ({projection.target})")
    ax.set_xlabel("months of recruitment")
    ax.set_ylabel("patients enrolled (network)")
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    return ax
