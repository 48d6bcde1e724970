"""Three-valued building blocks of the rules' row-wise (naive) forms: plain Python, one patient at a time.

``None`` is unknown. A row-wise form receives a :class:`Patient`: the patient's row (read
with ``patient["age_years"]``) and their own event rows (``patient.medications`` ...).

>>> and_(True, None), or_(True, None), not_(None), cmp(3, ">=", None)
(None, True, None, None)
>>> import pandas as pd
>>> months_before(pd.Timestamp("2024-03-31"), 1).date(), months_before(pd.Timestamp("2024-02-29"), 12).date()
(datetime.date(2024, 2, 29), datetime.date(2023, 2, 28))
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import pandas as pd

from screening.io.dates import DAYS_PER_MONTH
from screening.io.schema import LAB_DATES
from screening.io.vocabulary import classes_of

__all__ = ["EARLY", "LATE", "OPS", "Patient", "and_", "any_", "class_in", "cmp", "days_before", "flag", "is_drug",
           "months_before", "na", "not_", "or_", "overlaps", "recent", "within"]

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
       "!=": operator.ne}
#: stand-ins for "as early / as late as it could be" when a date is missing
EARLY, LATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2999-12-31")


@dataclass
class Patient:
    """One patient as a row-wise form sees them: their row, and their rows of each event table."""

    row: pd.Series
    medications: pd.DataFrame
    malignancies: pd.DataFrame
    infections: pd.DataFrame

    def __getitem__(self, column: str):
        return self.row[column]

    def get(self, column: str, default=None):
        return self.row.get(column, default)

    def has(self, column: str) -> bool:
        """Whether the extract holds ``column`` at all (EHR-only columns may be absent)."""
        return column in self.row.index


def na(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def flag(v) -> bool | None:
    """A recorded true/false value, None when missing."""
    return None if na(v) else bool(v)


def and_(*xs):
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def or_(*xs):
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def not_(x):
    return None if x is None else not x


def any_(values):
    return or_(*list(values))


def cmp(a, op, b):
    return None if na(a) or na(b) else bool(OPS[op](a, b))


def months_before(date, months):
    """The row-wise look-back: ``months`` calendar months earlier (fractional months fall back to days)."""
    if float(months).is_integer():
        return date - pd.DateOffset(months=int(months))
    return date - pd.Timedelta(days=round(months * DAYS_PER_MONTH))


def days_before(date, days: int):
    return date - pd.Timedelta(days=days)


def within(date, base, months):
    if na(date) or na(base):
        return None
    return months_before(base, months) <= date <= base


def recent(patient: Patient, column: str, months):
    """The patient's value, or None when it is dated more than ``months`` before baseline."""
    date = patient.get(LAB_DATES.get(column))
    if months is None or na(date) or na(patient["baseline_date"]):
        return patient[column]
    return None if date < months_before(patient["baseline_date"], months) else patient[column]


def overlaps(start, stop, begin, end):
    """[start, stop] meets [begin, end]; a missing start lies on or before stop, a missing stop is ongoing."""
    if na(begin) or na(end):
        return None
    if na(start):  # it began on or before its stop
        if na(stop) or stop > end:
            return None
        return stop >= begin
    return start <= end and (na(stop) or stop >= begin)


def is_drug(m, drugs):
    """None for a drug name the vocabulary did not know, if its class (or an unknown one) may hold one of ``drugs``."""
    if na(m["drug"]):
        holds = classes_of(drugs)
        return None if holds and (na(m["drug_class"]) or m["drug_class"] in holds) else False
    return m["drug"] in drugs


def class_in(m, classes):
    """None for a drug class the vocabulary did not know (when any class is asked for)."""
    if na(m["drug_class"]):
        return None if classes else False
    return m["drug_class"] in classes
