"""Glucocorticoid dose: the peak daily prednisone-equivalent dose per kg within a look-back window.

Doses of overlapping rows are added; other glucocorticoids are converted with the
prednisone-equivalence table in :mod:`screening.rules.windows` (its citation is there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import TABLES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import EARLY, LATE, Query
from screening.rules.masks import in_categories, lookback, recency, recent
from screening.rules.registry import Param, rule
from screening.rules.windows import PREDNISONE_EQUIVALENT, max_concurrent_per_patient

#: the weights a missing weight could be (the data dictionary's range)
WEIGHT_RANGE = next((f.min, f.max) for f in TABLES["patients"] if f.name == "weight_kg")
#: a dose larger than any, for a row whose dose is missing
ANY_DOSE_MG = 1e9
_EARLY, _LATE = np.datetime64("1900-01-01", "s"), np.datetime64("2999-12-31", "s")
_WEAKEST, _STRONGEST = min(PREDNISONE_EQUIVALENT.values()), max(PREDNISONE_EQUIVALENT.values())


@rule("glucocorticoid_dose", reads=("baseline_date", "weight_kg", "medications"), lookback=True,
      max_mg_per_kg=Param(0.5, "highest prednisone-equivalent dose allowed, inclusive", "mg/kg/day"),
      months=Param(1, "look-back before baseline", "months"),
      weight_months=recency("the weight"))
def glucocorticoid_dose(ex: Extract, max_mg_per_kg: float, months: float, weight_months: float | None):
    """Prednisone-equivalent dose above max_mg_per_kg mg/kg/day on any day within `months` before baseline.

    Doses of overlapping glucocorticoid rows are added; other glucocorticoids are
    converted with the prednisone-equivalence table in ``screening.rules.windows``.
    """
    n = len(ex.patients)
    meds = ex.medications
    # A row of unknown class (its drug unknown too: the loader takes a known drug's class from the
    # vocabulary) may be a glucocorticoid: it counts towards the possible peak only. Only rows that may
    # touch the window count (a missing date may; a missing stop is ongoing).
    unsure = meds["drug_class"].isna().to_numpy()
    idx, rows, begin, end = lookback(ex, months, in_categories(meds["drug_class"], ["glucocorticoid"]) | unsure)
    start, stop = meds["start_date"].to_numpy()[idx], meds["stop_date"].to_numpy()[idx]
    drug = meds["drug"].iloc[idx].astype("category")
    # An unrecognised name (missing) is some glucocorticoid: at least the weakest, at most the strongest.
    factor = np.array([PREDNISONE_EQUIVALENT.get(d, np.nan) for d in drug.cat.categories] + [np.nan])
    factor = factor[drug.cat.codes.to_numpy()]
    unnamed = drug.isna().to_numpy()
    dose = meds["dose"].iloc[idx].to_numpy(dtype=float, na_value=np.nan)
    mg = np.where(unsure[idx], np.nan, dose * np.where(unnamed, _WEAKEST, factor))
    mg_most = dose * np.where(unnamed, _STRONGEST, factor)
    ongoing = np.isnat(stop)
    # Surely taken: known dose and start, clipped to a known window; a row missing its start
    # surely ran on its stop day.
    lo = np.maximum(np.where(np.isnat(start), stop, start), begin)
    hi = np.minimum(np.where(ongoing, end, stop), end)
    peak_sure = _peak(rows, lo, hi, mg, n)
    # Possibly taken: a missing start from long ago, a missing baseline anywhere, a missing dose
    # or unknown drug as large as any.
    begin_hi, end_hi = np.where(np.isnat(begin), _EARLY, begin), np.where(np.isnat(end), _LATE, end)
    lo = np.maximum(np.where(np.isnat(start), _EARLY, start), begin_hi)
    hi = np.minimum(np.where(ongoing, end_hi, stop), end_hi)
    peak_maybe = _peak(rows, lo, hi, np.where(np.isnan(mg_most), ANY_DOSE_MG, mg_most), n)
    weight = recent(ex, "weight_kg", weight_months).to_numpy(dtype=float, na_value=np.nan)
    light, heavy = (np.where(np.isnan(weight), bound, weight) for bound in WEIGHT_RANGE)
    above = peak_sure / heavy > max_mg_per_kg
    maybe = peak_maybe / light > max_mg_per_kg
    return pd.arrays.BooleanArray(above, ~above & maybe)


def _peak(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, mg: np.ndarray, n: int) -> np.ndarray:
    """Largest daily total of ``mg`` over the rows' day intervals [lo, hi], per patient (NaN/NaT rows skipped)."""
    keep = ~np.isnat(lo) & ~np.isnat(hi) & ~np.isnan(mg) & (hi >= lo)
    day = [d[keep].astype("datetime64[D]").astype(np.int64) for d in (lo, hi)]
    return max_concurrent_per_patient(rows[keep], day[0], day[1], mg[keep], n)


