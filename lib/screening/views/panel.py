"""The live what-if panel: change criteria in JupyterLab (or the ``make app`` page) and see the funnel redraw.

:class:`WhatIfPanel` wraps an :class:`~screening.views.explorer.Explorer` (the
arithmetic, no widgets) in ipywidgets: a checkbox, arrows and sliders per
criterion, the missing-data policy, a protocol to compare with; the headline,
the changes, the funnel and the per-criterion table redraw in place.
:func:`whatif_panel` builds one.

Example
-------
>>> from screening import load_extract
>>> panel = whatif_panel(load_extract("data/synthetic"), small_cell=0)
>>> panel.view.headline["eligible"]
90
"""

from __future__ import annotations

import html
import threading
from pathlib import Path

import pandas as pd

from screening.engine.status import POLICIES
from screening.errors import ScreeningError
from screening.io.extract import Extract
from screening.rules.protocol import Protocol, format_value, shipped_protocols
from screening.views.explorer import (
    HEADERS,
    POLICY_WORDS,
    Explorer,
    Settings,
    View,
    numeric_parameters,
    parameter_label,
)
from screening.views.panel_report import ReportWriter

__all__ = ["WhatIfPanel", "NoKernel", "whatif_panel", "funnel_html", "Explorer", "Settings", "View",
           "numeric_parameters"]

NO_KERNEL = "The live what-if panel appears here when this notebook runs in JupyterLab, or on the `make app` page."
DEFAULT_FOLDER = Path(__file__).resolve().parents[3] / "reports" / "what-if"


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
    """A table with human headers that wrap, so it fits the results column."""
    shown = frame.rename(columns=HEADERS)
    return shown.to_html(index=False, classes=css, border=0, escape=True).replace(
        "<table", "<table style='font-size:0.85em;width:100%;table-layout:auto'", 1).replace(
        "<th>", "<th style='white-space:normal;text-align:left;vertical-align:bottom'>")


#: Keeps the results in view: the criteria column scrolls on its own beside them.
STYLE = """<style>
.whatif-controls { max-height: calc(100vh - 90px); overflow-y: auto !important; }
.whatif-controls > *, .whatif-controls .widget-vbox > * { flex-shrink: 0; }
.whatif-results { position: sticky; top: 0; align-self: flex-start; max-height: calc(100vh - 20px);
                  overflow-y: auto !important; }
</style>"""


class NoKernel:
    """Where the panel can be used, shown instead of it where no one can use it (a report being written)."""

    def _repr_mimebundle_(self, **kwargs) -> dict:
        return {"text/plain": NO_KERNEL,
                "text/html": "<p><i>" + NO_KERNEL.replace("`make app`", "<code>make app</code>") + "</i></p>"}


