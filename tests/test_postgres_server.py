"""The tests' throw-away PostgreSQL server does not outlive a test run that is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import postgres_server as pg

# What the session fixture does (tests/conftest.py), then waits to be killed: prints the server's data folder.
_HOLDER = """
import time, psycopg, postgres_server as pg
with pg.running_postgres() as url:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        print(con.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()[0], flush=True)
    time.sleep(600)
"""


def _holding(folder: str) -> list[int]:
    """Pids of running processes whose command line names ``folder`` (the server, its watchdog)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if folder in (entry / "cmdline").read_bytes().decode(errors="replace") and pg._alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_a_killed_test_run_leaves_no_server_and_no_folder():
    child = subprocess.Popen([sys.executable, "-c", _HOLDER], cwd=Path(__file__).parent, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    data = Path(child.stdout.readline().strip())
    server = int((data / "postmaster.pid").read_text().splitlines()[0])
    try:
        assert pg._alive(server) and _holding(str(data.parent))
        child.send_signal(signal.SIGKILL)  # as CI's time limit or the OOM killer would: no teardown runs
        child.wait()
        for _ in range(150):
            if not pg._alive(server) and not data.parent.exists() and not _holding(str(data.parent)):
                break
            time.sleep(0.1)
        assert not pg._alive(server), f"postgres {server} still runs after its test run was killed"
        assert not data.parent.exists() and _holding(str(data.parent)) == []
    finally:
        pg.stop(server if pg._alive(server) else None)
        child.kill()


# A parent that starts the watchdog over a folder (no server in it) and waits to be killed; without pidfd, the
# watchdog falls back to noticing it has been adopted.
_PARENT = """
import os, subprocess, sys, time
if sys.argv[2] == "no-pidfd":
    prelude = "import os; del os.pidfd_open; "
else:
    prelude = ""
code = prelude + "import sys, postgres_server as pg; pg.watchdog(int(sys.argv[1]), sys.argv[2])"
guard = subprocess.Popen([sys.executable, "-c", code, str(os.getpid()), sys.argv[1]], start_new_session=True)
print(guard.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("way", ["pidfd", "no-pidfd"])
def test_the_watchdog_cleans_up_once_its_parent_is_gone(tmp_path, way):
    root = tmp_path / "screening-pg-x"
    (root / "data").mkdir(parents=True)
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(root), way], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    guard = int(parent.stdout.readline())
    try:
        time.sleep(0.5)
        assert pg._alive(guard) and root.exists()  # waiting while its parent lives
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        for _ in range(100):
            if not pg._alive(guard) and not root.exists():
                break
            time.sleep(0.1)
        assert not root.exists() and not pg._alive(guard)
    finally:
        parent.kill()
        if pg._alive(guard):
            os.kill(guard, signal.SIGKILL)
