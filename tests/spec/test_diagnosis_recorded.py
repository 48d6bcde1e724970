"""``diagnosis_recorded`` (EHR cohort entry): at least ``min_records`` SLE diagnosis records by baseline."""

from conftest import spec_tables

PATIENTS = """
    patient | sle_diagnoses
    NONE    | 0
    ONE     | 1
    TWO     | 2
    BLANK   |
"""


def test_records_counted(engine):
    assert engine(spec_tables(PATIENTS), "diagnosis_recorded") == {
        "NONE": False, "ONE": True, "TWO": True, "BLANK": None}
    assert engine(spec_tables(PATIENTS), "diagnosis_recorded", min_records=2) == {
        "NONE": False, "ONE": False, "TWO": True, "BLANK": None}


def test_a_registry_extract_without_the_column_is_not_assessable(engine):
    assert engine(spec_tables({"A": {}, "B": {}}), "diagnosis_recorded") == {"A": None, "B": None}
