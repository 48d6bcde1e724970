"""Shared fixtures: the hand-built boundary extract and the bundled synthetic one."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Reports written by tests go into a throwaway release log, not the user's own; each test has its own (below).
_LOGS = Path(tempfile.mkdtemp(prefix="screening-test-"))
os.environ.setdefault("SCREENING_RELEASE_LOG", str(_LOGS / "releases.jsonl"))
sys.path.insert(0, str(Path(__file__).parent))
# The tests' own validated cache, not the user's (notebook kernels inherit it); removed at the end.
_CACHE = tempfile.TemporaryDirectory(prefix="screening-cache-")
os.environ["SCREENING_CACHE"] = _CACHE.name

import boundary  # noqa: E402
from screening import load_extract  # noqa: E402


@pytest.fixture(autouse=True)
def _own_release_log(request, monkeypatch):
    """A release log per test: an overlapping release is refused, so one test's reports must not refuse another's."""
    monkeypatch.setenv("SCREENING_RELEASE_LOG", str(_LOGS / f"{abs(hash(request.node.nodeid))}.jsonl"))


@pytest.fixture(scope="session")
def boundary_dir(tmp_path_factory) -> Path:
    return boundary.write(tmp_path_factory.mktemp("boundary"))


@pytest.fixture(scope="session")
def boundary_extract(boundary_dir):
    return load_extract(boundary_dir)


@pytest.fixture(scope="session")
def synthetic_extract():
    return load_extract(ROOT / "data" / "synthetic")


@pytest.fixture(scope="session")
def postgres():
    """One throw-away PostgreSQL server (and an autocommit connection) for the whole session; stopped by its pid."""
    import psycopg

    import postgres_server as pg

    with pg.running_postgres() as url, \
            psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as con:
        yield con
