"""Load a de-identified registry extract and check it against the data dictionary.

An extract is a folder holding one file per table (``patients``, ``medications``,
``malignancies``, ``infections``), each as ``.csv`` or ``.parquet``. See
``data/README.md`` for every column.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ExtractError, ExtractWarning
from screening.io.schema import FALSE_WORDS, LAB_DATES, TABLES, TRUE_WORDS, Field, dtype_of, fields_of
from screening.io.vocabulary import recognise

__all__ = ["Extract", "load_extract", "extract_from_tables", "extract_hash"]

_BOOL_WORDS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}


@dataclass
class Extract:
    """A loaded, checked registry extract.

    ``patients`` is indexed by ``patient_id``; event tables keep ``patient_id``
    as a column. Every missing value is ``pd.NA``/``NaT``: it means "not recorded".

    Example
    -------
    >>> ex = load_extract("data/synthetic")
    >>> ex.n_patients, ex.hash[:12]
    (5000, '97ffe9e84d68')
    """

    patients: pd.DataFrame
    medications: pd.DataFrame
    malignancies: pd.DataFrame
    infections: pd.DataFrame
    path: str
    hash: str
    format: str
    _rows: dict = field(default_factory=dict, repr=False, compare=False)
    #: column -> why the source cannot give it (for converted sources; shown in the data-quality summary)
    notes: dict = field(default_factory=dict)
    #: read from the validated cache (:mod:`screening.io.cache`) rather than parsed and checked again
    cached: bool = field(default=False, compare=False)
    #: values a converted source held outside the dictionary's range, set to unknown: table, column,
    #: patient_id, value (for the data team; never part of a shareable report)
    implausible: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    #: table -> dictionary columns absent from its file, ``("*",)`` for an absent event table (held as
    #: missing or empty; the criteria that read them are not assessable)
    absent: dict = field(default_factory=dict)
    #: coded values the vocabulary does not know, read as unknown: file, column, value, rows
    unrecognised: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    #: how many months before baseline a converted source read lab values and weight (None: all of them)
    labs_read_months: float | None = field(default=None, compare=False)

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def patient_rows(self, table: str) -> np.ndarray:
        """Position in ``patients`` of each row of an event table (computed once, then cached)."""
        if table not in self._rows:
            self._rows[table] = _positions(self.patients.index, self.table(table)["patient_id"])
        return self._rows[table]

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


def load_extract(path: str | Path, columns: dict[str, list[str]] | None = None, strict: bool = False) -> Extract:
    """Read an extract folder, parse every column strictly and check its values.

    ``columns`` (table → column names, e.g. ``protocol.columns()``) reads and
    checks only those columns: what a protocol needs from a wide extract.

    Coded values (drug names and every fixed-list column) are mapped through the vocabulary
    (:mod:`screening.io.vocabulary`): ``Female`` and ``f`` are read as ``F``. A value it does not know
    is reported and read as unknown, or with ``strict`` is an error.

    Raises :class:`~screening.errors.ExtractError` naming the file, the column,
    the first offending rows and what was expected. A value that is merely
    missing is never an error: it stays missing. No row is dropped.

    Example
    -------
    >>> from screening import load_extract
    >>> ex = load_extract("data/synthetic")
    >>> str(ex.patients["sledai_2k"].dtype), int(ex.patients["sledai_2k"].isna().sum())
    ('Int32', 626)
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ExtractError(str(folder), None, "a folder holding patients.csv or patients.parquet",
                           hint="Check the path; build the synthetic extract with `make data`.")
    from screening.io import cache

    wanted = {name: None if columns is None else columns.get(name, ["patient_id"]) for name in TABLES}
    # An event table may be left out of a hand-written extract: held empty, and marked absent, so that
    # criteria reading it are not assessable rather than met by "no events".
    files = {name: _table_file(folder, name, optional=name != "patients") for name in TABLES}
    present = {name: file for name, file in files.items() if file is not None}
    absent = {}
    for name, file in present.items():
        absent[name], wanted[name] = _absent_columns(file, name, wanted[name])
    # Lab dates left out are the registry's usual "values at baseline": undated, not absent.
    absent = {name: [c for c in cols if c not in LAB_DATES.values()] for name, cols in absent.items()}
    absent = {name: cols for name, cols in absent.items() if cols}
    absent |= {name: ["*"] for name, file in files.items() if file is None}
    digest = extract_hash(present.values())
    fmt = "parquet" if files["patients"].suffix == ".parquet" else "csv"
    key = cache.entry_key(digest, None if columns is None and not absent else
                          {name: ["*"] if cols is None else cols for name, cols in wanted.items()})
    from screening.io.columnar import patient_dtype

    entry = cache.read_entry(key, TABLES, fmt == "csv") if len(present) == len(files) else None
    cached = entry is not None
    if cached:  # checked when stored; only the warnings are said again
        tables, ids = entry
        for name, table in tables.items():
            _warn_empty_columns(table, fields_of(name, wanted[name]), files[name])
    else:
        tables = {"patients": _load_table(files["patients"], "patients", wanted["patients"])}
        ids = patient_dtype(tables["patients"])
        tables |= {name: _load_table(file, name, wanted[name], ids) if file is not None else _no_events(name)
                   for name, file in files.items() if name != "patients"}
    if tables["patients"].empty:
        raise ExtractError(str(files["patients"]), None, "at least one patient row",
                           hint="The patients table has a header but no patients.")
    stored = dict(tables)
    for name, cols in absent.items():  # the screening that needs them says so (it knows which criteria)
        tables[name] = _with_absent(tables[name], name, [f.name for f in TABLES[name] if f.name != "patient_id"]
                                    if cols == ["*"] else cols)
    tables, unrecognised = recognise(tables, files, strict)  # the vocabulary step: coded values to canonical
    tables["patients"] = _indexed(tables["patients"], ids)
    rows = _check_references(tables, files)
    if not cached and len(present) == len(files):
        cache.write_entry(key, stored)
    notes = {col: "absent from the extract: criteria that read it are not assessable"
             for cols in absent.values() for col in cols if col != "*"}
    return Extract(**tables, path=str(folder), hash=digest, format=fmt, _rows=rows, cached=cached, notes=notes,
                   absent={name: tuple(cols) for name, cols in absent.items()}, unrecognised=unrecognised)