@glucocorticoid_dose.naive_form
def glucocorticoid_dose_naive(patient: R.Patient, max_mg_per_kg: float, months: float,
                              weight_months: float | None):
    """Peak daily dose surely taken, and the peak possibly taken, over the window."""
    base = patient["baseline_date"]
    begin = None if R.na(base) else R.months_before(base, months)
    sure: dict = {}
    maybe: dict = {}
    for _, m in patient.medications.iterrows():
        # A row of unknown class (and so of unknown drug) may be a glucocorticoid: possibly taken only.
        unsure = R.na(m["drug_class"])
        if not unsure and m["drug_class"] != "glucocorticoid":
            continue
        # An unrecognised name is some glucocorticoid: at least the weakest, at most the strongest.
        if R.na(m["drug"]):
            low, high = _WEAKEST, _STRONGEST
        else:
            low = high = PREDNISONE_EQUIVALENT.get(m["drug"])
        dose = None if R.na(m["dose"]) or low is None or unsure else m["dose"] * low
        most = None if R.na(m["dose"]) or high is None else m["dose"] * high
        start, stop = m["start_date"], m["stop_date"]
        if dose is not None and begin is not None:
            lo = stop if R.na(start) else start
            if not R.na(lo):
                lo = max(lo, begin)
                hi = base if R.na(stop) else min(stop, base)
                for day in pd.date_range(lo, hi, freq="D"):
                    sure[day] = sure.get(day, 0.0) + dose
        lo = max(R.EARLY if R.na(start) else start, R.EARLY if begin is None else begin)
        last = R.LATE if R.na(base) else base
        hi = last if R.na(stop) else min(stop, last)
        if hi >= lo:
            # Day-by-day over decades is too slow even here: the possible peak only needs the
            # segments' edges, where totals change.
            maybe[(lo, hi)] = maybe.get((lo, hi), []) + [ANY_DOSE_MG if most is None else most]
    weight = R.recent(patient, "weight_kg", weight_months)
    light, heavy = (WEIGHT_RANGE if R.na(weight) else (weight, weight))
    peak_sure = max(sure.values(), default=0.0)
    peak_maybe = max((sum(d for (lo, hi), doses in maybe.items() if lo <= day <= hi for d in doses)
                      for day in {lo for lo, _ in maybe}), default=0.0)
    if peak_sure / heavy > max_mg_per_kg:
        return True
    return None if peak_maybe / light > max_mg_per_kg else False


@glucocorticoid_dose.sql_form
def glucocorticoid_dose_sql(q: Query, max_mg_per_kg: float, months: float, weight_months: float | None) -> str:
    factors = " ".join(f"WHEN '{drug}' THEN {factor!r}" for drug, factor in PREDNISONE_EQUIVALENT.items())
    k = q.key
    q.cte("rows", f"SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, "
                  f"{q.months_before('b.baseline_date', months)} AS begin, x.dose * (CASE WHEN x.drug_class IS NULL "
                  f"THEN NULL WHEN x.drug IS NULL THEN {_WEAKEST!r} ELSE (CASE x.drug {factors} ELSE NULL END) END) "
                  f"AS mg, x.dose * (CASE WHEN x.drug IS NULL THEN {_STRONGEST!r} "
                  f"ELSE (CASE x.drug {factors} ELSE NULL END) END) AS mg_most FROM medications x "
                  # A row of unknown class (its drug unknown too) may be a glucocorticoid: possibly taken only.
                  f"JOIN patients b USING (patient_id) WHERE x.drug_class = 'glucocorticoid' OR x.drug_class IS NULL")
    # Surely taken: known dose, clipped to a known window; a missing start surely ran on its stop day.
    # Possibly taken: a missing start long ago, a missing baseline anywhere, a missing dose huge.
    q.cte("seg", f"SELECT patient_id, 'sure' AS bound, CAST(CASE WHEN coalesce(s, e) > begin THEN coalesce(s, e) "
                 f"ELSE begin END AS DATE) AS lo, CAST(CASE WHEN e IS NULL OR e > base THEN base ELSE e END AS DATE) "
                 f"AS hi, mg FROM {k}_rows WHERE mg IS NOT NULL AND base IS NOT NULL AND coalesce(s, e) IS NOT NULL "
                 f"UNION ALL SELECT patient_id, 'maybe', "
                 f"CAST(greatest(coalesce(s, {EARLY}), coalesce(begin, {EARLY})) AS DATE), "
                 f"CAST(least(coalesce(e, base, {LATE}), coalesce(base, {LATE})) AS DATE), "
                 f"coalesce(mg_most, {ANY_DOSE_MG!r}) FROM {k}_rows")
    q.cte("sure", f"SELECT patient_id, bound, lo, hi, CAST(round(mg * 1000000) AS BIGINT) AS units FROM {k}_seg "
                  f"WHERE hi >= lo")
    q.cte("ev", f"SELECT patient_id, bound, lo AS day, units AS delta FROM {k}_sure UNION ALL "
                f"SELECT patient_id, bound, hi + 1 AS day, -units AS delta FROM {k}_sure")
    q.cte("run", f"SELECT patient_id, bound, sum(delta) OVER (PARTITION BY patient_id, bound ORDER BY day, delta "
                 f"ROWS UNBOUNDED PRECEDING) AS total FROM {k}_ev")
    peak = q.cte("peak", f"SELECT patient_id, max(total) FILTER (WHERE bound = 'sure') / 1000000.0 AS sure, "
                         f"max(total) FILTER (WHERE bound = 'maybe') / 1000000.0 AS maybe FROM {k}_run "
                         f"GROUP BY patient_id", join=True)
    light, heavy = WEIGHT_RANGE
    weight = q.recent("weight_kg", weight_months)
    return (f"(CASE WHEN coalesce({peak}.sure, 0) / coalesce({weight}, {heavy!r}) > {max_mg_per_kg} THEN TRUE "
            f"WHEN coalesce({peak}.maybe, 0) / coalesce({weight}, {light!r}) > {max_mg_per_kg} THEN NULL "
            f"ELSE FALSE END)")
