"""The validated-extract cache: a typed copy of each checked table, keyed by the extract's bytes.

The first load of an extract parses and checks it, then writes the checked
tables here; a later load of the same bytes reads them back and skips parsing
and checking. The key is the extract's SHA-256 (the one provenance reports),
the columns read and the loader's own source code, so changing one byte of the
extract, or upgrading the loader, misses the cache. The copy is in Arrow's own
file format (Feather v2, lz4-compressed) rather than Parquet: it keeps each
label column's dictionary exactly as loaded, so a million patient ids are read
back as codes, several times faster than from Parquet.

Each stored file's keyed SHA-256 (HMAC, with a key kept outside the cache, in
the user's data folder) is recorded when it is written and checked on every
read, on the very bytes then parsed: a cached file changed afterwards, even
into another valid Arrow file, is dropped and the extract is parsed again. So
the tables always come from the extract whose SHA-256 a report states. Hashing
costs a pass over the compressed copy, a fraction of parsing the extract.
Someone who can write the key file too can still forge an entry: the cache is
as trusted as the user's own files.

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
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd

__all__ = ["cache_folder", "entry_key", "read_entry", "write_entry", "clear", "usage", "content_hash"]

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


#: Each entry's record of its files' keyed hashes.
SUMS = "sums.json"


def _key() -> bytes:
    """The secret the cache's hashes are keyed with, kept outside the cache folder (``SCREENING_CACHE_KEY``
    names another file); made on first use. Without a writable home, an empty key: plain SHA-256."""
    setting = os.environ.get("SCREENING_CACHE_KEY")
    if setting:
        path = Path(setting).expanduser()
    else:
        from platformdirs import user_data_path

        path = user_data_path("screening") / "cache.key"
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()
    except FileExistsError:  # another process made it first
        return path.read_text().strip().encode()
    except OSError:
        return b""


def content_hash(data, key: bytes) -> str:
    """Keyed SHA-256 of a stored file's bytes.

    >>> content_hash(b"abc", b"")[:12]
    'fd7adb152c05'
    """
    return hmac.new(key, memoryview(data), hashlib.sha256).hexdigest()


def _verified(path: Path, expected: str | None, key: bytes):
    """The file's bytes as an Arrow buffer, if they hash to what was recorded when it was written."""
    import pyarrow as pa

    data = path.read_bytes()
    if expected is None or not hmac.compare_digest(content_hash(data, key), expected):
        raise _Changed(path.name)
    return pa.py_buffer(data)


class _Changed(Exception):
    """A cached file no longer holds the bytes written."""


def read_entry(key: str, names, from_csv: bool) -> tuple[dict[str, pd.DataFrame], pd.CategoricalDtype | None] | None:
    """The checked tables stored under ``key`` and the patients' ids as a dtype
    (:func:`~screening.io.columnar.patient_dtype`), or None (absent, unreadable or the cache is off)."""
    folder = cache_folder()
    if folder is None or not (folder / key).is_dir():
        return None
    import pyarrow as pa
    import pyarrow.feather as feather

    from screening.io.columnar import patient_dtype, typed_to_frame

    secret = _key()

    def read(name: str, ids=None) -> pd.DataFrame:
        # Hashed and parsed from one read of the file: nothing can change between the check and the use.
        data = _verified(folder / key / f"{name}.arrow", sums.get(f"{name}.arrow"), secret)
        return typed_to_frame(feather.read_table(pa.BufferReader(data)), name, from_csv, ids)

    try:
        sums = json.loads((folder / key / SUMS).read_text(encoding="utf-8"))
        tables = {"patients": read("patients")}
        ids = patient_dtype(tables["patients"])
        return tables | {name: read(name, ids) for name in names if name != "patients"}, ids
    except _Changed as changed:
        warnings.warn(f"the validated cache's copy of this extract ({folder / key / str(changed)}) changed after "
                      "it was written; reading the extract itself again", stacklevel=3)
        shutil.rmtree(folder / key, ignore_errors=True)
        return None
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
        secret, sums = _key(), {}
        for name, frame in tables.items():
            # lz4: the copy is read back many times and written once; it should cost little more than the read
            sink = pa.BufferOutputStream()
            feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), sink,
                                  compression="lz4", chunksize=1 << 20)
            data = sink.getvalue()
            sums[f"{name}.arrow"] = content_hash(data, secret)
            (tmp / f"{name}.arrow").write_bytes(memoryview(data))
        (tmp / SUMS).write_text(json.dumps(sums, sort_keys=True), encoding="utf-8")
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