def _header(file: Path) -> list[str] | None:
    """The column names a table file declares, or None if it cannot be read (the loader then says why)."""
    try:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(file).names)
        import csv

        with open(file, encoding="utf-8-sig", newline="") as handle:
            return [h.strip() for h in next(csv.reader([handle.readline()]), [])]
    except Exception:  # noqa: BLE001 - unreadable files are reported by the reader itself
        return None


def _absent_columns(file: Path, name: str, wanted: list[str] | None) -> tuple[list[str], list[str] | None]:
    """Dictionary columns missing from ``file``'s header, and the columns to read instead.

    A missing required column (or a repeated name) is an error; any other missing
    column is held as missing, so the criteria that read it are not assessable.
    """
    header = _header(file)
    if header is None or header == [""]:
        return [], wanted
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ExtractError(str(file), ", ".join(repeated), "each column name once in the header",
                           rows=[1], row_word="line" if file.suffix == ".csv" else "header",
                           hint="Which copy holds the data is ambiguous: remove or rename the repeated column"
                                f"{'s' if len(repeated) > 1 else ''}.")
    missing = [f for f in fields_of(name, wanted) if f.name not in header]
    required = [f for f in missing if f.required]
    if required:
        sep_hint = ""
        if len(header) == 1 and any(c in header[0] for c in ";\t|"):
            sep_hint = "\n  The header looks delimited by ';', tab or '|': save the file with commas."
        raise ExtractError(str(file), None, f"the required column{'s' if len(required) > 1 else ''} of the data "
                           "dictionary (data/README.md)",
                           hint="Missing:\n" + "\n".join(f"    {f.name}: {f.description}" for f in required)
                                + f"\n  Columns found: {', '.join(header[:12])}"
                                + (", ..." if len(header) > 12 else "") + "." + sep_hint)
    if not missing:
        return [], wanted
    gone = {f.name for f in missing}
    return [f.name for f in missing], [c for c in (header if wanted is None else wanted) if c not in gone]


