"""``glucocorticoid_dose``: a prednisone-equivalent dose above 0.5 mg/kg/day on any day of the month before baseline.

Baseline is 2024-06-15; the base patient weighs 60 kg, so 30 mg/day is exactly 0.5 mg/kg/day.
"""

from conftest import MEDS_OF_UNKNOWN_CODES as MEDS
from conftest import spec_tables


def test_daily_doses_add_up_against_the_weight(engine):
    tables = spec_tables({p: {} for p in ("AT_LIMIT", "ABOVE", "OVERLAP", "OTHER_STEROID", "BEFORE_WINDOW")}, """
        patient       | drug               | drug_class     | start_date | stop_date  | dose
        AT_LIMIT      | prednisone         | glucocorticoid | 2024-05-01 | 2024-05-20 | 30
        ABOVE         | prednisone         | glucocorticoid | 2024-05-01 | 2024-05-20 | 31
        OVERLAP       | prednisone         | glucocorticoid | 2024-05-01 | 2024-05-20 | 15
        OVERLAP       | prednisolone       | glucocorticoid | 2024-05-10 | 2024-05-30 | 16
        OTHER_STEROID | methylprednisolone | glucocorticoid | 2024-06-01 | 2024-06-10 | 25
        BEFORE_WINDOW | prednisone         | glucocorticoid | 2024-04-01 | 2024-05-14 | 60
    """)
    # 25 mg methylprednisolone is 31.25 mg prednisone; 1 month back is 2024-05-15.
    assert engine(tables, "glucocorticoid_dose") == {
        "AT_LIMIT": False, "ABOVE": True, "OVERLAP": True, "OTHER_STEROID": True, "BEFORE_WINDOW": False}
    assert engine(tables, "glucocorticoid_dose", max_mg_per_kg=1.0, months=3) == {
        "AT_LIMIT": False, "ABOVE": False, "OVERLAP": False, "OTHER_STEROID": False, "BEFORE_WINDOW": False}


def test_glucocorticoid_dose_with_weight_missing(engine):
    """Weight may be 20 to 350 kg: 10 mg/day is never above 0.5 mg/kg, 200 mg/day always is."""
    no_weight = {"weight_kg": None}
    tables = spec_tables({"LOW": no_weight, "MIDDLE": no_weight, "HIGH": no_weight},
                         [(p, "prednisone", "glucocorticoid", "2024-01-01", None, dose)
                          for p, dose in (("LOW", 10.0), ("MIDDLE", 15.0), ("HIGH", 200.0))])
    assert engine(tables, "glucocorticoid_dose") == {"LOW": False, "MIDDLE": None, "HIGH": True}


def test_glucocorticoid_row_with_missing_start(engine):
    """A row missing its start surely ran on its stop day; one that stopped before the window did not count."""
    tables = spec_tables({p: {} for p in ("STOP_IN_WINDOW", "STOP_BEFORE", "ONGOING_LOW", "ONGOING_HIGH")},
                         [("STOP_IN_WINDOW", "prednisone", "glucocorticoid", None, "2024-06-01", 40.0),
                          ("STOP_BEFORE", "prednisone", "glucocorticoid", None, "2024-01-01", 40.0),
                          ("ONGOING_LOW", "prednisone", "glucocorticoid", None, None, 10.0),
                          ("ONGOING_HIGH", "prednisone", "glucocorticoid", None, None, 40.0)])
    assert engine(tables, "glucocorticoid_dose") == {
        "STOP_IN_WINDOW": True, "STOP_BEFORE": False, "ONGOING_LOW": False, "ONGOING_HIGH": None}


def test_a_2001_weight_is_not_used_for_a_2024_dose(engine):
    """40 mg/day prednisone: 0.67 mg/kg at 60 kg (above 0.5), 0.4 mg/kg at 100 kg (not)."""
    tables = spec_tables({"LIGHT": {"weight_kg": 60.0, "weight_date": "2024-01-10"},
                          "LIGHT_2001": {"weight_kg": 60.0, "weight_date": "2001-03-01"},
                          "HEAVY": {"weight_kg": 100.0, "weight_date": "2024-01-10"},
                          "HEAVY_2001": {"weight_kg": 100.0, "weight_date": "2001-03-01"}},
                         [(p, "prednisone", "glucocorticoid", "2024-05-01", None, 40.0)
                          for p in ("LIGHT", "LIGHT_2001", "HEAVY", "HEAVY_2001")])
    assert engine(tables, "glucocorticoid_dose", weight_months=12) == {
        "LIGHT": True, "LIGHT_2001": None, "HEAVY": False, "HEAVY_2001": None}
    assert engine(tables, "glucocorticoid_dose", weight_months=300) == {
        "LIGHT": True, "LIGHT_2001": True, "HEAVY": False, "HEAVY_2001": False}


def test_drug_of_unknown_class(engine):
    """40 mg/day prednisone is above 0.5 mg/kg for the 60 kg base patient; an unknown drug might be it."""
    tables = spec_tables({p: {} for p, *_ in MEDS}, MEDS)
    assert engine(tables, "glucocorticoid_dose") == {
        "BOTH_UNKNOWN": None, "BENLYSTA": False, "AZATHIOPRINE": False, "PREDNISONE": True, "HCQ": False}
