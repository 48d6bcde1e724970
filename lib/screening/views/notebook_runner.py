"""Run the report's notebooks: papermill, stripped of what must not travel, exported to HTML.

A report screens once and protects the tables once, then hands every notebook
the same result (:func:`share_state`, :func:`notebook_state`); each notebook is
executed (:func:`run_notebook`, in kernels started ahead: :mod:`screening.views.notebook_kernels`),
cleaned of run metadata, local paths and warnings, and exported as offline HTML.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from screening.disclosure.rule import WATERMARK, SmallCellRule
from screening.disclosure.shareable import VARIANT
from screening.engine.funnel import Screening
from screening.io.sources import load_source
from screening.rules.protocol import Protocol, as_overrides, load_protocol
from screening.views.provenance import provenance

__all__ = ["notebook_display", "notebook_state", "share_state", "run_notebook", "run_notebooks", "socket_kernels",
           "NOTEBOOKS", "ROOT", "PACKAGE"]

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01-eligible-pool.ipynb", "02-screening-funnel.ipynb", "03-changing-criteria.ipynb")


def notebook_display() -> None:
    """Table widths and figure resolution shared by every notebook, so the reports look alike."""
    import matplotlib.pyplot as plt

    pd.set_option("display.max_rows", 80)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 70)
    plt.rcParams["figure.dpi"] = 80


def notebook_state(extract_path: str, protocol: str, overrides: dict | str, policy: str, subgroup: str,
                   small_cell: int, shared: str = "", variant: str | None = None, over_time: bool = False
                   ) -> tuple[Screening, dict, dict[str, pd.DataFrame]]:
    """A notebook's screening, provenance and shareable tables: handed over by a report run, or computed here.

    A report screens once and protects the tables once, then hands every
    notebook the same result through ``shared`` (a pickle in a private
    temporary folder, never in the report). It is used only if it was made from
    these very parameters; a notebook run on its own computes its own. ``variant``: the protocol the
    what-if tables compare with; None (a notebook that shows no comparison) takes the report's, or
    the pilot when computed here. ``over_time``: a notebook that shows the series over time computes
    them here when the extract has visits (a report run hands them to every notebook).

    Example
    -------
    >>> s, meta, tables = notebook_state("data/synthetic", "misle-phase2", {}, "separate", "site", 10)
    >>> meta["patients"], "attrition" in tables
    ('5000', True)
    """
    params = {"extract_path": extract_path, "protocol": protocol, "overrides": overrides, "policy": policy,
              "subgroup": subgroup, "small_cell": small_cell, "variant": variant}
    if shared and Path(shared).is_file():
        import pickle

        with open(shared, "rb") as handle:
            state = pickle.load(handle)  # written by build_report in this run's private folder
        if state["params"] == {**params, "variant": variant or state["params"]["variant"]}:
            return state["screening"], state["meta"], state["tables"]
    variant = variant or VARIANT
    from screening.engine.funnel import screen

    chosen = load_protocol(protocol, overrides) if not isinstance(protocol, Protocol) else \
        protocol.with_overrides(as_overrides(overrides))
    s = screen(load_source(extract_path, protocol=chosen), chosen, None, policy)
    from screening.views.report import report_tables  # the report module runs this one's notebooks

    rule = SmallCellRule.of(small_cell)
    series = None
    if over_time and s.extract.has_visits:  # protected with the other tables, as a report protects them
        from screening.engine.over_time import EligibilityOverTime

        series = EligibilityOverTime(s.extract, chosen, policy=policy)
    return s, provenance(s, rule, compared_with=load_protocol(variant)), report_tables(s, rule, subgroup, variant,
                                                                                      over_time=series)


def share_state(folder: Path, params: dict, screening: Screening, meta: dict, tables: dict) -> str:
    import pickle

    path = folder / "state.pickle"
    with open(path, "wb") as handle:
        pickle.dump({"params": {"variant": VARIANT, **params}, "screening": screening, "meta": meta,
                     "tables": tables}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return str(path)


def socket_kernels(folder: str | Path):
    """A kernel manager whose kernels listen on Unix sockets in ``folder`` (one private folder per run).

    On TCP, ipykernel warns that the kernel's traffic is unencrypted, on every run: over loopback only this
    machine could listen, but the user cannot act on it. Sockets in a folder only this user can open are
    private without encryption, so there is nothing to warn about.
    """
    import itertools

    from jupyter_client.manager import KernelManager
    from traitlets import default

    kernels = itertools.count(1)

    class SocketKernelManager(KernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            # One name per kernel: ports of Unix sockets are only numbers, picked before a kernel binds them.
            return str(Path(folder) / f"kernel{next(kernels)}")

        def client(self, **kwargs):
            # papermill opens a client per notebook and, on a kernel it did not start, leaves it open.
            made = super().client(**kwargs)
            self.__dict__.setdefault("_clients", []).append(made)
            return made

        def stop_clients(self) -> None:
            """Close the clients opened on this kernel so far (the kernel runs on)."""
            for made in self.__dict__.pop("_clients", []):
                made.stop_channels()

    return SocketKernelManager


def run_notebook(name: str, folder: Path, params: dict, cwd: Path = ROOT / "notebooks",
                 local: dict[str, str] | None = None, internal: bool = False, km=None,
                 source: Path = ROOT / "notebooks", exporter=None) -> tuple[float, list[str]]:
    """Execute one notebook with papermill and export its offline HTML; returns the seconds it took and the
    warnings it printed (for the terminal, not the files). ``local`` maps local paths to the names shared instead.
    ``km``: the manager of a running kernel to execute in, already in ``cwd``
    (:mod:`screening.views.notebook_kernels`); None starts a kernel for this notebook. ``exporter``: an
    :func:`html_exporter` to reuse."""
    import time

    import nbformat
    import papermill as pm

    start = time.perf_counter()
    target = folder / name
    with tempfile.TemporaryDirectory(prefix="screening-kernel-") as sockets:
        # A running kernel is already in ``cwd``: papermill would change this whole process's folder to it.
        # Saved once, at the end: saving the notebook before and after every cell kept the kernel waiting.
        nb = pm.execute_notebook(str(source / name), str(target), parameters=params, kernel_name="python3",
                                 cwd=None if km else str(cwd), progress_bar=False, log_output=False,
                                 request_save_on_cell_execute=False, kernel_manager_class=socket_kernels(sockets),
                                 **({"km": km} if km else {}))
    if km is not None:
        km.stop_clients()
    # The what-if panel needs a live kernel; its saved widget state would only pull a widget
    # script from the network into the HTML, which then shows the panel's text fallback.
    nb.metadata.pop("widgets", None)
    warnings = _shareable_notebook(nb, local or {}, internal)
    nbformat.write(nb, target)
    body, _ = (exporter or html_exporter()).from_notebook_node(nb)
    target.with_suffix(".html").write_text(body, encoding="utf-8")
    return time.perf_counter() - start, warnings


def html_exporter():
    """The exporter of a report's offline HTML: no code, no prompts, no script from the network."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="offline", extra_template_basedirs=[str(PACKAGE / "views" / "templates")],
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