def _with_absent(table: pd.DataFrame, name: str, columns: list[str]) -> pd.DataFrame:
    """``table`` with each absent dictionary column added as wholly missing, in dictionary order."""
    by_name = {f.name: f for f in TABLES[name]}
    added = {c: pd.Series(index=table.index, dtype=_empty_dtype(by_name[c])) for c in columns}
    table = table.assign(**added)
    order = [f.name for f in TABLES[name] if f.name in table.columns]
    return table[order + [c for c in table.columns if c not in order]]


def _empty_dtype(f: Field):
    return pd.CategoricalDtype(pd.Index([], dtype="string")) if f.kind in ("str", "id") else dtype_of(f)


def _no_events(name: str) -> pd.DataFrame:
    """An event table the extract does not hold: no rows (its other columns are added as absent)."""
    return pd.DataFrame({"patient_id": pd.Series(pd.Categorical([], categories=pd.Index([], dtype="string")))})


def extract_from_tables(tables: dict[str, pd.DataFrame], source: str, content_hash: str,
                        notes: dict | None = None) -> Extract:
    """Check tables built in memory (e.g. converted from OMOP or Synthea) exactly as files are checked.

    ``source`` names the origin in errors and reports; ``content_hash`` identifies the source data.
    """
    files = {name: Path(source) / f"{name} (converted)" for name in TABLES}
    explained = frozenset(notes or {})
    checked = {name: _converted(tables[name].reset_index(drop=True), files[name], name, explained)
               for name in TABLES}
    checked, unrecognised = recognise(checked, files)
    checked["patients"] = checked["patients"].set_index("patient_id")
    rows = _check_references(checked, files)
    return Extract(**checked, path=source, hash=content_hash, format="converted", _rows=rows, notes=notes or {},
                   unrecognised=unrecognised)


def _converted(table: pd.DataFrame, file: Path, name: str, explained: frozenset) -> pd.DataFrame:
    """A converted table: the fast columnar check, or the thorough one when that doubts anything."""
    from screening.io.columnar import Suspect, check_frame

    try:
        checked = check_frame(table, name)
    except Suspect:
        return _check_table(table, file, name, explained=explained)
    _warn_empty_columns(checked, [f for f in TABLES[name] if f.name not in explained], file)
    return checked