class WhatIfPanel:
    """The widgets around an :class:`Explorer`. Display it in a notebook (it renders as its ``widget``)."""

    def __init__(self, explorer: Explorer, policy: str = "separate", compare_with: str = "",
                 folder: str | Path | None = None) -> None:
        import ipywidgets as w
        from ipywidgets.widgets.widget_bool import CheckboxStyle
        from ipywidgets.widgets.widget_string import HTMLStyle

        self.explorer = explorer
        self.folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        shipped = explorer.shipped
        self.order = [c.id for c in shipped.counted]
        self.params = numeric_parameters(shipped)
        self.boxes: dict[str, w.Checkbox] = {}
        self.sliders: dict[str, w.Widget] = {}
        self.rows: dict[str, w.Widget] = {}
        # One layout and style model per kind of widget, shared: the page draws after the browser has built
        # every model, and a model each would triple their number (700 instead of 250).
        shared = {"box": w.Layout(width="330px"), "arrow": w.Layout(width="32px"), "line": w.Layout(
            align_items="center"), "label": w.Layout(margin="2px 0 -4px 40px"), "slider": w.Layout(
            width="300px", margin="0 0 0 40px"), "row": w.Layout(border_bottom="1px solid #eee")}
        styles = {"check": CheckboxStyle(), "button": w.ButtonStyle(), "slider": w.SliderStyle(),
                  "html": HTMLStyle()}
        for c in shipped.counted:
            box = w.Checkbox(value=True, description=c.display_label, indent=False, layout=shared["box"],
                             style=styles["check"])
            box.add_class(f"whatif-keep-{c.id}")
            box.observe(self._changed, names="value")
            self.boxes[c.id] = box
            up, down = (w.Button(icon=i, tooltip=t, layout=shared["arrow"], style=styles["button"])
                        for i, t in (("arrow-up", "earlier in the funnel"), ("arrow-down", "later in the funnel")))
            up.on_click(lambda _, cid=c.id: self._move(cid, -1))
            down.on_click(lambda _, cid=c.id: self._move(cid, +1))
            lines = [w.HBox([up, down, box], layout=shared["line"])]
            for name, value in self.params.items():
                if name.split(".", 1)[0] != c.id:
                    continue
                lo, hi, step = _slider_range(value)
                kind = w.IntSlider if isinstance(value, int) else w.FloatSlider
                slider = kind(value=value, min=lo, max=hi, step=step, continuous_update=False,
                              layout=shared["slider"], style=styles["slider"])
                slider.add_class("whatif-param")
                slider.add_class("whatif-param-" + name.replace(".", "-").replace("_", "-"))
                slider.observe(self._changed, names="value")
                self.sliders[name] = slider
                lines += [w.HTML(f"<small>{html.escape(parameter_label(shipped, name))} &middot; "
                                 f"<span title='the protocol as shipped'>protocol: "
                                 f"{html.escape(format_value(value))}</span></small>", layout=shared["label"],
                                 style=styles["html"]), slider]
            self.rows[c.id] = w.VBox(lines, layout=shared["row"])
        self.policy = w.ToggleButtons(options=list(POLICIES), value=policy,
                                      description="missing data", style={"description_width": "initial",
                                                                         "button_width": "90px"},
                                      tooltips=list(POLICIES.values()))
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
        self.report_button = report
        report.add_class("whatif-report")
        self.status = w.HTML()
        self.status.add_class("whatif-status")
        self.writer = ReportWriter(self)
        save.on_click(lambda _: self.writer.save())
        report.on_click(lambda _: self.writer.start())
        reset.on_click(lambda _: self.reset())
        self.headline = w.HTML()
        self.headline.add_class("whatif-headline")
        self.over_time = w.HTML()
        self.over_time.add_class("whatif-over-time")
        self.changes = w.HTML()
        self.chart = w.HTML()
        self.table = w.HTML()
        self.criteria_box = w.VBox([self.rows[cid] for cid in self.order])
        mode = html.escape(("" if explorer.rule.internal else "shareable: ") + explorer.rule.text())
        self.mode = w.HTML(f"<b>What if?</b> <small class='whatif-mode'>({mode})</small>")
        controls = w.VBox([self.mode, w.HBox([self.policy]),
                           w.HBox([self.compare]), w.HBox([self.name, reset]), w.HBox([save, report]), self.status,
                           self.writer.widget, self.criteria_box], layout=w.Layout(width="44%"))
        controls.add_class("whatif-controls")
        results = w.VBox([self.headline, self.over_time, self.changes, self.chart, self.table],
                         layout=w.Layout(width="56%", padding="0 0 0 12px"))
        results.add_class("whatif-results")
        main = w.HBox([w.HTML(STYLE, layout=w.Layout(display="none")), controls, results],
                      layout=w.Layout(align_items="flex-start"))
        main.add_class("whatif-panel")
        from screening.views.relax_tab import with_relax_tab

        self.widget = with_relax_tab(self, main)
        self.view: View | None = None
        self._quiet = False
        # JupyterLab 4.6 hands widget messages to a subshell thread as well as the main one, so two changes
        # can be drawn at once: one draws at a time, and a change overtaken by a later one draws nothing.
        self._drawing = threading.RLock()
        self._asked = threading.Lock()
        self._latest = 0
        self.refresh()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # Without a live kernel (an exported HTML report) the widget cannot draw: say where it can.
        return {**self.widget._repr_mimebundle_(**kwargs), **NoKernel()._repr_mimebundle_()}

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
        with self._drawing:
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
        with self._drawing:
            i = self.order.index(cid)
            j = min(max(i + step, 0), len(self.order) - 1)
            self.order[i], self.order[j] = self.order[j], self.order[i]
            self.criteria_box.children = [self.rows[c] for c in self.order]
            self.refresh()

    def _save(self) -> Path | None:
        """Save the settings as a variant YAML (see :class:`~screening.views.panel_report.ReportWriter`)."""
        return self.writer.save()

    def _report(self, notebooks: bool = True) -> Path | None:
        """Write the shareable report here and now, replacing an earlier one (the button runs it in the background)."""
        return self.writer.start(replace=True, notebooks=notebooks, background=False)

    def _changed(self, _change) -> None:
        if not self._quiet:
            self.refresh()

    # --- drawing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Screen under the current settings and redraw everything in place: the funnel first, then the line
        over time (screened at every visit, it takes longest; each widget's update reaches the page at once).

        Safe from several threads: changes are drawn one at a time, each from the settings as they are when
        its turn comes, and a change overtaken by a later one stops (the later one draws everything)."""
        with self._asked:
            self._latest += 1
            ticket = self._latest
        with self._drawing:
            if ticket == self._latest:
                self._draw(ticket)

    def _draw(self, ticket: int) -> None:
        settings = self.settings
        try:
            view = self.explorer.view(settings, over_time=False)
        except ScreeningError as exc:
            self._error(exc)
            return
        self.view = view
        self.status.value = ""
        for c in view.protocol.counted:
            self.boxes[c.id].description = c.display_label
        self.headline.value = headline_html(view.shown, self.policy.value)
        if self.over_time.value:
            self.over_time.value = over_time_html(None, stale=self.over_time.value)
        self.changes.value = "<b>Against</b>" + _table_html(view.changes, "whatif-changes")
        self.chart.value = funnel_html(view.attrition, view.attrition_text)
        self.table.value = "<b>Per criterion</b>" + _table_html(view.criteria.drop(columns=["kind", "criterion"]),
                                                                "whatif-criteria")
        if ticket != self._latest:  # a later change waits to draw: the grey line stays until it does
            return
        try:
            view.over_time = self.explorer.over_time(view.protocol, settings.policy)
        except ScreeningError as exc:
            self._error(exc)
        if ticket == self._latest:
            self.over_time.value = over_time_html(view.over_time)

    def _error(self, exc: ScreeningError) -> None:
        self.status.value = f"<span style='color:#D55E00'>{html.escape(str(exc))}</span>"


def headline_html(shown: dict, policy: str) -> str:
    """The headline, saying what the eligible count counts under the missing-data policy."""
    words = POLICY_WORDS[policy]
    if not words:
        return (f"<div style='font-size:1.3em'>Eligible on registry data: <b class='whatif-eligible'>"
                f"{shown['eligible']}</b></div><div>not assessable (data missing): "
                f"<b class='whatif-not-assessable'>{shown['not_assessable']}</b>; excluded: {shown['excluded']}</div>"
                f"<div>range: <b class='whatif-range'>{shown['eligible']} to {shown['upper']}</b> if every "
                "not-assessable patient qualified</div>")
    return (f"<div style='font-size:1.3em'>Eligible, {words}: <b class='whatif-eligible'>{shown['eligible']}"
            f"</b></div><div>excluded: {shown['excluded']} <small>(no patient is left not assessable under this "
            f"policy; choose <i>separate</i> to see the range)</small></div>")


def over_time_html(figures: dict | None, stale: str = "") -> str:
    """Eligible over time under these settings, in one line; empty for an extract without visits.

    ``stale``: the line of the settings before, greyed while the line of these is screened.
    """
    if stale:
        return f"<div class='whatif-over-time-stale' style='opacity:0.45'>{stale}</div>"
    if figures is None:
        return ""
    return (f"<div><b>Over time</b>: eligible at the last visit <b class='whatif-last-visit'>"
            f"{figures['last_visit']}</b>, at any visit in 12 months <b class='whatif-any-visit'>"
            f"{figures['any_visit_12_months']}</b>; newly eligible "
            f"<b class='whatif-newly'>{figures['newly_per_month']}</b> a month (settled newly eligible in "
            f"the last {figures['months']} months, {figures['newly_12_months']} as shown, ÷ {figures['months']}; "
            f"up to {figures['newly_max_12_months']} with not-assessable visits)</div>")


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
