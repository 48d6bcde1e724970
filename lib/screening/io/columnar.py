"""The loader's fast path: read an extract table with Arrow and parse and check it column by column.

Text is read dictionary-encoded, so parsing and most checks run once per
distinct value (a few thousand dates, a dozen drug names) rather than once per
row, and no second full copy of a table is built. The checks are the ones
declared in :mod:`screening.io.checks`, run on Arrow columns: a value that fails
one is listed as the thorough path lists it. Anything else the fast path does
not accept is :class:`Suspect`: the loader then reads the table again the slow,
thorough way (pandas, :mod:`screening.io.thorough`), which finds the problem and
names its file, column, lines and values. So the fast path may be stricter than
the slow one (an ISO-looking date only, no quotes in a value), never more lenient.

Example
-------
>>> from pathlib import Path
>>> table = read_checked(Path("data/synthetic/medications.csv"), "medications", None)
>>> str(table["drug_class"].dtype), str(table["start_date"].dtype)
('category', 'datetime64[s]')
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from screening.errors import ExtractError
from screening.io.arrow_labels import in_order, indices_of
from screening.io.arrow_pandas import to_series
from screening.io.arrow_parse import extra_text, parse_column, patient_positions
from screening.io.checks import Check, Suspect, checks_of, failing, failure, shown
from screening.io.schema import fields_of

__all__ = ["Suspect", "canonical", "patient_dtype", "read_checked", "typed_to_frame"]

_TEXT = pa.dictionary(pa.int32(), pa.string())


def read_checked(file: Path, name: str, columns: list[str] | None,
                 patients: pd.CategoricalDtype | None = None,
                 failures: list[ExtractError] | None = None) -> pd.DataFrame:
    """Read, parse and check one table the fast way; raises :class:`Suspect` on anything doubtful.

    A value that fails a declared check (:mod:`screening.io.checks`) is no doubt: every
    failing check is an :class:`~screening.errors.ExtractError`, added to ``failures``, or
    raised all together when ``failures`` is None, as the thorough path gives them.

    Each column is read (Parquet) or taken from the parsed file (CSV), checked,
    turned into its pandas column and freed, two columns at a time, so the read
    holds little more than the finished table.

    ``patients`` (the patients' ids as categories, in the patients table's order)
    reads an event table's ``patient_id`` straight into codes that are patient
    positions: the join to the patients table is then done once per distinct id,
    while reading, and an id that is not a patient's is :class:`Suspect`.
    """
    from_csv = file.suffix == ".csv"
    fields = fields_of(name, columns)
    # Patients' ids are unique: a dictionary would hold every one of them, so they are read as plain text.
    plain = ("patient_id",) if name == "patients" else ()
    names, read = _read_csv(file, columns, plain) if from_csv else _read_parquet(file, columns, plain)
    fields = [f for f in fields if f.name in names or "dates" not in f.extra]  # undated lab values: no dates
    by_name = {f.name: f for f in fields}
    if any(f.name not in names for f in fields):
        raise Suspect("a dictionary column is absent")
    checks = checks_of(fields, name)

    def parsed(col: str) -> tuple[pd.Series, list]:  # read and parse one column; nothing here keeps the raw column
        f = by_name.get(col)
        try:
            if f is None:  # kept for protocol column rules (CSV text loses leading blanks, as a spreadsheet does)
                values = read(col)
                return to_series(pa.chunked_array([extra_text(values)]) if from_csv else values, None, name,
                                 from_csv), []
            if patients is not None and f.kind == "id":
                ids = patient_positions(read(col), patients, f, from_csv)
                return ids, failing(_on_column(checks, col), ids)
            return parse_column(read(col), f, name, from_csv, _on_column(checks, col))
        finally:  # Arrow's allocator keeps what a raw column held: hand it back before the next is read
            pa.default_memory_pool().release_unused()

    try:
        out = _each_column(names, parsed)
    except (pa.ArrowException, OSError) as exc:  # a damaged Parquet column
        raise Suspect(str(exc)) from exc
    found = [case for _, cases in out.values() for case in cases]
    frame = pd.DataFrame({c: out.pop(c)[0] for c in [f.name for f in fields] + [c for c in names if c not in by_name]},
                         copy=False)
    _report(checks, found + failing([c for c in checks if c.across], frame), frame, file, failures)
    return frame


def _on_column(checks: list[Check], column: str) -> list[Check]:
    """The checks the fast path runs on one column as it is parsed (parsing itself is the format check)."""
    return [c for c in checks if c.column == column and not c.across and not c.by_reader]


def _report(checks: list[Check], found: list, frame: pd.DataFrame, file: Path,
            failures: list[ExtractError] | None) -> None:
    """Failing checks as errors, in the declared order: added to ``failures``, or raised together when None."""
    if not found:
        return
    row_word = "line" if file.suffix == ".csv" else "row"
    errors = [failure(check, file, rows, shown(check, frame), row_word)
              for check, rows in sorted(found, key=lambda case: checks.index(case[0]))]
    if failures is None:
        raise ExtractError.every(errors)
    failures.extend(errors)


def _each_column(names: list[str], parsed) -> dict[str, tuple[pd.Series, list]]:
    """``parsed(name)`` for every column, two at a time.

    Reading and parsing a column is numpy and Arrow work that mostly lets go of
    the GIL, so a second thread keeps a second core busy: about a third off a
    million-patient load on two cores. Only the columns in hand are held raw.
    """
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(2, thread_name_prefix="screening-read")
    try:
        return dict(zip(names, pool.map(parsed, names), strict=True))
    finally:
        pool.shutdown(cancel_futures=True)  # after a Suspect column the rest need not be read


def check_frame(frame: pd.DataFrame, name: str, file: Path,
                failures: list[ExtractError] | None = None) -> pd.DataFrame:
    """A table built in memory (a converted source) checked the fast way; :class:`Suspect` if doubtful.

    ``file`` names the table in errors; ``failures`` as for :func:`read_checked`.
    """
    try:
        raw = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise Suspect(str(exc)) from None
    fields = [f for f in fields_of(name, None) if f.name in raw.column_names]
    by_name = {f.name: f for f in fields}
    checks = checks_of(fields, name)
    empty = {"bool": pa.bool_(), "int": pa.float64(), "float": pa.float64(), "date": pa.timestamp("s")}
    out, found = {}, []
    for c in raw.column_names:
        values = raw.column(c)
        if c not in by_name:
            out[c] = to_series(values, None, name, False)
            continue
        if pa.types.is_null(values.type):  # a column the source cannot give at all
            values = values.cast(empty.get(by_name[c].kind, pa.string()))
        out[c], cases = parse_column(values, by_name[c], name, False, _on_column(checks, c))
        found += cases
    frame = pd.DataFrame(out, copy=False)
    _report(checks, found + failing([c for c in checks if c.across], frame), frame, file, failures)
    return frame


def patient_dtype(patients: pd.DataFrame) -> pd.CategoricalDtype | None:
    """The patients' ids as categories in their table's order (None if they repeat: the check names them).

    Its categories become the patients table's index and every event table's
    ``patient_id`` categories, so the ids are hashed once per load.
    """
    if in_order(patients["patient_id"]):  # read the fast way (or from the cache): checked distinct already
        return patients["patient_id"].dtype
    ids = pd.Index(patients["patient_id"], name="patient_id")
    return pd.CategoricalDtype(ids) if not ids.hasnans and ids.is_unique else None


def typed_to_frame(table: pa.Table, name: str, from_csv: bool,
                   patients: pd.CategoricalDtype | None = None) -> pd.DataFrame:
    """pandas columns in the data dictionary's dtypes, converted (and freed) one column at a time.

    ``patients`` (see :func:`patient_dtype`): an event table's ids stored over exactly
    these patients' ids are taken as positions, with nothing hashed again.
    """
    by_name = {f.name: f for f in fields_of(name)}
    out = {}
    for col in list(table.column_names):
        values = table.column(col)
        table = table.drop_columns([col])
        f = by_name.get(col)
        over = _over(values, patients) if f is not None and f.kind == "id" and name != "patients" else None
        out[col] = to_series(values, f, name, from_csv) if over is None else over
    return pd.DataFrame(out, copy=False)


def _over(values: pa.ChunkedArray, patients: pd.CategoricalDtype | None) -> pd.Series | None:
    """Ids whose every chunk's dictionary is the patients' ids, in order, as a categorical of that dtype."""
    chunks = [c for c in values.chunks if len(c)]
    if patients is None or not pa.types.is_dictionary(values.type) or not chunks:
        return None
    ids = pa.array(patients.categories, pa.string())
    if not all(c.dictionary.cast(pa.string()).equals(ids) for c in chunks):
        return None
    codes = np.concatenate([indices_of(c.indices) for c in chunks])
    return pd.Series(pd.Categorical.from_codes(codes, dtype=patients, validate=False), copy=False)


def canonical(frame: pd.DataFrame, name: str, from_csv: bool) -> pd.DataFrame:
    """A loaded frame in exactly the form the fast path and the cache give (sorted free-text categories)."""
    return typed_to_frame(pa.Table.from_pandas(frame, preserve_index=False), name, from_csv)


# --- reading ---------------------------------------------------------------------------------------

def _read_csv(file: Path, columns: list[str] | None, plain: tuple[str, ...] = ()):
    from pyarrow import csv as pacsv

    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader([handle.readline()]))
    except (UnicodeDecodeError, StopIteration, csv.Error) as exc:
        raise Suspect("unreadable header") from exc
    if len(set(header)) != len(header) or any(h != h.strip() or h == "" for h in header):
        raise Suspect("duplicate or padded column names")
    wanted = header if columns is None else [h for h in header if h in set(columns)]
    try:
        table = pacsv.read_csv(
            file,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 23),
            # A quoted value may hold a line end, as the slow reader allows; allowing it costs a third of
            # the read, so only a file with a quote in it pays.
            parse_options=pacsv.ParseOptions(newlines_in_values=_holds(file, b'"')),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() if h in plain else _TEXT
                                                               for h in wanted}, include_columns=wanted,
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, OSError, ValueError) as exc:  # short or long rows, bad UTF-8, empty file
        raise Suspect(str(exc)) from exc
    parsed = {c: table.column(c) for c in table.column_names}
    del table
    return list(parsed), parsed.pop  # each column handed over once, then no longer held here


def _holds(file: Path, needle: bytes) -> bool:
    """Whether the file's bytes hold ``needle`` (a memory-mapped scan at memory speed)."""
    import mmap

    with open(file, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return view.find(needle) >= 0


def _read_parquet(file: Path, columns: list[str] | None, plain: tuple[str, ...] = ()):
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
        names = schema.names if columns is None else [c for c in schema.names if c in set(columns)]
        # Labels repeat across millions of rows: read them as dictionaries, parsed once per distinct value.
        text = [f.name for f in schema if f.name in names and f.name not in plain and (pa.types.is_string(f.type)
                                                               or pa.types.is_large_string(f.type))]
        pq.ParquetFile(file, read_dictionary=text)  # a damaged footer is found here, before any column is read
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Suspect(str(exc)) from exc
    # A reader of its own for each column: columns are read two at a time, and a reader is not for sharing.
    return names, lambda name: pq.ParquetFile(file, read_dictionary=text).read(columns=[name],
                                                                               use_threads=True).column(0)

