"""The loader's checks, declared once and run by both of its readers.

A :class:`Check` holds what it tests (``name``), on which ``column``, the facts
it tests with (``statistics``: a range's ends, the other date of the row) and
what a valid value is (``error``, said as "expected ..."). :func:`checks_of`
declares every check of a table from the data dictionary
(:mod:`screening.io.schema`), in the order a failed load lists them.

Each check is implemented for both readers from that one declaration:
:data:`FAST` on the fast path's Arrow columns (:mod:`screening.io.columnar`),
:data:`THOROUGH` on the thorough path's pandas columns
(:mod:`screening.io.thorough`). Both give the failing rows, and :func:`failure`
turns them into the :class:`~screening.errors.ExtractError` the user reads, so
either reader lists the same problems. Two checks are the readers' own work:
``format`` is parsing (the fast path only doubts, raising :class:`Suspect`; the
thorough one names the cells), and ``in_patients`` is the join of an event
table to the patients table (:func:`screening.io.extract.load_extract`).
Allowed values are the vocabulary step's (:mod:`screening.io.vocabulary`),
which knows their other spellings and runs after either reader; under
``strict`` its failures (check ``allowed``) join the same list.

Example
-------
>>> from screening.io.schema import TABLES
>>> checks = checks_of(TABLES["medications"], "medications")
>>> [(c.name, c.column) for c in checks]  # doctest: +NORMALIZE_WHITESPACE
[('format', 'start_date'), ('format', 'stop_date'), ('format', 'dose'), ('not_before', 'stop_date'),
 ('required', 'patient_id'), ('required', 'drug'), ('required', 'drug_class'), ('in_range', 'dose')]
>>> checks[3].statistics, checks[-1].statistics, checks[-1].error
({'other': 'start_date'}, {'min': 0, 'max': 100000}, 'a number from 0 to 100000')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.errors import ROWS_SHOWN, ExtractError
from screening.io.schema import Field

__all__ = ["Check", "FAST", "IN_PATIENTS", "KINDS", "THOROUGH", "Suspect", "checks_of", "failing", "failure",
           "row_numbers", "shown"]

#: Every kind of check, in the order a failed load lists a table's failures (the thorough reader has always
#: named a cell that does not parse first, then a row's dates out of order, then each column's values).
KINDS = ("format", "not_after", "not_before", "required", "unique", "in_range", "in_patients")


class Suspect(Exception):
    """The fast path met something it does not accept: the slow path will find and name it."""


@dataclass(frozen=True)
class Check:
    """One declared check of a loaded table: what it tests, with which facts, and what to say when it fails."""

    #: the kind of check, one of :data:`KINDS`
    name: str
    column: str
    #: what a valid value is, as the error says it ("expected ...")
    error: str
    #: the facts it tests with: ``min``/``max`` of a range, the ``other`` column of a row's order
    statistics: dict = field(default_factory=dict, hash=False)
    hint: str | None = None
    #: the error's example values: ``"parsed"`` as loaded, or ``"text"`` (a date as YYYY-MM-DD)
    shown: str = "text"

    @property
    def across(self) -> bool:
        """Whether it compares two columns of a row (run on the finished table, not column by column)."""
        return "other" in self.statistics

    @property
    def by_reader(self) -> bool:
        """Whether the readers check it themselves: parsing (``format``), the join to patients (``in_patients``)."""
        return self.name in ("format", "in_patients")


#: An event whose patient is not in the patients table (checked across tables, after both are read).
IN_PATIENTS = Check("in_patients", "patient_id", "a patient_id present in the patients table", shown="parsed",
                    hint="Events for unknown patients: the extract is incomplete or the files are mismatched.")


def checks_of(fields: list[Field], table: str) -> list[Check]:
    """Every check of ``table``'s ``fields`` (those read), in the order a failed load lists them."""
    present = {f.name for f in fields}
    checks = [Check("format", f.name, f.expected, {"kind": f.kind},
                    hint="Write every date as YYYY-MM-DD (e.g. 2024-03-09)." if f.kind == "date" else None)
              for f in fields if f.kind in ("int", "float", "bool", "date")]
    for f in fields:
        other, how = (f.not_after, "after") if f.not_after else (f.not_before, "before")
        if other is not None and other in present:
            checks.append(Check(f"not_{how}", f.name, f"a date not {how} {other} in the same row", {"other": other}))
    for f in fields:
        if f.required:
            checks.append(Check("required", f.name, "a value in every row", hint="This column may not be empty."))
        if table == "patients" and f.kind == "id":
            checks.append(Check("unique", f.name, "each patient_id once", shown="parsed",
                                hint="Duplicate patient ids: merge or remove the repeated rows."))
        if f.min is not None or f.max is not None:
            checks.append(Check("in_range", f.name, f.expected, {"min": f.min, "max": f.max}, shown="parsed"))
    return checks


def _bounds(check: Check) -> tuple[float, float]:
    lo, hi = check.statistics["min"], check.statistics["max"]
    return -np.inf if lo is None else lo, np.inf if hi is None else hi


