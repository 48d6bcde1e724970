"""Load a de-identified registry extract and check it against the data dictionary.

An extract is a folder holding one file per table (``patients``, ``medications``,
``malignancies``, ``infections``, and optionally ``visits``), each as ``.csv`` or
``.parquet``. See ``data/README.md`` for every column.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ExtractError
from screening.io.checks import IN_PATIENTS, failure
from screening.io.files import read_header, read_raw, table_file
from screening.io.integrity import check_files, check_row_counts, warn_near_misses
from screening.io.schema import LAB_DATES, OPTIONAL_TABLES, TABLES, Field, dtype_of, fields_of
from screening.io.thorough import check_table, warn_empty_columns
from screening.io.vocabulary import recognise

__all__ = ["Extract", "load_extract", "extract_from_tables", "extract_hash"]


@dataclass
class Extract:
    """A loaded, checked registry extract.

    ``patients`` is indexed by ``patient_id``; event tables keep ``patient_id``
    as a column. Every missing value is ``pd.NA``/``NaT``: it means "not recorded".

    Example
    -------
    >>> ex = load_extract("data/synthetic")
    >>> ex.n_patients, ex.hash[:12]
    (5000, '3f05461c1172')
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
    #: table -> dictionary columns absent from its file, ``("*",)`` for an absent event table. An absent
    #: column is held blank in every row and read as a blank column is; the criteria that read an absent
    #: table, or a column whose blank means something (``stop_date``), are not assessable
    absent: dict = field(default_factory=dict)
    #: coded values the vocabulary does not know, read as unknown: file, column, value, rows
    unrecognised: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    #: how many months before baseline a converted source read lab values and weight (None: all of them)
    labs_read_months: float | None = field(default=None, compare=False)
    #: one row per patient-visit (:data:`~screening.io.schema.OPTIONAL_TABLES`), or None: the baseline is the
    #: only visit (:mod:`screening.engine.over_time` screens at each)
    visits: pd.DataFrame | None = field(default=None, repr=False, compare=False)

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

    @property
    def has_visits(self) -> bool:
        """Whether the extract holds a visits table (else the baseline is each patient's only visit)."""
        return self.visits is not None


