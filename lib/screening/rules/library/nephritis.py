"""Lupus nephritis: when renal BILAG is active, the current episode's induction therapy must be complete.

Therapy is mycophenolate for ``total_months``, or cyclophosphamide for at least
``cyclophosphamide_months`` followed by mycophenolate or azathioprine, adding up to
``total_months`` (the MiSLE protocol, NCT02633163). Durations are in days, a month being
365.25 / 12 days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.dates import DAYS_PER_MONTH
from screening.io.extract import Extract
from screening.io.schema import BILAG_GRADES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import EARLY, LATE, Query, is_drug, lit
from screening.rules.implied import implied_in, implied_in_naive, implied_in_sql
from screening.rules.masks import is_drug as is_drug_mask
from screening.rules.registry import Param, rule
from screening.rules.windows import covered_days

THERAPY = ["mycophenolate", "azathioprine", "cyclophosphamide"]
_NAT = np.datetime64("NaT", "s")
#: stand-ins for "as early / as late as it could be" when a date is missing
_EARLY, _LATE = np.datetime64("1900-01-01", "s"), np.datetime64("2999-12-31", "s")


@rule("nephritis_therapy", reads=("bilag_renal", "lupus_nephritis", "nephritis_onset_date", "baseline_date",
                                  "medications"),
      total_months=Param(6, "nephritis therapy needed in the current episode", "months"),
      cyclophosphamide_months=Param(3, "cyclophosphamide needed before maintenance counts", "months"),
      grades=Param(["A", "B"], "renal BILAG grades that make the criterion apply", choices=BILAG_GRADES))
def nephritis_therapy(ex: Extract, total_months: float, cyclophosphamide_months: float, grades: list[str]):
    """If renal BILAG is in `grades`: at least total_months of nephritis therapy for the current episode.

    Therapy is mycophenolate for total_months, or cyclophosphamide for at least
    cyclophosphamide_months followed by mycophenolate or azathioprine, adding up
    to total_months. Patients without renal activity meet the criterion.
    """
    p = ex.patients
    applies = implied_in(p, "bilag_renal", grades)  # a blank grade read from the nephritis status
    onset, base = p["nephritis_onset_date"].to_numpy(), p["baseline_date"].to_numpy()
    # Therapy matters only where the criterion may apply: the other patients meet it whatever they took.
    meds = ex.medications
    may_apply = np.asarray(applies.fillna(True), dtype=bool)[ex.patient_rows("medications")]
    at = np.flatnonzero(may_apply & is_drug_mask(meds, THERAPY).fillna(True).to_numpy(dtype=bool))
    rows = ex.patient_rows("medications")[at]
    # Drugs as their category codes: ten million names are never compared as strings.
    drug = meds["drug"].cat.codes.to_numpy()[at]
    codes = _codes(meds["drug"].cat.categories)
    start, stop = meds["start_date"].to_numpy()[at], meds["stop_date"].to_numpy()[at]
    # A drug name the vocabulary did not know may be any of the three: possibly, it is each.
    wild = drug < 0
    is_cyc = drug == codes["cyclophosphamide"]
    # Certain: rows with a known start, inside a known episode (NaT propagates), up to a known baseline.
    sure = _therapy_done(rows, drug, codes, np.maximum(start, onset[rows]),
                         np.minimum(np.where(np.isnat(stop), base[rows], stop), base[rows]),
                         start >= _first(rows, is_cyc, start, len(p))[rows],
                         len(p), total_months, cyclophosphamide_months)
    # Possible: every unknown date at its most favourable (start and onset long ago, baseline far ahead).
    start_hi = np.where(np.isnat(start), _EARLY, start)
    base_hi = np.where(np.isnat(base), _LATE, base)[rows]
    first_hi = _first(rows, is_cyc | wild, start_hi, len(p))[rows]
    maybe = _therapy_done(rows, drug, codes, np.maximum(start_hi, np.where(np.isnat(onset), _EARLY, onset)[rows]),
                          np.minimum(np.where(np.isnat(stop), base_hi, stop), base_hi),
                          ~np.isnat(first_hi) & (np.isnat(start) | (start >= first_hi)), len(p), total_months,
                          cyclophosphamide_months, wild)
    completed = pd.arrays.BooleanArray(sure, ~sure & maybe)
    return ~applies | completed


def _codes(categories: pd.Index) -> dict[str, int]:
    """Each therapy drug's category code; -2 (no row's code) for one the extract does not name."""
    return {d: categories.get_loc(d) if d in categories else -2 for d in THERAPY}


def _first(rows: np.ndarray, which: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    """Earliest of the ``which`` rows' dates per patient (NaT where none)."""
    keep = which & ~np.isnat(dates)
    earliest = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(earliest, rows[keep], dates[keep].astype("datetime64[s]").view(np.int64))
    return np.where(earliest == np.iinfo(np.int64).max, _NAT, earliest.view("datetime64[s]"))


