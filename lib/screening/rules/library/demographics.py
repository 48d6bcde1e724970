"""Demographics: who the trial may enrol by age."""

from __future__ import annotations

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.masks import boolean
from screening.rules.registry import Param, rule


@rule("age", reads=("age_years",), one_column="age_years",
      min_age=Param(18, "youngest age allowed, inclusive", "years"),
      max_age=Param(65, "oldest age allowed, inclusive", "years"))
def age(ex: Extract, min_age: float, max_age: float):
    """Age at baseline from min_age to max_age years, both inclusive."""
    years = ex.patients["age_years"]
    return boolean((years >= min_age) & (years <= max_age))


@age.naive_form
def age_naive(patient: R.Patient, min_age: float, max_age: float):
    return R.and_(R.cmp(patient["age_years"], ">=", min_age), R.cmp(patient["age_years"], "<=", max_age))


@age.sql_form
def age_sql(q: Query, min_age: float, max_age: float) -> str:
    return f"(p.age_years >= {min_age} AND p.age_years <= {max_age})"
