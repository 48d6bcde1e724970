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

__all__ = ["Bundle", "read_bundle", "write_manifest", "check_site_label", "check_provenance", "MANIFEST"]

MANIFEST = "MANIFEST.sha256"
#: The tables a coordinator merges; a bundle must list each in its manifest.
MERGED = ("headline", "attrition", "criteria")
#: Tables read only to check the bundle against itself (their sums against the merged tables) and to bound the
#: network's headline (:mod:`screening.network.bounds`), when listed.
CHECKED = ("outcome_by_site", "composition", "makeup", "comparison", "transitions", "sweeps", "relaxations",
           "leave_one_out", "shapley", "overlap", "not_assessable", "missingness", "by_criterion", "near_misses")
#: ... and the breakdowns by group, one table per characteristic (``differential_sex``, ...).
CHECKED_BY = re.compile(r"tables/((?:differential|leave_one_out)_[a-z][a-z0-9_]{0,60})\.csv")
#: No file a report writes comes near this: a larger one is not a bundle's, and is not read into memory.
MAX_FILE_BYTES = 64 << 20
#: provenance.json nests a parameter's list inside ``parameters``: deeper is not a report's.
MAX_DEPTH = 4
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_HEX = re.compile(r"[0-9a-f]{12,64}")
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


def _read_table(bundle: Path, name: str) -> pd.DataFrame:
    """A published table as text, past any leading ``#`` lines (an internal report's watermark)."""
    file = bundle / name
    try:
        with open(file, encoding="utf-8") as f:
            skip = 0
            for line in f:
                if not line.startswith("#"):
                    break
                skip += 1
        return pd.read_csv(file, dtype=str, keep_default_na=False, skiprows=skip)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BundleError(f"{bundle}: {name} is not a table a report writes (UTF-8 CSV with a header): "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def _depth(value, limit: int) -> int:
    """How deeply ``value`` nests lists and mappings, counted no further than ``limit + 1``."""
    if not isinstance(value, dict | list) or limit < 0:
        return 0
    inner = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in inner), default=0)


def _scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _count_label(value, rule: dict) -> bool:
    """A patient count as the rule shows it: digits, or the rule's small-count label."""
    if not isinstance(value, str):
        return False
    small = {"round": f"≤{rule.get('threshold')}", "suppress": f"<{rule.get('threshold', 0) + 1}"}
    return value.isascii() and value.isdigit() or value == small.get(rule.get("rule"))


#: provenance.json, key by key: what each must be, for a reader to trust the bundle's tables with it.
_SCHEMA = {
    "site_label": ("a site label (letters, digits, spaces, '._-', up to 40)",
                   lambda v, m: isinstance(v, str) and bool(_LABEL.fullmatch(v)) and v.strip() == v),
    "extract_sha256": ("a SHA-256 (64 hexadecimal digits)",
                       lambda v, m: isinstance(v, str) and len(v) == 64 and bool(_HEX.fullmatch(v))),
    "protocol_id": ("a protocol id (letters, digits, '._-')",
                    lambda v, m: isinstance(v, str) and bool(_ID.fullmatch(v))),
    "protocol_title": ("a line of text (up to 300 characters)",
                       lambda v, m: isinstance(v, str) and len(v) <= 300 and v.isprintable()),
    "protocol_fingerprint": ("a hexadecimal fingerprint", lambda v, m: isinstance(v, str) and bool(_HEX.fullmatch(v))),
    "overrides": ("a mapping of parameter names to values",
                  lambda v, m: isinstance(v, dict) and all(isinstance(k, str) and _ID.fullmatch(k) for k in v)),
    "parameters": ("a mapping of parameter names to values or lists of values",
                   lambda v, m: isinstance(v, dict) and all(
                       isinstance(k, str) and _ID.fullmatch(k) and (_scalar(x) or isinstance(x, list)
                                                                   and all(map(_scalar, x))) for k, x in v.items())),
    "criteria": ("a list of criteria, each {id, label, kind} as text",
                 lambda v, m: isinstance(v, list) and all(
                     isinstance(c, dict) and isinstance(c.get("id"), str) and _ID.fullmatch(c["id"])
                     and isinstance(c.get("label"), str) and isinstance(c.get("kind"), str) for c in v)),
    "unknown_policy": ("separate, exclude or include", lambda v, m: v in ("separate", "exclude", "include")),
    "disclosure": ("a disclosure rule {rule, threshold, base}",
                   lambda v, m: isinstance(v, dict) and v.get("rule") in ("none", "suppress", "round")
                   and all(type(v.get(k, 1)) is int and v.get(k, 1) >= 0 for k in ("threshold", "base"))),
    "patients": ("the patient count as the disclosure rule shows it (e.g. '945' or '≤10')",
                 lambda v, m: _count_label(v, m.get("disclosure") if isinstance(m.get("disclosure"), dict) else {})),
    "package_version": ("a version (text)", lambda v, m: isinstance(v, str) and bool(_ID.fullmatch(v))),
}
#: Keys a report may add besides, each with its type.
_OPTIONAL = {"tool": str, "extract_format": str, "small_cell_threshold": int, "disclosure_text": str,
             "counts_hidden_besides_rounding": int, "withheld_breakdowns": list, "internal": str, "coverage": dict}