def _therapy_done(rows, drug, codes, start, stop, after_cyc, n, total_months, cyclophosphamide_months,
                  wild: np.ndarray | None = None) -> np.ndarray:
    """Whether the therapy rows [start, stop] add up to a completed nephritis course, per patient.

    ``drug`` holds category codes (:func:`_codes`); ``wild`` rows (drug unknown) count as every therapy drug.
    """
    usable = ~np.isnat(start) & ~np.isnat(stop) & (stop >= start)

    def days(drugs: list[str], extra: np.ndarray | None = None) -> np.ndarray:
        named = np.isin(drug, [codes[d] for d in drugs])
        keep = usable & (named if wild is None else (named | wild))
        if extra is not None:
            keep &= extra
        return covered_days(rows[keep], pd.Series(start[keep]), pd.Series(stop[keep]), n)

    mmf = days(["mycophenolate"])
    cyc = days(["cyclophosphamide"])
    maintenance = days(["mycophenolate", "azathioprine"], after_cyc)
    need = total_months * DAYS_PER_MONTH
    return (mmf >= need) | ((cyc >= cyclophosphamide_months * DAYS_PER_MONTH) & (cyc + maintenance >= need))


@nephritis_therapy.naive_form
def nephritis_therapy_naive(patient: R.Patient, total_months: float, cyclophosphamide_months: float,
                            grades: list[str]):
    applies = implied_in_naive(patient, "bilag_renal", grades)
    onset, base = patient["nephritis_onset_date"], patient["baseline_date"]
    rows = [m for _, m in patient.medications.iterrows() if R.is_drug(m, THERAPY) is not False]
    need = (total_months, cyclophosphamide_months)
    # Surely done: known drugs and dates only. Possibly done: each missing date at its most
    # favourable, and an unknown drug name as every therapy drug.
    if not (R.na(onset) or R.na(base)) and _course_done(
            need, [(m["drug"], m["start_date"], m["stop_date"], True) for m in rows
                   if not R.na(m["start_date"]) and not R.na(m["drug"])], onset, base):
        return True
    maybe = _course_done(need, [(drug, R.EARLY if R.na(m["start_date"]) else m["start_date"], m["stop_date"],
                                 not R.na(m["start_date"])) for m in rows
                                for drug in (THERAPY if R.na(m["drug"]) else (m["drug"],))],
                         R.EARLY if R.na(onset) else onset, R.LATE if R.na(base) else base)
    return R.or_(R.not_(applies), None if maybe else False)


def _covered(intervals) -> float:
    days = set()
    for lo, hi in intervals:
        days.update(range(lo, hi))  # end-exclusive, as the engine measures hi - lo
    return float(len(days))


def _course_done(need, rows, onset, base) -> bool:
    """Whether (drug, start, stop, start_known) rows make a completed course.

    A row with an unknown start may follow cyclophosphamide.
    """
    total_months, cyclophosphamide_months = need
    course = {"mycophenolate": [], "azathioprine": [], "cyclophosphamide": []}
    cyc_starts = [start for drug, start, _, _ in rows if drug == "cyclophosphamide"]
    first_cyc = min(cyc_starts) if cyc_starts else None
    day = pd.Timestamp("1970-01-01")
    for drug, start, stop, known in rows:
        lo = max(start, onset)
        hi = min(base if R.na(stop) else stop, base)
        if hi >= lo:
            after = first_cyc is not None and (not known or start >= first_cyc)
            course[drug].append(((lo - day).days, (hi - day).days, after))
    mmf = _covered((a, b) for a, b, _ in course["mycophenolate"])
    cyc = _covered((a, b) for a, b, _ in course["cyclophosphamide"])
    maint = _covered((a, b) for drug in ("mycophenolate", "azathioprine") for a, b, after in course[drug] if after)
    total = total_months * DAYS_PER_MONTH
    return mmf >= total or (cyc >= cyclophosphamide_months * DAYS_PER_MONTH and cyc + maint >= total)


