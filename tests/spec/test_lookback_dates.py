"""Look-backs from month ends and leap days, pinned on every engine (ehrQL's ``test_add_months`` cases).

A look-back of m months counts calendar months and clips to the month's end: from 31 March
2024 one month back is 29 February 2024, twelve months back 31 March 2023; from 29 February
2024 one month back is 29 January, twelve months back 28 February 2023. The window is closed:
the day it opens is inside, the day before is not.
"""

import pandas as pd
import pytest

from conftest import spec_tables

#: (baseline, months) -> the first day inside the window
OPENS = {("2024-03-31", 1): "2024-02-29", ("2024-03-31", 12): "2023-03-31",
         ("2024-02-29", 1): "2024-01-29", ("2024-02-29", 12): "2023-02-28"}
DAY_BEFORE = {"2024-02-29": "2024-02-28", "2023-03-31": "2023-03-30", "2024-01-29": "2024-01-28",
              "2023-02-28": "2023-02-27"}


def _cases(months: int) -> dict[str, tuple[str, str]]:
    """Patient -> (baseline, date): one on the first day of each window, one the day before."""
    out = {}
    for (base, m), first in OPENS.items():
        if m == months:
            out[f"B{base}_IN"] = (base, first)
            out[f"B{base}_OUT"] = (base, DAY_BEFORE[first])
    return out


def _expected(cases: dict) -> dict:
    return {p: p.endswith("_IN") for p in cases}


@pytest.mark.parametrize("months", [1, 12])
def test_test_dates_inside_the_window(engine, months):
    cases = _cases(months)
    tables = spec_tables({p: {"baseline_date": base, "ana_date": date, "anti_dsdna_positive": False,
                              "anti_dsdna_date": None, "anti_sm_date": None} for p, (base, date) in cases.items()})
    assert engine(tables, "autoantibody", months=months) == _expected(cases)


@pytest.mark.parametrize("months", [1, 12])
def test_drug_stopped_on_the_day_the_window_opens(engine, months):
    cases = _cases(months)
    tables = spec_tables({p: {"baseline_date": base, "ana_date": None, "anti_dsdna_date": None,
                              "anti_sm_date": None} for p, (base, _) in cases.items()},
                         [(p, "belimumab", "biologic", "2020-01-01", date, 600.0) for p, (_, date) in cases.items()])
    assert engine(tables, "drug_exposure", drugs=["belimumab"], months=months) == _expected(cases)


@pytest.mark.parametrize("months", [1, 12])
def test_immunosuppressant_started_on_the_day_the_window_opens(engine, months):
    cases = _cases(months)
    tables = spec_tables({p: {"baseline_date": base, "ana_date": None, "anti_dsdna_date": None,
                              "anti_sm_date": None} for p, (base, _) in cases.items()},
                         [(p, "azathioprine", "immunosuppressant", date, None, 100.0)
                          for p, (_, date) in cases.items()])
    assert engine(tables, "regimen_change", months=months) == _expected(cases)


def test_malignancy_one_year_back(engine):
    cases = _cases(12)
    tables = spec_tables({p: {"baseline_date": base, "ana_date": None, "anti_dsdna_date": None,
                              "anti_sm_date": None} for p, (base, _) in cases.items()},
                         malignancies=[(p, "breast", date) for p, (_, date) in cases.items()])
    assert engine(tables, "malignancy", lookback_years=1) == _expected(cases)


@pytest.mark.parametrize("months", [1, 12])
def test_lab_value_dated_the_day_the_window_opens_is_recent(engine, months):
    cases = _cases(months)
    tables = spec_tables({p: {"baseline_date": base, "egfr": 20.0, "egfr_date": date, "ana_date": None,
                              "anti_dsdna_date": None, "anti_sm_date": None} for p, (base, date) in cases.items()})
    expected = {p: True if inside else None for p, inside in _expected(cases).items()}
    assert engine(tables, "lab_value", column="egfr", op="<", value=30, within_months=months) == expected


@pytest.mark.parametrize("months", [1, 12])
def test_observation_begun_the_day_the_window_opens(engine, months):
    """Begun on the day the window opens is long enough; begun the day after is not."""
    cases = _cases(months)
    day_after = {p: (base, (pd.Timestamp(date) + pd.Timedelta(days=2)).strftime("%Y-%m-%d"))
                 for p, (base, date) in cases.items() if p.endswith("_OUT")}  # the day before, plus two
    starts = {**cases, **day_after}
    tables = spec_tables({p: {"baseline_date": base, "in_observation": True, "observation_start": date,
                              "ana_date": None, "anti_dsdna_date": None, "anti_sm_date": None}
                          for p, (base, date) in starts.items()})
    assert engine(tables, "observed_before_baseline", months=months) == _expected(cases)


def test_windows_years_apart_and_no_window(engine):
    """Each patient's own window counts, however far apart the baselines; without a baseline, no window."""
    undated = {"ana_date": None, "anti_dsdna_date": None, "anti_sm_date": None}
    tables = spec_tables({"EARLY": {"baseline_date": "2015-06-15", **undated}, "LATE": undated,
                          "NO_BASELINE": {"baseline_date": None, **undated}},
                         [(p, drug, klass, "2015-05-01", "2015-05-01", dose) for p in ("EARLY", "LATE", "NO_BASELINE")
                          for drug, klass, dose in (("belimumab", "biologic", 600.0),
                                                    ("azathioprine", "immunosuppressant", 100.0),
                                                    ("prednisone", "glucocorticoid", 60.0))])
    expected = {"EARLY": True, "LATE": False, "NO_BASELINE": None}
    assert engine(tables, "drug_exposure", drugs=["belimumab"], months=2) == expected
    assert engine(tables, "regimen_change", months=2) == expected
    assert engine(tables, "glucocorticoid_dose", months=2, weight_months=None) == expected
