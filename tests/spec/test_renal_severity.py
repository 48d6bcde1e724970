"""``renal_severity``: protein/creatinine ratio at least a threshold, eGFR below one, or dialysis; any one settles it.

Baseline is 2024-06-15; 12 months before is 2023-06-15. A value without a date is the registry's
baseline value: used.
"""

from conftest import spec_tables

TABLE = """
    patient        | proteinuria_g_per_g | egfr | dialysis
    MILD           | 0.5                 | 90   | false
    UPCR_AT        | 3.0                 | 90   | false
    UPCR_BELOW     | 2.99                | 90   | false
    EGFR_AT        | 0.5                 | 30   | false
    EGFR_BELOW     | 0.5                 | 29.9 | false
    DIALYSIS       | 0.5                 | 90   | true
    NO_UPCR        |                     | 90   | false
    NO_UPCR_LOW    |                     | 20   | false
    NO_DIALYSIS    | 0.5                 | 90   |
    NOTHING        |                     |      |
"""


def test_any_sign_settles_it_a_blank_one_leaves_it_open(engine):
    assert engine(spec_tables(TABLE), "renal_severity", upcr_min=3, egfr_below=30, dialysis=True) == {
        "MILD": False, "UPCR_AT": True, "UPCR_BELOW": False, "EGFR_AT": False, "EGFR_BELOW": True,
        "DIALYSIS": True, "NO_UPCR": None, "NO_UPCR_LOW": True, "NO_DIALYSIS": None, "NOTHING": None}


def test_a_sign_left_out_is_not_read(engine):
    # Dialysis alone: the ratio and eGFR, blank or high, change nothing.
    assert engine(spec_tables(TABLE), "renal_severity", upcr_min=None, egfr_below=None, dialysis=True) == {
        "MILD": False, "UPCR_AT": False, "UPCR_BELOW": False, "EGFR_AT": False, "EGFR_BELOW": False,
        "DIALYSIS": True, "NO_UPCR": False, "NO_UPCR_LOW": False, "NO_DIALYSIS": None, "NOTHING": None}


def test_an_old_ratio_is_unknown_under_the_recency_limit(engine):
    tables = spec_tables("""
        patient   | proteinuria_g_per_g | proteinuria_date | egfr_date
        RECENT    | 4.0                 | 2023-06-15       | 2024-06-01
        OLD_HIGH  | 4.0                 | 2023-06-14       | 2024-06-01
        OLD_LOW   | 0.2                 | 2023-06-14       | 2024-06-01
    """)
    assert engine(tables, "renal_severity", upcr_min=3, dialysis=False, within_months=12) == {
        "RECENT": True, "OLD_HIGH": None, "OLD_LOW": None}
    assert engine(tables, "renal_severity", upcr_min=3, dialysis=False, within_months=None) == {
        "RECENT": True, "OLD_HIGH": True, "OLD_LOW": False}