def say(progress, text: str) -> None:
    """Tell ``progress`` how a report run goes: a callable gets ``text``; ``True`` prints it to stderr."""
    if callable(progress):
        progress(text)
    elif progress:
        print(text, file=sys.stderr, flush=True)


def run_notebooks(folder: Path, params: dict, progress, local: dict[str, str], internal: bool,
                  kernels=None, meanwhile=None) -> None:
    """Run the report's notebooks in ``kernels`` (:class:`~screening.views.notebook_kernels.NotebookKernels`
    started ahead by the report), or in kernels started here; call ``meanwhile()`` while they run.
    ``progress``: see :func:`say`."""
    if kernels is not None:
        kernels.run(folder, params, progress, local, internal, meanwhile=meanwhile)
        return
    from screening.views.notebook_kernels import NotebookKernels

    with NotebookKernels() as kernels:
        kernels.run(folder, params, progress, local, internal, meanwhile=meanwhile)


def _declared(name: str, params: dict, source: Path = ROOT / "notebooks") -> dict:
    """``params`` without ``variant`` for a notebook that does not declare it (it shows no comparison)."""
    import json

    # Read as JSON: nbformat would import jsonschema, whose start-up costs seconds (see notebook_kernels.py).
    cells = json.loads((source / name).read_text(encoding="utf-8"))["cells"]
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    text = "" if cell is None else "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    declares = any(line.startswith("variant") for line in text.splitlines())
    return params if declares else {k: v for k, v in params.items() if k != "variant"}


def _shareable_notebook(nb, local: dict[str, str], internal: bool) -> list[str]:
    """Strip what must not travel: run metadata (paths, times), the extract's path, warnings. Returns the warnings.

    Warnings (stderr) belong on the terminal of whoever ran the report, not in a shared file.
    """
    warnings = []
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for path, name in local.items():
            cell.source = cell.source.replace(path, name)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill's is random: the same inputs give the same files
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                warnings += [line for line in output.get("text", "").splitlines() if line.strip()]
                continue
            if kept and output.get("output_type") == "stream" and kept[-1].get("output_type") == "stream" \
                    and kept[-1].get("name") == output.get("name"):
                # The kernel splits a cell's printing into messages by timing (and a dropped warning can sit
                # between two): joined, the same run gives the same file.
                kept[-1]["text"] += output.get("text", "")
                continue
            kept.append(output)
        for output in kept:  # a widget needs a live kernel; its view only holds a random model id
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
        cell.outputs = kept
    if internal:
        nb.cells.insert(0, _markdown_cell(f"# {WATERMARK.upper()}\n\nEvery count in this notebook is exact."))
    return list(dict.fromkeys(warnings))


def _markdown_cell(text: str):
    from nbformat.v4 import new_markdown_cell

    cell = new_markdown_cell(text)
    cell.pop("id", None)
    return cell
