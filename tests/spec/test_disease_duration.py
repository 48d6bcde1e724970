"""``disease_duration``: SLE diagnosed at least 24 weeks (168 days) before baseline.

Baseline is 2024-06-15: 168 days earlier is 2023-12-30 (inside).
"""

from conftest import spec_tables

PATIENTS = """
    patient   | sle_diagnosis_date
    EDGE      | 2023-12-30
    DAY_AFTER | 2023-12-31
    LONG_AGO  | 2010-01-01
    ON_BASE   | 2024-06-15
    BLANK     |
"""


def test_diagnosed_at_least_24_weeks_before(engine):
    assert engine(spec_tables(PATIENTS), "disease_duration") == {
        "EDGE": True, "DAY_AFTER": False, "LONG_AGO": True, "ON_BASE": False, "BLANK": None}


def test_no_minimum(engine):
    assert engine(spec_tables(PATIENTS), "disease_duration", min_weeks=0) == {
        "EDGE": True, "DAY_AFTER": True, "LONG_AGO": True, "ON_BASE": True, "BLANK": None}


def test_no_baseline(engine):
    tables = spec_tables({"NO_BASE": {"baseline_date": None, "sle_diagnosis_date": "2010-01-01"}})
    assert engine(tables, "disease_duration") == {"NO_BASE": None}
