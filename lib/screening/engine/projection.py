"""Recruitment projection: expected enrolment over a recruitment window, and the time to a target sample size.

From the monthly count of newly eligible patients per site (:meth:`EligibilityOverTime.monthly
<screening.engine.over_time.EligibilityOverTime.monthly>`), each site's monthly rate is
uncertain: with ``x`` newly eligible patients in ``h`` months its rate is drawn from
Gamma(x + ½, h) (Jeffreys' prior), and the patients it enrols in a window of ``w`` months
are Poisson given the rate, thinned by screen failure and consent: the Poisson–gamma
(negative binomial) model of recruitment (Anisimov & Fedorov, Stat Med 2007;26:4958-4975).
The network is the sum of its sites. The interval runs from the 5th percentile under the
least favourable rates (highest screen failure, lowest consent) to the 95th under the most
favourable, so it covers both the rate's uncertainty and the stated ranges.

Two pools, as the enrolment table has: the settled newly eligible patients, and those
plus every not-assessable visit that could have been one (``newly_eligible_max``).

Example
-------
>>> import pandas as pd
>>> monthly = pd.DataFrame({"month": pd.period_range("2024-01", periods=12, freq="M").repeat(2),
...                         "site": ["A", "B"] * 12, "newly_eligible": [2, 1] * 12,
...                         "newly_eligible_max": [3, 1] * 12})
>>> p = project(monthly, window=12, target=81)
>>> p.by_site.loc[p.by_site["site"] == "network", "newly_eligible_per_month"].tolist()
[3.0, 4.0]
>>> p.time_to_target["months_median"].round().tolist()
[78.0, 59.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.engine.enrolment import SCREEN_FAILURE_RANGE, screen_failure_range
from screening.errors import ProtocolError

__all__ = ["CONSENT_RANGE", "MISLE_TARGET", "Projection", "project", "project_totals"]

#: Share of eligible patients who consent. High end: 64% of 45 patients approached said they were likely to
#: enrol ("Mock recruitment for the Study of Antimalarials in an Incomplete Lupus Erythematosus trial", 2018,
#: PMID 30369087). Low end: the enrolment table's default of one in two, as stated intent overstates consent.
CONSENT_RANGE = (0.50, 0.64)
#: MiSLE Phase 2's enrolment: 81 patients (ClinicalTrials.Veeva's copy of NCT02633163, "Enrollment 81
#: patients"; /work/research/misle.md, source C).
MISLE_TARGET = 81
_POOLS = {"newly_eligible": "newly eligible (settled)", "newly_eligible_max": "including not-assessable visits"}


@dataclass
class Projection:
    """Expected enrolment per site and for the network, and the time to the target; tidy DataFrames."""

    #: per pool and site (and ``network``): newly eligible per month, expected enrolment in the window
    #: (low and high ends of the stated ranges) and its 90% interval
    by_site: pd.DataFrame
    #: per pool: months to reach the target, median and 90% interval
    time_to_target: pd.DataFrame
    window: int
    target: int
    #: per pool and month of the window: the network's cumulative enrolment, 5th, 50th and 95th percentiles
    cumulative: pd.DataFrame

    def plot(self, ax=None, pool: str = "newly_eligible"):
        """Expected enrolment in the window per site and for the network, with intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        table = self.by_site[self.by_site["pool"] == pool]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        y = np.arange(len(table))
        mid = (table["expected_low"] + table["expected_high"]) / 2
        ax.barh(y, mid, color=["#4c72b0" if s != "network" else "#dd8452" for s in table["site"]])
        ax.errorbar(mid, y, xerr=[mid - table["interval_low"], table["interval_high"] - mid], fmt="none",
                    ecolor="black", capsize=3)
        ax.set_yticks(y, table["site"])
        ax.invert_yaxis()
        ax.set_xlabel(f"patients enrolled in {self.window} months")
        ax.set_title(f"Expected enrolment ({_POOLS[pool]}), 90% interval")
        return ax

    def plot_cumulative(self, ax=None, pool: str = "newly_eligible"):
        """The network's cumulative enrolment month by month with its 90% band and the target; returns the Axes."""
        import matplotlib.pyplot as plt

        table = self.cumulative[self.cumulative["pool"] == pool]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        ax.fill_between(table["month"], table["low"], table["high"], alpha=0.25, label="90% interval")
        ax.plot(table["month"], table["median"], label="median")
        ax.axhline(self.target, color="grey", linestyle="--", label=f"target ({self.target})")
        ax.set_xlabel("months of recruitment")
        ax.set_ylabel("patients enrolled")
        ax.legend(loc="upper left", frameon=False)
        return ax


