"""The report's notebooks run in kernels started ahead, each notebook as if in a kernel of its own.

Starting Python, importing pandas, matplotlib, papermill and the package and
starting a kernel cost more than most notebooks. So a report starts one worker
process as soon as it knows it will run notebooks; the worker starts a kernel
per core (at most one per notebook) and imports in each what the notebooks
import, while the report protects its tables. The notebooks then run side by
side in those kernels, each a notebook at a time; between two notebooks the
kernel forgets the last one (:func:`kernel_fresh`), so every notebook gives the
file it gives in a kernel of its own. papermill parameterises and executes each
one (:func:`~screening.views.notebook_runner.run_notebook`).

The worker is a process, not a thread of the report: the what-if panel's kernel
stays free, and the worker and its kernels die with the report however it ends
(:mod:`screening.views.workers`). Spawned, not forked: the report holds Arrow's
thread pools, which a forked child must not inherit.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from screening.views.notebook_runner import (
    NOTEBOOKS,
    ROOT,
    _declared,
    html_exporter,
    run_notebook,
    say,
    socket_kernels,
)
from screening.views.workers import sigint_held, stop_workers, worker_init

__all__ = ["NotebookKernels", "kernel_started", "kernel_fresh"]

#: Run in each kernel once it has started (see :func:`kernel_started`); it leaves no name behind.
WARM = "import screening.views.notebook_kernels as _kernels; _kernels.kernel_started(); del _kernels"
#: Run in a kernel before each notebook (see :func:`kernel_fresh`).
FRESH = "import screening.views.notebook_kernels as _kernels; _kernels.kernel_fresh()"

_started: dict = {}  # in a kernel: matplotlib's settings as they were after start-up
_worker: dict = {}  # in the worker: its kernels and the folder of their sockets


# --- in a kernel ------------------------------------------------------------------------------------


def kernel_started() -> None:
    """In a report's kernel, after start-up: import what the notebooks import and draw a figure as they do, once
    for all of them; keep matplotlib's settings, to give every notebook the same."""

    import matplotlib
    import matplotlib.pyplot as plt
    from IPython import get_ipython

    import screening.views.charts
    import screening.views.over_time_charts
    import screening.views.readable
    import screening.views.relax_charts
    import screening.views.sweep_charts  # noqa: F401 (imported for the notebooks)

    _started["rc"] = matplotlib.rcParams.copy()
    # The first figure a process draws loads fonts and the PNG encoder: here, while the report's tables are made.
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title("0123456789 abcdefghijklmnopqrstuvwxyz")
    get_ipython().display_formatter.format(fig)
    plt.close(fig)


def kernel_fresh() -> None:
    """In a report's kernel, before each notebook: as if the kernel had just started.

    No name, open figure, display option or matplotlib setting left by the notebook before, and prompt
    numbers from 1. Modules stay imported: that is what a kernel for several notebooks saves.
    """
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd
    from IPython import get_ipython

    # A new history session numbers the cells from 1 again; in the same one IPython would print an error
    # about a line number not unique in its history, into the notebook.
    get_ipython().reset(new_session=True)
    plt.close("all")
    with warnings.catch_warnings():  # the settings kept include deprecated ones, which warn when set
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_started["rc"])
        pd.reset_option("display")


# --- in the worker ------------------------------------------------------------------------------------


def _execute(managers: list, code: str) -> None:
    """Run ``code`` in every kernel at once, without a prompt number or history; raise if it fails in one."""
    clients = [km.client() for km in managers]
    try:
        for kc in clients:
            kc.start_channels()
            kc.wait_for_ready(timeout=300)
        sent = [(kc, kc.execute(code, silent=True, store_history=False)) for kc in clients]
        for kc, msg_id in sent:
            while True:
                reply = kc.get_shell_msg(timeout=600)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            content = reply["content"]
            if content["status"] != "ok":
                raise RuntimeError(f"a report's kernel failed: {content.get('ename')}: {content.get('evalue')}")
    finally:
        for kc in clients:
            kc.stop_channels()


