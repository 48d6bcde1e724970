"""Pregnancy: pregnant or breastfeeding, or able to conceive without contraception; a man never is."""

from __future__ import annotations

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.masks import boolean
from screening.rules.registry import rule


@rule("pregnancy", reads=("sex", "pregnant", "breastfeeding", "childbearing_potential", "contraception"))
def pregnancy(ex: Extract):
    """Pregnant, breastfeeding, or a woman of child-bearing potential not using contraception."""
    p = ex.patients
    risk = boolean(p["pregnant"]) | boolean(p["breastfeeding"]) \
        | (boolean(p["childbearing_potential"]) & ~boolean(p["contraception"]))
    risk[(p["sex"] == "M").fillna(False).to_numpy()] = False
    return risk


@pregnancy.naive_form
def pregnancy_naive(patient: R.Patient):
    if patient["sex"] == "M":
        return False
    flag = {c: R.flag(patient[c]) for c in ("pregnant", "breastfeeding", "childbearing_potential", "contraception")}
    return R.or_(flag["pregnant"], flag["breastfeeding"], R.and_(flag["childbearing_potential"],
                                                                 R.not_(flag["contraception"])))


@pregnancy.sql_form
def pregnancy_sql(q: Query) -> str:
    return ("(CASE WHEN p.sex = 'M' THEN FALSE ELSE (p.pregnant OR p.breastfeeding OR "
            "(p.childbearing_potential AND NOT p.contraception)) END)")


@rule("pregnancy_recorded", reads=("sex", "pregnant"))
def pregnancy_recorded(ex: Extract):
    """Pregnant at baseline, as recorded; a man is never pregnant, whatever the record holds.

    The coded part of the pregnancy exclusion, for sources that record pregnancy but
    not breastfeeding or contraception (EHR data).
    """
    p = ex.patients
    pregnant = boolean(p["pregnant"])
    pregnant[(p["sex"] == "M").fillna(False).to_numpy()] = False
    return pregnant


@pregnancy_recorded.naive_form
def pregnancy_recorded_naive(patient: R.Patient):
    return False if patient["sex"] == "M" else R.flag(patient["pregnant"])


@pregnancy_recorded.sql_form
def pregnancy_recorded_sql(q: Query) -> str:
    return "(CASE WHEN p.sex = 'M' THEN FALSE ELSE p.pregnant END)"