def project(monthly: pd.DataFrame, window: int = 12, target: int = MISLE_TARGET, months: int = 12,
            screen_failure=SCREEN_FAILURE_RANGE, consent=CONSENT_RANGE, draws: int = 4000,
            seed: int = 20261126) -> Projection:
    """Project enrolment from ``monthly`` (month, site, newly_eligible, newly_eligible_max), its last ``months`` months.

    ``window`` is the recruitment window in months, ``target`` the sample size to reach; the
    ranges are (low, high) pairs or single rates. Seeded: the same inputs give the same tables.
    """
    if months < 1:
        raise ProtocolError("projection", "months", "a whole number of at least 1")
    months_held = sorted(monthly["month"].unique())[-months:]
    recent = monthly[monthly["month"].isin(months_held)]
    totals = recent.groupby("site")[list(_POOLS)].sum().reset_index() if "site" in recent else \
        pd.DataFrame({pool: [recent[pool].sum()] for pool in _POOLS})
    return project_totals(totals, len(months_held), window, target, screen_failure, consent, draws, seed)


def project_totals(totals: pd.DataFrame, months: int, window: int = 12, target: int = MISLE_TARGET,
                   screen_failure=SCREEN_FAILURE_RANGE, consent=CONSENT_RANGE, draws: int = 4000,
                   seed: int = 20261126) -> Projection:
    """Project enrolment from each site's newly eligible patients over ``months`` months (one row per site).

    ``totals`` holds ``newly_eligible`` and ``newly_eligible_max`` and, for several sites, ``site``;
    without it the one row is the network.
    """
    sf, ok = screen_failure_range(screen_failure), _range(consent)
    if window < 1 or target < 1 or months < 1:
        raise ProtocolError("projection", "window, target, months", "whole numbers of at least 1")
    h = months
    thin = {"low": (1 - sf[1]) * ok[0], "high": (1 - sf[0]) * ok[1]}
    rng = np.random.default_rng(seed)
    rows, times, bands = [], [], []
    by_site = "site" in totals.columns
    sites = [str(s) for s in totals["site"]] if by_site else ["network"]
    for pool in _POOLS:
        counts = totals[pool].to_numpy(dtype=float)
        rate = rng.gamma(counts + 0.5, 1 / h, size=(draws, len(sites)))  # per site and month
        enrolled = {k: rng.poisson(rate * q * window) for k, q in thin.items()}
        for i, site in enumerate([*sites, "network"] if by_site else sites):
            pick = {k: (e[:, i] if i < len(sites) else e.sum(axis=1)) for k, e in enrolled.items()}
            seen = counts.sum() if i == len(sites) else counts[i]
            rows.append({"pool": pool, "site": site, "newly_eligible_per_month": round(float(seen) / h, 2),
                         "expected_low": round(float(pick["low"].mean()), 1),
                         "expected_high": round(float(pick["high"].mean()), 1),
                         "interval_low": round(float(np.percentile(pick["low"], 5)), 1),
                         "interval_high": round(float(np.percentile(pick["high"], 95)), 1)})
        network = rate.sum(axis=1)
        # Months to the target: the target-th arrival of a Poisson process at the thinned network rate.
        wait = {k: rng.gamma(target, 1, draws) / np.maximum(network * q, 1e-12) for k, q in thin.items()}
        times.append({"pool": pool, "target": target, "months_median": round(float(np.median(
            np.concatenate([wait["low"], wait["high"]]))), 1),
                      "months_low": round(float(np.percentile(wait["high"], 5)), 1),
                      "months_high": round(float(np.percentile(wait["low"], 95)), 1)})
        steps = np.arange(1, window + 1)
        low = rng.poisson(network[:, None] * thin["low"] * steps[None, :])
        high = rng.poisson(network[:, None] * thin["high"] * steps[None, :])
        bands.append(pd.DataFrame({"pool": pool, "month": steps, "low": np.percentile(low, 5, axis=0),
                                   "median": np.median(np.concatenate([low, high]), axis=0),
                                   "high": np.percentile(high, 95, axis=0)}))
    return Projection(pd.DataFrame(rows), pd.DataFrame(times), window, target, pd.concat(bands, ignore_index=True))


def _range(rate) -> tuple[float, float]:
    pair = (rate, rate) if isinstance(rate, (int, float)) else tuple(rate)
    if len(pair) != 2 or not all(0 <= r <= 1 for r in pair):
        raise ProtocolError("projection", "consent", "a rate from 0 to 1 or a (low, high) pair of them",
                            hint=f"Got {rate}.")
    return (min(pair), max(pair))
