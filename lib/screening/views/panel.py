"""The live what-if panel: change criteria in JupyterLab (or the ``make app`` page) and see the funnel redraw.

:class:`Explorer` holds the arithmetic and no widgets: given :class:`Settings`
(criteria dropped, parameters changed, order, missing-data policy) it screens
the extract, reusing every criterion result already computed for the same rule
and parameters, and returns a :class:`View` of what the panel shows. In
shareable mode (``small_cell > 0``) every count in a view goes through the
project's small-cell rule (:func:`screening.disclosure.rule.round_counts`).
:func:`whatif_panel` wraps an explorer in ipywidgets.

Example
-------
>>> from screening import load_extract
>>> x = Explorer(load_extract("data/synthetic"), "misle-phase2", small_cell=0)
>>> view = x.view(Settings(set={"sledai.min": 4}))
>>> view.changes.loc[0, ["gained", "lost"]].gt(0).tolist()   # a lower SLEDAI minimum only admits more
[True, False]
>>> print(x.variant_yaml(Settings(dropped=("bilag",), set={"sledai.min": 4}), "sledai4-no-bilag"))
# What-if variant of misle-phase2, saved from the what-if panel.
id: sledai4-no-bilag
title: UC-MSCs in active SLE, Phase 2 (NCT02633163), what-if sledai4-no-bilag
extends: misle-phase2
drop:
- bilag
set:
  sledai.min: 4
<BLANKLINE>
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from screening.disclosure.rule import SHAREABLE, SmallCellRule, round_counts
from screening.engine.counts import PASS
from screening.engine.funnel import Screening
from screening.errors import ProtocolError, ScreeningError
from screening.io.extract import Extract
from screening.rules.protocol import Protocol, format_value, load_protocol, shipped_protocols

__all__ = ["Settings", "View", "Explorer", "WhatIfPanel", "whatif_panel", "numeric_parameters"]

NO_KERNEL = "The live what-if panel appears here when this notebook runs in JupyterLab, or on the `make app` page."
DEFAULT_FOLDER = Path(__file__).resolve().parents[3] / "reports" / "what-if"
STEP_COUNTS = ["entering", "excluded", "not_assessable", "remaining"]
CRITERION_COUNTS = ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"]
CHANGE_COUNTS = ["eligible_then", "eligible_now", "gained", "lost"]


@dataclass(frozen=True)
class Settings:
    """What an investigator changed, relative to the protocol as shipped."""

    dropped: tuple[str, ...] = ()
    set: dict = field(default_factory=dict)  # criterion.param -> value
    order: tuple[str, ...] = ()  # counted criterion ids in funnel order; empty keeps the protocol's
    policy: str = "separate"
    compare_with: str = ""  # a second protocol (shipped name or YAML path); empty for none


@dataclass
class View:
    """Everything the panel shows for one setting. Counts are rounded text in shareable mode."""

    protocol: Protocol
    headline: dict  # eligible, not_assessable, excluded, upper: numbers (exact; rounded ones are in ``shown``)
    shown: dict  # the same as displayed
    attrition: pd.DataFrame  # numbers to draw (rounded in shareable mode)
    attrition_text: pd.DataFrame | None  # the rounded text, in shareable mode
    criteria: pd.DataFrame
    changes: pd.DataFrame  # one row per reference protocol: eligible then/now, gained, lost


def _eligible(s: Screening) -> np.ndarray:
    """Per patient: passes every criterion. One pass over the states, cheaper than a full placement."""
    return (s.states == PASS).all(axis=1)


def numeric_parameters(protocol: Protocol) -> dict[str, float]:
    """``criterion.param`` -> value for every numeric parameter of a counted criterion (what gets a slider)."""
    return {f"{c.id}.{k}": v for c in protocol.counted for k, v in c.params.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


class Explorer:
    """Screens one extract under changing settings; criterion results are shared across every view."""

    def __init__(self, extract: Extract, protocol: Protocol | str = "misle-phase2", policy: str = "separate",
                 small_cell: int = 10) -> None:
        self.extract = extract
        self.shipped = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
        self.rule = SmallCellRule.of(small_cell)  # built once: every view and the panel's own words use it
        self._base = Screening(extract, self.shipped, policy)
        self._eligible: dict[tuple[str, str], np.ndarray] = {}
        self._others: dict[str, Protocol] = {}

    def protocol(self, settings: Settings) -> Protocol:
        """The shipped protocol with ``settings`` applied (parameters of dropped criteria are ignored)."""
        kept = {k: v for k, v in settings.set.items() if k.split(".", 1)[0] not in settings.dropped}
        p = self.shipped.with_overrides(kept) if kept else self.shipped
        p = p.without(*settings.dropped) if settings.dropped else p
        if settings.order:
            p = p.reordered([cid for cid in settings.order if cid not in settings.dropped])
        return p

    def screening(self, settings: Settings) -> Screening:
        return self._base.with_protocol(self.protocol(settings), settings.policy)

    def _reference(self, protocol: Protocol, policy: str) -> np.ndarray:
        """Who is eligible under a reference protocol (computed once per protocol and policy)."""
        key = (protocol.fingerprint(), policy)
        if key not in self._eligible:
            self._eligible[key] = _eligible(self._base.with_protocol(protocol, policy))
        return self._eligible[key]

    def _other(self, name: str) -> Protocol:
        if name not in self._others:
            self._others[name] = load_protocol(name)
        return self._others[name]

    def view(self, settings: Settings) -> View:
        """Screen under ``settings`` and tabulate what the panel shows."""
        s = self.screening(settings)
        eligible, excluded, not_assessable = (int(v) for v in s.counts.status)
        headline = {"eligible": eligible, "not_assessable": not_assessable, "excluded": excluded,
                    "upper": eligible + not_assessable}
        references = [(f"{self.shipped.id} as shipped", self.shipped)]
        if settings.compare_with:
            references.append((settings.compare_with, self._other(settings.compare_with)))
        rows = []
        now = _eligible(s)
        for name, protocol in references:
            then = self._reference(protocol, settings.policy)
            rows.append({"against": name, "eligible_then": int(then.sum()), "eligible_now": int(now.sum()),
                         "gained": int((now & ~then).sum()), "lost": int((then & ~now).sum())})
        changes = pd.DataFrame(rows)
        # Percentages are left out: taken from exact counts, they would undo the rounding.
        attrition = s.attrition().drop(columns=["pct_of_previous", "pct_of_total"])
        criteria = s.criteria_table().drop(columns=["excluded_in_sequence", "not_assessable_in_sequence"])
        rule = self.rule
        if rule.internal:
            return View(s.protocol, headline, dict(headline), attrition, None, criteria, changes)
        head = pd.DataFrame([headline])
        shown = round_counts(head, list(headline), rule).iloc[0].to_dict()
        text = round_counts(attrition, STEP_COUNTS, rule)
        drawn = round_counts(attrition, STEP_COUNTS, rule, as_text=False)
        return View(s.protocol, headline, shown, drawn, text, round_counts(criteria, CRITERION_COUNTS, rule),
                    round_counts(changes, CHANGE_COUNTS, rule))

    def variant_yaml(self, settings: Settings, name: str) -> str:
        """``settings`` as a protocol file that ``extends`` the shipped one (``set``, ``drop``, ``order``)."""
        base = self.shipped.id if self.shipped.id in shipped_protocols() else self.shipped.path
        doc: dict = {"id": name, "title": f"{self.shipped.title}, what-if {name}", "extends": base}
        if settings.dropped:
            doc["drop"] = list(settings.dropped)
        kept = {k: v for k, v in settings.set.items() if k.split(".", 1)[0] not in settings.dropped}
        if kept:
            doc["set"] = kept
        order = [cid for cid in settings.order if cid not in settings.dropped]
        if order and order != [c.id for c in self.protocol(Settings(dropped=settings.dropped)).counted]:
            doc["order"] = order
        head = f"# What-if variant of {self.shipped.id}, saved from the what-if panel.\n"
        if settings.policy != "separate":
            head += f"# Screened with missing-data policy '{settings.policy}' (pass --policy {settings.policy}).\n"
        return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    def save_variant(self, settings: Settings, name: str, folder: str | Path) -> Path:
        """Write :meth:`variant_yaml` to ``folder/name.yaml`` and check that it reads back as the same protocol."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ProtocolError("variant", name, "a file name of letters, digits, '-', '_' or '.'")
        path = Path(folder) / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.variant_yaml(settings, name), encoding="utf-8")
        if load_protocol(path).fingerprint() != self.protocol(settings).fingerprint():  # pragma: no cover
            raise ScreeningError(f"{path}: the saved variant does not screen as the panel does; please report this.")
        return path


