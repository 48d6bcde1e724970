"""``dose_cap``: a capped drug taken on the baseline day (2024-06-15) above its daily cap.

Caps as TULIP-2's sister record NCT02962960 writes them: azathioprine ≤ 200 mg/day, mycophenolic acid
≤ 1.44 g/day (= mycophenolate mofetil 2 g/day at 720 mg ≈ 1000 mg), methotrexate ≤ 25 mg/week
(3.571 mg/day), prednisone or equivalent ≤ 40 mg/day (methylprednisolone × 1.25).
"""

from conftest import spec_tables

CAPS = ["azathioprine 200 mg/day", "mycophenolic_acid 1.44 g/day", "methotrexate 25 mg/week",
        "prednisone_equivalent 40 mg/day"]
MEDS = """
    patient      | drug               | drug_class        | start_date | stop_date  | dose
    AZA_200      | azathioprine       | immunosuppressant | 2024-01-01 |            | 200
    AZA_250      | azathioprine       | immunosuppressant | 2024-01-01 |            | 250
    MMF_2000     | mycophenolate      | immunosuppressant | 2024-01-01 |            | 2000
    MMF_2500     | mycophenolate      | immunosuppressant | 2024-01-01 |            | 2500
    MTX_15_WEEK  | methotrexate       | immunosuppressant | 2024-01-01 |            | 2.14
    MTX_28_WEEK  | methotrexate       | immunosuppressant | 2024-01-01 |            | 4
    PRED_PAIR    | prednisone         | glucocorticoid    | 2024-01-01 |            | 30
    PRED_PAIR    | methylprednisolone | glucocorticoid    | 2024-06-01 | 2024-06-15 | 10
    PRED_40      | prednisone         | glucocorticoid    | 2024-01-01 |            | 40
    PRED_STOPPED | prednisone         | glucocorticoid    | 2024-01-01 | 2024-06-14 | 60
    AZA_NO_DOSE  | azathioprine       | immunosuppressant | 2024-01-01 |            |
    AZA_NO_START | azathioprine       | immunosuppressant |            |            | 250
    HCQ          | hydroxychloroquine | antimalarial      | 2024-01-01 |            | 400
"""
IDS = ("AZA_200", "AZA_250", "MMF_2000", "MMF_2500", "MTX_15_WEEK", "MTX_28_WEEK", "PRED_PAIR", "PRED_40",
       "PRED_STOPPED", "AZA_NO_DOSE", "AZA_NO_START", "HCQ")


def test_doses_above_their_caps(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "dose_cap", caps=CAPS) == {
        "AZA_200": False, "AZA_250": True, "MMF_2000": False, "MMF_2500": True, "MTX_15_WEEK": False,
        "MTX_28_WEEK": True, "PRED_PAIR": True, "PRED_40": False, "PRED_STOPPED": False, "AZA_NO_DOSE": None,
        "AZA_NO_START": None, "HCQ": False}


def test_caps_in_other_units(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "dose_cap", caps=["mycophenolate 2.5 g/day", "azathioprine 1.4 g/week"]) == {
        "AZA_200": False, "AZA_250": True, "MMF_2000": False, "MMF_2500": False, "MTX_15_WEEK": False,
        "MTX_28_WEEK": False, "PRED_PAIR": False, "PRED_40": False, "PRED_STOPPED": False, "AZA_NO_DOSE": None,
        "AZA_NO_START": None, "HCQ": False}


def test_a_blank_dose_unit_may_be_daily_or_a_single_administration(engine):
    """Daily, a dose above the cap breaks it; a single administration is no daily use: above the cap is unknown,
    at or below it is settled."""
    tables = spec_tables({p: {} for p in ("AZA_250", "AZA_150", "AZA_PAIR", "MP_PULSE", "PRED_30")}, """
        patient  | drug               | drug_class        | start_date | stop_date  | dose
        AZA_250  | azathioprine       | immunosuppressant | 2024-01-01 |            | 250
        AZA_150  | azathioprine       | immunosuppressant | 2024-01-01 |            | 150
        AZA_PAIR | azathioprine       | immunosuppressant | 2024-01-01 |            | 150
        AZA_PAIR | azathioprine       | immunosuppressant | 2024-06-15 | 2024-06-15 | 100
        MP_PULSE | methylprednisolone | glucocorticoid    | 2024-06-15 | 2024-06-15 | 500
        PRED_30  | prednisone         | glucocorticoid    | 2024-01-01 |            | 30
    """)
    meds = tables["medications"]
    meds["dose_unit"] = ["", "", "mg/day", "", "", ""]
    meds["dose_unit"] = meds["dose_unit"].replace("", None)
    assert engine(tables, "dose_cap", caps=CAPS) == {
        "AZA_250": None, "AZA_150": False, "AZA_PAIR": None, "MP_PULSE": None, "PRED_30": False}
