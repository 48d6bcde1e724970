"""``regimen_change``: an immunosuppressant started or stopped within 3 months before baseline.

Baseline is 2024-06-15: 3 months back is 2024-03-15 (inside).
"""

from conftest import MEDS_OF_UNKNOWN_CODES as MEDS
from conftest import spec_tables


def test_start_or_stop_in_the_window(engine):
    tables = spec_tables({p: {} for p in ("STARTED_EDGE", "STARTED_BEFORE", "STOPPED_IN", "BIOLOGIC")}, """
        patient        | drug          | drug_class        | start_date | stop_date  | dose
        STARTED_EDGE   | mycophenolate | immunosuppressant | 2024-03-15 |            | 1000
        STARTED_BEFORE | azathioprine  | immunosuppressant | 2024-03-14 |            | 100
        STOPPED_IN     | azathioprine  | immunosuppressant | 2020-01-01 | 2024-04-01 | 100
        BIOLOGIC       | belimumab     | biologic          | 2024-05-01 |            | 600
    """)
    assert engine(tables, "regimen_change") == {
        "STARTED_EDGE": True, "STARTED_BEFORE": False, "STOPPED_IN": True, "BIOLOGIC": False}
    assert engine(tables, "regimen_change", classes=["biologic"], months=1) == {
        "STARTED_EDGE": False, "STARTED_BEFORE": False, "STOPPED_IN": False, "BIOLOGIC": False}


def test_immunosuppressant_course_with_missing_start(engine):
    """A course stopped years before the 3-month window cannot be a change inside it; one stopped in it is."""
    tables = spec_tables({p: {} for p in ("YEARS_BEFORE", "STOPPED_IN", "ONGOING", "STOPPED_AT_BASELINE")},
                         [("YEARS_BEFORE", "azathioprine", "immunosuppressant", None, "2019-01-01", 100.0),
                          ("STOPPED_IN", "azathioprine", "immunosuppressant", None, "2024-05-01", 100.0),
                          ("ONGOING", "azathioprine", "immunosuppressant", None, None, 100.0),
                          ("STOPPED_AT_BASELINE", "azathioprine", "immunosuppressant", None, "2024-06-15", 100.0)])
    assert engine(tables, "regimen_change") == {
        "YEARS_BEFORE": False, "STOPPED_IN": True, "ONGOING": None, "STOPPED_AT_BASELINE": None}


def test_drug_of_unknown_class(engine):
    tables = spec_tables({p: {} for p, *_ in MEDS}, MEDS)
    assert engine(tables, "regimen_change") == {
        "BOTH_UNKNOWN": None, "BENLYSTA": False, "AZATHIOPRINE": True, "PREDNISONE": False, "HCQ": False}