def load_extract(path: str | Path, columns: dict[str, list[str]] | None = None, strict: bool = False) -> Extract:
    """Read an extract folder, parse every column strictly and check its values.

    ``columns`` (table → column names, e.g. ``protocol.columns()``) reads and
    checks only those columns: what a protocol needs from a wide extract.

    Coded values (drug names and every fixed-list column) are mapped through the vocabulary
    (:mod:`screening.io.vocabulary`): ``Female`` and ``f`` are read as ``F``. A value it does not know
    is reported and read as unknown, or with ``strict`` is an error.

    Raises :class:`~screening.errors.ExtractError` naming the file, the column,
    the first offending rows and what was expected. Values that fail the checks
    (:mod:`screening.io.checks`) are all listed, in every table: the message names
    each, and ``err.failure_cases`` is a tidy table of them. A value that is merely
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
    files = {name: table_file(folder, name, optional=name != "patients") for name in TABLES}
    present = {name: file for name, file in files.items() if file is not None}
    check_files(present)  # a CSV cut off mid-row, a Parquet column of lists: before anything reads them
    # Optional tables (visits) are read whole when present; left out, nothing changes.
    extra = {name: file for name in OPTIONAL_TABLES if (file := table_file(folder, name, optional=True)) is not None}
    check_files(extra)
    absent = {}
    for name, file in extra.items():
        _, wanted[name] = _absent_columns(file, name, None)  # a per-visit column left out is read from patients
    for name, file in present.items():
        absent[name], wanted[name] = _absent_columns(file, name, wanted[name])
    # Lab dates left out are the registry's usual "values at baseline": undated, not absent.
    absent = {name: [c for c in cols if c not in LAB_DATES.values()] for name, cols in absent.items()}
    absent = {name: cols for name, cols in absent.items() if cols}
    absent |= {name: ["*"] for name, file in files.items() if file is None}
    digest = extract_hash([*present.values(), *extra.values()])
    fmt = "parquet" if files["patients"].suffix == ".parquet" else "csv"
    key = cache.entry_key(digest, None if columns is None and not absent else
                          {name: ["*"] if cols is None else cols for name, cols in wanted.items()})
    from screening.io.columnar import patient_dtype

    entry = cache.read_entry(key, [*TABLES, *extra], fmt == "csv") if len(present) == len(files) else None
    cached = entry is not None
    failures: list[ExtractError] = []  # every failing check of every table, raised together once all are read
    if cached:  # checked when stored; only the warnings are said again
        tables, ids = entry
        for name, table in tables.items():
            warn_empty_columns(table, fields_of(name, wanted[name]), (files | extra)[name])
    else:
        tables = {"patients": _load_table(files["patients"], "patients", wanted["patients"], failures=failures)}
        ids = patient_dtype(tables["patients"])
        tables |= {name: _load_table(file, name, wanted[name], ids, failures) if file is not None
                   else _no_events(name) for name, file in (files | extra).items() if name != "patients"}
    if tables["patients"].empty:
        raise ExtractError.every([*failures, ExtractError(str(files["patients"]), None, "at least one patient row",
                                                          hint="The patients table has a header but no patients.")])
    stored = dict(tables)
    files |= extra
    check_row_counts(folder, stored, files)
    for name, cols in absent.items():  # the screening that needs them says so (it knows which criteria)
        tables[name] = _with_absent(tables[name], name, [f.name for f in TABLES[name] if f.name != "patient_id"]
                                    if cols == ["*"] else cols)
    # the vocabulary step: coded values to canonical
    tables, unrecognised = recognise(tables, files, strict, failures)
    tables["patients"] = _indexed(tables["patients"], ids)
    rows = _check_references(tables, files, failures, ids)
    _check_visits(tables, rows, files, failures)
    if failures:
        raise ExtractError.every(failures)
    if not cached and len(present) + len(extra) == len(files):
        cache.write_entry(key, stored)
    notes = {col: _absent_note(name, col) for name, cols in absent.items() for col in cols if col != "*"}
    return Extract(**tables, path=str(folder), hash=digest, format=fmt, _rows=rows, cached=cached, notes=notes,
                   absent={name: tuple(cols) for name, cols in absent.items()}, unrecognised=unrecognised)


def _absent_columns(file: Path, name: str, wanted: list[str] | None) -> tuple[list[str], list[str] | None]:
    """Dictionary columns missing from ``file``'s header, and the columns to read instead.

    A missing required column (or a repeated name) is an error; any other missing
    column is held as blank in every row, read as a blank column is.
    """
    header = read_header(file)
    if header is None or header == [""]:
        return [], wanted
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ExtractError(str(file), ", ".join(repeated), "each column name once in the header",
                           rows=[1], row_word="line" if file.suffix == ".csv" else "header",
                           hint="Which copy holds the data is ambiguous: remove or rename the repeated column"
                                f"{'s' if len(repeated) > 1 else ''}.")
    missing = [f for f in fields_of(name, wanted) if f.name not in header]
    warn_near_misses(file, header, [f.name for f in missing])
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


def _absent_note(table: str, column: str) -> str:
    """Why an absent column's values are what they are (shown in the data-quality summary)."""
    meaning = next(f.blank_means for f in TABLES[table] if f.name == column)
    if meaning:
        return f"absent from the extract (a blank would mean {meaning}): criteria that read it are not assessable"
    return "absent from the extract: read as blank (not recorded) in every row"


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
    names = [*TABLES, *(name for name in OPTIONAL_TABLES if tables.get(name) is not None)]
    files = {name: _Converted(f"{source}/{name} (converted)") for name in names}
    explained = frozenset(notes or {})
    failures: list[ExtractError] = []
    checked = {name: _converted(tables[name].reset_index(drop=True), files[name], name, explained, failures)
               for name in names}
    checked, unrecognised = recognise(checked, files)
    from screening.io.columnar import patient_dtype

    ids = patient_dtype(checked["patients"])
    checked["patients"] = _indexed(checked["patients"], ids)
    rows = _check_references(checked, files, failures, ids)
    _check_visits(checked, rows, files, failures)
    if failures:
        raise ExtractError.every(failures)
    return Extract(**checked, path=source, hash=content_hash, format="converted", _rows=rows, notes=notes or {},
                   unrecognised=unrecognised)


