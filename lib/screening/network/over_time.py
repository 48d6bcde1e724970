"""The network's monthly series of newly eligible patients, summed from the sites' bundles alone.

A site whose extract holds visits publishes ``over_time_monthly`` (:mod:`screening.disclosure.over_time`)
under its disclosure rule. Each label stands for an interval of true counts; a site's running
sum ties its months together (so-far = so-far of the month before + newly eligible), which
:func:`~screening.disclosure.published.tighten` uses to narrow them. The network's interval for
a month is the sum of the sites' intervals: it holds the count screening every site's patients
together would give. Only the months every site's series covers are listed (a site publishes its
latest months; a month outside them is unknown, not zero). Nothing here reads a count a site did
not publish, so the merged series discloses nothing more than the bundles.

Example
-------
>>> import pandas as pd
>>> site = pd.DataFrame({"month": ["2024-01", "2024-02"], "visits": ["40", "≤10"],
...                      "eligible_visits": ["≤10", "≤10"], "newly_eligible": ["≤10", "≤10"],
...                      "newly_eligible_max": ["15", "≤10"], "newly_eligible_so_far": ["≤10", "15"]})
>>> from screening.disclosure.rule import SHAREABLE
>>> merged = merge_monthly({"A": (site, SHAREABLE), "B": (site, SHAREABLE)})
>>> merged[["month", "newly_eligible", "newly_eligible_so_far"]].values.tolist()
[['2024-01', '2–20', '2–20'], ['2024-02', '2–20', '22–34']]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.disclosure.over_time import series_intervals
from screening.disclosure.published import interval_text, read_rule

__all__ = ["COLUMNS", "merge_monthly", "network_over_time"]

COLUMNS = ["visits", "eligible_visits", "newly_eligible", "newly_eligible_max", "newly_eligible_so_far"]


def merge_monthly(sites: dict[str, tuple[pd.DataFrame, object]]) -> pd.DataFrame:
    """Sum the sites' published monthly series (site -> (table as shown, its rule)) over the months all cover.

    ``newly_eligible_so_far`` is summed over the months listed here, so the sites' sums start together.
    """
    intervals = {}
    for site, (table, rule) in sites.items():
        table = table.reset_index(drop=True)
        intervals[site] = (table["month"].astype(str).to_numpy(), series_intervals(table, rule))
    common = sorted(set.intersection(*(set(months) for months, _ in intervals.values()))) if intervals else []
    out = pd.DataFrame({"month": common})
    for c in COLUMNS:
        low, high = np.zeros(len(common), dtype=np.int64), np.zeros(len(common), dtype=np.int64)
        for months, bounds in intervals.values():
            pick = pd.Index(months).get_indexer(common)
            if c == "newly_eligible_so_far" and len(pick) and pick[0] > 0:  # the site's sum began earlier: restart
                new = bounds["newly_eligible"][pick]
                low, high = low + np.cumsum(new[:, 0]), high + np.cumsum(new[:, 1])
            else:
                low, high = low + bounds[c][pick, 0], high + bounds[c][pick, 1]
        out[c] = interval_text(low, high).to_numpy()
        out[f"{c}_low"], out[f"{c}_high"] = low, high
    out.insert(1, "sites", len(sites))
    return out


def network_over_time(bundles) -> dict[str, pd.DataFrame]:
    """``over_time_monthly`` for the network, when every bundle publishes its series (else nothing)."""
    from screening.disclosure.bundle import _read_table

    name = "tables/over_time_monthly.csv"
    if not bundles or not all((b.path / name).is_file() for b in bundles):
        return {}
    # read_bundle has checked every listed file's SHA-256; an unlisted series is not the site's: left out.
    listed = [b for b in bundles if name in (b.path / "MANIFEST.sha256").read_text(encoding="utf-8")]
    if len(listed) != len(bundles):
        return {}
    return {"over_time_monthly": merge_monthly({b.label: (_read_table(b.path, name),
                                                          read_rule(b.provenance.get("disclosure") or {}))
                                                for b in bundles})}