def extract_hash(files) -> str:
    """SHA-256 over the table files' names and bytes, in table order: names the exact extract."""
    digest = hashlib.sha256()
    for file in sorted(Path(f) for f in files):
        digest.update(file.name.encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _table_file(folder: Path, name: str, optional: bool = False) -> Path | None:
    found = [folder / f"{name}{ext}" for ext in (".parquet", ".csv") if (folder / f"{name}{ext}").is_file()]
    if not found and optional:
        return None
    if not found:
        raise ExtractError(str(folder / f"{name}.csv"), None, f"the {name} table as {name}.csv or "
                           f"{name}.parquet", hint="An event table with no events still needs its header row.")
    if len(found) > 1:
        raise ExtractError(str(folder / name), None, f"one file for the {name} table, found both .csv and "
                           ".parquet", hint="Remove one of them so the extract is unambiguous.")
    return found[0]


def _read_raw(file: Path, columns: list[str] | None = None) -> pd.DataFrame:
    if file.suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pq.read_schema(file)
            if columns is not None:
                columns = [c for c in columns if c in schema.names]  # absent ones are reported below
            # Text columns (ids, labels) repeat across millions of rows: read them as dictionaries,
            # which pandas holds as categoricals, instead of one string per row.
            text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
            # One column at a time, freeing Arrow's buffers as each converts: the read never holds
            # more than the finished frame plus one column in flight.
            out = {}
            for name in (columns if columns is not None else schema.names):
                part = pq.read_table(file, columns=[name], read_dictionary=[name] if name in text else None)
                out[name] = part.to_pandas(split_blocks=True, self_destruct=True)[name]
            return pd.DataFrame(out, copy=False)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ExtractError(str(file), None, "a readable Parquet file", hint=f"Reader said: {exc}") from None
    try:
        wanted = None if columns is None else set(columns)
        if wanted is not None and set(_header(file) or [None]) <= wanted:
            wanted = None  # every column (some dictionary ones absent): read whole, so a long row is caught
        with warnings.catch_warnings():
            # A first row longer than the header would silently become an index (values shifted one
            # column): index_col=False turns that into this warning, and the warning into an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                              skipinitialspace=True, index_col=False,
                              usecols=None if wanted is None else (lambda c: c in wanted))
    except UnicodeDecodeError as exc:
        raise ExtractError(str(file), None, "UTF-8 text", hint=f"Byte {exc.start} is not UTF-8: save the "
                           "file as UTF-8 (in Excel: CSV UTF-8).") from None
    except pd.errors.EmptyDataError:
        raise ExtractError(str(file), None, "a header row naming the columns, then one row per record",
                           hint="The file is empty.") from None
    except pd.errors.ParserWarning:
        raise ExtractError(str(file), None, "comma-separated rows with as many fields as the header",
                           hint="A row has more fields than the header: a value holding a comma needs quotes."
                           ) from None
    except pd.errors.ParserError as exc:
        raise ExtractError(str(file), None, "comma-separated rows with as many fields as the header",
                           hint=f"Reader said: {str(exc).strip()}. Is the file truncated or quoted badly?") from None
    _check_last_line(file, raw)
    if wanted is not None or (len(raw.columns) and raw[raw.columns[-1]].isna().any()):
        _check_short_rows(file)  # pandas pads a short row with blanks; only a row with blanks can be one
    return raw


def _check_short_rows(file: Path) -> None:
    """A row with fewer fields than the header would be read padded with blanks: name its lines instead."""
    import csv

    with open(file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        width = len(next(reader, []))
        short, values, n = [], [], 0
        for row in reader:
            if row and len(row) < width:  # blank lines are skipped, as the reader skips them
                n += 1
                if len(short) < 5:
                    short.append(reader.line_num)
                    values.append(",".join(row))
    if n:
        raise ExtractError(str(file), None, f"{width} comma-separated fields on every line, as in the header",
                           rows=short, values=values, n_rows=n, row_word="line",
                           hint="A short line would be read padded with blanks: export the file again, or add "
                                "the missing fields (empty ones stay as commas).")


def _check_last_line(file: Path, raw: pd.DataFrame) -> None:
    """A file cut off mid-row reads as a short last row padded with blanks: say so instead."""
    if raw.empty:
        return
    with open(file, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65536))
        tail = handle.read().decode("utf-8", errors="replace")
    if tail.endswith("\n"):
        return
    last = tail.rsplit("\n", 1)[-1]
    import csv

    try:
        fields = next(csv.reader([last]), [])
    except csv.Error:  # a stray carriage return or quote: as broken as a short line
        fields = []
    if len(fields) < len(raw.columns):
        line = len(raw) + 1
        raise ExtractError(str(file), None, f"{len(raw.columns)} fields on every line",
                           rows=[line], values=[last[:40]], row_word="line",
                           hint=f"The last line has {len(fields)} fields and no line end: the file looks "
                                "truncated. Export it again.")


