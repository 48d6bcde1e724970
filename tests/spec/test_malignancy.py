"""``malignancy``: a malignancy within 5 years before baseline, bar the excepted skin and in-situ types.

Baseline is 2024-06-15, so five years back is 2019-06-15 (inside).
"""

from conftest import spec_tables

ZZ = "Zz-unknown"


def test_five_year_look_back_and_excepted_types(engine):
    tables = spec_tables({p: {} for p in ("EDGE", "DAY_OLDER", "BCC", "UNDATED", "NONE")}, malignancies="""
        patient   | malignancy_type | diagnosis_date
        EDGE      | breast          | 2019-06-15
        DAY_OLDER | breast          | 2019-06-14
        BCC       | basal_cell_skin | 2024-01-01
        UNDATED   | breast          |
    """)
    assert engine(tables, "malignancy") == {
        "EDGE": True, "DAY_OLDER": False, "BCC": False, "UNDATED": None, "NONE": False}
    assert engine(tables, "malignancy", lookback_years=1, excepted=[]) == {
        "EDGE": False, "DAY_OLDER": False, "BCC": True, "UNDATED": None, "NONE": False}


def test_malignancy_of_unknown_type(engine):
    """An unknown type might be an excepted skin cancer."""
    tables = spec_tables({p: {} for p in ("BREAST", "BCC", "UNKNOWN_RECENT", "UNKNOWN_OLD")}, malignancies=[
        ("BREAST", "breast", "2023-01-01"), ("BCC", "basal_cell_skin", "2023-01-01"),
        ("UNKNOWN_RECENT", ZZ, "2023-01-01"), ("UNKNOWN_OLD", ZZ, "2015-01-01")])
    assert engine(tables, "malignancy") == {
        "BREAST": True, "BCC": False, "UNKNOWN_RECENT": None, "UNKNOWN_OLD": False}
    # Nothing excepted: whatever its type, a recent malignancy counts.
    assert engine(tables, "malignancy", excepted=[]) == {
        "BREAST": True, "BCC": True, "UNKNOWN_RECENT": True, "UNKNOWN_OLD": False}
