"""Missing dates settle what they can: regression cases for rules that said "unknown" too often.

Baseline is 2024-06-15 for every patient (the boundary fixture's base patient).
"""

from __future__ import annotations

from conftest import spec_tables
from screening.rules.criteria import RULES


def _params(rule: str, **changes) -> dict:
    return {**RULES[rule].defaults, **changes}


def test_belimumab_course_with_missing_start(engine):
    """A stop inside the 2-month window is an exposure, whatever the start; a stop long before is none."""
    tables = spec_tables({p: {} for p in ("IN", "YEARS_BEFORE", "ONGOING", "AFTER", "ON_EDGE", "DAY_BEFORE")},
                         [("IN", "belimumab", "biologic", None, "2024-05-01", 600.0),
                          ("YEARS_BEFORE", "belimumab", "biologic", None, "2020-01-01", 600.0),
                          ("ONGOING", "belimumab", "biologic", None, None, 600.0),
                          ("AFTER", "belimumab", "biologic", None, "2024-07-01", 600.0),
                          ("ON_EDGE", "belimumab", "biologic", None, "2024-04-15", 600.0),
                          ("DAY_BEFORE", "belimumab", "biologic", None, "2024-04-14", 600.0)])
    assert engine(tables, "drug_exposure", _params("drug_exposure", drugs=["belimumab"], months=2)) == {
        "IN": True, "YEARS_BEFORE": False, "ONGOING": None, "AFTER": None, "ON_EDGE": True, "DAY_BEFORE": False}


def test_immunosuppressant_course_with_missing_start(engine):
    """A course stopped years before the 3-month window cannot be a change inside it; one stopped in it is."""
    tables = spec_tables({p: {} for p in ("YEARS_BEFORE", "STOPPED_IN", "ONGOING", "STOPPED_AT_BASELINE")},
                         [("YEARS_BEFORE", "azathioprine", "immunosuppressant", None, "2019-01-01", 100.0),
                          ("STOPPED_IN", "azathioprine", "immunosuppressant", None, "2024-05-01", 100.0),
                          ("ONGOING", "azathioprine", "immunosuppressant", None, None, 100.0),
                          ("STOPPED_AT_BASELINE", "azathioprine", "immunosuppressant", None, "2024-06-15", 100.0)])
    assert engine(tables, "regimen_change", _params("regimen_change")) == {
        "YEARS_BEFORE": False, "STOPPED_IN": True, "ONGOING": None, "STOPPED_AT_BASELINE": None}


RENAL_A = {"bilag_renal": "A", "lupus_nephritis": "active", "nephritis_onset_date": None}


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
    assert engine(tables, "nephritis_therapy", _params("nephritis_therapy")) == {
        "NO_THERAPY": False, "LONG_MMF": None, "SHORT_MMF": False, "STOPPED_SHORT": None, "KNOWN_ONSET": True,
        "NEVER_UNSCORED": True, "UNSCORED": None}


def test_unscored_renal_domain_of_a_patient_without_nephritis_is_not_active(engine):
    others_inactive = {"bilag_musculoskeletal": "D", "bilag_renal": None}
    tables = spec_tables({"NEVER": {**others_inactive, "lupus_nephritis": "never"},
                          "UNKNOWN_HISTORY": {**others_inactive, "lupus_nephritis": None}})
    assert engine(tables, "bilag_active", _params("bilag_active")) == {"NEVER": False, "UNKNOWN_HISTORY": None}


def test_glucocorticoid_dose_with_weight_missing(engine):
    """Weight may be 20 to 350 kg: 10 mg/day is never above 0.5 mg/kg, 200 mg/day always is."""
    no_weight = {"weight_kg": None}
    tables = spec_tables({"LOW": no_weight, "MIDDLE": no_weight, "HIGH": no_weight},
                         [(p, "prednisone", "glucocorticoid", "2024-01-01", None, dose)
                          for p, dose in (("LOW", 10.0), ("MIDDLE", 15.0), ("HIGH", 200.0))])
    assert engine(tables, "glucocorticoid_dose", _params("glucocorticoid_dose")) == {
        "LOW": False, "MIDDLE": None, "HIGH": True}


def test_glucocorticoid_row_with_missing_start(engine):
    """A row missing its start surely ran on its stop day; one that stopped before the window did not count."""
    tables = spec_tables({p: {} for p in ("STOP_IN_WINDOW", "STOP_BEFORE", "ONGOING_LOW", "ONGOING_HIGH")},
                         [("STOP_IN_WINDOW", "prednisone", "glucocorticoid", None, "2024-06-01", 40.0),
                          ("STOP_BEFORE", "prednisone", "glucocorticoid", None, "2024-01-01", 40.0),
                          ("ONGOING_LOW", "prednisone", "glucocorticoid", None, None, 10.0),
                          ("ONGOING_HIGH", "prednisone", "glucocorticoid", None, None, 40.0)])
    assert engine(tables, "glucocorticoid_dose", _params("glucocorticoid_dose")) == {
        "STOP_IN_WINDOW": True, "STOP_BEFORE": False, "ONGOING_LOW": False, "ONGOING_HIGH": None}
