"""A site bundle: a shareable report folder labelled with its site and sealed by a checksum manifest.

``screening report --site-label NAME`` writes one. Besides the report, the
bundle's ``tables/provenance.json`` holds what a coordinator needs to merge
sites safely (protocol id and fingerprint, every parameter, the missing-data
policy, the disclosure rule, the package version and the site label; never a
path), and ``MANIFEST.sha256`` lists the SHA-256 of every file in the folder, in
the format ``sha256sum -c MANIFEST.sha256`` checks. The SHA-256 of the manifest
itself is the bundle's checksum.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "tables").mkdir(), (folder / "tables" / "headline.csv").write_text("measure,patients\\n")
>>> write_manifest(folder).read_text()
'0dd4ecd2e0c443a668a54f0b240cb13c4dff958dc53d5dbcf6824e4c9aa338b2  tables/headline.csv\\n'
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from screening.errors import BundleError

__all__ = ["Bundle", "read_bundle", "write_manifest", "check_site_label", "MANIFEST"]

MANIFEST = "MANIFEST.sha256"
#: The tables a coordinator merges; a bundle must list each in its manifest.
MERGED = ("headline", "attrition", "criteria")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")


def check_site_label(label: str) -> str:
    """A site label is a short name (up to 40 letters, digits, spaces, ``._-``), never a path.

    >>> check_site_label("Hospital A")
    'Hospital A'
    """
    if not _LABEL.fullmatch(label or "") or label.strip() != label:
        raise BundleError(f"--site-label {label!r}: a site label is a short name of up to 40 letters, digits, "
                          "spaces, '.', '_' or '-' (starting with a letter or digit), not a path")
    return label


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> Path:
    """Write ``MANIFEST.sha256`` listing every file under ``folder`` (sorted, POSIX paths)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    lines = [f"{_sha256(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    target = folder / MANIFEST
    target.write_text("".join(lines), encoding="utf-8")
    return target


def _read_table(file: Path) -> pd.DataFrame:
    """A published table as text, past any leading ``#`` lines (an internal report's watermark)."""
    with open(file, encoding="utf-8") as f:
        skip = 0
        for line in f:
            if not line.startswith("#"):
                break
            skip += 1
    return pd.read_csv(file, dtype=str, keep_default_na=False, skiprows=skip)


@dataclass
class Bundle:
    """One site's bundle, checked: its label, checksum, provenance and the published tables merged."""

    path: Path
    label: str
    checksum: str
    provenance: dict
    tables: dict[str, pd.DataFrame]


def read_bundle(path: str | Path) -> Bundle:
    """Read and check one bundle: every file in its manifest matches, and it names its site.

    Raises :class:`~screening.errors.BundleError` naming the bundle and the file at fault.
    """
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise BundleError(f"{path}: not a site bundle (no {MANIFEST}); each site writes one with "
                          "`python -m screening report --site-label NAME --out DIR`")
    listed = {}
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
        name = match.group(2) if match else ""
        if not match or name.startswith("/") or ".." in Path(name).parts:
            raise BundleError(f"{manifest}, line {number}: expected '<sha256>  <file inside the bundle>'")
        listed[name] = match.group(1)
    for name, expected in listed.items():
        file = path / name
        if not file.is_file():
            raise BundleError(f"{path}: {name} is listed in {MANIFEST} but missing; ask the site to send the "
                              "whole bundle again")
        if _sha256(file) != expected:
            raise BundleError(f"{path}: {name} was changed after the bundle was written (its SHA-256 does not "
                              f"match {MANIFEST}); ask the site to send the bundle again")
    needed = ["tables/provenance.json"] + [f"tables/{t}.csv" for t in MERGED]
    missing = [n for n in needed if n not in listed]
    if missing:
        raise BundleError(f"{path}: {MANIFEST} does not list {', '.join(missing)}; a site bundle is the folder "
                          "`screening report --site-label` writes")
    meta = json.loads((path / "tables" / "provenance.json").read_text(encoding="utf-8"))
    if not meta.get("site_label"):
        raise BundleError(f"{path}: the report has no site label; write it again with "
                          "`python -m screening report --site-label NAME`")
    tables = {t: _read_table(path / "tables" / f"{t}.csv") for t in MERGED}
    return Bundle(path, meta["site_label"], _sha256(manifest), meta, tables)
