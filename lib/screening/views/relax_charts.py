"""Charts of relaxations: the frontier of pool gained against make-up or risk, Shapley shares, near misses.

Each takes a result table and an optional ``ax`` and returns the Axes. Given a
shareable table (counts as text: ``≤10``, rounded numbers), bars are drawn from
what the table shows, so a shared figure tells no more than its table.

Example
-------
>>> from screening import load_extract, screen
>>> s = screen(load_extract("data/synthetic"))
>>> ax = frontier_chart(s.frontier())
>>> ax.get_xlabel()
'patients gained (eligible)'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from screening.views.charts import COLORS

__all__ = ["frontier_chart", "shapley_chart", "near_miss_chart", "relaxations_chart"]

#: One colour per number of changes (Okabe–Ito).
SIZE_COLORS = {1: "#0072B2", 2: "#E69F00", 3: "#CC79A7"}
AXES = {"makeup": ("smd_max", "frontier_makeup", "largest make-up shift, |SMD|\n(sex, race/ethnicity, age band, "
                   "SLEDAI band)"),
        "risk": ("risk_smd_max", "frontier_risk", "largest shift in clinical risk flags, |SMD|\n(eGFR < 60, "
                 "infection, glucocorticoid dose)")}


def _numbers(values: pd.Series) -> np.ndarray:
    """Counts as drawn: numbers as they are, shown text (rounded) as its number, ``≤10`` or ``*`` as 0."""
    text = values.astype(str)
    return pd.to_numeric(text.where(text.str.fullmatch(r"-?\d+(\.\d+)?")), errors="coerce").fillna(0).to_numpy()


def frontier_chart(frontier: pd.DataFrame, ax=None, against: str = "makeup", label_top: int = 4):
    """Every relaxation tried: patients gained against the shift it causes, the frontier joined, the shipped
    protocol marked with a star at the origin."""
    if against not in AXES:
        raise ValueError(f"against must be one of {', '.join(AXES)}")
    y_col, on_col, y_label = AXES[against]
    ax = ax or plt.subplots(figsize=(8, 5))[1]
    gain = _numbers(frontier["gain"])
    shift = frontier[y_col].to_numpy(dtype=float)
    sizes = frontier["n_changes"].to_numpy()
    for n, colour in SIZE_COLORS.items():
        pick = sizes == n
        if pick.any():
            ax.scatter(gain[pick], shift[pick], s=18, color=colour, alpha=0.55,
                       label=f"{n} change{'s' if n > 1 else ''}")
    on = frontier[on_col].to_numpy(dtype=bool) & (sizes > 0)
    order = np.argsort(gain[on], kind="stable")
    ax.plot(np.r_[0, gain[on][order]], np.r_[0, shift[on][order]], color=COLORS["neutral"], lw=1, zorder=1,
            label="frontier")
    ax.scatter([0], [0], marker="*", s=220, color=COLORS["eligible"], edgecolor="black", zorder=3,
               label="as shipped")
    best = np.flatnonzero(on)[np.argsort(-gain[on], kind="stable")][:label_top]
    for rank, i in enumerate(best):  # staggered, so neighbouring labels do not overprint
        ax.annotate(frontier["changes"].iloc[i].replace("; ", "\n"), (gain[i], shift[i]), fontsize=7,
                    xytext=(-10, -14 - 22 * rank), textcoords="offset points", ha="right",
                    arrowprops={"arrowstyle": "-", "color": COLORS["neutral"], "lw": 0.5})
    ax.set_xlabel("patients gained (eligible)")
    ax.set_ylabel(y_label)
    ax.set_title("What opens the pool: relaxations and what they change")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    return ax


def shapley_chart(table: pd.DataFrame, ax=None, column: str | None = None):
    """Each criterion's Shapley share of the exclusions beside the patients it excludes in sequence.

    ``column``: the Shapley counts drawn (default ``shapley``, the shared table's, else ``shapley_whole``).
    """
    column = column or ("shapley" if "shapley" in table else "shapley_whole")
    ax = ax or plt.subplots(figsize=(8, 0.3 * len(table) + 1))[1]
    shapley = _numbers(table[column])
    order = np.argsort(shapley, kind="stable")
    y = np.arange(len(table))
    ax.barh(y, shapley[order], color=COLORS["excluded"], height=0.45, label="Shapley share (order-free)")
    if "excluded_in_sequence" in table:
        seq = _numbers(table["excluded_in_sequence"])
        ax.barh(y + 0.45, seq[order], color=COLORS["neutral"], height=0.45, label="excluded in sequence")
    ax.set_yticks(y + 0.2, table["label"].to_numpy()[order], fontsize=8)
    ax.set_xlabel("patients")
    ax.set_title("Which criteria keep patients out: Shapley share of the exclusions")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return ax


def near_miss_chart(histogram: pd.DataFrame, criteria: list[str] | None = None, axes=None):
    """Near misses per band of distance past the threshold, one small panel per criterion; returns the Axes."""
    numbers = histogram.assign(_n=_numbers(histogram["patients"]))
    if criteria is None:  # the criteria with a distance (more than one band) holding the most near misses shown
        totals = numbers.groupby("criterion", sort=False)["_n"].sum()
        bands = numbers.groupby("criterion", sort=False)["band"].size()
        criteria = [c for c in totals.sort_values(ascending=False, kind="stable").index
                    if totals[c] > 0 and bands[c] > 1][:6]
    if axes is None:
        cols = max(1, min(3, len(criteria)))
        rows = max(1, -(-len(criteria) // cols))
        axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False, layout="constrained")[1].ravel()
    for ax, cid in zip(axes, criteria, strict=False):
        part = numbers[numbers["criterion"] == cid]
        ax.bar(np.arange(len(part)), part["_n"], color=COLORS["not_assessable"])
        ax.set_xticks(np.arange(len(part)), part["band"], rotation=40, ha="right", fontsize=7)
        ax.set_title(part["label"].iloc[0], fontsize=8)
        for x, text in enumerate(part["patients"].astype(str)):
            ax.annotate(text, (x, part["_n"].iloc[x]), ha="center", va="bottom", fontsize=7)
    for ax in list(axes)[len(criteria):]:
        ax.set_visible(False)
    return axes[0]


def relaxations_chart(table: pd.DataFrame, ax=None):
    """The top relaxations as bars of the pool they give (eligible, and the not-assessable on top)."""
    ax = ax or plt.subplots(figsize=(8, 0.35 * len(table) + 1))[1]
    eligible, maybe = _numbers(table["eligible"]), _numbers(table["not_assessable"])
    y = np.arange(len(table))[::-1]
    ax.barh(y, eligible, color=COLORS["eligible"], label="eligible")
    ax.barh(y, maybe, left=eligible, color=COLORS["not_assessable"], alpha=0.6, label="not assessable")
    ax.set_yticks(y, table["relaxation"], fontsize=8)
    ax.set_xlabel("patients")
    ax.set_title("The pool with the best relaxations of 1, 2 and 3 criteria")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return ax
