"""The loader's fast path: read an extract table with Arrow and parse and check it column by column.

Text is read dictionary-encoded, so parsing and most checks run once per
distinct value (a few thousand dates, a dozen drug names) rather than once per
row, and no second full copy of a table is built. The fast path only ever says
"this table is fine" or :class:`Suspect`; on :class:`Suspect` the loader reads
the table again the slow, thorough way (pandas and pandera,
:mod:`screening.io.extract`), which finds the problem and names its file, column,
lines and values. So the fast path may be stricter than the slow one (an
ISO-looking date only, no quotes in a value), never more lenient.

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
import pyarrow.compute as pc

from screening.io.schema import FALSE_WORDS, TABLES, TRUE_WORDS, Field, fields_of

__all__ = ["Suspect", "canonical", "patient_dtype", "read_checked", "typed_to_frame"]

_TEXT = pa.dictionary(pa.int32(), pa.string())
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class Suspect(Exception):
    """The fast path met something it does not accept: the slow path will find and name it."""


def read_checked(file: Path, name: str, columns: list[str] | None,
                 patients: pd.CategoricalDtype | None = None) -> pd.DataFrame:
    """Read, parse and check one table the fast way; raises :class:`Suspect` on anything doubtful.

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

    def parsed(col: str) -> pd.Series:  # read and parse one column; nothing here keeps the raw column
        f = by_name.get(col)
        try:
            if f is None:  # kept for protocol column rules (CSV text loses leading blanks, as a spreadsheet does)
                values = read(col)
                return _series(pa.chunked_array([_extra(values)]) if from_csv else values, None, name, from_csv)
            if patients is not None and f.kind == "id":
                return _patient_positions(read(col), patients, f, from_csv)
            return _column(read(col), f, name, from_csv)
        finally:  # Arrow's allocator keeps what a raw column held: hand it back before the next is read
            pa.default_memory_pool().release_unused()

    try:
        out = _each_column(names, parsed)
    except (pa.ArrowException, OSError) as exc:  # a damaged Parquet column
        raise Suspect(str(exc)) from exc
    frame = pd.DataFrame({c: out.pop(c) for c in [f.name for f in fields] + [c for c in names if c not in by_name]},
                         copy=False)
    _check_order(frame, fields)
    return frame


def _each_column(names: list[str], parsed) -> dict[str, pd.Series]:
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


