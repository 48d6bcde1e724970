"""Saving a variant and writing its shareable report from the what-if panel, without freezing the panel.

:class:`ReportWriter` holds the panel's *Save variant YAML* and *Write shareable
report* actions. The report is written in a background thread: the button is
disabled and a line says how far it got, while the sliders keep redrawing (the
kernel's main thread stays free). It reuses the panel's screening rather than
loading the extract again, compares the what-if with the protocol as shipped,
and shows the warnings about earlier releases that the command line prints. A
variant file or report folder that already holds something else is only
replaced once the user presses *Replace*. A release refused because it overlaps
an earlier release of another extract is written only once the user presses
*Force*, as ``report --force`` does: written, logged, and the warning repeated.

Example
-------
>>> import tempfile
>>> from screening import load_extract
>>> from screening.views.panel import whatif_panel
>>> panel = whatif_panel(load_extract("data/synthetic"), small_cell=0, folder=tempfile.mkdtemp())
>>> panel.sliders["sledai.min"].value = 4
>>> panel.writer.save().name
'misle-phase2-whatif.yaml'
"""

from __future__ import annotations

import html
import resource
import threading
import time
from pathlib import Path

from screening.disclosure.releases import ReleaseRefused
from screening.disclosure.rule import SHAREABLE
from screening.errors import ScreeningError

__all__ = ["ReportWriter"]

