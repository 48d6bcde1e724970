"""A lab value or weight older than the protocol's recency limit is unknown, never used.

Baseline is 2024-06-15 for every patient, so 12 months before is 2023-06-15 (still recent) and
6 months before is 2023-12-15. A value without a date is a registry's baseline value: used.
"""

from __future__ import annotations

from conftest import spec_tables
from screening.rules.criteria import RULES


def _params(rule: str, **changes) -> dict:
    return {**RULES[rule].defaults, **changes}


EGFR = {"RECENT_LOW": {"egfr": 20.0, "egfr_date": "2024-06-01"},
        "EDGE_LOW": {"egfr": 20.0, "egfr_date": "2023-06-15"},
        "DAY_OLDER_LOW": {"egfr": 20.0, "egfr_date": "2023-06-14"},
        "UNDATED_LOW": {"egfr": 20.0, "egfr_date": None},
        "OLD_HIGH": {"egfr": 95.0, "egfr_date": "2001-03-01"},
        "MISSING": {"egfr": None, "egfr_date": None}}


def _egfr(months) -> dict:
    return _params("lab_value", column="egfr", op="<", value=30, within_months=months)


def test_an_egfr_older_than_the_limit_is_unknown(engine):
    assert engine(spec_tables(EGFR), "lab_value", _egfr(12)) == {
        "RECENT_LOW": True, "EDGE_LOW": True, "DAY_OLDER_LOW": None, "UNDATED_LOW": True, "OLD_HIGH": None,
        "MISSING": None}


def test_changing_the_limit_changes_which_egfr_counts(engine):
    assert engine(spec_tables(EGFR), "lab_value", _egfr(6)) == {
        "RECENT_LOW": True, "EDGE_LOW": None, "DAY_OLDER_LOW": None, "UNDATED_LOW": True, "OLD_HIGH": None,
        "MISSING": None}
    assert engine(spec_tables(EGFR), "lab_value", _egfr(None)) == {
        "RECENT_LOW": True, "EDGE_LOW": True, "DAY_OLDER_LOW": True, "UNDATED_LOW": True, "OLD_HIGH": False,
        "MISSING": None}


def test_an_old_liver_enzyme_is_unknown(engine):
    tables = spec_tables({
        "AST_HIGH": {"ast": 200.0, "ast_date": "2024-06-01", "alt_date": "2024-06-01"},
        "AST_HIGH_OLD": {"ast": 200.0, "ast_date": "2022-01-01", "alt_date": "2024-06-01"},
        "NORMAL": {"ast_date": "2024-06-01", "alt_date": "2024-06-01"},
        "NORMAL_OLD": {"ast_date": "2020-01-01", "alt_date": "2020-01-01"}})
    assert engine(tables, "liver_enzymes", _params("liver_enzymes", within_months=12)) == {
        "AST_HIGH": True, "AST_HIGH_OLD": None, "NORMAL": False, "NORMAL_OLD": None}
    assert engine(tables, "liver_enzymes", _params("liver_enzymes", within_months=36)) == {
        "AST_HIGH": True, "AST_HIGH_OLD": True, "NORMAL": False, "NORMAL_OLD": None}


def test_a_2001_weight_is_not_used_for_a_2024_dose(engine):
    """40 mg/day prednisone: 0.67 mg/kg at 60 kg (above 0.5), 0.4 mg/kg at 100 kg (not)."""
    tables = spec_tables({"LIGHT": {"weight_kg": 60.0, "weight_date": "2024-01-10"},
                          "LIGHT_2001": {"weight_kg": 60.0, "weight_date": "2001-03-01"},
                          "HEAVY": {"weight_kg": 100.0, "weight_date": "2024-01-10"},
                          "HEAVY_2001": {"weight_kg": 100.0, "weight_date": "2001-03-01"}},
                         [(p, "prednisone", "glucocorticoid", "2024-05-01", None, 40.0)
                          for p in ("LIGHT", "LIGHT_2001", "HEAVY", "HEAVY_2001")])
    assert engine(tables, "glucocorticoid_dose", _params("glucocorticoid_dose", weight_months=12)) == {
        "LIGHT": True, "LIGHT_2001": None, "HEAVY": False, "HEAVY_2001": None}
    assert engine(tables, "glucocorticoid_dose", _params("glucocorticoid_dose", weight_months=300)) == {
        "LIGHT": True, "LIGHT_2001": True, "HEAVY": False, "HEAVY_2001": False}
