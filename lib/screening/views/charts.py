"""Charts of screening results. Each takes a result table and returns matplotlib Axes or a Figure.

Colours are the Okabe–Ito colour-blind-safe palette. When a suppressed table
(from :mod:`screening.disclosure.shareable`) is given, its text is used for every label, and
bars are drawn from its (rounded) numbers alone (see :func:`_drawn`), so a
shared figure tells no more than its table.

Example
-------
>>> from screening import screen, load_extract
>>> s = screen(load_extract("data/synthetic"))
>>> ax = funnel_chart(s.attrition())
>>> type(ax).__name__, len(ax.get_yticklabels())
('Axes', 25)
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import MaxNLocator

from screening.disclosure.rule import HIDDEN
from screening.engine.groups import MISSING

__all__ = ["funnel_chart", "tail_start", "consort_chart", "upset_chart", "composition_chart", "subgroup_chart",
           "makeup_chart", "exclusion_heatmap", "group_name", "COLORS"]

COLORS = {"remaining": "#0072B2", "excluded": "#D55E00", "not_assessable": "#E69F00", "eligible": "#009E73",
          "extract": "#56B4E9", "neutral": "#999999"}

#: What "remaining" counts, in every legend: not yet excluded nor set aside (a patient an earlier criterion
#: could not assess who fails a later one is still in play, and counted where excluded: the report says so).
REMAINING = "remaining: still in play after this step"

#: Okabe–Ito colours for the groups of a characteristic; missing values are always grey.
GROUP_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _shown(value) -> str:
    """A count for a label, as the tables show it (no thousands separators: 5000 in a table is 5000 here)."""
    return str(value)


def group_name(column: str) -> str:
    """A characteristic as a reader names it.

    >>> group_name("age_years"), group_name("race_ethnicity"), group_name("site")
    ('age band', 'race/ethnicity', 'site')
    """
    return {"age_years": "age band", "age_band": "age band", "race_ethnicity": "race/ethnicity"}.get(
        column, column.replace("_", " "))


def _pct(value) -> str:
    text = str(value)
    return text if text == HIDDEN else f"{text}%"


def _drawn(numeric: pd.Series, text: pd.Series | None) -> np.ndarray:
    """Bar lengths: the numbers a shareable table shows (rounded); redacted or hidden counts drawn as 0.

    Drawn from the table's text alone, so a shared figure tells no more than its table.
    """
    if text is None:
        return numeric.to_numpy(dtype=float)
    shown = text.astype(str)
    return pd.to_numeric(shown.where(shown.str.fullmatch(r"\d+")), errors="coerce").fillna(0).to_numpy(dtype=float)


def funnel_chart(attrition: pd.DataFrame, suppressed: pd.DataFrame | None = None, ax=None, title: str | None = None,
                 start: int = 0):
    """Horizontal attrition bars: remaining after each step, with the step's removals beside it.

    Each bar is labelled with the criterion, the patients remaining, their share
    of the previous step and of the whole extract, and the counts removed.
    ``start``: draw the steps from this row on, on their own scale (the tail of a
    long funnel, where bars drawn to the whole extract are slivers; see :func:`tail_start`).
    """
    t = attrition.iloc[start:].reset_index(drop=True)
    s = suppressed.iloc[start:].reset_index(drop=True) if suppressed is not None else None
    k = len(t)
    if ax is None:
        _, ax = plt.subplots(figsize=(12.5, 0.42 * k + 1.6), layout="constrained")
    y = np.arange(k)[::-1]
    rem = _drawn(t["remaining"], s["remaining"] if s is not None else None)
    exc = _drawn(t["excluded"], s["excluded"] if s is not None else None)
    una = _drawn(t["not_assessable"], s["not_assessable"] if s is not None else None)
    ax.barh(y, rem, color=COLORS["remaining"], height=0.7, label=REMAINING)
    ax.barh(y, exc, left=rem, color=COLORS["excluded"], height=0.7, label="excluded at this step")
    ax.barh(y, una, left=rem + exc, color=COLORS["not_assessable"], height=0.7,
            label="not assessable at this step")
    # The axis spans the (rounded) extract; a redacted one gets a fixed axis that says nothing of its size.
    total = float(_drawn(t["entering"], s["entering"] if s is not None else None)[0]) or 10.0
    src = s if s is not None else t
    for i in range(k):
        text = f"{_shown(src['remaining'][i])}"
        if i > 0 or start > 0:
            text += f"  ({_pct(src['pct_of_previous'][i])} / {_pct(src['pct_of_total'][i])})"
            text += f"   excluded {_shown(src['excluded'][i])}"
            if str(src["not_assessable"][i]) != "0":
                text += f", not assessable {_shown(src['not_assessable'][i])}"
        ax.text(total * 1.03, y[i], text, va="center", fontsize=8.5)
    ax.text(total * 1.03, k - 0.35, "remaining: still in play  (% of previous / % of all)   removed at this step",
            fontsize=8.5, weight="bold", va="bottom")
    return funnel_axes(ax, t["label"], total, width=2.25, xlabel="patients (people, not records)", legend_columns=3,
                       title=title or "Screening funnel, in protocol order")


def tail_start(attrition: pd.DataFrame, share: float = 0.2) -> int | None:
    """The first step entered by fewer than ``share`` of the extract, from which bars drawn to the whole extract
    are slivers; None when the funnel never narrows that far. Read from the counts as given (shown ones for a
    shareable table).

    >>> tail_start(pd.DataFrame({"entering": ["5000", "4000", "900", "300"]}))
    2
    """
    entering = pd.to_numeric(attrition["entering"].astype(str), errors="coerce").to_numpy(dtype=float)
    small = np.flatnonzero(entering < share * entering[0])
    return int(small[0]) if len(small) and small[0] > 0 else None


def funnel_axes(ax, labels: pd.Series, total: float, width: float, xlabel: str, legend_columns: int, title: str):
    """The frame every horizontal funnel shares: step labels top down, a patient axis, room for text on the right."""
    k = len(labels)
    ax.set_yticks(np.arange(k)[::-1], [textwrap.shorten(str(lbl), 48) for lbl in labels], fontsize=9)
    ax.set_xlim(0, total * width)
    ax.set_ylim(-0.6, k + 0.2)
    ticks = MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, total)
    ax.set_xticks(ticks[(ticks >= 0) & (ticks <= total)])
    ax.xaxis.set_major_formatter(lambda v, _: f"{int(v)}")
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=legend_columns, fontsize=8.5, frameon=False)
    ax.set_title(title, loc="left", fontsize=12, pad=22)
    return ax


def _box(ax, x, y, w, h, text, color, fontsize=9, weight="normal", align="center"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.005,rounding_size=0.01",
                                facecolor="white", edgecolor=color, linewidth=1.6))
    if align == "left":
        ax.text(x - w / 2 + 0.012, y, text, ha="left", va="center", fontsize=fontsize, weight=weight,
                linespacing=1.35)
    else:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, weight=weight)


def consort_chart(attrition: pd.DataFrame, suppressed: pd.DataFrame | None = None, assessed_at_visit=(),
                  title: str | None = None):
    """A CONSORT-style flow diagram built from the attrition table, with side boxes of reasons.

    Main boxes: the extract, the pool after the inclusion criteria, the eligible
    pool. Side boxes list each criterion's exclusions and not-assessable
    patients. Every number is read from the (suppressed) attrition table, so
    the diagram reveals nothing the table does not. Returns the Figure.
    """
    t = attrition.reset_index(drop=True)
    src = (suppressed if suppressed is not None else t).reset_index(drop=True)
    inc = [i for i in t.index if t.loc[i, "kind"] == "inclusion"]
    exc = [i for i in t.index if t.loc[i, "kind"] == "exclusion"]
    last_inc = inc[-1] if inc else 0

    def side(rows: list[int], head: str) -> tuple[str, int]:
        lines = []
        for col, title_ in (("excluded", head), ("not_assessable", "Not assessable (data missing)")):
            # Listed when the shown count is not a plain 0: a redacted ≤10 may hide a zero, and must not tell.
            hits = [i for i in rows if str(src.loc[i, col]) != "0"]
            if hits:
                lines.append(title_ + ":")
                lines += [f"   {textwrap.shorten(str(t.loc[i, 'label']), 50)}: {_shown(src.loc[i, col])}"
                          for i in hits]
        return "\n".join(lines) if lines else "none", len(lines)

    def removed(first: int, last: int) -> str:
        start, end = src.loc[first, "entering"], src.loc[last, "remaining"]
        if not (str(start).isdigit() and str(end).isdigit()):
            return HIDDEN
        return str(int(start) - int(end))

    inc_text, inc_lines = side(inc, "Inclusion criterion not met")
    exc_text, exc_lines = side(exc, "Exclusion criterion met")
    line_h = 0.0145  # 8.5 pt text at 1.35 line spacing on a figure 11.5 in per unit
    heights = [line_h * (max(n, 2) + 1) + 0.02 for n in (inc_lines, exc_lines)]
    box_h = 0.09
    total_h = sum(heights) + 3 * box_h + 0.3
    fig, ax = plt.subplots(figsize=(11, 11.5 * total_h), layout="constrained")
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, total_h)
    main_x, side_x, main_w, side_w = 0.17, 0.66, 0.3, 0.62
    y0 = total_h - 0.06
    y_side1 = y0 - box_h / 2 - 0.04 - heights[0] / 2
    y1 = y_side1 - heights[0] / 2 - 0.04 - box_h / 2
    y_side2 = y1 - box_h / 2 - 0.04 - heights[1] / 2
    y2 = y_side2 - heights[1] / 2 - 0.04 - box_h / 2
    _box(ax, main_x, y0, main_w, box_h, f"Patients in registry extract\nn = {_shown(src.loc[0, 'remaining'])}",
         COLORS["extract"], 10, "bold")
    _box(ax, main_x, y1, main_w, box_h, f"After the inclusion criteria\nn = {_shown(src.loc[last_inc, 'remaining'])}",
         COLORS["remaining"], 10)
    _box(ax, main_x, y2, main_w, box_h, f"Eligible on registry data\nn = {_shown(src['remaining'].iloc[-1])}",
         COLORS["eligible"], 11, "bold")
    for a, b in ((y0, y1), (y1, y2)):
        ax.annotate("", xy=(main_x, b + box_h / 2), xytext=(main_x, a - box_h / 2),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.3))
    for ys, h, text, first, last in ((y_side1, heights[0], inc_text, inc[0] if inc else 1, last_inc),
                                     (y_side2, heights[1], exc_text, exc[0] if exc else last_inc, len(t) - 1)):
        _box(ax, side_x, ys, side_w, h, f"Removed (n = {removed(first, last)})\n{text}", COLORS["excluded"], 8.5,
             align="left")
        ax.annotate("", xy=(side_x - side_w / 2, ys), xytext=(main_x, ys),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.0))
    notes = []
    if suppressed is not None:
        notes.append(f"Counts as the shareable tables show them: rounded, small ones redacted; {HIDDEN} = hidden so "
                     "that a small count cannot be derived.")
    if assessed_at_visit:
        notes.append("Assessed at the screening visit, not from registry data: " + "; ".join(assessed_at_visit) + ".")
    if notes:
        ax.text(0.0, 0.0, "\n".join(notes), fontsize=8.5, style="italic", va="bottom")
    fig.suptitle(title or "Screening flow (CONSORT style), people not records", x=0.02, ha="left", fontsize=12)
    return fig


def upset_chart(overlap: pd.DataFrame, labels: dict[str, str], top: int = 15, min_patients: int = 1,
                title: str | None = None):
    """An UpSet chart of exclusion overlaps: bars of patients per combination, dots for its criteria.

    ``overlap`` is :meth:`Screening.overlap` or the shareable overlap table; only
    combinations shown as a number are drawn. Returns the Figure.
    """
    table = overlap.assign(patients=pd.to_numeric(overlap["patients"], errors="coerce"))
    table = table[table["patients"] >= min_patients].head(top).reset_index(drop=True)
    ids = [c for c in labels if c in table.columns and table[c].any()]
    fig, (bar_ax, dot_ax) = plt.subplots(2, 1, figsize=(11, 3.2 + 0.3 * len(ids)), sharex=True,
                                         gridspec_kw={"height_ratios": [2, max(1, 0.16 * len(ids) + 0.4)]},
                                         layout="constrained")
    x = np.arange(len(table))
    bar_ax.bar(x, table["patients"], color=COLORS["excluded"])
    for xi, v in zip(x, table["patients"], strict=True):
        bar_ax.text(xi, v, f"{int(v)}", ha="center", va="bottom", fontsize=8)
    bar_ax.set_ylabel("patients excluded\nby exactly this set")
    bar_ax.spines[["top", "right"]].set_visible(False)
    for yi, cid in enumerate(ids):
        member = table[cid].to_numpy(dtype=bool)
        dot_ax.scatter(x, np.full(len(x), yi), s=40, color=np.where(member, "#333333", "#DDDDDD"), zorder=2)
    for xi in x:
        ys = [yi for yi, cid in enumerate(ids) if table.loc[xi, cid]]
        if len(ys) > 1:
            dot_ax.plot([xi, xi], [min(ys), max(ys)], color="#333333", lw=1.5, zorder=1)
    dot_ax.set_yticks(range(len(ids)), [textwrap.shorten(labels[c], 44) for c in ids], fontsize=8.5)
    dot_ax.set_ylim(-0.6, len(ids) - 0.4)
    dot_ax.set_xticks([])
    dot_ax.spines[["top", "right", "bottom"]].set_visible(False)
    fig.suptitle(title or f"Overlap of exclusions: the {len(table)} largest combinations", x=0.02, ha="left",
                 fontsize=12)
    return fig


def composition_chart(composition: pd.DataFrame, column: str, ax=None, populations=("extract", "eligible")):
    """Share of each group in the extract and in the eligible pool, as side-by-side bars."""
    shares = composition.assign(percent=pd.to_numeric(composition["percent"], errors="coerce"))
    # A hidden share (NaN) draws no bar at all, rather than a misleading zero.
    wide = shares.pivot_table(index=column, columns="population", values="percent", aggfunc="first",
                              observed=False, dropna=False).reindex(columns=list(populations))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.45 * len(wide) + 1.4), layout="constrained")
    y = np.arange(len(wide))
    h = 0.38
    colors = [COLORS["extract"], COLORS["eligible"], COLORS["not_assessable"]]
    for j, pop in enumerate(populations):
        ax.barh(y + (0.5 - j) * h, wide[pop], height=h, color=colors[j], label=pop.replace("_", " "))
    ax.set_yticks(y, wide.index.astype(str))
    ax.set_xlabel("% of population")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"Composition by {group_name(column)}", loc="left", fontsize=11)
    return ax


def subgroup_chart(outcome_by: pd.DataFrame, column: str, ax=None):
    """Stacked bars of eligible / not assessable / excluded patients per group."""
    t = outcome_by.set_index(column)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(t) + 1.4), layout="constrained")
    y = np.arange(len(t))
    left = np.zeros(len(t))
    unshown = np.zeros(len(t), dtype=bool)
    for status in ("eligible", "not_assessable", "excluded"):
        values = pd.to_numeric(t[status], errors="coerce")
        unshown |= values.isna().to_numpy()
        values = values.fillna(0).to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=COLORS[status], label=status.replace("_", " "))
        left += values
    # Where a part is ≤10 or hidden, one hatched segment for what the total leaves it. Where every part is
    # shown, total and parts differ only by their own rounding: nothing is hidden, and nothing is drawn so.
    total = pd.to_numeric(t["total"], errors="coerce").to_numpy(dtype=float) if "total" in t else left
    hidden = np.where(unshown & ~np.isnan(total), np.clip(total - left, 0, None), 0)
    if (hidden > 0).any():
        ax.barh(y, hidden, left=left, color="white", edgecolor=COLORS["neutral"], hatch="///",
                label="≤10 or hidden (not drawn to scale)")
    ax.set_yticks(y, t.index.astype(str))
    ax.set_xlabel("patients")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.set_title(f"Screening outcome by {group_name(column)}", loc="left", fontsize=11)
    return ax


def makeup_chart(along: pd.DataFrame, characteristic: str, ax=None, title: str | None = None):
    """The make-up of the patients in play at every step, as 100 % stacked bars (extract on top).

    ``along`` is :meth:`Screening.composition_along` or its shareable form; a share the
    table hides draws no segment, and the bar shows a hatched remainder instead.
    """
    t = along[along["characteristic"] == characteristic]
    percent = pd.to_numeric(t["percent"], errors="coerce")
    wide = t.assign(percent=percent).pivot_table(index="step", columns="group", values="percent",
                                                  aggfunc="first", dropna=False)
    groups = [g for g in wide.columns if g != MISSING] + [g for g in wide.columns if g == MISSING]
    unshown = wide[groups].isna().any(axis=1).to_numpy()
    wide = wide[groups].fillna(0)
    labels = t.drop_duplicates("step").set_index("step")["label"].reindex(wide.index)
    k = len(wide)
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.36 * k + 1.8), layout="constrained")
    y = np.arange(k)[::-1]
    left = np.zeros(k)
    for i, g in enumerate(groups):
        color = COLORS["neutral"] if g == MISSING else GROUP_COLORS[i % len(GROUP_COLORS)]
        values = wide[g].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=color, height=0.75, label=str(g))
        left += values
    # Only a bar with a share not shown has a remainder to hatch; elsewhere 100 − the sum is rounding.
    hidden = np.where(unshown, np.clip(100 - left, 0, None), 0)
    if (hidden > 0.5).any():
        ax.barh(y, np.where(hidden > 0.5, hidden, 0), left=left, color="white", edgecolor=COLORS["neutral"],
                hatch="///", height=0.75, label="≤10 or hidden")
    ax.set_yticks(y, [textwrap.shorten(str(x), 48, placeholder="…") for x in labels], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of patients still in play, by {group_name(characteristic)}")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, ncols=min(len(groups) + 1, 7), loc="upper center",
              bbox_to_anchor=(0.5, -0.04 - 1.0 / (k + 4)))
    ax.set_title(title or f"Who is still in play after each criterion: {group_name(characteristic)}",
                 loc="left", fontsize=11)
    return ax


def exclusion_heatmap(differential: pd.DataFrame, column: str, value: str = "ratio_alone", ax=None,
                      title: str | None = None):
    """Criterion × group heat map of relative exclusion (1 = as for everyone; blue lower, red higher).

    Colours follow log2 of the ratio, capped at 4× either way; each cell shows the ratio. A ratio the
    shareable table withholds (or one with no patients) is hatched grey, never white (white is 1×).
    """
    from matplotlib.patches import Patch, Rectangle

    ratios = differential.assign(**{value: pd.to_numeric(differential[value], errors="coerce")})
    wide = ratios.pivot_table(index="criterion", columns=column, values=value, aggfunc="first", dropna=False)
    wide = wide.reindex(index=list(dict.fromkeys(differential["criterion"])))
    cols = [g for g in wide.columns if g != MISSING] + [g for g in wide.columns if g == MISSING]
    wide = wide[cols]
    labels = differential.drop_duplicates("criterion").set_index("criterion")["label"] \
        if "label" in differential else pd.Series(wide.index, index=wide.index)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * len(cols) + 6, 0.42 * len(wide) + 2), layout="constrained")
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = np.clip(np.log2(wide.to_numpy(dtype=float)), -2, 2)
    image = ax.imshow(np.ma.masked_invalid(shown), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    withheld = dict(facecolor="#d9d9d9", edgecolor="#8c8c8c", hatch="///", linewidth=0)
    for (i, j), ratio in np.ndenumerate(wide.to_numpy(dtype=float)):
        if np.isfinite(ratio):
            ax.text(j, i, f"{ratio:.2f}", ha="center", va="center", fontsize=10,
                    color="white" if abs(shown[i, j]) > 1.2 else "#222222")
        else:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, **withheld))
    ax.set_xticks(range(len(cols)), [str(c) for c in cols], rotation=30, ha="right", fontsize=10)
    ax.set_yticks(range(len(wide)), [textwrap.shorten(str(labels.get(c, c)), 46, placeholder="…")
                                     for c in wide.index], fontsize=10)
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.8, ticks=[-2, -1, 0, 1, 2])
    bar.ax.set_yticklabels(["¼×", "½×", "1×", "2×", "4×"], fontsize=9)
    ax.legend(handles=[Patch(label="withheld: a count it needs is ≤10 or hidden", **withheld)],
              loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize=9)
    what = "alone" if value.endswith("alone") else "in sequence"
    ax.set_title(title or f"Share removed ({what}) relative to all patients, by {group_name(column)}",
                 loc="left", fontsize=12, pad=24)
    return ax
