"""``autoantibody``: ANA at least 1:80 or anti-dsDNA positive, tested within 6 months before baseline.

Baseline is 2024-06-15, so the window opens 2023-12-15 (inside). Month-end baselines: test_lookback_dates.py.
"""

from conftest import spec_tables

PATIENTS = """
    patient        | ana_titre | ana_date   | anti_dsdna_positive | anti_dsdna_date
    ANA_EDGE       | 80        | 2023-12-15 | false               | 2024-05-01
    ANA_DAY_OLDER  | 160       | 2023-12-14 | false               | 2024-05-01
    ANA_LOW        | 40        | 2024-05-01 | false               | 2024-05-01
    DSDNA_ON_BASE  | 40        | 2024-05-01 | true                | 2024-06-15
    ANA_UNDATED    | 160       |            | false               | 2024-05-01
    DSDNA_UNKNOWN  | 40        | 2024-05-01 |                     | 2024-05-01
    OLD_BUT_DSDNA  | 160       | 2020-01-01 | true                | 2024-05-01
"""


def test_positive_test_within_the_window(engine):
    assert engine(spec_tables(PATIENTS), "autoantibody") == {
        "ANA_EDGE": True, "ANA_DAY_OLDER": False, "ANA_LOW": False, "DSDNA_ON_BASE": True, "ANA_UNDATED": None,
        "DSDNA_UNKNOWN": None, "OLD_BUT_DSDNA": True}


def test_a_higher_titre_and_a_longer_window(engine):
    assert engine(spec_tables(PATIENTS), "autoantibody", ana_min_titre=160, months=60) == {
        "ANA_EDGE": False, "ANA_DAY_OLDER": True, "ANA_LOW": False, "DSDNA_ON_BASE": True, "ANA_UNDATED": None,
        "DSDNA_UNKNOWN": None, "OLD_BUT_DSDNA": True}
