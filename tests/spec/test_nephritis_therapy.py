"""``nephritis_therapy``: with renal BILAG A or B, 6 months of therapy in the current episode (MMF, or at least
3 months of cyclophosphamide followed by MMF or azathioprine). Baseline is 2024-06-15."""

from conftest import spec_tables

RENAL_A = {"bilag_renal": "A", "lupus_nephritis": "active", "nephritis_onset_date": None}


def test_completed_and_short_courses(engine):
    tables = spec_tables(
        """
        patient      | bilag_renal | lupus_nephritis | nephritis_onset_date
        CYC_THEN_AZA | B           | active          | 2023-08-15
        SHORT_MMF    | A           | active          | 2024-03-01
        INACTIVE     | D           | active          | 2024-03-01
        UNSCORED     |             | active          | 2024-03-01
        """,
        """
        patient      | drug             | drug_class        | start_date | stop_date  | dose
        CYC_THEN_AZA | cyclophosphamide | immunosuppressant | 2023-09-01 | 2023-12-15 | 750
        CYC_THEN_AZA | azathioprine     | immunosuppressant | 2023-12-20 |            | 100
        SHORT_MMF    | mycophenolate    | immunosuppressant | 2024-03-01 |            | 2000
        """)
    assert engine(tables, "nephritis_therapy") == {
        "CYC_THEN_AZA": True, "SHORT_MMF": False, "INACTIVE": True, "UNSCORED": None}
    # 3 months of therapy (91.3 days) would do: the course from 1 March (106 days) then does.
    assert engine(tables, "nephritis_therapy", total_months=3) == {
        "CYC_THEN_AZA": True, "SHORT_MMF": True, "INACTIVE": True, "UNSCORED": None}


def test_nephritis_therapy_without_onset_date(engine):
    """Without the episode's onset, therapy that could not add up to 6 months settles "not met"."""
    tables = spec_tables(
        {"NO_THERAPY": RENAL_A, "LONG_MMF": RENAL_A, "SHORT_MMF": RENAL_A, "STOPPED_SHORT": RENAL_A,
         "KNOWN_ONSET": {**RENAL_A, "nephritis_onset_date": "2023-06-01"},
         "NEVER_UNSCORED": {"bilag_renal": None, "lupus_nephritis": "never"},
         "UNSCORED": {"bilag_renal": None, "lupus_nephritis": "remission", "nephritis_onset_date": None}},
        [("LONG_MMF", "mycophenolate", "immunosuppressant", "2023-01-01", None, 2000.0),
         ("SHORT_MMF", "mycophenolate", "immunosuppressant", "2024-05-01", None, 2000.0),
         ("STOPPED_SHORT", "mycophenolate", "immunosuppressant", None, "2023-02-01", 2000.0),
         ("KNOWN_ONSET", "mycophenolate", "immunosuppressant", "2023-06-01", None, 2000.0)])
    assert engine(tables, "nephritis_therapy") == {
        "NO_THERAPY": False, "LONG_MMF": None, "SHORT_MMF": False, "STOPPED_SHORT": None, "KNOWN_ONSET": True,
        "NEVER_UNSCORED": True, "UNSCORED": True}  # in remission, an unscored renal grade is C or D: not A/B