def check_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table built in memory (a converted source) checked the fast way; :class:`Suspect` if doubtful."""
    try:
        raw = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise Suspect(str(exc)) from None
    fields = fields_of(name, None)
    by_name = {f.name: f for f in fields}
    empty = {"bool": pa.bool_(), "int": pa.float64(), "float": pa.float64(), "date": pa.timestamp("s")}
    out = {}
    for c in raw.column_names:
        values = raw.column(c)
        if c in by_name and pa.types.is_null(values.type):  # a column the source cannot give at all
            values = values.cast(empty.get(by_name[c].kind, pa.string()))
        out[c] = _column(values, by_name[c], name, False) if c in by_name else _series(values, None, name, False)
    frame = pd.DataFrame(out, copy=False)
    _check_order(frame, fields)
    return frame


def patient_dtype(patients: pd.DataFrame) -> pd.CategoricalDtype | None:
    """The patients' ids as categories in their table's order (None if they repeat: the check names them).

    Its categories become the patients table's index and every event table's
    ``patient_id`` categories, so the ids are hashed once per load.
    """
    ids = pd.Index(patients["patient_id"], name="patient_id")
    return pd.CategoricalDtype(ids) if not ids.hasnans and ids.is_unique else None


def typed_to_frame(table: pa.Table, name: str, from_csv: bool,
                   patients: pd.CategoricalDtype | None = None) -> pd.DataFrame:
    """pandas columns in the data dictionary's dtypes, converted (and freed) one column at a time.

    ``patients`` (see :func:`patient_dtype`): an event table's ids stored over exactly
    these patients' ids are taken as positions, with nothing hashed again.
    """
    by_name = {f.name: f for f in TABLES[name]}
    out = {}
    for col in list(table.column_names):
        values = table.column(col)
        table = table.drop_columns([col])
        f = by_name.get(col)
        over = _over(values, patients) if f is not None and f.kind == "id" and name != "patients" else None
        out[col] = _series(values, f, name, from_csv) if over is None else over
    return pd.DataFrame(out, copy=False)


def _over(values: pa.ChunkedArray, patients: pd.CategoricalDtype | None) -> pd.Series | None:
    """Ids whose every chunk's dictionary is the patients' ids, in order, as a categorical of that dtype."""
    chunks = [c for c in values.chunks if len(c)]
    if patients is None or not pa.types.is_dictionary(values.type) or not chunks:
        return None
    ids = pa.array(patients.categories, pa.string())
    if not all(c.dictionary.cast(pa.string()).equals(ids) for c in chunks):
        return None
    codes = np.concatenate([_indices(c.indices) for c in chunks])
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


# --- parsing one column ----------------------------------------------------------------------------

def _column(values: pa.ChunkedArray, f: Field, table: str, from_csv: bool) -> pd.Series:
    """One column parsed, checked and in its pandas dtype; text is parsed once per distinct value."""
    kind = values.type
    if f.kind == "id" and table == "patients" and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        out = _trimmed(values.combine_chunks().cast(pa.string()), from_csv)  # each id distinct: nothing to share
    elif f.kind in ("id", "str", "category") and not (f.kind == "id" and table == "patients") and (
            pa.types.is_dictionary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return _label_codes(values, f, from_csv)
    elif pa.types.is_dictionary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        words, rows = _dictionary(values)
        values = None
        words = _trimmed(words, from_csv)
        parsed = words if f.kind == "id" else _parse_words(words, f)
        if pc.any(pc.and_(pc.is_null(parsed), pc.is_valid(words))).as_py():
            raise Suspect("a value that does not parse")
        out = parsed.take(pa.array(rows, mask=rows < 0))  # per row, from per distinct value
    else:
        out = _parse_typed(values, f)
    values = None
    if f.required and out.null_count:
        raise Suspect("a required value is missing")
    if f.kind == "id" and len(pc.unique(out)) != len(out):
        raise Suspect("a patient id repeats")
    _check_range(out, f)
    return _series(out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out]), f, table, from_csv)


def _patient_positions(values: pa.ChunkedArray, patients: pd.CategoricalDtype, f: Field,
                       from_csv: bool) -> pd.Series:
    """An event table's patient ids as a categorical over every patient's id: its codes are positions."""
    words, rows = _stacked(values)  # a word repeated across chunks is looked up twice: cheaper than merging
    values = None
    words = _trimmed(words, from_csv)
    if 8 * len(words) < len(patients.categories):  # few patients: ask the index, whose hash is already built
        entry = patients.categories.get_indexer(pd.array(words, dtype=pd.StringDtype("pyarrow")))
    else:  # most of them: one Arrow hash join beats a million lookups
        ids = pa.array(patients.categories, pa.string())
        entry = pc.fill_null(pc.index_in(words, value_set=ids), -1).to_numpy()
    if np.any((entry < 0) & pc.is_valid(words).to_numpy(zero_copy_only=False)):
        raise Suspect("an event of an unknown patient, or a missing patient_id")
    position = _through(entry, rows)
    if f.required and (position < 0).any():
        raise Suspect("a required value is missing")
    return pd.Series(pd.Categorical.from_codes(position, dtype=patients, validate=False), copy=False)


def _dictionary(values: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Distinct values and each row's index into them (-1 where missing), whatever the chunking.

    Each chunk (row group, CSV block) has a dictionary of its own. Their entries
    are encoded together once, and each row's index goes through its chunk's
    offset: cheaper than Arrow's ``unify_dictionaries`` on a million ids.
    """
    stacked, local = _stacked(values)
    together = pc.dictionary_encode(stacked)
    return together.dictionary, _through(_indices(together.indices), local)


def _stacked(values: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Every chunk's dictionary laid end to end (a value may repeat), and each row's index into them."""
    stacked, pieces = _dictionaries(values)
    local, at = np.empty(sum(len(c) for c, _ in pieces), np.int32), 0
    for c, start in pieces:
        part = local[at:at + len(c)]
        part[:] = _indices(c.indices)
        np.add(part, start, out=part, where=part >= 0)  # into the dictionaries laid end to end
        at += len(c)
    return stacked, local


def _dictionaries(values: pa.ChunkedArray) -> tuple[pa.Array, list[tuple[pa.DictionaryArray, int]]]:
    """Every chunk's dictionary laid end to end, and each chunk with where its dictionary starts there."""
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values)
    start, dictionaries, pieces, size = {}, [], [], 0
    for c in values.chunks:
        if not len(c):
            continue
        # Batches of one Parquet row group share its dictionary: each distinct dictionary is laid down once.
        key = _identity(c.dictionary)
        if key not in start:
            start[key] = size
            dictionaries.append(c.dictionary.cast(pa.string()))
            size += len(c.dictionary)
        pieces.append((c, start[key]))
    return (pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.string())), pieces


