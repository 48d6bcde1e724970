"""Three-valued building blocks of the rules' pandas forms: nullable-boolean masks over patients and events.

``True`` / ``False`` / ``<NA>`` follow Kleene's logic (pandas' ``BooleanArray``), as SQL's NULL
does in the SQL forms and ``None`` in the row-wise ones.

>>> import pandas as pd
>>> any_of([boolean(pd.Series([True, False, None])), boolean(pd.Series([False, False, False]))], 3).tolist()
[True, False, <NA>]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.dates import months_before
from screening.io.extract import Extract
from screening.io.schema import LAB_DATES
from screening.io.vocabulary import classes_of
from screening.rules.registry import Param

__all__ = ["any_of", "baseline", "boolean", "class_in", "column_or_unknown", "drug_pairs", "events", "gather",
           "in_categories", "is_drug", "isin", "lookback", "near_rows", "per_drug", "recency", "recent", "window_rows",
           "within"]


def boolean(series) -> pd.arrays.BooleanArray:
    """Any boolean-like values as a nullable boolean array."""
    return pd.array(series, dtype="boolean")


def isin(col: pd.Series, values) -> pd.arrays.BooleanArray:
    """Three-valued ``col in values``: unknown where the value is missing. Fast on categoricals."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        return pd.arrays.BooleanArray(in_categories(col, values), codes < 0)
    return boolean(col.isin(list(values)).where(col.notna()))


def in_categories(col: pd.Series, values) -> np.ndarray:
    """Two-valued ``col in values`` for a categorical (missing is False): one lookup per category, one gather."""
    hit = np.append(col.cat.categories.isin(list(values)), False)  # code -1 (missing) reads the last entry
    return hit[col.cat.codes.to_numpy()]


def any_of(results: list[pd.arrays.BooleanArray], n: int) -> pd.arrays.BooleanArray:
    """Three-valued "any" across several conditions of the same patients."""
    hit = np.zeros(n, dtype=bool)
    unsure = np.zeros(n, dtype=bool)
    for r in results:
        hit |= np.asarray(r.fillna(False), dtype=bool)
        unsure |= np.asarray(r.isna())
    return pd.arrays.BooleanArray(hit, ~hit & unsure)


def baseline(ex: Extract) -> pd.Series:
    return ex.patients["baseline_date"]


def within(dates: pd.Series, ex: Extract, months: float) -> pd.Series:
    """Date falls in [baseline - months, baseline]; unknown if either date is missing."""
    base = baseline(ex)
    out = boolean((dates >= months_before(base, months)) & (dates <= base))
    out[(dates.isna() | base.isna()).to_numpy()] = pd.NA
    return out


def recent(ex: Extract, column: str, months: float | None) -> pd.Series:
    """``column``'s values, unknown where the extract dates them more than ``months`` before baseline.

    A lab value or weight is only used when recent enough: an EHR holds a weight from 2001 for a
    2024 baseline. A value without a date (a registry's baseline value) and ``months=None`` (no
    limit) are used as they are.
    """
    values = ex.patients[column]
    dated = LAB_DATES.get(column)
    if months is None or dated not in ex.patients.columns:
        return values
    stale = (ex.patients[dated] < months_before(baseline(ex), months)).fillna(False)
    return values.mask(stale.to_numpy(dtype=bool)) if stale.any() else values


def recency(meaning: str) -> Param:
    """The parameter limiting how old a lab value or weight may be (its name ends ``_months``)."""
    return Param(12, f"how recent {meaning} must be: one dated more than this many months before baseline is "
                 "unknown (none: no limit; an undated value is used)", "months", kind="number or none")


