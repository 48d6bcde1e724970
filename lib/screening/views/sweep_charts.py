"""Threshold sweeps drawn and tabled: the eligible count against each key parameter, labelled in its units.

Each chart's title is the criterion's label and its axis the parameter's meaning and
unit, both from the rule's declaration (:class:`~screening.rules.registry.Param`).

Example
-------
>>> from screening.rules.protocol import load_protocol
>>> parameter_axis(load_protocol("misle-phase2"), "glucocorticoid.max_mg_per_kg")[1]
'highest prednisone-equivalent dose allowed (mg/kg/day)'
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from screening.views.charts import COLORS

__all__ = ["sweep_chart", "sweep_grid", "sweep_view", "parameter_axis", "value_text"]


def value_text(v) -> str:
    """A threshold as written: 16, not 16.00; 0.5 stays 0.5.

    >>> value_text(16.0), value_text(0.75)
    ('16', '0.75')
    """
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def parameter_axis(protocol, name: str) -> tuple[str, str]:
    """The chart title and axis label of parameter ``criterion.param``: the criterion's label, and the
    parameter's meaning with its unit.

    >>> from screening.rules.protocol import load_protocol
    >>> parameter_axis(load_protocol("misle-phase2"), "sledai.min")
    ('SLEDAI-2K ≥ 6', 'lowest SLEDAI-2K allowed (points)')
    """
    from screening.rules.criteria import RULES

    cid, param = name.split(".", 1)
    criterion = protocol.criterion(cid)
    spec = RULES[criterion.rule].params.get(param)
    if spec is None:
        return criterion.display_label, param
    meaning = spec.meaning.split(" (")[0].replace(", inclusive", "")
    return criterion.display_label, f"{meaning} ({spec.unit})" if spec.unit else meaning


def sweep_chart(sweep: pd.DataFrame, ax=None, xlabel: str | None = None, current=None, title: str | None = None,
                legend: bool = True):
    """Eligible count against one parameter's values, shaded up to eligible + not assessable.

    On a log scale: the upper bound is often several times the eligible count, and on a linear axis
    the eligible line lay squashed along the bottom. A count shown as ``≤10`` draws no point.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
    x = sweep["value"].to_numpy(dtype=float)
    eligible, unknown = (pd.to_numeric(sweep[c].astype(str), errors="coerce").to_numpy(dtype=float)
                         for c in ("eligible", "not_assessable"))
    upper = eligible + np.nan_to_num(unknown)
    ax.fill_between(x, eligible, upper, color=COLORS["not_assessable"], alpha=0.35,
                    label="up to eligible + not assessable")
    ax.plot(x, eligible, marker="o", color=COLORS["eligible"], label="eligible")
    ax.set_yscale("log")
    shown = np.concatenate([eligible[np.isfinite(eligible)], upper[np.isfinite(upper)]])
    low, high = (float(shown.min()), float(shown.max())) if len(shown) else (10.0, 100.0)
    ax.set_ylim(max(low / 1.6, 5), high * 1.6)
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    if current is not None:
        ax.axvline(float(current), color="#333333", ls=":", lw=1)
        ax.annotate(f"protocol: {value_text(current)}", (float(current), 0), xycoords=("data", "axes fraction"),
                    xytext=(3, 3), textcoords="offset points", fontsize=8, color="#333333")
    ax.set_xlabel(xlabel or str(sweep["parameter"].iloc[0]), fontsize=9)
    ax.set_ylabel("patients (log scale)")
    if title:
        ax.set_title(textwrap.shorten(title, 44, placeholder="…"), loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    if legend:
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    return ax


def sweep_grid(sweeps: pd.DataFrame, protocol, columns: int = 4):
    """Every swept parameter's chart (:func:`sweep_chart`), ``columns`` to a row; returns the Figure.

    A protocol with no threshold to sweep gets one line saying so, not an empty grid.

    >>> fig = sweep_grid(pd.DataFrame(columns=["parameter", "value", "eligible", "excluded", "not_assessable"]), None)
    >>> fig.axes[0].texts[0].get_text()
    'This protocol has no threshold among the key sweeps: nothing to sweep.'
    """
    parameters = list(dict.fromkeys(sweeps["parameter"]))
    if not parameters:
        fig, ax = plt.subplots(figsize=(8, 0.8), layout="constrained")
        ax.set_axis_off()
        ax.text(0, 0.5, "This protocol has no threshold among the key sweeps: nothing to sweep.", va="center")
        return fig
    rows = -(-len(parameters) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(16, 3.5 * rows + 0.4), layout="constrained", squeeze=False)
    for ax, name in zip(axes.flat, parameters, strict=False):
        cid, param = name.split(".")
        title, xlabel = parameter_axis(protocol, name)
        sweep_chart(sweeps[sweeps["parameter"] == name], ax=ax, current=protocol.criterion(cid).params[param],
                    title=title, xlabel=xlabel, legend=False)
    for ax in axes.flat[len(parameters):]:
        ax.set_axis_off()
    # One legend for the grid, above it: inside each chart it sat on the lines and the protocol's marker.
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside upper left", ncols=2, fontsize=9,
               frameon=False)
    return fig


def sweep_view(sweeps: pd.DataFrame, protocol, around: int = 2) -> pd.DataFrame:
    """The sweep table for reading: per parameter, the values within ``around`` steps of the protocol's, thresholds
    as written, the range as one column. Every value is in ``tables/sweeps.csv``."""
    rows = []
    for name, part in sweeps.groupby("parameter", sort=False):
        cid, param = name.split(".")
        current = float(protocol.criterion(cid).params[param])
        values = part["value"].astype(float).to_numpy()
        at = int(np.argmin(np.abs(values - current)))
        title, xlabel = parameter_axis(protocol, name)
        for i in range(max(at - around, 0), min(at + around + 1, len(part))):
            row = part.iloc[i]
            eligible, unknown = str(row["eligible"]), str(row["not_assessable"])
            upper = str(int(eligible) + int(unknown)) if eligible.isdigit() and unknown.isdigit() else "*"
            first = i == max(at - around, 0)  # the criterion and threshold once per block, as in a printed table
            rows.append({"criterion": title if first else "", "threshold": xlabel if first else "",
                         "value": value_text(row["value"]) + ("  (protocol)" if values[i] == current else ""),
                         "eligible": eligible, "not assessable": unknown, "eligible up to": upper})
    return pd.DataFrame(rows)