ORANGE = "#D55E00"


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of the processes it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class ReportWriter:
    """The panel's save and report actions, with their messages and the question before replacing a file."""

    def __init__(self, panel) -> None:
        import ipywidgets as w

        self.panel = panel
        self.message = w.HTML()
        self.message.add_class("whatif-report-status")
        self.question = w.HTML()
        replace, cancel = w.Button(description="Replace", button_style="warning"), w.Button(description="Cancel")
        replace.add_class("whatif-replace")
        replace.on_click(lambda _: self._answer(True))
        cancel.on_click(lambda _: self._answer(False))
        self.confirm = w.HBox([self.question, replace, cancel], layout=w.Layout(display="none"))
        self.force_button = w.Button(description="Force", button_style="danger", icon="exclamation-triangle",
                                     tooltip="write this report anyway, and log it (as report --force)")
        self.force_button.add_class("whatif-force")
        self.force_button.on_click(lambda _: self.force())
        self.refused = w.HBox([self.force_button], layout=w.Layout(display="none"))
        self.widget = w.VBox([self.message, self.confirm, self.refused])
        self._pending = None
        self._refused_job: tuple | None = None
        self.thread: threading.Thread | None = None
        #: the last report written, its wall and CPU seconds, and the warnings its release raised
        self.written: Path | None = None
        self.seconds: tuple[float, float] | None = None
        self.warnings: list[str] = []

    # --- asking ------------------------------------------------------------------------------

    def _ask(self, question: str, then) -> None:
        self.question.value = f"<span style='color:{ORANGE}'>{question}</span>"
        self._pending = then
        self.confirm.layout.display = "flex"

    def _answer(self, yes: bool) -> None:
        then, self._pending = self._pending, None
        self.confirm.layout.display = "none"
        if yes and then is not None:
            then()
        elif not yes:
            self.message.value = "nothing replaced: change the variant name to keep both"

    def _error(self, exc: Exception) -> None:
        self.message.value = f"<span style='color:{ORANGE}'>{html.escape(str(exc))}</span>"

    def _taken(self, name: str) -> list[str]:
        """What saving ``name`` would replace: a variant file with other settings, a report folder."""
        panel = self.panel
        path = panel.explorer.variant_path(name, panel.folder)
        taken = []
        if path.exists() and path.read_text(encoding="utf-8") != panel.explorer.variant_yaml(panel.settings, name):
            taken.append(path.name)
        return taken

    # --- saving -------------------------------------------------------------------------------

    def save(self, replace: bool = False) -> Path | None:
        """Save the settings as a variant YAML; asks first when a variant of that name holds other settings."""
        panel = self.panel
        name = panel.name.value.strip()
        try:
            if not replace and self._taken(name):
                self._ask(f"{html.escape(name)}.yaml holds other settings: replace it?", lambda: self.save(True))
                return None
            path = panel.explorer.save_variant(panel.settings, name, panel.folder)
        except ScreeningError as exc:
            self._error(exc)
            return None
        self.message.value = f"saved <code>{html.escape(str(path))}</code>"
        return path

    # --- the report ---------------------------------------------------------------------------

    def start(self, replace: bool = False, notebooks: bool = True, background: bool = True) -> Path | None:
        """Save the variant and write its shareable report, in a background thread unless ``background=False``.

        Returns the report folder when written in the foreground (None otherwise, or on an error).
        """
        if self.thread is not None and self.thread.is_alive():
            return None  # the button is disabled meanwhile; a second call does nothing
        panel = self.panel
        name = panel.name.value.strip()
        try:
            out = panel.folder / f"report-{name}"
            taken = self._taken(name) + ([out.name] if out.exists() else [])
        except ScreeningError as exc:
            self._error(exc)
            return None
        if taken and not replace:
            self._ask(f"{' and '.join(map(html.escape, taken))} already exist: replace?",
                      lambda: self.start(True, notebooks, background))
            return None
        settings = panel.settings
        path = self.save(replace=True)
        if path is None:
            return None
        try:
            protocol = panel.explorer.report_protocol(settings, path)
        except ScreeningError as exc:
            self._error(exc)
            return None
        screening = panel.explorer._base.with_protocol(protocol, settings.policy)
        return self._launch((screening, protocol, settings.policy, out, notebooks, False), background)

    def force(self) -> Path | None:
        """Write the release last refused for its overlap with an earlier one, as ``report --force`` does.

        The very report refused, whatever the sliders say now; returns its folder when written in the foreground.
        """
        refused, self._refused_job = self._refused_job, None
        self.refused.layout.display = "none"
        if refused is None or (self.thread is not None and self.thread.is_alive()):
            return None
        job, background = refused
        return self._launch((*job, True), background)

    def _launch(self, job: tuple, background: bool) -> Path | None:
        self.panel.report_button.disabled = True
        self.refused.layout.display = "none"
        self._say(job[3], time.perf_counter(), "starting ...")
        if not background:
            return self._run(*job, background=False)
        self.thread = threading.Thread(target=self._run, args=job, name="whatif-report", daemon=True)
        self.thread.start()
        return None

    def _say(self, out: Path, start: float, step: str) -> None:
        self.message.value = (f"writing the shareable report to <code>{html.escape(str(out))}</code>: "
                              f"{html.escape(step)} <small>({time.perf_counter() - start:.0f} s)</small>")

    def _run(self, screening, protocol, policy: str, out: Path, notebooks: bool, force: bool = False,
             background: bool = True) -> Path | None:
        from screening.views.report import build_report

        panel = self.panel
        start, cpu = time.perf_counter(), _cpu_seconds()
        warnings: list[str] = []
        try:
            # A report from the panel is always shareable, at the panel's threshold or the default if higher.
            rule = max(panel.explorer.rule, SHAREABLE, key=lambda r: r.threshold)
            # The panel's visit frame and criterion results screened over time, as for its own figures.
            visits = panel.explorer._visits
            build_report(panel.explorer.extract.path, protocol, out=out, overwrite=True, policy=policy,
                         small_cell=rule, notebooks=notebooks, variant=panel.explorer.shipped,
                         screening=screening, progress=lambda step: self._say(out, start, step),
                         warn=warnings.append, force=force,
                         over_time=None if visits is None else visits.under(protocol, policy))
        except ReleaseRefused as exc:  # nothing written: the user may still force it, knowing why
            self.message.value = (f"<span style='color:{ORANGE}'>{html.escape(str(exc))}</span> "
                                  "<small>Here: press <b>Force</b>.</small>")
            self._refused_job = ((screening, protocol, policy, out, notebooks), background)
            self.refused.layout.display = "flex"
            return None
        except Exception as exc:  # shown in the panel: a background thread has no one else to tell
            self._error(exc)
            return None
        finally:
            panel.report_button.disabled = False
        self.written, self.warnings = out, warnings
        self.seconds = (time.perf_counter() - start, _cpu_seconds() - cpu)
        notes = "".join(f"<br><span style='color:{ORANGE}'>warning: {html.escape(w)}</span>" for w in warnings)
        self.message.value = (f"shareable report written to <code>{html.escape(str(out))}</code> "
                              f"<small>({self.seconds[0]:.1f} s)</small>{notes}")
        return out