def _indexed(patients: pd.DataFrame, ids: pd.CategoricalDtype | None) -> pd.DataFrame:
    """The patients table indexed by its ids: the very index the events' categories are, when it can be."""
    if ids is None or not ids.categories.equals(pd.Index(patients["patient_id"])):
        return patients.set_index("patient_id")
    out = patients.drop(columns="patient_id")
    out.index = ids.categories
    return out


def _load_table(file: Path, name: str, columns: list[str] | None = None,
                patients: pd.CategoricalDtype | None = None) -> pd.DataFrame:
    """The fast, columnar path; when it doubts anything, the thorough one, which names the problem."""
    from screening.io.columnar import Suspect, canonical, read_checked

    try:
        table = read_checked(file, name, columns, patients)
    except Suspect:
        # Valid after all (the fast path is stricter, e.g. about date spelling): same dtypes either way.
        return canonical(_check_table(_read_raw(file, columns), file, name, columns), name, file.suffix == ".csv")
    _warn_empty_columns(table, fields_of(name, columns), file)
    return table


def _check_table(raw: pd.DataFrame, file: Path, name: str, columns: list[str] | None = None,
                 explained: frozenset = frozenset()) -> pd.DataFrame:
    """Parse and check one raw table; ``file`` only names it in errors.

    ``explained`` columns are known to be empty (a converted source cannot give them): no warning.
    """
    # Lab dates left out: undated values, no date columns (as the fast path reads them).
    fields = [f for f in fields_of(name, columns) if f.name in raw.columns or "dates" not in f.extra]
    row_word = "line" if file.suffix == ".csv" else "row"
    missing = [f.name for f in fields if f.name not in raw.columns and not f.optional]
    if missing:
        sep_hint = ""
        if len(raw.columns) == 1 and any(c in str(raw.columns[0]) for c in ";\t|"):
            sep_hint = " The header looks delimited by ';', tab or '|': save the file with commas."
        raise ExtractError(str(file), ", ".join(missing), f"the column{'s' if len(missing) > 1 else ''} "
                           f"named in the data dictionary (data/README.md)",
                           hint=f"Columns found: {', '.join(map(str, raw.columns[:12]))}.{sep_hint}")
    absent = {f.name for f in fields if f.name not in raw.columns}
    parsed = {}
    for f in fields:
        column = raw[f.name] if f.name not in absent else pd.Series(pd.NA, index=raw.index, dtype="string")
        parsed[f.name] = _parse_column(column, f, file, row_word)
    table = pd.DataFrame(parsed, index=raw.index)
    extras = [c for c in raw.columns if c not in parsed]
    for col in extras:  # kept for protocol column rules; not part of the dictionary
        table[col] = raw[col]
    _validate(table, fields, file, name, row_word)
    _warn_empty_columns(table, [f for f in fields if f.name not in explained], file)
    for f in fields:
        if f.kind in ("category", "str"):
            # Labels repeat across millions of rows: categoricals are smaller and compare by code. Fixed-list
            # columns keep their spellings here; the vocabulary step maps them (screening.io.vocabulary).
            table[f.name] = table[f.name].astype("category")
        elif f.kind == "id" and name != "patients":
            table[f.name] = table[f.name].astype("category")  # each patient's id repeats per event
        elif f.kind == "id":
            table[f.name] = table[f.name].astype("string")  # the patients index: unique strings
    return table.reset_index(drop=True)


def _warn_empty_columns(table: pd.DataFrame, fields: list[Field], file: Path) -> None:
    """A column empty in every row is allowed (not recorded) but usually an export mistake: warn."""
    if table.empty:
        return
    empty = [f.name for f in fields if not (f.required or f.optional) and table[f.name].isna().all()]
    if empty:
        warnings.warn(ExtractWarning(f"{file}: column{'s' if len(empty) > 1 else ''} {', '.join(empty)} "
                                     "empty in every row: criteria that need them will find every patient "
                                     "not assessable. Check the export if the registry records them."),
                      stacklevel=4)