def check_provenance(meta, where: str) -> dict:
    """``provenance.json`` as a coordinator can trust it: every key a merge reads, of its type.

    Raises :class:`~screening.errors.BundleError` naming ``where`` (bundle and file), the key and what it must be.

    >>> check_provenance([], "site-a/tables/provenance.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    screening.errors.BundleError: site-a/tables/provenance.json: expected a JSON object (...), found a list
    """
    if not isinstance(meta, dict):
        raise BundleError(f"{where}: expected a JSON object (a mapping of keys to values), found a "
                          f"{'list' if isinstance(meta, list) else type(meta).__name__}")
    if _depth(meta, MAX_DEPTH) > MAX_DEPTH:
        raise BundleError(f"{where}: nested more than {MAX_DEPTH} levels deep, which no report writes")
    if not meta.get("site_label"):
        raise BundleError(f"{where}: the report has no site label; write it again with "
                          "`python -m screening report --site-label NAME`")
    for key, (expected, ok) in _SCHEMA.items():
        if key not in meta:
            raise BundleError(f"{where}: no '{key}'; expected {expected}. Write the bundle again with this version")
        if not ok(meta[key], meta):
            shown = json.dumps(meta[key], ensure_ascii=False)
            raise BundleError(f"{where}: '{key}' is {shown[:60]}{'...' if len(shown) > 60 else ''}; "
                              f"expected {expected}")
    for key, kind in _OPTIONAL.items():
        if key in meta and not (isinstance(meta[key], kind) and not isinstance(meta[key], bool)):
            raise BundleError(f"{where}: '{key}' must be {kind.__name__}")
    return meta


def _load_json(bundle: Path, name: str):
    """A JSON file of the bundle; malformed or absurdly nested JSON is an error naming the bundle and file."""
    try:
        return json.loads((bundle / name).read_text(encoding="utf-8"))
    except RecursionError:
        raise BundleError(f"{bundle}: {name} nests too deeply to be a report's provenance") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{bundle}: {name} is not valid JSON ({str(exc).splitlines()[0]})") from None


def _inside(bundle: Path, name: str) -> Path:
    """A listed file as a regular file inside the bundle: never a link (to /etc/hostname, say) or a device."""
    file, parts = bundle / name, Path(name).parts
    for k in range(1, len(parts) + 1):
        if (bundle.joinpath(*parts[:k])).is_symlink():
            raise BundleError(f"{bundle}: {name} is a symbolic link (or lies behind one); a bundle holds its own "
                              "files: ask the site to send the files themselves")
    if not file.is_file():
        raise BundleError(f"{bundle}: {name} is listed in {MANIFEST} but missing; ask the site to send the "
                          "whole bundle again")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise BundleError(f"{bundle}: {name} is larger than any file a report writes "
                          f"({file.stat().st_size:,} bytes): not a bundle's")
    return file


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
    if path.is_symlink() or manifest.is_symlink():
        raise BundleError(f"{path}: {'the bundle folder' if path.is_symlink() else MANIFEST} is a symbolic link; "
                          "a bundle holds its own files")
    if not manifest.is_file():
        raise BundleError(f"{path}: not a site bundle (no {MANIFEST}); each site writes one with "
                          "`python -m screening report --site-label NAME --out DIR`")
    listed = {}
    try:
        lines = _inside(path, MANIFEST).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise BundleError(f"{manifest}: not a manifest (not UTF-8 text)") from None
    for number, line in enumerate(lines, start=1):
        match = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
        name = match.group(2) if match else ""
        if not match or name.startswith("/") or ".." in Path(name).parts:
            raise BundleError(f"{manifest}, line {number}: expected '<sha256>  <file inside the bundle>'")
        listed[name] = match.group(1)
    for name, expected in listed.items():
        file = _inside(path, name)
        if _sha256(file) != expected:
            raise BundleError(f"{path}: {name} was changed after the bundle was written (its SHA-256 does not "
                              f"match {MANIFEST}); ask the site to send the bundle again")
    needed = ["tables/provenance.json"] + [f"tables/{t}.csv" for t in MERGED]
    missing = [n for n in needed if n not in listed]
    if missing:
        raise BundleError(f"{path}: {MANIFEST} does not list {', '.join(missing)}; a site bundle is the folder "
                          "`screening report --site-label` writes")
    meta = check_provenance(_load_json(path, "tables/provenance.json"), f"{path}: tables/provenance.json")
    if "tables/headline.json" in listed:  # every table's JSON carries the same provenance: swapped files disagree
        embedded = _load_json(path, "tables/headline.json")
        if not isinstance(embedded, dict) or embedded.get("provenance") != meta:
            raise BundleError(f"{path}: tables/provenance.json is not the provenance tables/headline.json was "
                              "written with: the files come from different reports")
    names = [t for t in MERGED + CHECKED if f"tables/{t}.csv" in listed]
    names += sorted(m.group(1) for m in map(CHECKED_BY.fullmatch, listed) if m)
    tables = {t: _read_table(path, f"tables/{t}.csv") for t in names}
    return Bundle(path, meta["site_label"], _sha256(manifest), meta, tables)
