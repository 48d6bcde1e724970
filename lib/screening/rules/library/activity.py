"""Disease activity at screening: SLEDAI-2K and BILAG-2004 grades."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import BILAG_DOMAINS, BILAG_GRADES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.implied import implied_in, implied_in_naive, implied_in_sql
from screening.rules.masks import any_of, boolean
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


def _in(p: pd.DataFrame, domain: str, grades) -> pd.arrays.BooleanArray:
    """Three-valued "graded in ``grades``"; a blank renal or neuropsychiatric grade read from its partner field
    where that settles it (:mod:`screening.rules.implied`)."""
    return implied_in(p, f"bilag_{domain}", grades)


def _in_naive(patient: R.Patient, domain: str, grades):
    return implied_in_naive(patient, f"bilag_{domain}", grades)


@rule("bilag_active", reads=("bilag_{domains}",),
      grades=Param(["A", "B"], "grades that count as active", choices=BILAG_GRADES),
      domains=Param(list(BILAG_DOMAINS), "BILAG-2004 domains looked at", choices=BILAG_DOMAINS))
def bilag_active(ex: Extract, grades: list[str], domains: list[str]):
    """At least one BILAG-2004 domain graded in `grades` at screening."""
    p = ex.patients
    return any_of([_in(p, d, grades) for d in domains], len(p))


@bilag_active.naive_form
def bilag_active_naive(patient: R.Patient, grades: list[str], domains: list[str]):
    return R.any_(_in_naive(patient, d, grades) for d in domains)


@bilag_active.sql_form
def bilag_active_sql(q: Query, grades: list[str], domains: list[str]) -> str:
    return "(FALSE OR " + " OR ".join(implied_in_sql(f"bilag_{d}", grades, q.has) for d in domains) + ")"


@rule("bilag_count", reads=("bilag_{domains}",),
      a_min=Param(1, "fewest domains graded A", "domains"),
      b_min=Param(2, "fewest domains graded A or B", "domains"),
      domains=Param(list(BILAG_DOMAINS), "BILAG-2004 domains counted", choices=BILAG_DOMAINS))
def bilag_count(ex: Extract, a_min: int, b_min: int, domains: list[str]):
    """At least a_min BILAG-2004 domains graded A, or at least b_min graded A or B, at screening."""
    p = ex.patients
    n = len(p)
    n_a, n_ab, may_a, may_ab = (np.zeros(n, int) for _ in range(4))
    for d in domains:  # one pass per domain, vectorised over patients
        a, ab = _in(p, d, ["A"]), _in(p, d, ["A", "B"])
        n_a += np.asarray(a.fillna(False), dtype=bool)
        n_ab += np.asarray(ab.fillna(False), dtype=bool)
        may_a += np.asarray(a.fillna(True), dtype=bool)
        may_ab += np.asarray(ab.fillna(True), dtype=bool)
    met = (n_a >= a_min) | (n_ab >= b_min)
    # Unknown only if the domains that may be graded A (or A/B) could still meet it.
    reachable = (may_a >= a_min) | (may_ab >= b_min)
    return pd.arrays.BooleanArray(met, ~met & reachable)


@bilag_count.naive_form
def bilag_count_naive(patient: R.Patient, a_min: int, b_min: int, domains: list[str]):
    a = [_in_naive(patient, d, ["A"]) for d in domains]
    ab = [_in_naive(patient, d, ["A", "B"]) for d in domains]
    n_a, n_ab = sum(x is True for x in a), sum(x is True for x in ab)
    if n_a >= a_min or n_ab >= b_min:
        return True
    may_a, may_ab = sum(x is not False for x in a), sum(x is not False for x in ab)
    return None if (may_a >= a_min or may_ab >= b_min) else False


@bilag_count.sql_form
def bilag_count_sql(q: Query, a_min: int, b_min: int, domains: list[str]) -> str:
    def count(grades: list[str], surely: bool) -> str:
        def one(d: str) -> str:
            test = implied_in_sql(f"bilag_{d}", grades, q.has)
            return f"(CASE WHEN coalesce({test}, {'FALSE' if surely else 'TRUE'}) THEN 1 ELSE 0 END)"

        return "(" + (" + ".join(one(d) for d in domains) or "0") + ")"

    n_a, n_ab = count(["A"], True), count(["A", "B"], True)
    may_a, may_ab = count(["A"], False), count(["A", "B"], False)
    return (f"(CASE WHEN {n_a} >= {a_min} OR {n_ab} >= {b_min} THEN TRUE "
            f"WHEN {may_a} >= {a_min} OR {may_ab} >= {b_min} THEN NULL ELSE FALSE END)")