def _row_numbers(index: pd.Index, row_word: str) -> list[int]:
    # CSV line 1 is the header, so data row i (0-based) sits on line i + 2.
    offset = 2 if row_word == "line" else 1
    return [int(i) + offset for i in index]


def _fail(file: Path, f: Field, bad: pd.Series, values: pd.Series, row_word: str,
          expected: str | None = None, hint: str | None = None) -> None:
    idx = bad[bad].index
    raise ExtractError(str(file), f.name, expected or f.expected, rows=_row_numbers(idx[:5], row_word),
                       values=list(values.loc[idx[:5]]), n_rows=len(idx), hint=hint, row_word=row_word)


def _parse_column(col: pd.Series, f: Field, file: Path, row_word: str) -> pd.Series:
    """Turn a raw column into its dictionary dtype; unparsable cells are errors, blanks stay missing."""
    target = dtype_of(f)
    if f.kind == "date" and pd.api.types.is_datetime64_any_dtype(col):
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_localize(None)  # a time-zoned timestamp counts on its own local calendar date
        return col.astype("datetime64[s]")
    if f.kind in ("int", "float") and pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        out = col.astype("Float64")
        if f.kind == "int":
            bad = out.notna() & (out != out.round())
            if bad.any():
                _fail(file, f, bad.fillna(False), col, row_word)
            return out.astype("Int32")
        return out
    if f.kind == "bool" and pd.api.types.is_bool_dtype(col):
        return col.astype("boolean")
    if f.kind in ("id", "str", "category") and isinstance(col.dtype, pd.CategoricalDtype):
        # Clean the categories, not every row: blank means missing, as in a CSV; ' F' and 'F' become one.
        stripped = [str(c).strip() for c in col.cat.categories]
        kept = sorted(set(stripped) - {""})
        position = {c: i for i, c in enumerate(kept)}
        recode = np.array([position.get(c, -1) for c in stripped] + [-1])
        return pd.Series(pd.Categorical.from_codes(recode[col.cat.codes.to_numpy()], categories=kept),
                         index=col.index)
    text = col.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna()
    if f.kind in ("id", "str", "category"):
        return text
    if f.kind == "date":
        out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        bad = present & out.isna()
        if bad.any():
            _fail(file, f, bad, text, row_word, hint="Write every date as YYYY-MM-DD (e.g. 2024-03-09).")
        return out.astype("datetime64[s]")
    if f.kind in ("int", "float"):
        num = pd.to_numeric(text, errors="coerce").astype("Float64")
        bad = present & num.isna()
        if f.kind == "int":
            bad = bad | (num.notna() & (num != num.round())).fillna(False)
        if bad.any():
            _fail(file, f, bad, text, row_word)
        return num.astype(target)
    if f.kind == "bool":
        out = text.str.lower().map(_BOOL_WORDS).astype("boolean")
        bad = present & out.isna()
        if bad.any():
            _fail(file, f, bad, text, row_word)
        return out
    raise AssertionError(f"unknown field kind {f.kind}")  # pragma: no cover - schema is static


