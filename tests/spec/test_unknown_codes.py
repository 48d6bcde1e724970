"""Coded values the vocabulary does not know ("Zz-unknown"): read as unknown, and settled where they cannot matter.

Baseline is 2024-06-15 for every patient. A drug class the vocabulary does not know is the
row's drug's class when the drug is known; with both unknown the row may be any drug.
"""

from __future__ import annotations

import pandas as pd

from conftest import spec_tables
from screening.rules.criteria import RULES

ZZ = "Zz-unknown"


def _params(rule: str, **changes) -> dict:
    return {**RULES[rule].defaults, **changes}


def test_malignancy_of_unknown_type(engine):
    """Five years back is 2019-06-15; an unknown type might be an excepted skin cancer."""
    tables = spec_tables({p: {} for p in ("BREAST", "BCC", "UNKNOWN_RECENT", "UNKNOWN_OLD")})
    tables["malignancies"] = pd.DataFrame({
        "patient_id": ["BREAST", "BCC", "UNKNOWN_RECENT", "UNKNOWN_OLD"],
        "malignancy_type": ["breast", "basal_cell_skin", ZZ, ZZ],
        "diagnosis_date": ["2023-01-01", "2023-01-01", "2023-01-01", "2015-01-01"]})
    assert engine(tables, "malignancy", _params("malignancy")) == {
        "BREAST": True, "BCC": False, "UNKNOWN_RECENT": None, "UNKNOWN_OLD": False}
    # Nothing excepted: whatever its type, a recent malignancy counts.
    assert engine(tables, "malignancy", _params("malignancy", excepted=[])) == {
        "BREAST": True, "BCC": True, "UNKNOWN_RECENT": True, "UNKNOWN_OLD": False}


def test_infection_of_unknown_type(engine):
    """Herpes zoster counts 90 days back, a serious infection 60: an unknown type surely 60, maybe 90."""
    days = {"UNKNOWN_45": 45, "UNKNOWN_75": 75, "UNKNOWN_120": 120, "ZOSTER_75": 75, "SERIOUS_75": 75}
    kinds = {"ZOSTER_75": "herpes_zoster", "SERIOUS_75": "serious_infection"}
    tables = spec_tables({p: {} for p in days})
    tables["infections"] = pd.DataFrame({
        "patient_id": list(days), "infection_type": [kinds.get(p, ZZ) for p in days],
        "onset_date": [(pd.Timestamp("2024-06-15") - pd.Timedelta(days=d)).strftime("%Y-%m-%d")
                       for d in days.values()]})
    assert engine(tables, "recent_infection", _params("recent_infection")) == {
        "UNKNOWN_45": True, "UNKNOWN_75": None, "UNKNOWN_120": False, "ZOSTER_75": True, "SERIOUS_75": False}


MEDS = [("BOTH_UNKNOWN", ZZ, ZZ, "2024-05-20", None, 40.0),
        ("BENLYSTA", "Benlysta", ZZ, "2024-05-20", None, 600.0),
        ("AZATHIOPRINE", "azathioprine", ZZ, "2024-05-20", None, 100.0),
        ("PREDNISONE", "prednisone", ZZ, "2024-05-20", None, 40.0),
        ("HCQ", "hydroxychloroquine", ZZ, "2024-05-20", None, 200.0)]


def test_drug_of_unknown_class(engine):
    tables = spec_tables({p: {} for p, *_ in MEDS}, MEDS)
    assert engine(tables, "drug_exposure", _params("drug_exposure", drugs=["belimumab"], months=2)) == {
        "BOTH_UNKNOWN": None, "BENLYSTA": True, "AZATHIOPRINE": False, "PREDNISONE": False, "HCQ": False}
    assert engine(tables, "drug_exposure", _params("drug_exposure", classes=["biologic"], months=2)) == {
        "BOTH_UNKNOWN": None, "BENLYSTA": True, "AZATHIOPRINE": False, "PREDNISONE": False, "HCQ": False}
    assert engine(tables, "regimen_change", _params("regimen_change")) == {
        "BOTH_UNKNOWN": None, "BENLYSTA": False, "AZATHIOPRINE": True, "PREDNISONE": False, "HCQ": False}
    # 40 mg/day prednisone is above 0.5 mg/kg for the 60 kg base patient; an unknown drug might be it.
    assert engine(tables, "glucocorticoid_dose", _params("glucocorticoid_dose")) == {
        "BOTH_UNKNOWN": None, "BENLYSTA": False, "AZATHIOPRINE": False, "PREDNISONE": True, "HCQ": False}
