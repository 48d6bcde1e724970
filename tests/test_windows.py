"""The interval arithmetic under the medication rules, checked day by day against a brute-force count."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.rules.windows import covered_days, max_concurrent_per_patient

N = 4  # patients

intervals = st.lists(
    st.tuples(st.integers(0, N - 1), st.integers(-40, 40), st.integers(0, 30), st.sampled_from([0.0, 0.5, 1.25, 7.5])),
    max_size=25)


def _days(rows):
    return [(p, start, start + length, amount) for p, start, length, amount in rows]


def _columns(rows):
    """Patient positions, first days, last days and amounts as arrays."""
    return (np.array([r[i] for r in rows], dtype=kind) for i, kind in enumerate((np.int32, np.int64, np.int64, float)))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(intervals)
def test_highest_daily_total_is_the_busiest_day(rows):
    rows = _days(rows)
    expected = [max(sum(a for p, s, e, a in rows if p == patient and s <= day <= e) for day in range(-50, 80))
                for patient in range(N)]
    np.testing.assert_allclose(max_concurrent_per_patient(*_columns(rows), N), expected)


def test_back_to_back_courses_do_not_overlap():
    # 10 mg on days 0-4, then 10 mg on days 5-9: never 20 mg on one day
    got = max_concurrent_per_patient(np.array([0, 0]), np.array([0, 5]), np.array([4, 9]), np.array([10.0, 10.0]), 1)
    assert got.tolist() == [10.0]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(intervals)
def test_covered_days_counts_each_span_once(rows):
    rows = _days(rows)
    # covered_days measures an interval [start, stop] as stop - start days: the union's length
    expected = [len({d for p, s, e, _ in rows if p == patient for d in range(s, e)}) for patient in range(N)]
    patient, first, last, _ = _columns(rows)
    day = np.datetime64("2024-01-01", "s")
    got = covered_days(patient, pd.Series(day + first.astype("timedelta64[D]")),
                       pd.Series(day + last.astype("timedelta64[D]")), N)
    np.testing.assert_allclose(got, expected)