def _start(cwd: str, count: int) -> None:
    """In the worker: start ``count`` kernels in ``cwd`` and import there, and here, what the notebooks need."""
    import tempfile

    # jsonschema (under nbformat) imports rfc3987_syntax for the "iri" format, which no notebook's schema uses,
    # and that import compiles a grammar for 1 to 2 s of CPU (python-jsonschema/jsonschema#1428): skipped here.
    sys.modules.setdefault("rfc3987_syntax", None)
    sockets = tempfile.mkdtemp(prefix="screening-kernel-")
    _worker["sockets"] = sockets
    manager = socket_kernels(sockets)
    _worker["kernels"] = []
    for _ in range(count):
        km = manager(kernel_name="python3")
        # History in memory: kernels side by side (and other IPythons) need not share the file on disk.
        km.start_kernel(cwd=cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"])
        _worker["kernels"].append(km)
    import papermill  # noqa: F401 (imported while the kernels start: the first notebook does not wait for it)
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    # An exporter for each kernel's notebooks, its templates compiled by a first page, here and now.
    page = new_notebook(cells=[new_code_cell("", outputs=[new_output("display_data", {"text/html": "<b>0</b>"})])])
    _worker["exporters"] = [html_exporter() for _ in range(count)]
    for exporter in _worker["exporters"]:
        exporter.from_notebook_node(page)
    _execute(_worker["kernels"], WARM)


def _run(jobs: list[tuple[str, dict]], folder: Path, local: dict[str, str], internal: bool,
         source: Path) -> list[tuple[str, float, list[str]]]:
    """In the worker: run ``jobs`` (notebook, parameters), each kernel taking the next as it finishes one.

    A thread per kernel: each mostly waits on its kernel. Returns (notebook, seconds, warnings) in finishing order.
    """
    todo, done, failed = list(jobs), [], []
    lock = threading.Lock()

    def drive(km, exporter) -> None:
        fresh = True  # just started: no notebook to forget yet
        while True:
            with lock:
                if not todo or failed:
                    return
                name, params = todo.pop(0)
            try:
                if not fresh:
                    _execute([km], FRESH)
                fresh = False
                seconds, warnings = run_notebook(name, folder, params, local=local, internal=internal, km=km,
                                                 source=source, exporter=exporter)
            except BaseException as exc:  # noqa: BLE001 (re-raised below, in the worker's main thread)
                failed.append(exc)
                return
            with lock:
                done.append((name, seconds, warnings))

    threads = [threading.Thread(target=drive, args=pair, name=f"notebooks-{i}")
               for i, pair in enumerate(zip(_worker["kernels"], _worker["exporters"], strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    return done


def _stop() -> None:
    """In the worker: shut the kernels down and remove their sockets' folder."""
    import shutil

    _worker.pop("exporters", None)
    for km in _worker.pop("kernels", []):
        km.shutdown_kernel(now=False)
    shutil.rmtree(_worker.pop("sockets", ""), ignore_errors=True)


# --- in the report --------------------------------------------------------------------------------------


class NotebookKernels:
    """The worker and kernels of one report's notebooks; a context manager.

    Created, it starts the worker, which starts the kernels and warms them in the background. :meth:`run`
    runs the notebooks. On leaving, the kernels are shut down, or after an error ended at once with the worker.
    """

    def __init__(self, notebooks: int = len(NOTEBOOKS), cwd: Path = ROOT / "notebooks",
                 environment: dict[str, str] | None = None) -> None:
        """``environment``: variables the worker and kernels get beside this process's own (a database
        password): set only while the worker starts, so they do not stay in this process's environment."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.count = max(1, min(notebooks, os.cpu_count() or 1))
        before = {name: os.environ.get(name) for name in environment or {}}
        os.environ.update(environment or {})
        try:
            with sigint_held():
                self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=worker_init, initargs=(os.getpid(),))
                # The worker is spawned here, inside submit: it copies the environment as it is now.
                self.started = self.pool.submit(_start, str(cwd), self.count)
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def __enter__(self) -> NotebookKernels:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.pool.submit(_stop).result()
            self.pool.shutdown()
        else:
            stop_workers(self.pool)

    def run(self, folder: Path, params: dict, progress, local: dict[str, str], internal: bool,
            source: Path = ROOT / "notebooks", names: tuple[str, ...] = NOTEBOOKS, meanwhile=None) -> None:
        """Run the notebooks ``names`` of ``source`` into ``folder``, and call ``meanwhile()`` while they run.
        ``progress``: see :func:`~screening.views.notebook_runner.say`."""
        jobs = [(n, _declared(n, params, source)) for n in names if (source / n).exists()]
        start = time.perf_counter()
        say(progress, f"running {', '.join(n for n, _ in jobs)} ({self.count} at a time) ...")
        with sigint_held():  # queued behind the kernels' start, in the one worker
            running = self.pool.submit(_run, jobs, folder, local, internal, source)
        if meanwhile is not None:
            meanwhile()
        self.started.result()  # the kernels failed to start: say so, not what follows from it
        for name, seconds, warnings in running.result():  # a failed notebook stops the report with its error
            for line in warnings:
                print(f"{name}: {line}", file=sys.stderr)
            say(progress, f"ran {name} in {seconds:.1f} s")
        say(progress, f"ran the notebooks in {time.perf_counter() - start:.1f} s")
