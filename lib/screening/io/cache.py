"""The validated-extract cache: a typed copy of each checked table, keyed by the extract's bytes.

The first load of an extract parses and checks it, then writes the checked
tables here; a later load of the same bytes reads them back and skips parsing
and checking. The key is the extract's SHA-256 (the one provenance reports),
the columns read and the loader's own source code, so changing one byte of the
extract, or upgrading the loader, misses the cache. The copy is in Arrow's own
file format (Feather v2, lz4-compressed) rather than Parquet: it keeps each
label column's dictionary exactly as loaded, so a million patient ids are read
back as codes, several times faster than from Parquet.

The folder is ``$SCREENING_CACHE`` if set, else ``$XDG_CACHE_HOME/screening``
(``~/.cache/screening``). ``SCREENING_CACHE=off`` turns the cache off. It holds
the extract's values, so it lives where the user's own files do; clear it with
``python -m screening cache --clear``.

Example
-------
>>> from screening import load_extract
>>> first = load_extract("data/synthetic")
>>> load_extract("data/synthetic").cached       # the second load reads the checked copy
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["cache_folder", "entry_key", "read_entry", "write_entry", "clear", "usage"]

# The code that decides what a checked table holds: a change to any of it misses every entry.
_LOADER_SOURCES = ("schema.py", "checks.py", "files.py", "thorough.py", "columnar.py", "arrow_labels.py",
                   "arrow_parse.py", "arrow_pandas.py", "extract.py", "cache.py")


def cache_folder() -> Path | None:
    """Where checked tables are kept, or None when ``SCREENING_CACHE=off``."""
    setting = os.environ.get("SCREENING_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "screening"


def _loader_fingerprint() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _LOADER_SOURCES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def entry_key(extract_sha256: str, columns: dict[str, list[str]] | None) -> str:
    """The cache entry of one extract read with one set of columns."""
    wanted = None if columns is None else {k: sorted(v) for k, v in sorted(columns.items())}
    text = json.dumps([_loader_fingerprint(), extract_sha256, wanted])
    return hashlib.sha256(text.encode()).hexdigest()


def read_entry(key: str, names, from_csv: bool) -> tuple[dict[str, pd.DataFrame], pd.CategoricalDtype | None] | None:
    """The checked tables stored under ``key`` and the patients' ids as a dtype
    (:func:`~screening.io.columnar.patient_dtype`), or None (absent, unreadable or the cache is off)."""
    folder = cache_folder()
    if folder is None or not (folder / key).is_dir():
        return None
    import pyarrow.feather as feather

    from screening.io.columnar import patient_dtype, typed_to_frame

    def read(name: str, ids=None) -> pd.DataFrame:
        return typed_to_frame(feather.read_table(folder / key / f"{name}.arrow"), name, from_csv, ids)

    try:
        tables = {"patients": read("patients")}
        ids = patient_dtype(tables["patients"])
        return tables | {name: read(name, ids) for name in names if name != "patients"}, ids
    except Exception:  # a damaged entry is only a miss: drop it, the extract is read again  # noqa: BLE001
        shutil.rmtree(folder / key, ignore_errors=True)
        return None


def write_entry(key: str, tables: dict[str, pd.DataFrame]) -> None:
    """Store checked tables (before ``patients`` is indexed); written aside, then renamed into place."""
    folder = cache_folder()
    if folder is None or (folder / key).is_dir():
        return
    import pyarrow as pa
    import pyarrow.feather as feather

    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.", dir=folder))
    except OSError:  # a read-only home: run without a cache
        return
    try:
        for name, frame in tables.items():
            # lz4: the copy is read back many times and written once; it should cost little more than the read
            feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), tmp / f"{name}.arrow",
                                  compression="lz4", chunksize=1 << 20)
        tmp.rename(folder / key)
    except OSError:  # another process stored the same entry first, or the disk is full
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _entries(folder: Path | None) -> list[Path]:
    """Only folders this module wrote (a key, or one being written): the folder may hold other things."""
    if folder is None or not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"\.?[0-9a-f]{12}.*", p.name)]


def usage() -> tuple[Path | None, int, int]:
    """The cache folder, how many extracts it holds and their size in bytes."""
    folder = cache_folder()
    entries = [p for p in _entries(folder) if not p.name.startswith(".")]
    return folder, len(entries), sum(f.stat().st_size for p in entries for f in p.iterdir())


def clear() -> int:
    """Delete every cached extract; returns how many there were."""
    folder, count, _ = usage()
    for entry in _entries(folder):
        shutil.rmtree(entry, ignore_errors=True)
    return count
