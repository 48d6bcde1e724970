"""The notebook workers' lifetime: they die with the report run, whichever way it ends.

Each worker process runs papermill, which starts a Jupyter kernel in a session
of its own. Left alone, Ctrl-C reaches the main process and the workers at
once; a worker interrupted while talking to the pool's queues can leave the pool
waiting for ever, and a kernel keeps running after a killed worker. So:

- workers never see SIGINT: they are started with it blocked
  (:func:`sigint_held`), so one still importing pandas prints no traceback; the
  main process alone decides, and on Ctrl-C (or any error) :func:`stop_workers`
  ends every worker and the kernels under it at once, without waiting on the pool;
- each worker asks Linux for SIGTERM when the process that started it dies
  (``prctl(PR_SET_PDEATHSIG)``), and on SIGTERM ends its own kernels and exits,
  so even a SIGKILL of the main process leaves no worker, kernel or resource
  tracker behind (the tracker exits once every process holding its pipe is gone).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from contextlib import contextmanager

__all__ = ["worker_init", "stop_workers", "sigint_held"]

_PR_SET_PDEATHSIG = 1


def _end_descendants(pid: int) -> None:
    """SIGKILL every process under ``pid`` (its kernels, in their own sessions)."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(children, timeout=2)


def _on_parent_death(signum, frame) -> None:  # noqa: ARG001 (signal handler signature)
    # The handler runs between two bytecodes of whatever the worker was doing (starting a kernel, importing):
    # whatever goes wrong while ending the kernels, the worker still exits, or it would go back to waiting.
    try:
        _end_descendants(os.getpid())
    finally:
        os._exit(128 + signum)


def worker_init(parent: int) -> None:
    """Run first in each notebook worker: ignore Ctrl-C, and end with ``parent``."""
    import psutil  # noqa: F401 (imported now: an import inside the signal handler can meet one it interrupted)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_parent_death)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        _on_parent_death(signal.SIGTERM, None)


@contextmanager
def sigint_held():
    """Hold Ctrl-C back while processes are started: they inherit it blocked; this process gets it afterwards."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a Ctrl-C held back is raised here


def stop_workers(pool) -> None:
    """End a :class:`~concurrent.futures.ProcessPoolExecutor`'s workers and their kernels now, waiting on nothing."""
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        if process.pid is not None:
            _end_descendants(process.pid)
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=2)