@nephritis_therapy.sql_form
def nephritis_therapy_sql(q: Query, total_months: float, cyclophosphamide_months: float, grades: list[str]) -> str:
    total = total_months * DAYS_PER_MONTH
    cyc_need = cyclophosphamide_months * DAYS_PER_MONTH
    span = "greatest(0, hi - CASE WHEN prev_end > lo THEN prev_end ELSE lo END)"
    k = q.key
    q.cte("rows", f"SELECT x.patient_id, x.drug, x.start_date AS raw_start, x.stop_date AS raw_stop, "
                  f"b.nephritis_onset_date AS onset, b.baseline_date AS base FROM medications x JOIN patients b "
                  f"USING (patient_id) WHERE {is_drug(THERAPY)} IS DISTINCT FROM FALSE")
    # A drug name the vocabulary did not know (NULL) may be any of the three: possibly, it is each.
    q.cte("first", f"SELECT patient_id, min(raw_start) FILTER (WHERE drug = 'cyclophosphamide') AS first_sure, "
                   f"min(coalesce(raw_start, {EARLY})) FILTER (WHERE coalesce(drug, 'cyclophosphamide') = "
                   f"'cyclophosphamide') AS first_maybe FROM {k}_rows GROUP BY patient_id")
    # Surely done: known dates only. Possibly done: each missing date at its most favourable.
    q.cte("bounds", f"SELECT r.patient_id, r.drug, 'sure' AS bound, "
                    f"CASE WHEN raw_start IS NULL OR onset IS NULL THEN NULL ELSE greatest(raw_start, onset) END "
                    f"AS lo, "
                    f"CASE WHEN base IS NULL THEN NULL ELSE least(coalesce(raw_stop, base), base) END AS hi, "
                    f"coalesce(raw_start >= f.first_sure, FALSE) AS after_cyc FROM {k}_rows r "
                    f"JOIN {k}_first f USING (patient_id) WHERE r.drug IS NOT NULL "
                    f"UNION ALL SELECT r.patient_id, r.drug, 'maybe', greatest(coalesce(raw_start, {EARLY}), "
                    f"coalesce(onset, {EARLY})), least(coalesce(raw_stop, base, {LATE}), coalesce(base, {LATE})), "
                    f"f.first_maybe IS NOT NULL AND (raw_start IS NULL OR raw_start >= f.first_maybe) "
                    f"FROM {k}_rows r JOIN {k}_first f USING (patient_id)")
    q.cte("sets", " UNION ALL ".join(
        f"SELECT patient_id, bound, '{grp}' AS grp, CAST(lo AS DATE) AS lo, CAST(hi AS DATE) AS hi "
        f"FROM {k}_bounds WHERE coalesce(drug, '{drugs[0]}') IN {lit(drugs)} AND lo IS NOT NULL AND hi >= lo{extra}"
        for grp, drugs, extra in (("mmf", ["mycophenolate"], ""), ("cyc", ["cyclophosphamide"], ""),
                                  ("maint", ["mycophenolate", "azathioprine"], " AND after_cyc"))))
    q.cte("prev", f"SELECT *, max(hi) OVER (PARTITION BY patient_id, bound, grp ORDER BY lo ROWS BETWEEN "
                  f"UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM {k}_sets")
    days = q.cte("days", "SELECT patient_id, " + ", ".join(
        f"sum(CASE WHEN grp = '{grp}' AND bound = '{bound}' THEN {span} ELSE 0 END) AS {grp}_{bound}"
        for grp in ("mmf", "cyc", "maint") for bound in ("sure", "maybe")) + f" FROM {k}_prev GROUP BY patient_id",
        join=True)

    def done(bound: str) -> str:
        mmf, cyc, maint = (f"coalesce({days}.{grp}_{bound}, 0)" for grp in ("mmf", "cyc", "maint"))
        return f"({mmf} >= {total} OR ({cyc} >= {cyc_need} AND {cyc} + {maint} >= {total}))"

    completed = f"(CASE WHEN {done('sure')} THEN TRUE WHEN {done('maybe')} THEN NULL ELSE FALSE END)"
    return f"((NOT {implied_in_sql('bilag_renal', grades, q.has)}) OR {completed})"