# --- widgets -------------------------------------------------------------------------------------------


def _slider_range(value: float) -> tuple[float, float, float]:
    """Slider bounds around a protocol value: from 0 to at least twice it, in about a hundred steps."""
    if isinstance(value, int):
        top = max(2 * value, value + 10)
        return 0, top, max(1, top // 100)
    top = max(2 * value, 1.0)
    return 0.0, top, round(top / 100, 6)


def funnel_html(attrition: pd.DataFrame, text: pd.DataFrame | None = None) -> str:
    """The funnel as HTML bars: remaining, then excluded and not assessable at each step.

    Drawn in HTML rather than matplotlib because a redraw must take well under the
    panel's 0.3 s per change, and rendering a figure to PNG takes longer than that.
    ``text`` (rounded counts, in shareable mode) gives every label; bars follow ``attrition``.
    """
    from screening.views.charts import COLORS

    src = attrition if text is None else text
    total = float(attrition["entering"].iloc[0]) or 1.0
    rows = []
    for i in range(len(attrition)):
        widths = [100 * float(attrition[c].iloc[i]) / total for c in ("remaining", "excluded", "not_assessable")]
        bars = "".join(f"<div style='width:{wd:.2f}%;background:{COLORS[c]}'></div>" for wd, c in
                       zip(widths, ("remaining", "excluded", "not_assessable"), strict=True))
        note = "" if i == 0 else f" <small>&minus;{src['excluded'].iloc[i]}" + (
            f" / ?{src['not_assessable'].iloc[i]}" if str(src["not_assessable"].iloc[i]) != "0" else "") + "</small>"
        rows.append(f"<tr><td style='text-align:right;padding-right:6px;line-height:1.1'>"
                    f"{html.escape(str(attrition['label'].iloc[i]))}</td><td style='width:40%'>"
                    f"<div style='display:flex;height:11px'>{bars}</div></td>"
                    f"<td style='text-align:left;white-space:nowrap'>{src['remaining'].iloc[i]}{note}</td></tr>")
    legend = " ".join(f"<span style='color:{COLORS[c]}'>&#9632;</span> {name}" for c, name in
                      (("remaining", "remaining: still in play"), ("excluded", "&minus;excluded"),
                       ("not_assessable", "?not assessable")))
    return (f"<div class='whatif-funnel'><b>Screening funnel under these settings</b> <small>{legend}</small>"
            f"<table style='font-size:0.85em;border-collapse:collapse;width:100%'>{''.join(rows)}</table></div>")


def _table_html(frame: pd.DataFrame, css: str) -> str:
    return frame.to_html(index=False, classes=css, border=0, escape=True)


class WhatIfPanel:
    """The widgets around an :class:`Explorer`. Display it in a notebook (it renders as its ``widget``)."""

    def __init__(self, explorer: Explorer, policy: str = "separate", compare_with: str = "",
                 folder: str | Path | None = None) -> None:
        import ipywidgets as w

        self.explorer = explorer
        self.folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        shipped = explorer.shipped
        self.order = [c.id for c in shipped.counted]
        self.params = numeric_parameters(shipped)
        self.boxes: dict[str, w.Checkbox] = {}
        self.sliders: dict[str, w.Widget] = {}
        self.rows: dict[str, w.Widget] = {}
        for c in shipped.counted:
            box = w.Checkbox(value=True, description=c.display_label, indent=False,
                             layout=w.Layout(width="330px"))
            box.add_class(f"whatif-keep-{c.id}")
            box.observe(self._changed, names="value")
            self.boxes[c.id] = box
            up, down = (w.Button(icon=i, tooltip=t, layout=w.Layout(width="32px"))
                        for i, t in (("arrow-up", "earlier in the funnel"), ("arrow-down", "later in the funnel")))
            up.on_click(lambda _, cid=c.id: self._move(cid, -1))
            down.on_click(lambda _, cid=c.id: self._move(cid, +1))
            lines = [w.HBox([up, down, box], layout=w.Layout(align_items="center"))]
            for name, value in self.params.items():
                if name.split(".", 1)[0] != c.id:
                    continue
                lo, hi, step = _slider_range(value)
                kind = w.IntSlider if isinstance(value, int) else w.FloatSlider
                slider = kind(value=value, min=lo, max=hi, step=step, description=name.split(".", 1)[1],
                              continuous_update=False, style={"description_width": "150px"},
                              layout=w.Layout(width="360px"))
                slider.add_class("whatif-param")
                slider.add_class("whatif-param-" + name.replace(".", "-").replace("_", "-"))
                slider.observe(self._changed, names="value")
                self.sliders[name] = slider
                lines.append(w.HBox([slider, w.HTML(f"<small title='the protocol as shipped'>protocol: "
                                                    f"{html.escape(format_value(value))}</small>")],
                                    layout=w.Layout(margin="0 0 0 40px", align_items="center")))
            self.rows[c.id] = w.VBox(lines, layout=w.Layout(border_bottom="1px solid #eee"))
        self.policy = w.ToggleButtons(options=["separate", "exclude", "include"], value=policy,
                                      description="missing data", style={"description_width": "initial",
                                                                         "button_width": "90px"},
                                      tooltips=["count apart as not assessable", "treat as failing",
                                                "treat as passing"])
        self.policy.observe(self._changed, names="value")
        others = [p for p in shipped_protocols() if p != shipped.id]
        self.compare = w.Dropdown(options=[("(none)", "")] + [(p, p) for p in others],
                                  value=compare_with if compare_with in others else "",
                                  description="compare with", style={"description_width": "initial"})
        self.compare.observe(self._changed, names="value")
        self.name = w.Text(value=f"{shipped.id}-whatif", description="variant name",
                           style={"description_width": "initial"})
        save, report, reset = (w.Button(description=d, icon=i) for d, i in
                               (("Save variant YAML", "save"), ("Write shareable report", "file"),
                                ("Reset", "undo")))
        for button in (save, report):
            button.layout.width = "180px"
        reset.layout.width = "80px"
        save.on_click(lambda _: self._save())
        report.on_click(lambda _: self._report())
        reset.on_click(lambda _: self.reset())
        self.status = w.HTML()
        self.status.add_class("whatif-status")
        self.headline = w.HTML()
        self.headline.add_class("whatif-headline")
        self.changes = w.HTML()
        self.chart = w.HTML()
        self.table = w.HTML()
        self.criteria_box = w.VBox([self.rows[cid] for cid in self.order])
        mode = html.escape(("" if explorer.rule.internal else "shareable: ") + explorer.rule.text())
        self.mode = w.HTML(f"<b>What if?</b> <small class='whatif-mode'>({mode})</small>")
        controls = w.VBox([self.mode, w.HBox([self.policy]),
                           w.HBox([self.compare]), w.HBox([self.name, reset]), w.HBox([save, report]), self.status,
                           self.criteria_box], layout=w.Layout(width="48%"))
        results = w.VBox([self.headline, self.changes, self.chart, self.table], layout=w.Layout(width="52%"))
        main = w.HBox([controls, results])
        main.add_class("whatif-panel")
        from screening.views.relax_tab import with_relax_tab

        self.widget = with_relax_tab(self, main)
        self.view: View | None = None
        self._quiet = False
        self.refresh()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # Without a live kernel (an exported HTML report) the widget cannot draw: say where it can.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = NO_KERNEL
        bundle["text/html"] = "<p><i>" + NO_KERNEL.replace("`make app`", "<code>make app</code>") + "</i></p>"
        return bundle

    # --- state ------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        shipped = self.explorer.shipped
        changed = {k: s.value for k, s in self.sliders.items() if s.value != self.params[k]}
        order = tuple(self.order) if self.order != [c.id for c in shipped.counted] else ()
        return Settings(dropped=tuple(cid for cid in self.order if not self.boxes[cid].value), set=changed,
                        order=order, policy=self.policy.value, compare_with=self.compare.value)

    def reset(self) -> None:
        """Back to the protocol as shipped."""
        self._quiet = True
        try:
            for box in self.boxes.values():
                box.value = True
            for name, slider in self.sliders.items():
                slider.value = self.params[name]
            self.order = [c.id for c in self.explorer.shipped.counted]
            self.criteria_box.children = [self.rows[cid] for cid in self.order]
        finally:
            self._quiet = False
        self.refresh()

    def _move(self, cid: str, step: int) -> None:
        i = self.order.index(cid)
        j = min(max(i + step, 0), len(self.order) - 1)
        self.order[i], self.order[j] = self.order[j], self.order[i]
        self.criteria_box.children = [self.rows[c] for c in self.order]
        self.refresh()

    def _changed(self, _change) -> None:
        if not self._quiet:
            self.refresh()

    # --- drawing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Screen under the current settings and redraw everything in place."""
        try:
            view = self.explorer.view(self.settings)
        except ScreeningError as exc:
            self.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            return
        self.view = view
        self.status.value = ""
        for c in view.protocol.counted:
            self.boxes[c.id].description = c.display_label
        shown = view.shown
        self.headline.value = (
            f"<div style='font-size:1.3em'>Eligible on registry data: <b class='whatif-eligible'>"
            f"{shown['eligible']}</b></div><div>not assessable (data missing): "
            f"<b class='whatif-not-assessable'>{shown['not_assessable']}</b>; excluded: {shown['excluded']}</div>"
            f"<div>range: <b class='whatif-range'>{shown['eligible']} to {shown['upper']}</b> if every "
            "not-assessable patient qualified</div>")
        self.changes.value = "<b>Against</b>" + _table_html(view.changes, "whatif-changes")
        self.chart.value = funnel_html(view.attrition, view.attrition_text)
        self.table.value = "<b>Per criterion</b>" + _table_html(view.criteria.drop(columns=["kind"]),
                                                                "whatif-criteria")

    # --- saving -----------------------------------------------------------------------------

    def _save(self) -> Path | None:
        try:
            path = self.explorer.save_variant(self.settings, self.name.value.strip(), self.folder)
        except ScreeningError as exc:
            self.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            return None
        self.status.value = f"saved <code>{html.escape(str(path))}</code>"
        return path

    def _report(self, notebooks: bool = True) -> Path | None:
        from screening.views.report import build_report

        path = self._save()
        if path is None:
            return None
        out = self.folder / f"report-{path.stem}"
        self.status.value = f"writing the shareable report to <code>{html.escape(str(out))}</code> ..."
        try:
            # A report from the panel is always shareable, at the panel's threshold or the default if higher.
            rule = max(self.explorer.rule, SHAREABLE, key=lambda r: r.threshold)
            build_report(self.explorer.extract.path, load_protocol(path), out=out, overwrite=True,
                         policy=self.policy.value, small_cell=rule, notebooks=notebooks)
        except ScreeningError as exc:
            self.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"
            return None
        self.status.value = f"shareable report written to <code>{html.escape(str(out))}</code>"
        return out


def whatif_panel(extract: Extract, protocol: Protocol | str = "misle-phase2", *, policy: str = "separate",
                 compare_with: str = "", small_cell: int = 10, folder: str | Path | None = None) -> WhatIfPanel:
    """A live what-if panel on ``extract``: tick criteria off, move thresholds, reorder, compare.

    ``small_cell > 0`` (the default) is the shareable mode: counts rounded to the
    nearest 5 and small ones hidden. Variants and reports are written under ``folder``
    (default ``reports/what-if/`` in the project, beside the other reports, whichever folder the
    notebook or app runs in).

    Example
    -------
    >>> from screening import load_extract
    >>> panel = whatif_panel(load_extract("data/synthetic"), small_cell=0)
    >>> before = panel.view.headline["eligible"]
    >>> panel.sliders["sledai.min"].value = 4      # redraws at once
    >>> panel.view.headline["eligible"] > before
    True
    """
    return WhatIfPanel(Explorer(extract, protocol, policy, small_cell), policy, compare_with, folder)
