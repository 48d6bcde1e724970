"""``on_drug_stable``: a drug taken every day of the 12 weeks before baseline, its dose unchanged for 8.

Baseline is 2024-06-15: 12 weeks (84 days) back is 2024-03-23, 8 weeks (56 days) back is 2024-04-20.
A course is written as dose segments; segments that follow day by day are one course.
"""

from conftest import spec_tables

MEDS = """
    patient        | drug               | drug_class        | start_date | stop_date  | dose
    LONG_STEADY    | azathioprine       | immunosuppressant | 2024-01-01 |            | 100
    EDGE           | azathioprine       | immunosuppressant | 2024-03-23 |            | 100
    DAY_SHORT      | azathioprine       | immunosuppressant | 2024-03-24 |            | 100
    CHANGED_RECENT | azathioprine       | immunosuppressant | 2024-01-01 | 2024-05-01 | 100
    CHANGED_RECENT | azathioprine       | immunosuppressant | 2024-05-02 |            | 150
    CHANGED_EARLY  | azathioprine       | immunosuppressant | 2024-01-01 | 2024-04-19 | 100
    CHANGED_EARLY  | azathioprine       | immunosuppressant | 2024-04-20 |            | 150
    GAP            | azathioprine       | immunosuppressant | 2024-01-01 | 2024-04-01 | 100
    GAP            | azathioprine       | immunosuppressant | 2024-04-03 |            | 100
    NO_DOSE        | azathioprine       | immunosuppressant | 2024-01-01 |            |
    ONE_BLANK      | azathioprine       | immunosuppressant | 2024-01-01 | 2024-05-01 | 100
    ONE_BLANK      | azathioprine       | immunosuppressant | 2024-05-02 |            |
    NO_START       | azathioprine       | immunosuppressant |            |            | 100
    STOPPED        | azathioprine       | immunosuppressant | 2024-01-01 | 2024-06-14 | 100
    HCQ            | hydroxychloroquine | antimalarial      | 2024-01-01 |            | 400
    NO_START_OTHER | azathioprine       | immunosuppressant |            |            | 100
    NO_START_OTHER | azathioprine       | immunosuppressant | 2024-05-20 |            | 150
"""
IDS = ("LONG_STEADY", "EDGE", "DAY_SHORT", "CHANGED_RECENT", "CHANGED_EARLY", "GAP", "NO_DOSE", "ONE_BLANK",
       "NO_START", "STOPPED", "HCQ", "NO_START_OTHER")


def test_taken_long_enough_at_a_steady_dose(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "on_drug_stable", drugs=["azathioprine"]) == {
        "LONG_STEADY": True, "EDGE": True, "DAY_SHORT": False, "CHANGED_RECENT": False, "CHANGED_EARLY": True,
        "GAP": False, "NO_DOSE": True, "ONE_BLANK": None, "NO_START": None, "STOPPED": False, "HCQ": False,
        # 150 mg since 2024-05-20 (26 days), beside 100 mg of unknown start: begun before baseline, the 100 mg
        # row changes the dose within the 8 weeks; begun after, 26 days are too few. Every completion fails.
        "NO_START_OTHER": False}


def test_any_listed_drug_and_shorter_windows(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    # 2 weeks taken, 1 week stable (from 2024-06-08): every course but the stopped one qualifies.
    assert engine(tables, "on_drug_stable", drugs=["azathioprine", "hydroxychloroquine"], min_weeks=2,
                  stable_weeks=1) == {
        "LONG_STEADY": True, "EDGE": True, "DAY_SHORT": True, "CHANGED_RECENT": True, "CHANGED_EARLY": True,
        "GAP": True, "NO_DOSE": True, "ONE_BLANK": True, "NO_START": None, "STOPPED": False, "HCQ": True,
        "NO_START_OTHER": None}  # 26 days at 150 mg suffice unless the 100 mg row had begun by baseline
