"""``lab_value``: a lab value compared with a threshold; one older than the recency limit is unknown, never used.

Baseline is 2024-06-15 for every patient, so 12 months before is 2023-06-15 (still recent) and
6 months before is 2023-12-15. A value without a date is a registry's baseline value: used.
"""

from conftest import spec_tables

EGFR = {"RECENT_LOW": {"egfr": 20.0, "egfr_date": "2024-06-01"},
        "EDGE_LOW": {"egfr": 20.0, "egfr_date": "2023-06-15"},
        "DAY_OLDER_LOW": {"egfr": 20.0, "egfr_date": "2023-06-14"},
        "UNDATED_LOW": {"egfr": 20.0, "egfr_date": None},
        "OLD_HIGH": {"egfr": 95.0, "egfr_date": "2001-03-01"},
        "MISSING": {"egfr": None, "egfr_date": None}}


def test_an_egfr_older_than_the_limit_is_unknown(engine):
    assert engine(spec_tables(EGFR), "lab_value", column="egfr", op="<", value=30, within_months=12) == {
        "RECENT_LOW": True, "EDGE_LOW": True, "DAY_OLDER_LOW": None, "UNDATED_LOW": True, "OLD_HIGH": None,
        "MISSING": None}


def test_changing_the_limit_changes_which_egfr_counts(engine):
    assert engine(spec_tables(EGFR), "lab_value", column="egfr", op="<", value=30, within_months=6) == {
        "RECENT_LOW": True, "EDGE_LOW": None, "DAY_OLDER_LOW": None, "UNDATED_LOW": True, "OLD_HIGH": None,
        "MISSING": None}
    assert engine(spec_tables(EGFR), "lab_value", column="egfr", op="<", value=30, within_months=None) == {
        "RECENT_LOW": True, "EDGE_LOW": True, "DAY_OLDER_LOW": True, "UNDATED_LOW": True, "OLD_HIGH": False,
        "MISSING": None}


def test_threshold_is_strict_or_inclusive_as_written(engine):
    tables = spec_tables("""
        patient | platelets
        AT      | 30000
        BELOW   | 29000
    """)
    assert engine(tables, "lab_value", column="platelets", op="<", value=30000) == {"AT": False, "BELOW": True}
    assert engine(tables, "lab_value", column="platelets", op="<=", value=30000) == {"AT": True, "BELOW": True}


def test_the_optional_labs_are_lab_values_too(engine):
    """Neutrophils, creatinine and complement (optional columns) compare like any lab value, dated or not."""
    tables = spec_tables("""
        patient  | neutrophils | neutrophils_date | c3
        LOW      | 0.9         | 2024-06-01       | 60
        AT       | 1.0         | 2024-06-01       | 90
        OLD_LOW  | 0.5         | 2022-01-01       |
    """)
    assert engine(tables, "lab_value", column="neutrophils", op="<", value=1.0, within_months=12) == {
        "LOW": True, "AT": False, "OLD_LOW": None}
    assert engine(tables, "lab_value", column="c3", op="<", value=90) == {"LOW": True, "AT": False, "OLD_LOW": None}
