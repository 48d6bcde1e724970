"""The SLE diagnosis: classification criteria met, and a positive autoantibody test before baseline."""

from __future__ import annotations

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.masks import boolean, within
from screening.rules.registry import Param, rule


@rule("classification", reads=("acr_criteria_count", "slicc_classified"),
      acr_min=Param(4, "fewest of the 11 ACR 1997 criteria met", "criteria"),
      accept_slicc=Param(False, "also accept SLICC 2012 classification"))
def classification(ex: Extract, acr_min: int, accept_slicc: bool):
    """At least acr_min of the 11 ACR 1997 criteria (or SLICC 2012 classification if accepted)."""
    acr = boolean(ex.patients["acr_criteria_count"] >= acr_min)
    if accept_slicc:
        return acr | boolean(ex.patients["slicc_classified"])
    return acr


@classification.naive_form
def classification_naive(patient: R.Patient, acr_min: int, accept_slicc: bool):
    acr = R.cmp(patient["acr_criteria_count"], ">=", acr_min)
    return R.or_(acr, R.flag(patient["slicc_classified"])) if accept_slicc else acr


@classification.sql_form
def classification_sql(q: Query, acr_min: int, accept_slicc: bool) -> str:
    acr = f"(p.acr_criteria_count >= {acr_min})"
    return f"({acr} OR p.slicc_classified)" if accept_slicc else acr


@rule("autoantibody", reads=("ana_titre", "ana_date", "anti_dsdna_positive", "anti_dsdna_date", "baseline_date"),
      lookback=True, lab_months="months",
      ana_min_titre=Param(80, "lowest positive ANA titre, as the denominator of 1:n"),
      months=Param(6, "how recent the test must be, before baseline", "months"))
def autoantibody(ex: Extract, ana_min_titre: int, months: float):
    """Positive ANA (titre at least 1:ana_min_titre) or anti-dsDNA, tested within `months` before baseline."""
    p = ex.patients
    ana = boolean(p["ana_titre"] >= ana_min_titre) & within(p["ana_date"], ex, months)
    dsdna = boolean(p["anti_dsdna_positive"]) & within(p["anti_dsdna_date"], ex, months)
    return ana | dsdna


@autoantibody.naive_form
def autoantibody_naive(patient: R.Patient, ana_min_titre: int, months: float):
    base = patient["baseline_date"]
    ana = R.and_(R.cmp(patient["ana_titre"], ">=", ana_min_titre), R.within(patient["ana_date"], base, months))
    dsdna = R.and_(R.flag(patient["anti_dsdna_positive"]), R.within(patient["anti_dsdna_date"], base, months))
    return R.or_(ana, dsdna)


@autoantibody.sql_form
def autoantibody_sql(q: Query, ana_min_titre: int, months: float) -> str:
    return (f"((p.ana_titre >= {ana_min_titre} AND {q.within('p.ana_date', months)}) OR "
            f"(p.anti_dsdna_positive AND {q.within('p.anti_dsdna_date', months)}))")
