"""``renal_biopsy``: the latest kidney biopsy's ISN/RPS class in a set, recent enough, with a high enough ratio.

Baseline is 2024-06-15; 24 months before is 2022-06-15.
"""

from conftest import spec_tables

TABLE = """
    patient     | renal_biopsy_class | renal_biopsy_date | proteinuria_g_per_g
    IV_RECENT   | IV-G               | 2024-01-10        | 2.0
    V_EDGE      | V                  | 2022-06-15        | 1.5
    V_TOO_OLD   | V                  | 2022-06-14        | 3.0
    II          | II                 | 2024-01-10        | 3.0
    MIXED_LOW   | IV-S+V             | 2024-01-10        | 1.49
    NO_CLASS    |                    | 2024-01-10        | 3.0
    NO_DATE     | III                |                   | 3.0
    NO_DATE_II  | II                 |                   |
    NO_UPCR     | III+V              | 2024-01-10        |
    NO_BIOPSY   |                    |                   |
"""


def test_class_date_and_ratio_must_all_hold(engine):
    assert engine(spec_tables(TABLE), "renal_biopsy", classes=["III", "IV-S", "IV-G", "V", "III+V", "IV-S+V",
                                                                "IV-G+V"], months=24, upcr_min=1.5) == {
        "IV_RECENT": True, "V_EDGE": True, "V_TOO_OLD": False, "II": False, "MIXED_LOW": False,
        "NO_CLASS": None, "NO_DATE": None, "NO_DATE_II": False, "NO_UPCR": None, "NO_BIOPSY": None}


def test_class_alone_by_default(engine):
    # Default classes: III, IV (any), V, alone or mixed; any date; no ratio asked.
    assert engine(spec_tables(TABLE), "renal_biopsy") == {
        "IV_RECENT": True, "V_EDGE": True, "V_TOO_OLD": True, "II": False, "MIXED_LOW": True,
        "NO_CLASS": None, "NO_DATE": True, "NO_DATE_II": False, "NO_UPCR": True, "NO_BIOPSY": None}