def _schema(fields: list[Field], name: str):
    import pandera.pandas as pa  # only on the slow path: importing pandera costs a third of a second

    columns = {}
    for f in fields:
        checks = []  # allowed values are the vocabulary step's to check: it knows their other spellings
        if f.min is not None or f.max is not None:
            lo = -np.inf if f.min is None else f.min
            hi = np.inf if f.max is None else f.max
            checks.append(pa.Check.in_range(lo, hi, name="range"))
        unique = name == "patients" and f.name == "patient_id"
        columns[f.name] = pa.Column(checks=checks, nullable=not f.required, unique=unique,
                                    report_duplicates="all")
    frame_checks = []
    present = {f.name for f in fields}
    for f in fields:
        other, before = (f.not_after, True) if f.not_after else (f.not_before, False)
        if other is None or other not in present:
            continue
        def order_ok(df, a=f.name, b=other, before=before):
            wrong = df[a] > df[b] if before else df[a] < df[b]
            return ~wrong.fillna(False)
        frame_checks.append(pa.Check(order_ok, name=f"{f.name}|{other}|{'after' if before else 'before'}"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False)


def _validate(table: pd.DataFrame, fields: list[Field], file: Path, name: str, row_word: str) -> None:
    """Check values with pandera; report the first failing check as one ExtractError."""
    import pandera.pandas as pa

    try:
        _schema(fields, name).validate(table, lazy=True)
        return
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    first = cases.iloc[0]
    check = str(first["check"])
    by_name = {f.name: f for f in fields}
    if first["schema_context"] == "DataFrameSchema" and "|" in check:
        col, other, how = check.split("|")
        wrong = table[col] > table[other] if how == "after" else table[col] < table[other]
        _fail(file, by_name[col], wrong.fillna(False), table[col].astype("string"), row_word,
              expected=f"a date not {how} {other} in the same row")
    col = str(first["column"])
    f = by_name[col]
    rows = cases[(cases["column"] == col) & (cases["check"] == first["check"])]
    bad = pd.Series(table.index.isin(rows["index"].dropna().astype(int)), index=table.index)
    if check == "not_nullable":
        _fail(file, f, bad, table[col].astype("string"), row_word, expected="a value in every row",
              hint="This column may not be empty.")
    if check == "field_uniqueness":
        _fail(file, f, bad, table[col], row_word, expected="each patient_id once",
              hint="Duplicate patient ids: merge or remove the repeated rows.")
    _fail(file, f, bad, table[col], row_word)


def _positions(index: pd.Index, ids: pd.Series) -> np.ndarray:
    """Position of each id in ``index`` (-1 where absent): looked up once per distinct id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def lookup(values) -> np.ndarray:  # Arrow's hash join: several times quicker than pandas' on strings
        found = pc.index_in(pa.array(values, pa.string()), value_set=pa.array(index, pa.string()))
        return pc.fill_null(found, -1).to_numpy().astype(np.int64)

    if isinstance(ids.dtype, pd.CategoricalDtype):
        per_category = np.append(lookup(ids.cat.categories), -1)  # code -1 (missing) -> -1
        return per_category[ids.cat.codes.to_numpy()]
    return lookup(ids)


def _check_references(tables: dict[str, pd.DataFrame], files: dict[str, Path]) -> dict[str, np.ndarray]:
    """Every event must belong to a patient; returns each event's patient position (a hash join, no scan).

    Each event table's ``patient_id`` leaves as a categorical over every patient's
    id in the patients table's order, one dtype shared by all tables: its codes
    are the positions, whichever way the table was read.
    """
    index = tables["patients"].index
    dtype = pd.CategoricalDtype(index)
    rows = {}
    for name, table in tables.items():
        if name == "patients":
            continue
        ids = table["patient_id"]
        if isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories.equals(index):
            # read straight into positions (the fast path and the cache): nothing to look up
            table["patient_id"] = pd.Categorical.from_codes(ids.cat.codes.to_numpy(), dtype=dtype, validate=False)
            rows[name] = table["patient_id"].cat.codes.to_numpy()
            continue
        position = _positions(index, ids)
        orphan = position < 0
        if orphan.any():
            file = files[name]
            f = next(x for x in TABLES[name] if x.name == "patient_id")
            _fail(file, f, pd.Series(orphan, index=table.index), table["patient_id"],
                  "line" if file.suffix == ".csv" else "row",
                  expected="a patient_id present in the patients table",
                  hint="Events for unknown patients: the extract is incomplete or the files are mismatched.")
        table["patient_id"] = pd.Categorical.from_codes(position, dtype=dtype, validate=False)
        rows[name] = table["patient_id"].cat.codes.to_numpy()
    return rows