# --- the fast path: Arrow columns ------------------------------------------------------------------
# Each takes the column as the fast path holds it (an Arrow array as parsed; a label or patient column as
# its finished categorical), or the finished frame for a check across columns, and gives None when no row
# fails (a cheap test first: the fast path runs these on every load) or else the failing rows.

#: check kind -> its fast-path implementation
FAST: dict[str, Callable[[Check, object], np.ndarray | None]] = {}
#: check kind -> its thorough-path implementation: the failing rows of a pandas frame
THOROUGH: dict[str, Callable[[Check, pd.DataFrame], np.ndarray]] = {}


def _on(registry: dict, *names: str):
    def register(fn):
        for name in names:
            registry[name] = fn
        return fn
    return register


def _rows(mask) -> np.ndarray:
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks() if mask.num_chunks else pa.array([], pa.bool_())
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


@_on(FAST, "required")
def _fast_required(check: Check, held) -> np.ndarray | None:
    if isinstance(held, pd.Series):  # a categorical: code -1 is missing
        missing = held.cat.codes.to_numpy() < 0
        return missing if missing.any() else None
    return _rows(held.is_null()) if held.null_count else None


@_on(FAST, "unique")
def _fast_unique(check: Check, held) -> np.ndarray | None:
    if isinstance(held, pd.Series):  # a categorical: its categories are distinct, so only a repeated code repeats
        codes = held.cat.codes.to_numpy()
        times = np.bincount(codes[codes >= 0], minlength=len(held.cat.categories))
        return None if times.max(initial=0) < 2 else (codes >= 0) & (times[np.maximum(codes, 0)] > 1)
    if len(pc.unique(held)) == len(held):
        return None
    ids = pd.Series(held.to_pandas() if isinstance(held, (pa.Array, pa.ChunkedArray)) else held)
    return (ids.notna() & ids.duplicated(keep=False)).to_numpy()


@_on(FAST, "in_range")
def _fast_in_range(check: Check, held) -> np.ndarray | None:
    lo, hi = _bounds(check)
    outside = pc.or_(pc.less(held, lo), pc.greater(held, hi))
    return _rows(outside) if pc.any(outside).as_py() else None


@_on(FAST, "not_after", "not_before")
def _fast_order(check: Check, frame: pd.DataFrame) -> np.ndarray | None:
    a, b = frame[check.column].to_numpy(), frame[check.statistics["other"]].to_numpy()  # NaT compares false
    wrong = a > b if check.name == "not_after" else a < b
    return wrong if wrong.any() else None


# --- the thorough path: pandas columns -------------------------------------------------------------

@_on(THOROUGH, "required")
def _thorough_required(check: Check, frame: pd.DataFrame) -> np.ndarray:
    return frame[check.column].isna().to_numpy()


@_on(THOROUGH, "unique")
def _thorough_unique(check: Check, frame: pd.DataFrame) -> np.ndarray:
    ids = frame[check.column]
    return (ids.notna() & ids.duplicated(keep=False)).to_numpy()


@_on(THOROUGH, "in_range")
def _thorough_in_range(check: Check, frame: pd.DataFrame) -> np.ndarray:
    lo, hi = _bounds(check)
    values = frame[check.column]
    return ((values < lo) | (values > hi)).fillna(False).to_numpy(dtype=bool)


@_on(THOROUGH, "not_after", "not_before")
def _thorough_order(check: Check, frame: pd.DataFrame) -> np.ndarray:
    a, b = frame[check.column], frame[check.statistics["other"]]
    return (a > b if check.name == "not_after" else a < b).fillna(False).to_numpy(dtype=bool)


# --- failures as the user reads them ---------------------------------------------------------------

def failing(checks: list[Check], held, registry: dict = FAST) -> list[tuple[Check, np.ndarray]]:
    """The checks (run from ``registry``) that some row fails, each with its failing rows."""
    found = []
    for check in checks:
        rows = registry[check.name](check, held)
        if rows is not None and rows.any():
            found.append((check, rows))
    return found


def row_numbers(positions, row_word: str) -> list[int]:
    """Rows as the user finds them: CSV line 1 is the header, so data row i (0-based) sits on line i + 2."""
    offset = 2 if row_word == "line" else 1
    return [int(i) + offset for i in positions]


def failure(check: Check, file: Path, rows: np.ndarray, values: pd.Series, row_word: str) -> ExtractError:
    """One failing check as an error naming the file, the column, the first failing rows and their values.

    ``values`` are the column as the check shows it (see :attr:`Check.shown`).
    """
    at = np.flatnonzero(rows)
    return ExtractError(str(file), check.column, check.error, rows=row_numbers(at[:ROWS_SHOWN], row_word),
                        values=list(values.iloc[at[:ROWS_SHOWN]]), n_rows=len(at), hint=check.hint,
                        row_word=row_word, check=check.name)


def shown(check: Check, frame: pd.DataFrame) -> pd.Series:
    """A column's values as an error about ``check`` shows them."""
    values = frame[check.column]
    return values if check.shown == "parsed" else values.astype("string")
