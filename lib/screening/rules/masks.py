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

__all__ = ["any_of", "baseline", "boolean", "class_in", "column_or_unknown", "events", "in_categories", "is_drug",
           "isin", "recency", "recent", "within"]


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


def class_in(meds: pd.DataFrame, classes: list[str]) -> pd.arrays.BooleanArray:
    """Row's drug class is one of ``classes``; unknown for a class the vocabulary did not know."""
    klass = meds["drug_class"]
    return pd.arrays.BooleanArray(in_categories(klass, classes), (klass.cat.codes.to_numpy() < 0) & bool(classes))
