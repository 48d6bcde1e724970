"""A throw-away PostgreSQL server for the tests, and a loader that puts a CDM into it.

The server is Debian's ``postgresql`` package (``make setup`` installs it when
missing), run from a temporary folder on a free port. ``initdb`` and ``postgres``
refuse to run as root, so as root they run as the ``postgres`` user. The server
is stopped by its own pid when the ``with`` block ends, pass or fail; and when the
process holding it dies without ending the block (pytest killed, CI's time limit), a
watchdog started beside it stops the server and removes its folder (:func:`watchdog`).
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

VOCABULARY = ("concept", "concept_ancestor", "drug_strength")


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make setup` (it installs Debian's postgresql)")
    return Path(found[-1]).parent


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by whoever adopted it, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _postmaster(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def stop(pid: int | None) -> None:
    """Stop the server ``pid``: PostgreSQL's fast shutdown, then SIGKILL after 10 s."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast shutdown"
        for _ in range(100):
            if not _alive(pid):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def watchdog(parent: int, root: str) -> None:
    """Wait for ``parent`` to exit, then stop the server of ``root/data`` and remove ``root``.

    Run in a process of its own (``python postgres_server.py PARENT ROOT``, in its own session so a
    Ctrl-C meant for pytest does not reach it); the ``with`` block that started it ends it by its pid.
    pg_ctl runs the server apart from the process that started it, so the server outlives a killed
    pytest unless someone is left to stop it.
    """
    import select

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        select.select([os.pidfd_open(parent)], [], [])  # readable once the parent has exited
    except ProcessLookupError:
        pass  # gone already
    except (AttributeError, OSError):  # no pidfd (a kernel before 5.3): adopted by another once it is gone
        while os.getppid() == parent:
            time.sleep(0.5)
    data = Path(root) / "data"
    for _ in range(2):  # again after a moment: a start pg_ctl had under way when the parent died
        stop(_postmaster(data))
        time.sleep(0.5)
    stop(_postmaster(data))
    shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_postgres():
    """Start a server in a temporary folder; yield its URL (user ``cdm``, no password); stop it afterwards."""
    bindir = _bin()
    root = Path(tempfile.mkdtemp(prefix="screening-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    port = _free_port()
    guard = subprocess.Popen([sys.executable, __file__, str(os.getpid()), str(root)], start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "cdm",
                                        "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                        str(root / "log"), "-w", "start"]), check=True, capture_output=True)
        yield f"postgresql+psycopg://cdm@127.0.0.1:{port}/postgres"
    finally:
        stop(_postmaster(data))
        guard.kill()  # its work is done: the server is stopped, its folder removed below
        guard.wait()
        shutil.rmtree(root, ignore_errors=True)


def _sql_type(series: pd.Series, name: str) -> str:
    import pandas as pd

    if name.endswith("_date"):
        return "DATE"
    if pd.api.types.is_integer_dtype(series):
        return "BIGINT"
    if pd.api.types.is_float_dtype(series):
        return "BIGINT" if name.endswith("_id") else "DOUBLE PRECISION"
    return "TEXT"


def load_cdm(url: str, tables: dict[str, pd.DataFrame], cdm_schema: str = "cdm", vocab_schema: str = "vocab") -> None:
    """Create the CDM tables (vocabulary in ``vocab_schema``, the rest in ``cdm_schema``) and COPY the rows in.

    A table that exists already gets the rows appended (a large CDM is loaded slice by slice).
    """
    import pandas as pd
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        for schema in {cdm_schema, vocab_schema}:
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for name, frame in tables.items():
            schema = vocab_schema if name in VOCABULARY else cdm_schema
            types = {c: _sql_type(frame[c], c) for c in frame.columns}
            cur.execute(f'CREATE TABLE IF NOT EXISTS "{schema}"."{name}" ('
                        + ", ".join(f'"{c}" {t}' for c, t in types.items()) + ")")
            out = frame.copy()
            for c, t in types.items():
                if t == "DATE":
                    out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d")
                elif t == "BIGINT":
                    out[c] = pd.to_numeric(out[c]).astype("Int64")
            text = io.StringIO()
            out.to_csv(text, index=False, header=False)
            with cur.copy(f'COPY "{schema}"."{name}" FROM STDIN WITH (FORMAT csv)') as copy:
                copy.write(text.getvalue())
        conn.commit()


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """A folder of CSV tables as DataFrames (to load the hand-made CDM into a server)."""
    import pandas as pd

    return {path.stem.lower(): pd.read_csv(path) for path in sorted(folder.glob("*.csv"))}


if __name__ == "__main__":  # the watchdog of running_postgres
    watchdog(int(sys.argv[1]), sys.argv[2])