def events(ex: Extract, table: str, mask: pd.Series | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Event rows (optionally filtered) and each row's patient position."""
    rows_of = ex.table(table)
    rows = ex.patient_rows(table)
    if mask is not None:
        keep = np.asarray(mask, dtype=bool)
        rows_of, rows = rows_of[keep], rows[keep]
    return rows_of, rows


def lookback(ex: Extract, months: float, among: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The medication rows (of those ``among``, a boolean mask) whose [start_date, stop_date] may meet their
    patient's look-back window [baseline - ``months``, baseline]: :func:`window_rows` of that window, shifted
    once per patient.
    """
    base = baseline(ex)
    return window_rows(ex, months_before(base, months).to_numpy(), base.to_numpy(), among)


def window_rows(ex: Extract, first: np.ndarray, last: np.ndarray, among: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The medication rows (of those ``among``, a boolean mask) whose [start_date, stop_date] may meet their
    patient's window [``first``, ``last``] (datetime64 per patient, NaT: no window): their positions, their
    patients' positions and each one's window.

    A row left out surely misses its window (a known stop before it, or a known start after it): a rule
    reading the window finds it False. The rows are narrowed first by the earliest and latest window of
    all, with no per-row gather (gathering a window onto ten million rows in no patient order costs more
    than the rule), then exactly on the rows left.
    """
    meds = ex.medications
    start, stop = meds["start_date"].to_numpy(), meds["stop_date"].to_numpy()
    of = ex.patient_rows("medications")
    may = np.ones(len(meds), dtype=bool) if among is None else np.array(among, dtype=bool)
    dated = ~np.isnat(last)
    if dated.any() and start.dtype == stop.dtype == last.dtype:  # as loaded: one unit (else all are gathered)
        _within_bounds(start, stop, first[dated].min(), last[dated].max(), may, None if dated.all() else ~dated[of])
    return near_rows(ex, np.flatnonzero(may), first, last)


def near_rows(ex: Extract, at: np.ndarray, first: np.ndarray, last: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`window_rows` among the medication rows at positions ``at``, each compared with its window."""
    meds = ex.medications
    rows = ex.patient_rows("medications")[at]
    begin, end = first[rows], last[rows]
    start, stop = meds["start_date"].to_numpy()[at], meds["stop_date"].to_numpy()[at]
    near = np.flatnonzero((np.isnat(stop) | np.isnat(begin) | (stop >= begin))
                          & (np.isnat(start) | np.isnat(end) | (start <= end)))
    return at[near], rows[near], begin[near], end[near]


def _within_bounds(start: np.ndarray, stop: np.ndarray, lo: np.datetime64, hi: np.datetime64, may: np.ndarray,
                   undated: np.ndarray | None) -> None:
    """Clear ``may`` where [start, stop] surely misses [lo, hi] (rows of ``undated`` patients stay).

    Ten million rows in blocks that stay in the cache, dates as integers of one unit: NaT is the
    smallest, so a missing start is never after ``hi`` and a missing stop is tested apart.
    """
    first, last, nat = start.view(np.int64), stop.view(np.int64), np.iinfo(np.int64).min
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    for at in range(0, len(may), 1 << 16):
        block = slice(at, at + (1 << 16))
        gone = (first[block] > hi) | ((last[block] < lo) & (last[block] != nat))
        if undated is not None:
            gone &= ~undated[block]
        may[block] &= ~gone


def column_or_unknown(ex: Extract, name: str) -> pd.Series:
    """A patients column, or unknown for everyone when the extract does not hold it."""
    p = ex.patients
    return p[name] if name in p.columns else pd.Series(pd.NA, index=p.index, dtype="object")


def is_drug(meds: pd.DataFrame, drugs: list[str]) -> pd.arrays.BooleanArray:
    """Row's drug is one of ``drugs``; for a name the vocabulary did not know, unknown if its class holds one.

    A row whose class is unknown too (the vocabulary knew neither) may be any drug.
    """
    drug, klass = meds["drug"], meds["drug_class"]  # both categoricals, whichever way the extract was read
    holds = classes_of(drugs)
    unnamed = (drug.cat.codes.to_numpy() < 0) & (in_categories(klass, holds) | (klass.cat.codes.to_numpy() < 0)) \
        if holds else np.zeros(len(meds), dtype=bool)
    return pd.arrays.BooleanArray(in_categories(drug, drugs), unnamed)


def per_drug(meds: pd.DataFrame, condition) -> pd.arrays.BooleanArray:
    """``condition(frame)``, a three-valued mask read from the ``drug`` and ``drug_class`` columns alone, for
    every row of ``meds``: evaluated once per (drug, class) pair and gathered, one pass over the rows.

    >>> from screening import load_extract
    >>> meds = load_extract("data/synthetic").medications
    >>> mask = lambda m: is_drug(m, ["belimumab"]) | class_in(m, ["antimalarial"])
    >>> per_drug(meds, mask).equals(mask(meds))
    True
    """
    grid, code = drug_pairs(meds)
    return gather(condition(grid), code)


def drug_pairs(meds: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Every (drug, drug_class) pair the categories allow, as a frame, and each row's pair: its position there.

    A rule reading drug and class alone answers on the pairs (a few hundred) and :func:`gather` s the
    answer onto the rows.
    """
    drug, klass = meds["drug"], meds["drug_class"]
    kinds = len(klass.cat.categories) + 1  # code -1 (missing) is pair code 0
    pairs = np.arange((len(drug.cat.categories) + 1) * kinds)
    grid = pd.DataFrame({"drug": pd.Categorical.from_codes(pairs // kinds - 1, dtype=drug.dtype),
                         "drug_class": pd.Categorical.from_codes(pairs % kinds - 1, dtype=klass.dtype)})
    code = drug.cat.codes.to_numpy().astype(np.int32 if len(pairs) >= 1 << 15 else np.int16)
    code += 1
    code *= kinds
    code += klass.cat.codes.to_numpy()
    code += 1
    return grid, code


def gather(answer, code: np.ndarray) -> pd.arrays.BooleanArray:
    """A three-valued answer per (drug, class) pair (:func:`drug_pairs`) onto the rows of pair ``code``."""
    answer = pd.array(answer, dtype="boolean")
    sure, unknown = answer.to_numpy(dtype=bool, na_value=False), np.asarray(answer.isna())
    return pd.arrays.BooleanArray(sure[code], unknown[code])


def class_in(meds: pd.DataFrame, classes: list[str]) -> pd.arrays.BooleanArray:
    """Row's drug class is one of ``classes``; unknown for a class the vocabulary did not know."""
    klass = meds["drug_class"]
    return pd.arrays.BooleanArray(in_categories(klass, classes), (klass.cat.codes.to_numpy() < 0) & bool(classes))
