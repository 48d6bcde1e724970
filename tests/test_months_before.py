"""months_before shifts each distinct date once and gives what DateOffset gives date by date (issue 24)."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.io.dates import months_before

dates = st.lists(st.one_of(st.none(), st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                                                max_value=pd.Timestamp("2030-12-31").date())), max_size=30)


@settings(max_examples=25, deadline=None)
@given(dates, st.integers(0, 40))
def test_same_as_shifting_each_date(values, months):
    series = pd.Series(pd.to_datetime(values).as_unit("s"), index=range(100, 100 + len(values)), name="baseline")
    expected = series - pd.DateOffset(months=months)
    pd.testing.assert_series_equal(months_before(series, months), expected)


def test_month_end_and_missing_by_hand():
    series = pd.Series(pd.to_datetime(["2024-03-31", None, "2024-03-31", "2023-03-31"]))
    assert months_before(series, 1).dt.strftime("%Y-%m-%d").fillna("-").tolist() == ["2024-02-29", "-", "2024-02-29",
                                                                                      "2023-02-28"]
