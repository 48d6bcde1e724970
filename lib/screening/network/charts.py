"""Charts of a merged network (:mod:`screening.network.merge`): each takes a network table and returns the Axes.

Every count in a network table is an interval (``low``, ``high``): the sites
published some counts rounded or hidden. Bars are drawn at the interval's
midpoint with an error bar spanning it, and each label states the interval.

Example
-------
>>> import pandas as pd
>>> outcome = pd.DataFrame({"site": ["A", "B"], "eligible": ["12", "1–10"], "eligible_low": [12, 1],
...                         "eligible_high": [12, 10], "not_assessable": ["30", "44"],
...                         "not_assessable_low": [30, 44], "not_assessable_high": [30, 44]})
>>> len(site_pool_chart(outcome).patches)
4
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from screening.views.charts import COLORS, funnel_axes

__all__ = ["network_funnel_chart", "site_pool_chart", "criteria_heatmap"]


def _plain(values) -> list[str]:
    """Text from a bundle drawn as itself: a ``$`` would start matplotlib's mathtext (and can fail to parse).

    >>> print(_plain(["cost $5"])[0])
    cost \\$5
    """
    return [str(v).replace("$", r"\$") for v in values]


def _mid(table: pd.DataFrame, column: str) -> np.ndarray:
    return (table[f"{column}_low"].to_numpy(dtype=float) + table[f"{column}_high"].to_numpy(dtype=float)) / 2


def _span(table: pd.DataFrame, column: str) -> np.ndarray:
    """Error-bar lengths below and above the midpoint (matplotlib's ``xerr``/``yerr`` shape)."""
    mid = _mid(table, column)
    return np.vstack([mid - table[f"{column}_low"].to_numpy(dtype=float),
                      table[f"{column}_high"].to_numpy(dtype=float) - mid])


def network_funnel_chart(attrition: pd.DataFrame, ax=None, title: str | None = None):
    """Patients remaining after each step across the network, with the interval the sites' counts leave.

    The black whisker on each bar spans every count the sites' published values allow.
    """
    t = attrition.reset_index(drop=True)
    k = len(t)
    if ax is None:
        _, ax = plt.subplots(figsize=(12.5, 0.42 * k + 1.6), layout="constrained")
    y = np.arange(k)[::-1]
    remaining = _mid(t, "remaining")
    ax.barh(y, remaining, color=COLORS["remaining"], height=0.7,
            label="remaining: still in play (midpoint of its interval)")
    ax.errorbar(remaining, y, xerr=_span(t, "remaining"), fmt="none", ecolor="black", elinewidth=1.2, capsize=3,
                label="interval the sites' published counts allow")
    total = float(t["remaining_high"].max()) or 1.0
    for i in range(k):
        text = str(t["remaining"][i])
        if i > 0:
            text += f"   excluded {t['excluded'][i]}"
            if str(t["not_assessable"][i]) != "0":
                text += f", not assessable {t['not_assessable'][i]}"
        ax.text(total * 1.03, y[i], text, va="center", fontsize=8.5)
    ax.text(total * 1.03, k - 0.35, "remaining   removed at this step (ranges: low–high)", fontsize=8.5,
            weight="bold", va="bottom")
    return funnel_axes(ax, _plain(t["label"]), total, width=2.1,
                       xlabel="patients across the network (people, not records)", legend_columns=2,
                       title=title or "Network screening funnel, in protocol order")


def site_pool_chart(outcome: pd.DataFrame, ax=None, title: str | None = None):
    """Per site: eligible patients, with the not assessable stacked on top; whiskers span each interval.

    The top of each stack is the site's pool if every not-assessable patient qualified.
    """
    t = outcome.reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(t) + 2.5), 4.8), layout="constrained")
    x = np.arange(len(t))
    eligible, unknown = _mid(t, "eligible"), _mid(t, "not_assessable")
    ax.bar(x, eligible, color=COLORS["eligible"], width=0.65, label="eligible")
    ax.bar(x, unknown, bottom=eligible, color=COLORS["not_assessable"], width=0.65, label="not assessable")
    ax.errorbar(x - 0.12, eligible, yerr=_span(t, "eligible"), fmt="none", ecolor="black", capsize=3,
                label="interval of each count")
    ax.errorbar(x + 0.12, eligible + unknown, yerr=_span(t, "not_assessable"), fmt="none", ecolor="black",
                capsize=3)
    top = float((t["eligible_high"] + t["not_assessable_high"]).max()) or 1.0
    for i in range(len(t)):
        ax.text(x[i], eligible[i] + unknown[i] + 0.04 * top,
                f"{t['eligible'][i]}\n+ {t['not_assessable'][i]}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * 1.3)
    ax.set_xticks(x, _plain(t["site"]), rotation=30 if len(t) > 8 else 0)
    ax.set_ylabel("patients")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, ncols=3, loc="upper left")
    ax.set_title(title or "Eligible pool by site (label: eligible + not assessable)", loc="left", fontsize=11)
    return ax


def criteria_heatmap(by_site: pd.DataFrame, ax=None, title: str | None = None):
    """Criterion × site heat map: the share of each site's patients a criterion removes on its own.

    Colours follow the interval's midpoint; each cell states the share, as a range
    where the site's count was published rounded or hidden.
    """
    order = list(dict.fromkeys(by_site["criterion"]))
    sites = list(dict.fromkeys(by_site["site"]))
    mid = by_site.assign(mid=(by_site["pct_of_site_low"] + by_site["pct_of_site_high"]) / 2)
    wide = mid.pivot(index="criterion", columns="site", values="mid").reindex(index=order, columns=sites)
    text = by_site.pivot(index="criterion", columns="site", values="pct_of_site").reindex(index=order, columns=sites)
    labels = by_site.drop_duplicates("criterion").set_index("criterion")["label"].reindex(order)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 * len(sites) + 4.5, 0.32 * len(order) + 1.6), layout="constrained")
    values = wide.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="Oranges", vmin=0, vmax=max(float(np.nanmax(values)), 1.0), aspect="auto")
    dark = values > 0.6 * np.nanmax(values)
    for (i, j), shown in np.ndenumerate(text.to_numpy()):
        ax.text(j, i, _plain([shown])[0], ha="center", va="center", fontsize=6.5,
                color="white" if dark[i, j] else "#222222")
    ax.set_xticks(range(len(sites)), _plain(sites), fontsize=8)
    ax.set_yticks(range(len(order)), _plain(textwrap.shorten(str(x), 44, placeholder="…") for x in labels),
                  fontsize=8)
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="% of the site's patients (midpoint)")
    ax.set_title(title or "Which criteria bite most at each site: % excluded by the criterion alone", loc="left",
                 fontsize=11)
    return ax
