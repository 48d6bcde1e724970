"""Where an extract comes from: the native folder format, or a converted OMOP / Synthea export.

``load_source("data/synthetic")`` reads a native extract; ``omop:DIR`` and
``synthea:DIR`` name the other sources.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ExtractError
from ..extract import Extract, load_extract

__all__ = ["load_source"]

_KINDS = ("omop", "synthea")


def load_source(spec: str | Path) -> Extract:
    """Load an extract from ``DIR``, ``native:DIR``, ``omop:DIR`` or ``synthea:DIR``."""
    text = str(spec)
    kind, _, rest = text.partition(":")
    if not rest or kind not in _KINDS + ("native",):
        return load_extract(text)
    if kind == "native":
        return load_extract(rest)
    raise ExtractError(rest, None, f"a source the toolkit can read: {kind} sources are not supported yet",
                       hint="Convert the data to the native extract (data/README.md) or use a native folder.")
