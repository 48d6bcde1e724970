"""Glucocorticoid courses started at the synthetic visits' new flares, and how they join the medication table.

A new flare at a visit (quiet at the step before it) is treated in 44.8% of cases, the
share of flares that prompted a change in treatment in the Hopkins Lupus Cohort (Petri
et al., Arthritis Rheum 1991;34:937-944): every severe flare (14%, see
:mod:`screening.synth.visits`) and 36% of the others. A course is prednisone from the
visit date, written as dose segments (a new row at each change, each row ending the day
before the next begins, as :mod:`screening.rules.library.stability` reads a course):

* a mild or moderate flare: 10-30 mg/day, at most 0.5 mg/kg/day (the SELENA flare
  index's mild/moderate flare raises prednisone "but not to > 0.5 mg/kg/day": Petri
  et al., N Engl J Med 2005;353:2550-2558), for two weeks, half that for 2-4 weeks,
  then 5 mg/day for 4-8 weeks;
* a severe flare: 0.55-1 mg/kg/day (above 0.5 mg/kg, the SELENA flare index's severe
  flare), 30-60 mg/day, for four weeks, half for 4-8 weeks, then 7.5 mg/day for 8-16
  weeks; half of them (our assumption) begin with three days of intravenous
  methylprednisolone 500 mg/day (pulses of 250-1000 mg/day for 1-3 days in
  organ-threatening disease: EULAR 2019 recommendations, Fanouriakis et al., Ann Rheum
  Dis 2019;78:736-745, which also set 7.5 mg/day as the most to taper to).

The segment lengths are our assumption. A course ends where the patient's next one
begins, and by the day before the baseline: the glucocorticoid the patient takes at the
baseline is the cross-sectional generator's (:mod:`screening.synth.treatment`), drawn
from the baseline's own activity, so the baseline row keeps its dose and the last visit's
flare has been tapered into it.

The cross-sectional generator's *recent bursts* (ending in the 150 days before baseline,
drawn from baseline activity) and *past courses* stand for flares it does not see. With
visits, every glucocorticoid course that ended before the baseline and began within a
patient's follow-up (on or after their first earlier visit) is replaced by the courses
of the flares the visits do see (:func:`with_flare_courses`); those begun before the
follow-up, and the ongoing ones, stay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TREATED", "flare_courses", "with_flare_courses"]

#: Share of new flares given a glucocorticoid course (Petri et al. 1991: 44.8% prompted a change in treatment).
TREATED = 0.448
_DAY = np.timedelta64(1, "D")


def flare_courses(rng, patients: pd.DataFrame, who: np.ndarray, start: np.ndarray, severe: np.ndarray,
                  base: np.ndarray) -> pd.DataFrame:
    """Medication rows of the courses started at new flares: patient positions ``who``, visit days ``start``."""
    from screening.synth.visits import SEVERE

    m = len(who)
    mild_treated = (TREATED - SEVERE) / (1 - SEVERE)
    treated = severe | (rng.random(m) < mild_treated)
    weight = patients["weight_kg"].to_numpy(dtype=float, na_value=np.nan)[who] \
        if "weight_kg" in patients.columns else np.full(m, np.nan)
    weight = np.where(np.isnan(weight), 70.0, weight)  # an unrecorded weight read as 70 kg (our assumption)
    mild = np.minimum(rng.choice([10.0, 15.0, 20.0, 30.0], m, p=[0.25, 0.3, 0.3, 0.15]),
                      np.maximum(np.floor(0.5 * weight / 2.5) * 2.5, 5.0))
    heavy = np.clip(np.round(rng.uniform(0.55, 1.0, m) * weight / 5) * 5, 30, 60)
    dose = np.where(severe, heavy, mild)
    floor = np.where(severe, 7.5, 5.0)
    half = np.maximum(np.round(dose / 5) * 2.5, floor)
    pulse = severe & (rng.random(m) < 0.5)
    days = np.stack([np.where(pulse, 3, 0), np.where(severe, 28, 14),
                     np.where(severe, rng.integers(28, 57, m), rng.integers(14, 29, m)),
                     np.where(severe, rng.integers(56, 113, m), rng.integers(28, 57, m))])
    keep = np.flatnonzero(treated)
    start, base, who = np.asarray(start, dtype="datetime64[D]")[keep], base[keep], who[keep]
    days, doses = days[:, keep], np.stack([np.full(m, 500.0), dose, half, floor])[:, keep]
    # ends by the next course of the same patient (courses come in patient then date order) or the baseline
    last = base - _DAY
    same = np.r_[who[1:] == who[:-1], False]
    nxt = np.concatenate([start[1:], start[-1:]])
    last = np.where(same, np.minimum(nxt - _DAY, last), last)
    edges = start + np.concatenate([np.zeros((1, len(keep)), dtype=np.int64), np.cumsum(days, axis=0)]) \
        .astype("timedelta64[D]")
    blocks = []
    for i, drug in enumerate(("methylprednisolone", "prednisone", "prednisone", "prednisone")):
        lo, hi = edges[i], np.minimum(edges[i + 1] - _DAY, last)
        held = (days[i] > 0) & (lo <= hi)
        blocks.append(pd.DataFrame({"patient_id": patients["patient_id"].to_numpy()[who[held]], "drug": drug,
                                    "drug_class": "glucocorticoid", "start_date": lo[held].astype("datetime64[s]"),
                                    "stop_date": hi[held].astype("datetime64[s]"), "dose": doses[i][held],
                                    "dose_unit": "mg/day"}))
    out = pd.concat(blocks, ignore_index=True)
    out["dose"] = pd.array(out["dose"], dtype="Float64")
    out.loc[rng.random(len(out)) < 0.08, "dose"] = pd.NA  # registries lose doses (GRA: 13% of steroid doses)
    return out


def with_flare_courses(meds: pd.DataFrame, courses: pd.DataFrame, visits: pd.DataFrame,
                       patients: pd.DataFrame) -> pd.DataFrame:
    """The medication table with the visits' flare courses in place of the ended courses of the follow-up."""
    first = visits.groupby("patient_id", sort=False)["visit_date"].min()
    since = meds["patient_id"].map(first)
    replaced = (meds["drug_class"] == "glucocorticoid") & meds["stop_date"].notna() & (meds["start_date"] >= since)
    merged = pd.concat([meds[~replaced.to_numpy()], courses[meds.columns]], ignore_index=True)
    ids = patients["patient_id"].to_numpy()
    rank = pd.Series(np.argsort(np.argsort(ids, kind="stable")), index=ids)
    # rows sort by patient id then start, as screening.synth.treatment sorts them
    order = np.lexsort((merged["start_date"].to_numpy(), rank.reindex(merged["patient_id"]).to_numpy()))
    return merged.iloc[order].reset_index(drop=True)
