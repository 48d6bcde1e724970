"""The SLE diagnosis: classification criteria met, positive autoantibody tests, and how long ago it was made."""

from __future__ import annotations

import pandas as pd

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.masks import any_of, baseline, boolean, within
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


#: antibody (or low complement) -> (result column, date column); columns a registry may lack are unknown
TESTS = {"ana": ("ana_titre", "ana_date"), "anti_dsdna": ("anti_dsdna_positive", "anti_dsdna_date"),
         "anti_sm": ("anti_sm_positive", "anti_sm_date"),
         "antiphospholipid": ("antiphospholipid_positive", "antiphospholipid_date"),
         "low_c3": ("c3", "c3_date"), "low_c4": ("c4", "c4_date")}


def _recency(name: str) -> Param:
    return Param(6, f"how recent a {name} result must be, before baseline (none: any time)", "months",
                 kind="number or none")


#: the columns every extract holds; the optional ones (antiphospholipid, C3, C4) are read when present and are
#: unknown when absent, so an extract without them is not made unassessable for a criterion not listing them
_ALWAYS_READ = ("baseline_date", *TESTS["ana"], *TESTS["anti_dsdna"], *TESTS["anti_sm"])


@rule("autoantibody_any", reads=_ALWAYS_READ, lookback=True,
      antibodies=Param(["ana", "anti_dsdna", "anti_sm"], "the tests any one of which qualifies",
                       choices=tuple(TESTS)),
      ana_min_titre=Param(80, "lowest positive ANA titre, as the denominator of 1:n"),
      c3_below=Param(None, "C3 below this is low (the laboratory's lower limit)", "mg/dL", kind="number"),
      c4_below=Param(None, "C4 below this is low (the laboratory's lower limit)", "mg/dL", kind="number"),
      ana_months=_recency("ANA"), anti_dsdna_months=_recency("anti-dsDNA"), anti_sm_months=_recency("anti-Sm"),
      antiphospholipid_months=_recency("antiphospholipid antibody"),
      complement_months=_recency("C3 or C4"))
def autoantibody_any(ex: Extract, antibodies: list[str], ana_min_titre: int, c3_below: float | None,
                     c4_below: float | None, ana_months, anti_dsdna_months, anti_sm_months,
                     antiphospholipid_months, complement_months):
    """Any one of the listed tests positive (ANA ≥ 1:ana_min_titre, anti-dsDNA, anti-Sm, antiphospholipid,
    C3 or C4 low), each within its own months before baseline."""
    limits = _limits(ana_min_titre, c3_below, c4_below)
    months = _months(ana_months, anti_dsdna_months, anti_sm_months, antiphospholipid_months, complement_months)
    p = ex.patients
    unknown = pd.array([pd.NA] * len(p), dtype="boolean")
    found = []
    for name in antibodies:
        value_col, date_col = TESTS[name]
        op, limit = limits[name]
        if value_col not in p.columns:  # a test the extract does not hold may be positive for anyone
            found.append(unknown)
            continue
        value = p[value_col]
        positive = boolean(value) if op is None else boolean(_OPS[op](value, limit))
        if months[name] is not None:
            positive = positive & (within(p[date_col], ex, months[name]) if date_col in p.columns else unknown)
        found.append(positive)
    return any_of(found, len(ex.patients))


_OPS = {">=": lambda a, b: a >= b, "<": lambda a, b: a < b}


def _limits(ana_min_titre, c3_below, c4_below) -> dict:
    """Test -> (comparison, threshold); None for a positive/negative result."""
    return {"ana": (">=", ana_min_titre), "anti_dsdna": (None, None), "anti_sm": (None, None),
            "antiphospholipid": (None, None), "low_c3": ("<", c3_below), "low_c4": ("<", c4_below)}


def _months(ana, dsdna, sm, apl, complement) -> dict:
    return {"ana": ana, "anti_dsdna": dsdna, "anti_sm": sm, "antiphospholipid": apl, "low_c3": complement,
            "low_c4": complement}


