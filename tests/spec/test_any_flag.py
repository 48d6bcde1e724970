"""``any_flag``: any of several true/false columns true; unknown if none is and one is blank."""

from conftest import spec_tables


def test_any_of_the_flags(engine):
    tables = spec_tables("""
        patient      | hiv_positive | hepatitis_b_positive
        ONE_TRUE     | true         | false
        NONE_TRUE    | false        | false
        BLANK_FALSE  |              | false
        BLANK_TRUE   |              | true
        FALSE_BLANK  | false        |
    """)
    assert engine(tables, "any_flag", columns=["hiv_positive", "hepatitis_b_positive"]) == {
        "ONE_TRUE": True, "NONE_TRUE": False, "BLANK_FALSE": None, "BLANK_TRUE": True, "FALSE_BLANK": None}
    assert engine(tables, "any_flag", columns=["hepatitis_b_positive"]) == {
        "ONE_TRUE": False, "NONE_TRUE": False, "BLANK_FALSE": False, "BLANK_TRUE": True, "FALSE_BLANK": None}
