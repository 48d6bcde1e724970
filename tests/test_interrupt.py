"""An interrupted `report` ends promptly, leaves no process behind and keeps the previous report.

Each test starts ``python -m screening report`` in a session of its own (as a
terminal would run it), waits for the stage it means to interrupt, signals it,
and then looks at every process that was under it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from screening.views.report import build_report

ROOT = Path(__file__).resolve().parents[1]
#: The issue's bound for Ctrl-C; the run stops in about 1.5 s on the 2-core machine at a load of 10.
PROMPT = 5


@pytest.fixture
def old_report(tmp_path):
    """A finished report at ``out``, and the bytes of every file in it."""
    out = build_report(ROOT / "data" / "synthetic", out=tmp_path / "report", notebooks=False, release_log=None)
    return out, _contents(out)


def _contents(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C as a terminal's foreground command has it, whatever this test process
    inherited or was left with by an earlier test in it (an ignored or blocked SIGINT is passed on to children)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _start(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    return subprocess.Popen([sys.executable, "-m", "screening", "report", "--data", str(ROOT / "data" / "synthetic"),
                             "--out", str(out), "--overwrite"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 (no threads start in the child first)


def _wait_for_exit(proc: subprocess.Popen, timeout: float) -> str:
    """The run's stderr once it has exited; its pipe is read meanwhile, so a run writing much to it cannot block."""
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"report still running {timeout} s after Ctrl-C")


def _wait_for_kernels(proc: subprocess.Popen) -> list[psutil.Process]:
    """Block until a notebook kernel runs under ``proc``; return every process under it then."""
    main = psutil.Process(proc.pid)
    for _ in range(1200):
        under = main.children(recursive=True)
        if any("ipykernel" in " ".join(p.cmdline()) for p in under if p.is_running()):
            return under
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.25)
    raise AssertionError("no notebook kernel started within 5 minutes")


def _survivors(processes: list[psutil.Process], grace: float = 30.0) -> list[str]:
    """Those of ``processes`` still running (not zombies) after ``grace`` seconds at most.

    A worker still importing when its parent dies exits at its first step (``worker_init``); under CI's load
    that import alone can take over 10 s, so the grace is generous: a process that never exits still fails."""
    end = time.monotonic() + grace
    while True:
        alive = []
        for p in processes:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(" ".join(p.cmdline())[:80])
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.2)


def test_ctrl_c_while_the_notebooks_run_ends_promptly_with_one_line(old_report):
    out, before = old_report
    proc = _start(out)
    under = _wait_for_kernels(proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    err = _wait_for_exit(proc, PROMPT)
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.splitlines()[-1] == "interrupted (nothing was written; an earlier report is unchanged)"
    assert _survivors(under) == []
    assert _contents(out) == before
    assert not list(out.parent.glob(".report.new-*"))  # the unfinished report was removed


def test_sigkill_of_the_main_process_leaves_no_worker_kernel_or_tracker(old_report):
    out, before = old_report
    proc = _start(out)
    under = _wait_for_kernels(proc)
    assert any("resource_tracker" in " ".join(p.cmdline()) for p in under)  # it is there to be checked
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _survivors(under) == []
    assert _contents(out) == before
    # The folder the killed run was writing is removed, and named, by the next run's check.
    from screening.views.report import check_out

    check_out(out, ROOT / "data" / "synthetic", overwrite=True)
    assert not list(out.parent.glob(".report.new-*")) and _contents(out) == before


def test_ctrl_c_while_loading_says_one_line_and_no_traceback(old_report):
    out, before = old_report
    proc = _start(out)
    assert proc.stderr.readline().startswith("loading ")
    os.killpg(proc.pid, signal.SIGINT)
    err = _wait_for_exit(proc, PROMPT)
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines() == ["interrupted (nothing was written; an earlier report is unchanged)"]
    assert _contents(out) == before
