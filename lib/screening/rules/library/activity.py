"""Disease activity at screening: SLEDAI-2K and BILAG-2004 grades."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import BILAG_DOMAINS, BILAG_GRADES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import RENAL, Query, lit
from screening.rules.masks import any_of, boolean, isin
from screening.rules.registry import Param, rule


@rule("sledai", reads=("sledai_2k",), one_column="sledai_2k",
      min=Param(6, "lowest SLEDAI-2K allowed, inclusive", "points"),
      max=Param(None, "highest SLEDAI-2K allowed, inclusive (none: no upper limit)", "points",
                kind="number or none"))
def sledai(ex: Extract, min: float, max: float | None):
    """SLEDAI-2K at screening at least `min` (and at most `max` when given)."""
    score = ex.patients["sledai_2k"]
    ok = boolean(score >= min)
    if max is not None:
        ok = ok & boolean(score <= max)
    return ok


@sledai.naive_form
def sledai_naive(patient: R.Patient, min: float, max: float | None):
    ok = R.cmp(patient["sledai_2k"], ">=", min)
    return ok if max is None else R.and_(ok, R.cmp(patient["sledai_2k"], "<=", max))


@sledai.sql_form
def sledai_sql(q: Query, min: float, max: float | None) -> str:
    upper = f" AND p.sledai_2k <= {max}" if max is not None else ""
    return f"(p.sledai_2k >= {min}{upper})"


def renal_grade(p: pd.DataFrame) -> pd.Series:
    """Renal BILAG grade; E (never involved) when not scored for a patient who never had nephritis.

    Uses ``lupus_nephritis`` when the extract holds it (not a required read: without it, unknown stays unknown).
    """
    renal = p["bilag_renal"]
    if "lupus_nephritis" not in p:
        return renal
    never = (renal.isna() & (p["lupus_nephritis"] == "never")).fillna(False)
    return renal.mask(never, "E") if never.any() else renal


def _grade(p: pd.DataFrame, domain: str) -> pd.Series:
    return renal_grade(p) if domain == "renal" else p[f"bilag_{domain}"]


def _grade_naive(patient: R.Patient, domain: str):
    return R.renal(patient) if domain == "renal" else patient[f"bilag_{domain}"]


def _grade_sql(domain: str) -> str:
    return RENAL if domain == "renal" else f"p.bilag_{domain}"


@rule("bilag_active", reads=("bilag_{domains}",),
      grades=Param(["A", "B"], "grades that count as active", choices=BILAG_GRADES),
      domains=Param(list(BILAG_DOMAINS), "BILAG-2004 domains looked at", choices=BILAG_DOMAINS))
def bilag_active(ex: Extract, grades: list[str], domains: list[str]):
    """At least one BILAG-2004 domain graded in `grades` at screening."""
    p = ex.patients
    return any_of([isin(_grade(p, d), grades) for d in domains], len(p))


@bilag_active.naive_form
def bilag_active_naive(patient: R.Patient, grades: list[str], domains: list[str]):
    found = (_grade_naive(patient, d) for d in domains)
    return R.any_(None if R.na(g) else g in grades for g in found)


@bilag_active.sql_form
def bilag_active_sql(q: Query, grades: list[str], domains: list[str]) -> str:
    return "(FALSE OR " + " OR ".join(f"({_grade_sql(d)} IN {lit(grades)})" for d in domains) + ")"


@rule("bilag_count", reads=("bilag_{domains}",),
      a_min=Param(1, "fewest domains graded A", "domains"),
      b_min=Param(2, "fewest domains graded A or B", "domains"),
      domains=Param(list(BILAG_DOMAINS), "BILAG-2004 domains counted", choices=BILAG_DOMAINS))
def bilag_count(ex: Extract, a_min: int, b_min: int, domains: list[str]):
    """At least a_min BILAG-2004 domains graded A, or at least b_min graded A or B, at screening."""
    p = ex.patients
    n = len(p)
    n_a, n_ab, n_missing = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    for d in domains:  # one pass per domain, vectorised over patients
        grade = _grade(p, d)
        n_a += np.asarray(isin(grade, ["A"]).fillna(False), dtype=bool)
        n_ab += np.asarray(isin(grade, ["A", "B"]).fillna(False), dtype=bool)
        n_missing += np.asarray(grade.isna(), dtype=bool)
    met = (n_a >= a_min) | (n_ab >= b_min)
    # Unknown only if grading the missing domains A could still meet it.
    reachable = (n_a + n_missing >= a_min) | (n_ab + n_missing >= b_min)
    return pd.arrays.BooleanArray(met, ~met & reachable)


@bilag_count.naive_form
def bilag_count_naive(patient: R.Patient, a_min: int, b_min: int, domains: list[str]):
    grades = [_grade_naive(patient, d) for d in domains]
    missing = sum(R.na(g) for g in grades)
    n_a = sum(not R.na(g) and g == "A" for g in grades)
    n_ab = sum(not R.na(g) and g in ("A", "B") for g in grades)
    if n_a >= a_min or n_ab >= b_min:
        return True
    return None if (n_a + missing >= a_min or n_ab + missing >= b_min) else False


@bilag_count.sql_form
def bilag_count_sql(q: Query, a_min: int, b_min: int, domains: list[str]) -> str:
    def count(test: str) -> str:
        return "(" + (" + ".join(f"(CASE WHEN {_grade_sql(d)} {test} THEN 1 ELSE 0 END)" for d in domains)
                      or "0") + ")"

    n_a, n_ab, missing = count("= 'A'"), count("IN ('A', 'B')"), count("IS NULL")
    return (f"(CASE WHEN {n_a} >= {a_min} OR {n_ab} >= {b_min} THEN TRUE "
            f"WHEN {n_a} + {missing} >= {a_min} OR {n_ab} + {missing} >= {b_min} THEN NULL ELSE FALSE END)")
