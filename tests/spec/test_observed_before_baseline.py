"""``observed_before_baseline`` (EHR cohort entry): baseline inside an observation period begun ``months`` before.

Baseline is 2024-06-15, so 12 months before is 2023-06-15 (long enough).
"""

from conftest import spec_tables

PATIENTS = """
    patient       | in_observation | observation_start
    EDGE          | true           | 2023-06-15
    DAY_SHORT     | true           | 2023-06-16
    NO_START      | true           |
    OUTSIDE       | false          | 2020-01-01
    UNKNOWN_IN    |                | 2020-01-01
"""


def test_observation_long_enough_before_baseline(engine):
    assert engine(spec_tables(PATIENTS), "observed_before_baseline") == {
        "EDGE": True, "DAY_SHORT": False, "NO_START": None, "OUTSIDE": False, "UNKNOWN_IN": None}
    assert engine(spec_tables(PATIENTS), "observed_before_baseline", months=0) == {
        "EDGE": True, "DAY_SHORT": True, "NO_START": None, "OUTSIDE": False, "UNKNOWN_IN": None}


def test_without_observation_periods_nobody_is_assessable(engine):
    assert engine(spec_tables({"A": {}, "B": {}}), "observed_before_baseline") == {"A": None, "B": None}
