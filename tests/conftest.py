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
def postgres_url():
    """One throw-away PostgreSQL server for the session (its URL); stopped by its pid, even if pytest is killed."""
    import postgres_server as pg

    with pg.running_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def postgres(postgres_url):
    """An autocommit connection to the session's server."""
    import psycopg

    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as con:
        yield con


@pytest.fixture(scope="session")
def eunomia_cdm(tmp_path_factory) -> Path:
    """Eunomia's CDM (CSV files, as shipped) with the SLE persons of ``tests/eunomia.py`` added, written once."""
    import eunomia

    return eunomia.write(tmp_path_factory.mktemp("eunomia"))


@pytest.fixture(scope="session")
def eunomia_parquet(eunomia_cdm, tmp_path_factory) -> Path:
    """The same CDM as Parquet files: read in a fifth of the CSV files' time, for tests not about CSV reading."""
    import eunomia

    return eunomia.to_parquet(eunomia_cdm, tmp_path_factory.mktemp("eunomia-parquet"))


@pytest.fixture(scope="session")
def eunomia_visits(eunomia_cdm):
    """The CSV folder read once, at baseline and at each visit (``#visits``) under misle-phase2-ehr's look-backs:
    the extract and the texts of the warnings the reading gave."""
    import warnings

    import eunomia
    from screening.errors import ExtractWarning
    from screening.io.sources import load_source
    from screening.rules.protocol import load_protocol

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex = load_source(f"omop:{eunomia_cdm}@{eunomia.BASELINE}#visits", protocol=load_protocol("misle-phase2-ehr"))
    return ex, [str(w.message) for w in caught if issubclass(w.category, ExtractWarning)]


@pytest.fixture(scope="session")
def eunomia_postgres(postgres_url, eunomia_cdm) -> str:
    """The session's server holding that CDM in schemas ``eunomia`` and ``eunomia_vocab``: its URL."""
    import postgres_server as pg

    pg.load_cdm(postgres_url, pg.read_tables(eunomia_cdm), "eunomia", "eunomia_vocab")
    return postgres_url
