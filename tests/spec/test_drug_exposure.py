"""``drug_exposure``: a listed drug (or class, bar exceptions) taken on any day within the look-back.

Baseline is 2024-06-15: 2 months back is 2024-04-15 (inside).
"""

from conftest import MEDS_OF_UNKNOWN_CODES as MEDS
from conftest import spec_tables


def test_a_course_touching_the_window(engine):
    tables = spec_tables({p: {} for p in ("ON_EDGE", "DAY_BEFORE", "ONGOING", "RITUXIMAB", "HCQ")}, """
        patient    | drug               | drug_class   | start_date | stop_date  | dose
        ON_EDGE    | belimumab          | biologic     | 2024-04-15 | 2024-04-15 | 600
        DAY_BEFORE | belimumab          | biologic     | 2024-04-14 | 2024-04-14 | 600
        ONGOING    | belimumab          | biologic     | 2020-01-01 |            | 600
        RITUXIMAB  | rituximab          | biologic     | 2024-05-01 | 2024-05-01 | 1000
        HCQ        | hydroxychloroquine | antimalarial | 2024-05-01 |            | 200
    """)
    assert engine(tables, "drug_exposure", drugs=["belimumab"], months=2) == {
        "ON_EDGE": True, "DAY_BEFORE": False, "ONGOING": True, "RITUXIMAB": False, "HCQ": False}
    assert engine(tables, "drug_exposure", classes=["biologic"], excepted=["belimumab"], months=2) == {
        "ON_EDGE": False, "DAY_BEFORE": False, "ONGOING": False, "RITUXIMAB": True, "HCQ": False}
    # A look-back of 0 months counts the baseline day only.
    assert engine(tables, "drug_exposure", drugs=["belimumab", "hydroxychloroquine"], months=0) == {
        "ON_EDGE": False, "DAY_BEFORE": False, "ONGOING": True, "RITUXIMAB": False, "HCQ": True}


def test_belimumab_course_with_missing_start(engine):
    """A stop inside the 2-month window is an exposure, whatever the start; a stop long before is none."""
    tables = spec_tables({p: {} for p in ("IN", "YEARS_BEFORE", "ONGOING", "AFTER", "ON_EDGE", "DAY_BEFORE")},
                         [("IN", "belimumab", "biologic", None, "2024-05-01", 600.0),
                          ("YEARS_BEFORE", "belimumab", "biologic", None, "2020-01-01", 600.0),
                          ("ONGOING", "belimumab", "biologic", None, None, 600.0),
                          ("AFTER", "belimumab", "biologic", None, "2024-07-01", 600.0),
                          ("ON_EDGE", "belimumab", "biologic", None, "2024-04-15", 600.0),
                          ("DAY_BEFORE", "belimumab", "biologic", None, "2024-04-14", 600.0)])
    assert engine(tables, "drug_exposure", drugs=["belimumab"], months=2) == {
        "IN": True, "YEARS_BEFORE": False, "ONGOING": None, "AFTER": None, "ON_EDGE": True, "DAY_BEFORE": False}


def test_drug_of_unknown_class(engine):
    tables = spec_tables({p: {} for p, *_ in MEDS}, MEDS)
    assert engine(tables, "drug_exposure", drugs=["belimumab"], months=2) == {
        "BOTH_UNKNOWN": None, "BENLYSTA": True, "AZATHIOPRINE": False, "PREDNISONE": False, "HCQ": False}
    assert engine(tables, "drug_exposure", classes=["biologic"], months=2) == {
        "BOTH_UNKNOWN": None, "BENLYSTA": True, "AZATHIOPRINE": False, "PREDNISONE": False, "HCQ": False}
