"""The what-if panel's "What opens the pool" tab: the frontier of relaxations; choosing a point sets the panel.

:class:`RelaxTab` holds no arithmetic: the relaxations come from
:func:`screening.engine.frontier.frontier` on the panel's shipped screening,
computed the first time the tab is opened (a second or two on the bundled
extract). The chart and the list show every relaxation on the frontier (pool
gained against the make-up shift, or against the clinical-risk shift); picking
one and pressing *Set the panel's criteria* unticks the dropped criteria and
moves the loosened sliders, then the panel redraws as after any change. In
shareable mode the gains are rounded like every count of the panel.

Example
-------
>>> from screening import load_extract, whatif_panel
>>> panel = whatif_panel(load_extract("data/synthetic"), small_cell=0)
>>> tab = RelaxTab(panel)
>>> tab.choose("drop sledai")
>>> panel.boxes["sledai"].value, panel.view.headline["eligible"]
(False, 146)
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

from screening.disclosure.rule import round_counts

__all__ = ["RelaxTab", "with_relax_tab"]

TITLE = "What opens the pool"


class RelaxTab:
    """The frontier of relaxations for a :class:`~screening.views.panel.WhatIfPanel`, as a widget."""

    def __init__(self, panel) -> None:
        import ipywidgets as w

        self.panel = panel
        self._frontier: pd.DataFrame | None = None
        self.against = w.ToggleButtons(options=[("make-up", "makeup"), ("clinical risk", "risk")], value="makeup",
                                       description="against", style={"description_width": "initial"})
        self.against.observe(lambda _: self.draw(), names="value")
        self.points = w.Select(options=[], rows=12, layout=w.Layout(width="95%"))
        self.points.add_class("relax-points")
        apply = w.Button(description="Set the panel's criteria", icon="check", layout=w.Layout(width="220px"))
        apply.on_click(lambda _: self.apply())
        self.chart = w.HTML()
        self.note = w.HTML()
        self.widget = w.VBox([w.HTML("<b>What opens the pool?</b> <small>Every relaxation of one to three criteria "
                                     "(dropped, or loosened on the sweep grid) that no other beats: more patients "
                                     "gained for no larger shift in who is eligible. The star is the protocol as "
                                     "shipped.</small>"), self.against, self.chart, self.points, apply, self.note])
        self.widget.add_class("relax-tab")

    @property
    def frontier(self) -> pd.DataFrame:
        """Every relaxation tried, computed once on the panel's shipped screening."""
        if self._frontier is None:
            self._frontier = self.panel.explorer._base.frontier()
        return self._frontier

    def shown(self) -> pd.DataFrame:
        """The frontier as the tab shows it: gains rounded in shareable mode."""
        f = self.frontier
        rule = self.panel.explorer.rule
        return f if rule.internal else round_counts(f.assign(gain=f["gain"].clip(lower=0)), ["gain"], rule,
                                                    as_text=False)

    def _on(self) -> pd.DataFrame:
        column = "frontier_makeup" if self.against.value == "makeup" else "frontier_risk"
        f = self.shown()
        return f[f[column] & (f["n_changes"] > 0)].sort_values(["gain", "changes"], kind="stable")

    def draw(self) -> None:
        """Redraw the chart and the list of frontier points."""
        # A Figure of its own, not pyplot's: widget messages may arrive in a subshell thread while a cell draws.
        from matplotlib.figure import Figure

        from screening.views.relax_charts import AXES, frontier_chart

        fig = Figure(figsize=(7, 4.2))
        frontier_chart(self.shown(), ax=fig.subplots(), against=self.against.value)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        self.chart.value = f"<img src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'/>"
        y = AXES[self.against.value][0]
        on = self._on()
        self.points.options = [(f"+{row.gain:g} patients, |SMD| {getattr(row, y):.2f}: {row.changes}", row.changes)
                               for row in on.itertuples()]

    def choose(self, changes: str) -> None:
        """Set the panel's criteria to the relaxation named ``changes`` (as in the ``changes`` column)."""
        row = self.frontier.set_index("changes").loc[changes]
        panel = self.panel
        with panel._drawing:  # as WhatIfPanel.reset: no change from another thread drawn half-way through
            panel._quiet = True
            try:
                for cid, box in panel.boxes.items():
                    box.value = cid not in row["dropped"]
                for name, slider in panel.sliders.items():
                    slider.value = row["set"].get(name, panel.params[name])
            finally:
                panel._quiet = False
            panel.refresh()
        self.note.value = f"The panel now shows <b>{html.escape(changes)}</b>."

    def apply(self) -> None:
        if self.points.value:
            self.choose(self.points.value)


def with_relax_tab(panel, main):
    """The panel's widget ``main`` and the relaxation tab side by side as tabs; the tab is drawn when opened."""
    import ipywidgets as w

    tab = RelaxTab(panel)
    tabs = w.Tab(children=[main, tab.widget])
    tabs.set_title(0, "What if?")
    tabs.set_title(1, TITLE)

    def opened(change) -> None:
        if change["new"] == 1 and not tab.points.options:
            tab.draw()

    tabs.observe(opened, names="selected_index")
    panel.relax_tab = tab
    return tabs
