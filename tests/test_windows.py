"""The interval arithmetic under the medication rules, checked day by day against a brute-force count."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.windows import covered_days, max_concurrent_per_patient

N = 4  # patients

intervals = st.lists(
    st.tuples(st.integers(0, N - 1), st.integers(-40, 40), st.integers(0, 30), st.sampled_from([0.0, 0.5, 1.25, 7.5])),
    max_size=25)


def _days(rows):
    return [(p, start, start + length, amount) for p, start, length, amount in rows]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(intervals)
def test_highest_daily_total_is_the_busiest_day(rows):
    rows = _days(rows)
    expected = np.zeros(N)
    for patient in range(N):
        for day in range(-50, 80):
            total = sum(a for p, s, e, a in rows if p == patient and s <= day <= e)
            expected[patient] = max(expected[patient], total)
    got = max_concurrent_per_patient(np.array([r[0] for r in rows], dtype=np.int32),
                                     np.array([r[1] for r in rows], dtype=np.int64),
                                     np.array([r[2] for r in rows], dtype=np.int64),
                                     np.array([r[3] for r in rows]), N)
    np.testing.assert_allclose(got, expected)


def test_back_to_back_courses_do_not_overlap():
    # 10 mg on days 0-4, then 10 mg on days 5-9: never 20 mg on one day
    got = max_concurrent_per_patient(np.array([0, 0]), np.array([0, 5]), np.array([4, 9]), np.array([10.0, 10.0]), 1)
    assert got.tolist() == [10.0]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(intervals)
def test_covered_days_counts_each_span_once(rows):
    rows = _days(rows)
    # covered_days measures an interval [start, stop] as stop - start days (the union's length)
    expected = np.zeros(N)
    for patient in range(N):
        edges = set()
        for p, s, e, _ in rows:
            if p == patient:
                edges |= {d + 0.5 for d in range(s, e)}
        expected[patient] = len(edges)
    day = np.datetime64("2024-01-01", "s")
    to_date = lambda values: pd.Series(np.array([day + np.timedelta64(v, "D") for v in values], dtype="datetime64[s]"))  # noqa: E731
    got = covered_days(np.array([r[0] for r in rows], dtype=np.int32), to_date([r[1] for r in rows]),
                       to_date([r[2] for r in rows]), N)
    np.testing.assert_allclose(got, expected)
