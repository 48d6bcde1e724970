"""``age``: age at baseline within [min_age, max_age], both ends inclusive; unknown without an age."""

from conftest import spec_tables

PATIENTS = """
    patient  | age_years
    AT_MIN   | 18
    BELOW    | 17
    AT_MAX   | 65
    ABOVE    | 66
    MISSING  |
"""


def test_both_ends_are_inclusive(engine):
    assert engine(spec_tables(PATIENTS), "age") == {
        "AT_MIN": True, "BELOW": False, "AT_MAX": True, "ABOVE": False, "MISSING": None}


def test_moved_limits(engine):
    assert engine(spec_tables(PATIENTS), "age", min_age=17.5, max_age=66) == {
        "AT_MIN": True, "BELOW": False, "AT_MAX": True, "ABOVE": True, "MISSING": None}
    assert engine(spec_tables(PATIENTS), "age", min_age=19, max_age=64) == {
        "AT_MIN": False, "BELOW": False, "AT_MAX": False, "ABOVE": False, "MISSING": None}
