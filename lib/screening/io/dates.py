"""Calendar arithmetic shared by the readers (OMOP look-back queries) and the rules (windows).

A look-back of *m* whole months is counted in calendar months, so 31 March minus one
month is 29 February in a leap year (pandas' ``DateOffset`` clips to the month's end);
a fractional month count falls back to days, a month being 365.25 / 12 days.

>>> import pandas as pd
>>> months_before(pd.Series(pd.to_datetime(["2024-03-31", "2023-03-31"])), 1).dt.date.astype(str).tolist()
['2024-02-29', '2023-02-28']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DAYS_PER_MONTH", "months_before"]

DAYS_PER_MONTH = 365.25 / 12


def months_before(dates: pd.Series, months: float) -> pd.Series:
    """Dates ``months`` calendar months earlier (fractional months fall back to days)."""
    if float(months).is_integer():
        values = dates.to_numpy()
        if values.dtype.kind != "M" or _span_days(values) > _MAX_SPAN_DAYS:  # objects, or dates millennia apart
            return dates - pd.DateOffset(months=int(months))
        return pd.Series(_calendar_months_before(values, int(months)), index=dates.index, name=dates.name)
    return dates - pd.to_timedelta(round(months * DAYS_PER_MONTH), unit="D")


#: dates further apart than this (about 2,700 years) are shifted by pandas, not through a table of every day
_MAX_SPAN_DAYS = 1_000_000


def _span_days(values: np.ndarray) -> int:
    days = values.astype("datetime64[D]").view(np.int64)
    known = days[days != np.iinfo(np.int64).min]
    return int(known.max() - known.min()) if len(known) else 0


def _calendar_months_before(values: np.ndarray, months: int) -> np.ndarray:
    """``values - DateOffset(months=months)`` in numpy: the same day of the month, clipped to the month's last day,
    at the same time of day; NaT stays NaT.

    Each calendar day from the earliest to the latest is shifted once and looked up by its number: a million
    patients' baselines span a few thousand days, and no date object is made per value.

    >>> d = np.array(["2024-03-31T06:00", "2023-03-31", "2024-01-15", "NaT"], "datetime64[s]")
    >>> _calendar_months_before(d, 1).astype(str).tolist()
    ['2024-02-29T06:00:00', '2023-02-28T00:00:00', '2023-12-15T00:00:00', 'NaT']
    """
    day = values.astype("datetime64[D]")
    known = ~np.isnat(day)
    if not known.any():
        return values.copy()
    number = day.view(np.int64)
    first, last = number[known].min(), number[known].max()
    calendar = np.arange(first, last + 1).astype("datetime64[D]")  # every day in between, once
    month = calendar.astype("datetime64[M]")
    target = month - np.timedelta64(months, "M")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    shifted = target.astype("datetime64[D]") + np.minimum(calendar - month.astype("datetime64[D]"),
                                                          length - np.timedelta64(1, "D"))
    out = shifted[np.where(known, number - first, 0)].astype(values.dtype) + (values - day)
    out[~known] = np.datetime64("NaT")
    return out
