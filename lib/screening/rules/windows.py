"""Vectorised time windows over event tables, counted back from each patient's baseline.

Conventions (documented in the README and tested at the boundaries):

* a look-back window of *m* months is the closed interval
  ``[baseline - m calendar months, baseline]``: an event exactly *m* months
  before baseline is inside it;
* durations of therapy are measured in days, a month being 365.25 / 12 days;
* an event with a missing date that could fall in the window makes the answer
  unknown, unless another event already decides it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.dates import DAYS_PER_MONTH, months_before

__all__ = ["DAYS_PER_MONTH", "months_before", "any_per_patient", "overlaps", "overlap_states", "covered_days",
           "max_concurrent_per_patient", "PREDNISONE_EQUIVALENT"]

#: mg of prednisone equivalent to 1 mg of each glucocorticoid (anti-inflammatory potency).
#: Source: Liu D. et al., "A practical guide to the monitoring and management of the
#: complications of systemic corticosteroid therapy", Allergy Asthma Clin Immunol 2013;9:30, Table 1
#: (equivalent doses: prednisone 5, prednisolone 5, methylprednisolone 4, triamcinolone 4,
#: hydrocortisone 20, cortisone 25, dexamethasone 0.75, betamethasone 0.6, deflazacort 6 mg).
PREDNISONE_EQUIVALENT = {
    "prednisone": 1.0,
    "prednisolone": 1.0,
    "methylprednisolone": 5 / 4,
    "triamcinolone": 5 / 4,
    "hydrocortisone": 5 / 20,
    "cortisone": 5 / 25,
    "dexamethasone": 5 / 0.75,
    "betamethasone": 5 / 0.6,
    "deflazacort": 5 / 6,
}


def any_per_patient(n: int, rows: np.ndarray, values: pd.Series | pd.arrays.BooleanArray) -> pd.arrays.BooleanArray:
    """Three-valued "any" of event-level answers, per patient.

    True if any event of the patient is True; otherwise unknown if any is
    unknown; otherwise False (including patients with no events at all).
    """
    arr = pd.array(values, dtype="boolean")
    known = ~np.asarray(arr.isna())
    true_rows = rows[known & np.asarray(arr.fillna(False), dtype=bool)]
    unknown_rows = rows[~known]
    hit = np.zeros(n, dtype=bool)
    hit[true_rows] = True
    unsure = np.zeros(n, dtype=bool)
    unsure[unknown_rows] = True
    return pd.arrays.BooleanArray(hit, ~hit & unsure)


def overlaps(start: pd.Series, stop: pd.Series, window_start: pd.Series, window_end: pd.Series) -> pd.Series:
    """Whether [start, stop] meets [window_start, window_end]; a missing stop means ongoing.

    A missing start could lie anywhere up to stop: a known stop before the window
    settles "no", a known stop inside it settles "yes" (the course ran that day);
    otherwise the answer is unknown. Without a window (no baseline) it is unknown.
    """
    met = overlap_states(*(d.to_numpy() for d in (start, stop, window_start, window_end)))
    return pd.Series(met, index=start.index)


def overlap_states(start: np.ndarray, stop: np.ndarray, begin: np.ndarray, end: np.ndarray
                   ) -> pd.arrays.BooleanArray:
    """:func:`overlaps` on datetime64 arrays (NaT missing): numpy masks, no pandas object per step.

    >>> d = lambda *days: np.array(days, "datetime64[D]")
    >>> overlap_states(d("NaT", "NaT", 5), d(3, 12, 7), d(10, 10, 1), d(20, 20, "NaT")).tolist()
    [False, True, <NA>]
    """
    no_start = np.isnat(start)
    ran_then = no_start & (stop <= end)  # NaT compares False, as in pandas
    begins = (start <= end) | ran_then
    unsure = no_start & ~ran_then
    still_on = (stop >= begin) | np.isnat(stop)
    no_window = np.isnat(begin) | np.isnat(end)
    return pd.arrays.BooleanArray(begins & still_on & ~no_window, (unsure & still_on) | no_window)


def covered_days(rows: np.ndarray, start: pd.Series, stop: pd.Series, n: int) -> np.ndarray:
    """Days covered by the union of [start, stop] intervals, per patient (overlaps counted once).

    Intervals must be non-missing; ``rows`` gives each interval's patient position.
    """
    if len(rows) == 0:
        return np.zeros(n)
    s = start.to_numpy(dtype="datetime64[s]").astype("int64") // 86400
    e = stop.to_numpy(dtype="datetime64[s]").astype("int64") // 86400
    lo = min(s.min(), e.min())
    s, e = s - lo, e - lo  # days from the earliest: small non-negative numbers
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows << 32 | s)  # by patient, then start
    rows, s, e = rows[order], s[order], e[order]
    # Running max of earlier ends within the same patient: the part of an interval before it is
    # already covered. Lifting each patient's ends above every earlier patient's lets one running
    # max over the whole array stay within patients.
    lift = rows << 32
    reach = np.maximum.accumulate(lift + e) - lift
    prev_end = np.empty(len(rows), dtype=np.int64)
    prev_end[1:] = reach[:-1]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    prev_end[first] = -1  # nothing covered before a patient's first interval (days start at 0)
    fresh = np.clip(e - np.maximum(s, prev_end), 0, None).astype(float)
    return np.bincount(rows, weights=fresh, minlength=n)


def max_concurrent_per_patient(rows: np.ndarray, start: np.ndarray, stop: np.ndarray, amount: np.ndarray,
                               n: int) -> np.ndarray:
    """Largest total ``amount`` active on any one day, per patient.

    Intervals are whole days, closed at both ends (``start``/``stop`` as int day numbers).
    """
    if len(rows) == 0:
        return np.zeros(n)
    # Integer micro-units keep the running sum exact: a float cumsum over millions of
    # rows drifts, and a dose exactly at a threshold must stay exactly at it.
    units = np.round(np.asarray(amount, dtype=float) * 1e6).astype(np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    start, stop = np.asarray(start, dtype=np.int64), np.asarray(stop, dtype=np.int64)
    out = np.zeros(n)
    # A patient's only interval peaks at its amount: only patients with several are swept (a sort).
    alone = (np.bincount(rows, minlength=n)[rows] == 1) & (stop >= start)
    out[rows[alone]] = np.maximum(units[alone], 0) / 1e6
    if alone.all():
        return out
    rows, start, stop, units = rows[~alone], start[~alone], stop[~alone], units[~alone]
    first = min(start.min(), stop.min())
    # One int64 sort key: patient, then day, then endings (0) before beginnings (1), so back-to-back
    # segments are not counted as overlapping. Within a day the order of same-signed events cannot
    # change a day's highest total, so a sign bit is all the third key needs.
    day = np.concatenate([start, stop + 1]) - first
    if day.max() >= 1 << 31:  # pragma: no cover - 5.8 million years of days
        raise ValueError("dates too far apart to sort as one key")
    key = np.concatenate([rows, rows]) << 32 | day << 1
    key[: len(rows)] |= 1
    order = np.argsort(key)
    running = np.cumsum(np.concatenate([units, -units])[order])
    # Each patient's events sum to exactly zero, so one cumulative sum stays per patient.
    patient = key[order] >> 32
    begins = np.flatnonzero(np.diff(patient, prepend=-1))
    out[patient[begins]] = np.maximum.reduceat(running, begins) / 1e6
    return out