@autoantibody_any.naive_form
def autoantibody_any_naive(patient: R.Patient, antibodies: list[str], ana_min_titre: int, c3_below, c4_below,
                           ana_months, anti_dsdna_months, anti_sm_months, antiphospholipid_months,
                           complement_months):
    limits = _limits(ana_min_titre, c3_below, c4_below)
    months = _months(ana_months, anti_dsdna_months, anti_sm_months, antiphospholipid_months, complement_months)
    found = []
    for name in antibodies:
        value_col, date_col = TESTS[name]
        op, limit = limits[name]
        value = patient.get(value_col)
        positive = R.flag(value) if op is None else R.cmp(value, op, limit)
        if months[name] is not None:
            positive = R.and_(positive, R.within(patient.get(date_col), patient["baseline_date"], months[name]))
        found.append(positive)
    return R.any_(found)


@autoantibody_any.sql_form
def autoantibody_any_sql(q: Query, antibodies: list[str], ana_min_titre: int, c3_below, c4_below, ana_months,
                         anti_dsdna_months, anti_sm_months, antiphospholipid_months, complement_months) -> str:
    limits = _limits(ana_min_titre, c3_below, c4_below)
    months = _months(ana_months, anti_dsdna_months, anti_sm_months, antiphospholipid_months, complement_months)
    found = []
    for name in antibodies:
        value_col, date_col = TESTS[name]
        op, limit = limits[name]
        value = f"p.{value_col}" if q.has(value_col) else "CAST(NULL AS BOOLEAN)"
        if op is None:
            positive = f"({value})"
        else:
            value = value if q.has(value_col) else "CAST(NULL AS DOUBLE PRECISION)"
            positive = f"({value} {op} {limit!r})"
        if months[name] is not None:
            date = q.within(f"p.{date_col}", months[name]) if q.has(date_col) else "CAST(NULL AS BOOLEAN)"
            positive = f"({positive} AND {date})"
        found.append(positive)
    return "(FALSE OR " + " OR ".join(found) + ")"


@autoantibody_any.check_form
def autoantibody_any_check(params: dict):
    if not params["antibodies"]:
        yield "antibodies", "at least one test"
    for name, limit in (("low_c3", "c3_below"), ("low_c4", "c4_below")):
        if name in params["antibodies"] and params[limit] is None:
            yield limit, f"the level below which {name[4:].upper()} is low, as {name} is listed"


@rule("disease_duration", reads=("sle_diagnosis_date", "baseline_date"), lookback=True,
      min_weeks=Param(24, "fewest weeks from the SLE diagnosis to baseline, inclusive", "weeks"))
def disease_duration(ex: Extract, min_weeks: float):
    """SLE diagnosed at least min_weeks weeks before baseline."""
    base = baseline(ex)
    if "sle_diagnosis_date" not in ex.patients.columns:  # not in the extract: unknown for everyone
        return pd.array([pd.NA] * len(base), dtype="boolean")
    diagnosed = ex.patients["sle_diagnosis_date"]
    out = boolean(diagnosed <= base - pd.Timedelta(days=_days(min_weeks)))
    out[(diagnosed.isna() | base.isna()).to_numpy()] = pd.NA
    return out


def _days(weeks: float) -> int:
    return round(weeks * 7)


@disease_duration.naive_form
def disease_duration_naive(patient: R.Patient, min_weeks: float):
    diagnosed, base = patient.get("sle_diagnosis_date"), patient["baseline_date"]
    return None if R.na(diagnosed) or R.na(base) else diagnosed <= R.days_before(base, _days(min_weeks))


@disease_duration.sql_form
def disease_duration_sql(q: Query, min_weeks: float) -> str:
    if not q.has("sle_diagnosis_date"):
        return "CAST(NULL AS BOOLEAN)"
    return f"(p.sle_diagnosis_date <= {q.days_before('p.baseline_date', str(_days(min_weeks)))})"