class _Converted(str):
    """A converted table's name in messages; a database URL's ``//`` stays (a Path would fold it to ``/``)."""

    suffix = ""

    @property
    def name(self) -> str:
        return self.rsplit("/", 1)[-1]


def _converted(table: pd.DataFrame, file: Path, name: str, explained: frozenset,
               failures: list[ExtractError]) -> pd.DataFrame:
    """A converted table: the fast columnar check, or the thorough one when that doubts anything."""
    from screening.io.columnar import Suspect, check_frame

    try:
        checked = check_frame(table, name, file, failures)
    except Suspect:
        return check_table(table, file, name, explained=explained, failures=failures)
    warn_empty_columns(checked, [f for f in fields_of(name) if f.name not in explained], file)
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


def _indexed(patients: pd.DataFrame, ids: pd.CategoricalDtype | None) -> pd.DataFrame:
    """The patients table indexed by its ids: the very index the events' categories are, when it can be."""
    held = patients["patient_id"]
    if ids is None or not (held.dtype is ids or ids.categories.equals(pd.Index(held))):
        return patients.set_index("patient_id")
    out = patients.drop(columns="patient_id")
    out.index = ids.categories
    return out


def _load_table(file: Path, name: str, columns: list[str] | None = None,
                patients: pd.CategoricalDtype | None = None, failures: list[ExtractError] | None = None
                ) -> pd.DataFrame:
    """The fast, columnar path; when it doubts anything, the thorough one, which names the problem.

    Either adds every check the table fails to ``failures`` (both give the same list).
    """
    from screening.io.columnar import Suspect, canonical, read_checked

    try:
        table = read_checked(file, name, columns, patients, failures)
    except Suspect:
        # Valid after all (the fast path is stricter, e.g. about date spelling): same dtypes either way.
        raw = read_raw(file, columns)
        return canonical(check_table(raw, file, name, columns, failures=failures), name, file.suffix == ".csv")
    warn_empty_columns(table, fields_of(name, columns), file)
    return table


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


def _check_references(tables: dict[str, pd.DataFrame], files: dict[str, Path],
                      failures: list[ExtractError], ids: pd.CategoricalDtype | None = None) -> dict[str, np.ndarray]:
    """Every event must belong to a patient; returns each event's patient position (a hash join, no scan).

    Each event table's ``patient_id`` leaves as a categorical over every patient's
    id in the patients table's order, one dtype shared by all tables: its codes
    are the positions, whichever way the table was read. Events of unknown
    patients are added to ``failures``. ``ids``: the patients' ids as the loader
    checked them (:func:`~screening.io.columnar.patient_dtype`), not checked again.
    """
    index = tables["patients"].index
    # Repeated or missing patient ids fail their own checks: events are still matched, to name every problem.
    if ids is not None and ids.categories is index:
        dtype = ids
    else:
        dtype = pd.CategoricalDtype(index) if index.is_unique and not index.hasnans else None
    rows = {}
    for name, table in tables.items():
        if name == "patients":
            continue
        ids = table["patient_id"]
        if dtype is not None and isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories.equals(index):
            # read straight into positions (the fast path and the cache): nothing to look up
            table["patient_id"] = pd.Categorical.from_codes(ids.cat.codes.to_numpy(), dtype=dtype, validate=False)
            rows[name] = table["patient_id"].cat.codes.to_numpy()
            continue
        position = _positions(index, ids)
        orphan = (position < 0) & ids.notna().to_numpy()  # a missing id is the required check's to name
        if orphan.any():
            file = files[name]
            failures.append(failure(IN_PATIENTS, file, orphan, ids, "line" if file.suffix == ".csv" else "row"))
        if dtype is None:
            continue
        table["patient_id"] = pd.Categorical.from_codes(position, dtype=dtype, validate=False)
        rows[name] = table["patient_id"].cat.codes.to_numpy()
    return rows



def _check_visits(tables: dict[str, pd.DataFrame], rows: dict[str, np.ndarray], files: dict,
                  failures: list[ExtractError]) -> None:
    """A visits table's dates against each patient's diagnosis and baseline (:mod:`screening.io.visits`)."""
    if tables.get("visits") is None or "visits" not in rows:
        return
    from screening.io.visits import visit_failures

    failures += visit_failures(tables["visits"], tables["patients"], rows["visits"], files["visits"])