def _label_codes(values: pa.ChunkedArray, f: Field, from_csv: bool) -> pd.Series:
    """A label column straight to its categorical: every decision is taken once per distinct word.

    Each chunk's indices are read twice (which words are used, then through a
    small per-chunk table to the final code, written in place): no per-row array
    is built on the way, which matters at ten million rows.
    """
    stacked, pieces = _dictionaries(values)
    values = None
    words = _trimmed(stacked, from_csv)
    found = pc.dictionary_encode(words)
    order = pc.array_sort_indices(found.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1
    entry = rank[_indices(found.indices)]  # per stacked word: its rank among the distinct words, -1 if missing
    used = np.zeros(len(order) + 1, np.bool_)
    for c, start in pieces:  # only the words some row holds (a Parquet dictionary may hold others)
        held = np.bincount(_indices(c.indices) + 1, minlength=len(c.dictionary) + 1)[1:] > 0
        used[entry[start:start + len(c.dictionary)][held]] = True
    used = used[:-1]
    categories = found.dictionary.take(pa.array(order)).filter(pa.array(used))
    known = entry >= 0
    entry[known] = (np.cumsum(used) - 1)[entry[known]]  # rank -> code among the words used
    kind = _code_type(len(categories))
    codes, at = np.empty(sum(len(c) for c, _ in pieces), kind), 0
    for c, start in pieces:
        table = np.append(entry[start:start + len(c.dictionary)], -1).astype(kind)
        codes[at:at + len(c)] = table[_indices(c.indices)]
        at += len(c)
    if f.required and (codes < 0).any():
        raise Suspect("a required value is missing")
    return _labels(codes, categories, f)


def _trimmed(words: pa.Array, from_csv: bool) -> pa.Array:
    """Distinct words as the slow path reads them: blanks trimmed, empty as missing."""
    if from_csv and pc.any(pc.match_substring(words, '"')).as_py():
        raise Suspect("a quote inside a value")  # the slow reader may read it differently
    words = pc.utf8_trim_whitespace(words)
    return pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)


def _indices(indices: pa.Array) -> np.ndarray:
    """Dictionary indices as numpy, -1 where missing (without nulls, a view of Arrow's buffer)."""
    if indices.null_count:
        return pc.fill_null(indices, -1).to_numpy()
    return indices.to_numpy()


def _identity(array: pa.Array) -> tuple:
    """Where an array's memory is: chunks that share one dictionary give the same identity."""
    return (array.offset, len(array), *(b.address if b is not None else 0 for b in array.buffers()))


