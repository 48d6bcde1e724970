"""Cohort entry (EHR sources): an EHR database holds everyone, not an SLE registry.

These rules read columns that the OMOP and Synthea readers add (``extra_columns``, outside the
registry's data dictionary). A native registry extract without them is not assessable on them.
"""

from __future__ import annotations

import pandas as pd

from screening.io.dates import months_before
from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.masks import baseline, boolean, column_or_unknown
from screening.rules.registry import Param, rule

_UNKNOWN = "CAST(NULL AS BOOLEAN)"


@rule("diagnosis_recorded", reads=("sle_diagnoses",), extra_columns={"sle_diagnoses": "int"},
      min_records=Param(1, "fewest SLE diagnosis records (distinct days) by baseline; 2 asks for a confirming one",
                        "records"))
def diagnosis_recorded(ex: Extract, min_records: int):
    """At least min_records SLE diagnosis records (distinct days) on or before baseline.

    ``min_records: 2`` asks for a second, confirming diagnosis.
    """
    count = pd.to_numeric(column_or_unknown(ex, "sle_diagnoses"), errors="coerce")
    return boolean((count >= min_records).where(count.notna()))


@diagnosis_recorded.naive_form
def diagnosis_recorded_naive(patient: R.Patient, min_records: int):
    return R.cmp(patient.get("sle_diagnoses"), ">=", min_records)


@diagnosis_recorded.sql_form
def diagnosis_recorded_sql(q: Query, min_records: int) -> str:
    return f"(p.sle_diagnoses >= {min_records})" if q.has("sle_diagnoses") else _UNKNOWN


@rule("alive_at_baseline", reads=("death_date", "baseline_date"), extra_columns={"death_date": "date"})
def alive_at_baseline(ex: Extract):
    """No death recorded on or before baseline (unknown without a death table or a baseline)."""
    p = ex.patients
    if "death_date" not in p.columns:
        return boolean(pd.Series(pd.NA, index=p.index, dtype="boolean"))
    death, base = p["death_date"], baseline(ex)
    alive = boolean(~(death <= base))
    alive[base.isna().to_numpy()] = pd.NA
    return alive


@alive_at_baseline.naive_form
def alive_at_baseline_naive(patient: R.Patient):
    if not patient.has("death_date") or R.na(patient["baseline_date"]):
        return None
    return R.na(patient["death_date"]) or not patient["death_date"] <= patient["baseline_date"]


@alive_at_baseline.sql_form
def alive_at_baseline_sql(q: Query) -> str:
    if not q.has("death_date"):  # no death table: nobody is known to be alive
        return _UNKNOWN
    return ("(CASE WHEN p.baseline_date IS NULL THEN NULL WHEN p.death_date IS NULL THEN TRUE "
            "ELSE NOT (p.death_date <= p.baseline_date) END)")


@rule("observed_before_baseline", reads=("in_observation", "observation_start", "baseline_date"),
      extra_columns={"in_observation": "bool", "observation_start": "date"},
      months=Param(12, "how long before baseline the observation period must have begun", "months"))
def observed_before_baseline(ex: Extract, months: float):
    """Baseline falls in an observation period that began at least `months` before it."""
    inside = boolean(column_or_unknown(ex, "in_observation"))
    p = ex.patients
    if "observation_start" not in p.columns:
        return inside & boolean(pd.Series(pd.NA, index=p.index, dtype="boolean"))
    start, base = p["observation_start"], baseline(ex)
    long_enough = boolean(start <= months_before(base, months))
    long_enough[(start.isna() | base.isna()).to_numpy()] = pd.NA
    return inside & long_enough


@observed_before_baseline.naive_form
def observed_before_baseline_naive(patient: R.Patient, months: float):
    inside = R.flag(patient.get("in_observation"))
    start, base = patient.get("observation_start"), patient["baseline_date"]
    long_enough = None if R.na(start) or R.na(base) else start <= R.months_before(base, months)
    return R.and_(inside, long_enough)


@observed_before_baseline.sql_form
def observed_before_baseline_sql(q: Query, months: float) -> str:
    inside = "p.in_observation" if q.has("in_observation") else _UNKNOWN
    if not q.has("observation_start"):
        return f"({inside} AND {_UNKNOWN})"
    return (f"({inside} AND (CASE WHEN p.observation_start IS NULL OR p.baseline_date IS NULL THEN NULL "
            f"ELSE p.observation_start <= {q.months_before('p.baseline_date', months)} END))")
