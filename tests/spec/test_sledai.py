"""``sledai``: SLEDAI-2K at least ``min`` and, when given, at most ``max``."""

from conftest import spec_tables

PATIENTS = """
    patient | sledai_2k
    SIX     | 6
    FIVE    | 5
    TEN     | 10
    HIGH    | 20
    MISSING |
"""


def test_lower_limit_inclusive(engine):
    assert engine(spec_tables(PATIENTS), "sledai") == {
        "SIX": True, "FIVE": False, "TEN": True, "HIGH": True, "MISSING": None}


def test_upper_limit_inclusive(engine):
    assert engine(spec_tables(PATIENTS), "sledai", min=4, max=10) == {
        "SIX": True, "FIVE": True, "TEN": True, "HIGH": False, "MISSING": None}
