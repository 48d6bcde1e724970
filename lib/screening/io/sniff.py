"""Refuse what cannot be an extract's table from its first block, before anything reads the whole file.

A CSV file is text: a NUL byte never occurs in UTF-8 text a registry exports.
Without this, a multi-gigabyte file of NUL bytes is one endless "line" that
the header reader, the hash and the parser each read whole before failing.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> blank = Path(tempfile.mkdtemp()) / "medications.csv"
>>> _ = blank.write_bytes(bytes(1000))
>>> refuse_binary(blank)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
screening.errors.ExtractError: .../medications.csv: expected CSV text (UTF-8)...
"""

from __future__ import annotations

from pathlib import Path

from screening.errors import ExtractError

__all__ = ["refuse_binary", "FIRST_BLOCK"]

#: How much of a file is looked at: enough for any header, a few microseconds to read.
FIRST_BLOCK = 1 << 16


def refuse_binary(file: Path) -> Path:
    """``file`` unchanged if its first block can be CSV text; an :class:`ExtractError` naming it otherwise."""
    if file.suffix != ".csv":
        return file
    with open(file, "rb") as f:
        block = f.read(FIRST_BLOCK)
    if b"\x00" in block:
        at = block.index(b"\x00")
        raise ExtractError(str(file), None, "CSV text (UTF-8)",
                           hint=f"Byte {at + 1:,} is a NUL byte, which text never holds: this is a binary file, or "
                                "text saved as UTF-16. Export the table again as UTF-8 CSV.")
    return file
