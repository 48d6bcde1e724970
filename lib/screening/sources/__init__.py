"""Where an extract comes from: the native folder format, or an OMOP CDM or Synthea export.

``load_source`` takes a native folder, ``omop:DIR`` (a CDM folder, ``.duckdb``
file or database URL) or ``synthea:DIR``. Converted sources take their baseline
from each person's last visit up to today, or from a fixed date written after
``@``: ``omop:path/to/cdm@2024-06-15``.

Example
-------
>>> from screening.sources import load_source
>>> load_source("data/synthetic").n_patients
5000
>>> ex = load_source("omop:path/to/cdm@2024-06-15")     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from ..extract import Extract, load_extract

__all__ = ["load_source", "absolute_spec", "source_kind"]

_KINDS = ("omop", "synthea", "native")


def _split(spec: str) -> tuple[str, str, str | None]:
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in _KINDS or rest.startswith("//"):
        return "native", spec, None
    path, at, date = rest.rpartition("@") if "@" in rest else (rest, "", "")
    return kind, path, date or None


def source_kind(spec: str | Path) -> str:
    """``native``, ``omop`` or ``synthea``: how ``spec`` will be read.

    Example
    -------
    >>> source_kind("omop:cdm@2024-06-15"), source_kind("data/synthetic")
    ('omop', 'native')
    """
    return _split(str(spec))[0]


def absolute_spec(spec: str | Path) -> str:
    """The same source with its path made absolute (notebooks run from another folder)."""
    kind, path, date = _split(str(spec))
    if "://" in path:
        return str(spec)
    full = str(Path(path).resolve())
    if kind == "native":
        return full
    return f"{kind}:{full}" + (f"@{date}" if date else "")


def load_source(spec: str | Path, baseline: str | None = None, before: str | None = None) -> Extract:
    """Load an extract from ``DIR``, ``omop:DIR[@DATE]`` or ``synthea:DIR[@DATE]``.

    ``baseline`` (a date or ``"last_visit"``) and ``before`` override what the spec says.
    """
    kind, path, date = _split(str(spec))
    if kind == "native":
        return load_extract(path)
    base = baseline or date or "last_visit"
    if kind == "omop":
        from .omop import read_omop

        return read_omop(path, baseline=base, before=before)
    from .synthea import read_synthea

    return read_synthea(path, baseline=base, before=before)
