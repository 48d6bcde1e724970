"""``autoantibody_any``: any one of the listed tests positive, each within its own look-back.

Baseline is 2024-06-15, so a 6-month look-back opens 2023-12-15 (inside).
"""

from conftest import spec_tables

PATIENTS = """
    patient       | ana_titre | ana_date   | anti_dsdna_positive | anti_dsdna_date | anti_sm_positive | anti_sm_date
    SM_ONLY       | 40        | 2024-05-01 | false               | 2024-05-01      | true             | 2024-05-01
    SM_DAY_OLDER  | 40        | 2024-05-01 | false               | 2024-05-01      | true             | 2023-12-14
    SM_EDGE       | 40        | 2024-05-01 | false               | 2024-05-01      | true             | 2023-12-15
    NONE          | 40        | 2024-05-01 | false               | 2024-05-01      | false            | 2024-05-01
    SM_BLANK      | 40        | 2024-05-01 | false               | 2024-05-01      |                  | 2024-05-01
    ANA_EDGE      | 80        | 2023-12-15 | false               | 2024-05-01      | false            | 2024-05-01
    DSDNA_UNDATED | 40        | 2024-05-01 | true                |                 | false            | 2024-05-01
"""


def test_anti_sm_qualifies_beside_ana_and_anti_dsdna(engine):
    assert engine(spec_tables(PATIENTS), "autoantibody_any") == {
        "SM_ONLY": True, "SM_DAY_OLDER": False, "SM_EDGE": True, "NONE": False, "SM_BLANK": None,
        "ANA_EDGE": True, "DSDNA_UNDATED": None}


def test_each_test_has_its_own_look_back(engine):
    # anti-Sm at any time, ANA only within a month: the ANA of 2023-12-15 no longer counts.
    assert engine(spec_tables(PATIENTS), "autoantibody_any", anti_sm_months=None, ana_months=1) == {
        "SM_ONLY": True, "SM_DAY_OLDER": True, "SM_EDGE": True, "NONE": False, "SM_BLANK": None,
        "ANA_EDGE": False, "DSDNA_UNDATED": None}


def test_only_the_listed_tests_count(engine):
    assert engine(spec_tables(PATIENTS), "autoantibody_any", antibodies=["ana"], ana_min_titre=40) == {
        "SM_ONLY": True, "SM_DAY_OLDER": True, "SM_EDGE": True, "NONE": True, "SM_BLANK": True,
        "ANA_EDGE": True, "DSDNA_UNDATED": True}
    assert engine(spec_tables(PATIENTS), "autoantibody_any", antibodies=["anti_dsdna"]) == {
        "SM_ONLY": False, "SM_DAY_OLDER": False, "SM_EDGE": False, "NONE": False, "SM_BLANK": False,
        "ANA_EDGE": False, "DSDNA_UNDATED": None}


def test_a_test_the_extract_does_not_hold_is_unknown(engine):
    """No C3 column: low C3 may be true for anyone, so only another positive test settles it."""
    assert engine(spec_tables(PATIENTS), "autoantibody_any", antibodies=["anti_sm", "low_c3"], c3_below=90) == {
        "SM_ONLY": True, "SM_DAY_OLDER": None, "SM_EDGE": True, "NONE": None, "SM_BLANK": None,
        "ANA_EDGE": None, "DSDNA_UNDATED": None}


COMPLEMENT = """
    patient        | c3 | c3_date    | c4 | c4_date
    C3_LOW         | 80 | 2024-05-01 | 20 | 2024-05-01
    C3_AT_LIMIT    | 90 | 2024-05-01 | 20 | 2024-05-01
    C3_LOW_TOO_OLD | 80 | 2023-12-14 | 20 | 2024-05-01
    C3_LOW_EDGE    | 80 | 2023-12-15 | 20 | 2024-05-01
    C3_LOW_UNDATED | 80 |            | 20 | 2024-05-01
    C4_LOW         | 95 | 2024-05-01 | 9  | 2024-05-01
    C3_BLANK       |    | 2024-05-01 | 20 | 2024-05-01
    C3_BLANK_C4_LOW|    | 2024-05-01 | 9  | 2024-05-01
"""


def test_low_complement_when_the_extract_holds_c3_and_c4(engine):
    """C3 below 90 or C4 below 10 mg/dL, measured within 6 months: a level at the limit is not low."""
    assert engine(spec_tables(COMPLEMENT), "autoantibody_any", antibodies=["low_c3", "low_c4"], c3_below=90,
                  c4_below=10) == {
        "C3_LOW": True, "C3_AT_LIMIT": False, "C3_LOW_TOO_OLD": False, "C3_LOW_EDGE": True, "C3_LOW_UNDATED": None,
        "C4_LOW": True, "C3_BLANK": None, "C3_BLANK_C4_LOW": True}
    # Any time: the old low C3 counts.
    assert engine(spec_tables(COMPLEMENT), "autoantibody_any", antibodies=["low_c3"], c3_below=90,
                  complement_months=None) == {
        "C3_LOW": True, "C3_AT_LIMIT": False, "C3_LOW_TOO_OLD": True, "C3_LOW_EDGE": True, "C3_LOW_UNDATED": True,
        "C4_LOW": False, "C3_BLANK": None, "C3_BLANK_C4_LOW": None}
