"""``bilag_count``: at least a_min domains graded A, or b_min graded A or B; unknown only if the blanks could do it."""

from conftest import spec_tables

PATIENTS = """
    patient          | bilag_musculoskeletal | bilag_mucocutaneous | bilag_ophthalmic
    ONE_A            | A                     | D                   | D
    ONE_B            | B                     | D                   | D
    TWO_B            | B                     | B                   | D
    ONE_B_ONE_BLANK  | B                     |                     | D
    ALL_D_ONE_BLANK  | D                     |                     | D
    ALL_D            | D                     | D                   | D
"""


def test_one_a_or_two_b(engine):
    assert engine(spec_tables(PATIENTS), "bilag_count") == {
        "ONE_A": True, "ONE_B": False, "TWO_B": True, "ONE_B_ONE_BLANK": None, "ALL_D_ONE_BLANK": None,
        "ALL_D": False}


def test_stricter_counts(engine):
    assert engine(spec_tables(PATIENTS), "bilag_count", a_min=2, b_min=3) == {
        "ONE_A": False, "ONE_B": False, "TWO_B": False, "ONE_B_ONE_BLANK": False, "ALL_D_ONE_BLANK": False,
        "ALL_D": False}