def _through(entry: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``entry[rows]``, -1 where ``rows`` is -1: one pass, one new array."""
    return np.append(entry.astype(np.int32, copy=False), np.int32(-1))[rows]


def _parse_words(words: pa.Array, f: Field) -> pa.Array:
    """Parse trimmed distinct values; a value that does not parse becomes null (and is flagged)."""
    present = pc.is_valid(words)
    if f.kind == "date":
        if not pc.all(pc.or_kleene(pc.invert(present), pc.match_substring_regex(words, _ISO_DATE))).as_py():
            raise Suspect("a date not written YYYY-MM-DD")
        try:
            return pc.cast(pc.cast(words, pa.date32()), pa.timestamp("s"))
        except pa.ArrowInvalid as exc:  # an impossible date such as 2024-02-30
            raise Suspect(str(exc)) from exc
    if f.kind in ("int", "float"):
        try:
            number = pc.cast(words, pa.float64())
        except pa.ArrowInvalid as exc:
            raise Suspect(str(exc)) from exc
        if f.kind == "int":
            if pc.any(pc.not_equal(number, pc.floor(number))).as_py():
                raise Suspect("a fraction in a whole-number column")
        return number
    if f.kind == "bool":
        lower = pc.utf8_lower(words)
        yes, no = pc.is_in(lower, pa.array(TRUE_WORDS)), pc.is_in(lower, pa.array(FALSE_WORDS))
        return pc.if_else(pc.or_(yes, no), yes, pa.scalar(None, pa.bool_()))
    raise AssertionError(f"{f.kind} is not parsed word by word")  # pragma: no cover - labels go to _label_codes


def _parse_typed(values: pa.ChunkedArray, f: Field) -> pa.ChunkedArray:
    """A column Parquet already holds typed: check it has the kind the dictionary asks for.

    Chunks stay as read (one per row group): joining them would copy the column once more.
    """
    kind = values.type
    if f.kind == "date" and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            raise Suspect("a date with a time zone")
        return values  # to seconds chunk by chunk, on the way to pandas (:func:`_dates`)
    if f.kind in ("int", "float") and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        number = values.cast(pa.float64())
        if f.kind == "int" and pc.any(pc.not_equal(number, pc.floor(number))).as_py():
            raise Suspect("a fraction in a whole-number column")
        return number
    if f.kind == "bool" and pa.types.is_boolean(kind):
        return values
    raise Suspect(f"a {kind} column where the dictionary asks for {f.kind}")


def _check_range(values: pa.Array, f: Field) -> None:
    if f.kind in ("int", "float"):
        if pc.any(pc.is_nan(values)).as_py():
            raise Suspect("NaN is not a number a registry records")
        lo = -np.inf if f.min is None else f.min
        hi = np.inf if f.max is None else f.max
        if pc.any(pc.or_(pc.less(values, lo), pc.greater(values, hi))).as_py():
            raise Suspect("a value out of range")


def _check_order(frame: pd.DataFrame, fields: list[Field]) -> None:
    """Dates that may not come after (or before) another date in the same row."""
    present = {f.name for f in fields}
    for f in fields:
        other = f.not_after or f.not_before
        if other is None or other not in present:
            continue
        a, b = frame[f.name].to_numpy(), frame[other].to_numpy()  # NaT compares false: a missing date is no error
        if (a > b if f.not_after else a < b).any():
            raise Suspect(f"{f.name} out of order with {other}")


def _extra(values: pa.ChunkedArray) -> pa.Array:
    """A CSV column outside the dictionary: text, leading blanks dropped, empty as missing."""
    words, rows = _dictionary(values)
    words = pc.utf8_ltrim(words, characters=" ")
    return pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words).take(pa.array(rows, mask=rows < 0))


# --- to pandas -------------------------------------------------------------------------------------

def _series(values: pa.ChunkedArray, f: Field | None, table: str, from_csv: bool) -> pd.Series:
    if f is None:
        if from_csv:
            return pd.Series(values.to_pandas(), dtype="str")
        return values.to_pandas()
    if f.kind == "id" and table == "patients":
        return pd.Series(pd.array(values.cast(pa.string()), dtype=pd.StringDtype("pyarrow")), copy=False)
    if f.kind in ("id", "str", "category"):
        return _categorical(values, f)
    if f.kind == "date":
        return _dates(values)
    if f.kind == "int":
        return pd.Series(pd.arrays.IntegerArray(*_masked(values.cast(pa.int32()), np.int32)), copy=False)
    if f.kind == "bool":
        return pd.Series(pd.arrays.BooleanArray(*_masked(values, np.bool_)), copy=False)
    return pd.Series(pd.arrays.FloatingArray(*_masked(values.cast(pa.float64()), np.float64)), copy=False)


def _dates(values: pa.ChunkedArray) -> pd.Series:
    """Dates or timestamps as datetime64[s] (NaT where missing), converted chunk by chunk into one array:
    a whole-column cast would hold a third copy of ten million dates at once."""
    out, at = np.empty(len(values), "datetime64[s]"), 0
    for chunk in values.chunks:
        out[at:at + len(chunk)] = chunk.cast(pa.timestamp("s"), safe=False).to_numpy(zero_copy_only=False)
        at += len(chunk)
    return pd.Series(out, copy=False)


def _masked(values: pa.ChunkedArray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Values (0 where missing) and the missing mask, written chunk by chunk into one array each.

    pandas' own conversion builds each chunk's arrays and then joins them: a second copy of the column.
    """
    data, mask, at = np.empty(len(values), dtype), np.zeros(len(values), np.bool_), 0
    for chunk in values.chunks:
        end = at + len(chunk)
        if chunk.null_count:
            mask[at:end] = chunk.is_null().to_numpy(zero_copy_only=False)
            chunk = chunk.fill_null(pa.scalar(0 if dtype is not np.bool_ else False, chunk.type))
        data[at:end] = chunk.to_numpy(zero_copy_only=False)
        at = end
    return data, mask


def _categorical(values: pa.ChunkedArray, f: Field) -> pd.Series:
    chunks = [c for c in values.chunks if len(c)]
    if len({_identity(c.dictionary) for c in chunks}) == 1 and _canonical(chunks[0].dictionary, f):
        # as the cache holds it: codes into the final categories already
        return _labels(np.concatenate([_indices(c.indices) for c in chunks]),
                       chunks[0].dictionary, f)
    return _label_codes(values, f, False)


def _labels(codes: np.ndarray, categories: pa.Array, f: Field) -> pd.Series:
    """A categorical from codes into the text's sorted values."""
    dtype = pd.CategoricalDtype(pd.Index(pd.array(categories, dtype=pd.StringDtype("pyarrow"))))
    return pd.Series(pd.Categorical.from_codes(codes.astype(_code_type(len(dtype.categories)), copy=False),
                                               dtype=dtype, validate=False), copy=False)


def _canonical(categories: pa.Array, f: Field) -> bool:
    """Already the final categories: distinct values sorted."""
    if categories.null_count or not (pa.types.is_string(categories.type) or pa.types.is_large_string(categories.type)):
        return False
    return len(categories) < 2 or pc.all(pc.less(categories[:-1], categories[1:])).as_py()


def _code_type(n: int):
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32

