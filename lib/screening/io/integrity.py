"""Is every table file whole? A CSV cut off mid-row, and an optional row-count manifest.

A copy or an export that stops early leaves a file whose last line has no line
end, often with its last field cut (``...,150.0,mg/``): read as it stands, half a
medications table would load with one vocabulary warning. So:

- a CSV whose last line has no line end and fewer fields than its header is
  refused, naming the file and line; one with every field is flagged (a warning
  naming the file, line and value), because some tools write a last line
  without a line end;
- ``row_counts.csv`` beside the tables (``table,rows``: one line per table, the
  data rows without the header), which a registry's export can write, is checked
  against the rows read: any difference is an error naming the table.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "medications.csv").write_text("patient_id,drug,dose\\nP1,prednisone,5\\nP2,azathio")
>>> check_file_ends({"medications": folder / "medications.csv"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
screening.errors.ExtractError: .../medications.csv: 1 line does not match: expected 3 fields on every line...
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pandas as pd

from screening.errors import ExtractError, ExtractWarning

__all__ = ["MANIFEST", "warn_near_misses", "check_files", "check_file_ends", "check_parquet_columns",
           "check_row_counts"]

#: The optional manifest of rows per table, beside the table files.
MANIFEST = "row_counts.csv"
_TAIL = 1 << 16


def _lines(file: Path) -> int:
    """How many line ends ``file`` holds (read in blocks: only for a file that looks cut off)."""
    n = 0
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def check_files(files: dict[str, Path]) -> None:
    """Every check a table file gets before it is read: whole CSV files, one value per Parquet cell."""
    check_file_ends(files)
    check_parquet_columns(files)


def check_parquet_columns(files: dict[str, Path]) -> None:
    """Refuse a Parquet column of lists, maps or records among the dictionary's columns, naming it."""
    from screening.io.schema import OPTIONAL_TABLES, TABLES

    for name, file in files.items():
        if file is None or file.suffix != ".parquet":
            continue
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(file)
        except Exception:  # noqa: BLE001 - an unreadable file is reported by the reader, which says why
            continue
        known = {f.name for f in (TABLES | OPTIONAL_TABLES).get(name, [])}
        for field in schema:
            if field.name in known and pa.types.is_nested(field.type):
                raise ExtractError(str(file), field.name, "one value per row (a number, text, date or true/false)",
                                   hint=f"The column holds {field.type} values: write one value per row, e.g. "
                                        "the first of each list, or one row per value in an event table.")


def check_file_ends(files: dict[str, Path]) -> None:
    """Refuse a CSV cut off mid-row; warn about one whose complete last line has no line end."""
    for file in files.values():
        if file is None or file.suffix != ".csv":
            continue
        with open(file, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL))
            tail = handle.read()
        if not tail or tail.endswith((b"\n", b"\r")):
            continue
        newlines = _lines(file)
        if newlines == 0:
            continue  # a header alone, without a line end: no row to lose
        try:
            last = tail.rsplit(b"\n", 1)[-1].decode("utf-8")
        except UnicodeDecodeError:
            continue  # not UTF-8 text: the reader says so, naming the byte
        with open(file, encoding="utf-8-sig", errors="replace", newline="") as handle:
            width = len(next(csv.reader([handle.readline()]), []))
        try:
            fields = len(next(csv.reader([last]), []))
        except csv.Error:
            fields = 0
        line = newlines + 1
        shown = last if len(last) <= 40 else "..." + last[-37:]
        if fields < width:
            raise ExtractError(str(file), None, f"{width} fields on every line", rows=[line], values=[shown],
                               row_word="line",
                               hint=f"The last line has {fields} of {width} fields and no line end: the file looks "
                                    "truncated (cut off). Export or copy it again.")
        warnings.warn(ExtractWarning(
            f"{file}: line {line} ({shown!r}) has no line end: if the file was cut off, its last value is cut too. "
            f"Check it against the export, or have the export write {MANIFEST} (table,rows) beside the tables."),
            stacklevel=3)


def warn_near_misses(file: Path, header: list[str], missing: list[str]) -> None:
    """Name a header that differs from a missing dictionary column only in case or spaces (``SLEDAI_2K``)."""
    spelled = {h.strip().lower().replace(" ", "_"): h for h in header}
    for name in missing:
        if name in spelled:
            warnings.warn(ExtractWarning(
                f"{file}: column '{spelled[name]}' is not read as {name}: column names are matched exactly, as "
                f"data/README.md writes them. Rename it {name} (until then {name} is absent)."), stacklevel=4)


def check_row_counts(folder: Path, tables: dict[str, pd.DataFrame], files: dict[str, Path | None]) -> None:
    """Compare the rows read with ``row_counts.csv``, when the extract has one."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return
    try:
        listed = pd.read_csv(manifest, dtype=str, keep_default_na=False)
        counts = dict(zip(listed["table"].str.strip(), pd.to_numeric(listed["rows"].str.strip(), errors="raise"),
                          strict=True))
    except (ValueError, KeyError, pd.errors.ParserError):
        raise ExtractError(str(manifest), None, "a header table,rows and one line per table with its number of "
                           "data rows") from None
    wrong = []
    for name, expected in counts.items():
        name = name.removesuffix(".csv").removesuffix(".parquet")
        if name not in tables:
            raise ExtractError(str(manifest), "table", f"one of {', '.join(tables)}", hint=f"Got {name!r}.")
        read = len(tables[name]) if files.get(name) is not None else 0
        if read != expected:
            wrong.append(f"{files.get(name) or name}: {read:,} rows read, {int(expected):,} listed")
    if wrong:
        raise ExtractError(str(manifest), None, "as many rows in each table as the export listed",
                           hint="; ".join(wrong) + ". A table was cut off or changed after the export: copy or "
                                                   "export it again.")
