"""``standard_therapy``: one named drug taken 12 weeks, stable 8, within its cap; or a glucocorticoid taken
2 weeks, stable 2, within 40 mg/day prednisone equivalent (the anifrolumab template, NCT02962960).

Baseline is 2024-06-15: 12 weeks back is 2024-03-23, 8 weeks 2024-04-20, 2 weeks (14 days) 2024-06-01.
"""

from conftest import spec_tables

MEDS = """
    patient       | drug               | drug_class        | start_date | stop_date | dose
    AZA_OK        | azathioprine       | immunosuppressant | 2024-01-01 |           | 200
    AZA_HIGH      | azathioprine       | immunosuppressant | 2024-01-01 |           | 250
    AZA_HIGH_HCQ  | azathioprine       | immunosuppressant | 2024-01-01 |           | 250
    AZA_HIGH_HCQ  | hydroxychloroquine | antimalarial      | 2024-01-01 |           | 400
    PRED_2_WEEKS  | prednisone         | glucocorticoid    | 2024-06-01 |           | 20
    PRED_SHORT    | prednisone         | glucocorticoid    | 2024-06-02 |           | 20
    PRED_HIGH     | prednisone         | glucocorticoid    | 2024-01-01 |           | 60
    HCQ_NEW       | hydroxychloroquine | antimalarial      | 2024-05-01 |           | 400
    AZA_NO_DOSE   | azathioprine       | immunosuppressant | 2024-01-01 |           |
"""
IDS = ("AZA_OK", "AZA_HIGH", "AZA_HIGH_HCQ", "PRED_2_WEEKS", "PRED_SHORT", "PRED_HIGH", "HCQ_NEW", "AZA_NO_DOSE")
PARAMS = {"drugs": ["azathioprine", "hydroxychloroquine"], "glucocorticoid_min_weeks": 2,
          "caps": ["azathioprine 200 mg/day", "prednisone_equivalent 40 mg/day"]}


def test_one_qualifying_drug_within_its_cap(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "standard_therapy", **PARAMS) == {
        "AZA_OK": True, "AZA_HIGH": False, "AZA_HIGH_HCQ": True, "PRED_2_WEEKS": True, "PRED_SHORT": False,
        "PRED_HIGH": False, "HCQ_NEW": False, "AZA_NO_DOSE": None}


def test_glucocorticoids_alone_do_not_qualify_unless_asked(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "standard_therapy", **{**PARAMS, "glucocorticoid_min_weeks": None}) == {
        "AZA_OK": True, "AZA_HIGH": False, "AZA_HIGH_HCQ": True, "PRED_2_WEEKS": False, "PRED_SHORT": False,
        "PRED_HIGH": False, "HCQ_NEW": False, "AZA_NO_DOSE": None}
