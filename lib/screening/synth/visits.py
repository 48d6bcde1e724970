"""Synthetic visits: quarterly-ish follow-up before each baseline, disease activity flaring and remitting.

Drawn from a random stream of its own (the seed with a fixed suffix), so the four
tables of :func:`~screening.synth.synthetic.generate` are the same with or without
visits. The patients row is the last visit: visits run back from the baseline, at most
``years`` years and never before diagnosis, about every three months (as the Hopkins
Lupus Cohort sees its patients).

Activity is a two-state chain per patient, flare or not, run back from the baseline
(a two-state chain is reversible, so running it back is running it forward). Its
rates follow published cohorts:

* each patient follows one pattern: long quiescent, relapsing-remitting or chronic
  active, in the shares of patient-years the Hopkins Lupus Cohort spent in each by
  M-SLEDAI (30.7%, 53.8% and the rest, 15.5%: Györi et al., Lupus Sci Med
  2017;4:e000192);
* relapsing-remitting patients flare so that the cohort as a whole flares about 0.65
  times per patient-year, the Hopkins figure (Petri et al., Arthritis Rheum
  1991;34:937-944, flares recorded at least quarterly);
* a flare adds 3 SLEDAI points on average (the same study's mean rise of the SLEDAI
  at flare, 3.0) and raises one involved BILAG domain to B; between flares every A or
  B domain of an active baseline settles to C;
* how long a flare lasts (a quarter in 0.6 of cases for relapsing-remitting
  patients) is our assumption, not a published figure.

Labs (counts, haemoglobin, eGFR) vary about the baseline value by a few percent, the
weight by a kilogram or two; a pregnancy is present only in the nine months before
a pregnant baseline. Values go missing at each visit as often as at the baseline at
the patient's site. Treatment is not drawn per visit: the medications table serves
every visit (courses started after a visit are not yet there, see
:mod:`screening.engine.visit_frame`).

Example
-------
>>> from screening.synth.synthetic import generate
>>> t = generate(200, seed=1, visits=True)
>>> v = t["visits"]
>>> last = v.groupby("patient_id")["visit_date"].max()
>>> baseline = t["patients"].set_index("patient_id")["baseline_date"]
>>> bool((last < baseline.loc[last.index]).all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.schema import BILAG_DOMAINS

__all__ = ["PATTERNS", "visits_table", "STREAM"]

#: Suffix of the visits' own random stream: ``default_rng([seed, STREAM])``.
STREAM = 26
#: Pattern -> (share of patients, P(flare next quarter | quiet), P(flare next quarter | flare)).
#: Shares: Györi et al. 2017 (M-SLEDAI patient-years); rates tuned to 0.65 flares per patient-year overall
#: (Petri et al. 1991); persistence assumed.
PATTERNS = {"long_quiescent": (0.307, 0.02, 0.2), "relapsing_remitting": (0.538, 0.40, 0.4),
            "chronic_active": (0.155, 0.70, 0.85)}
_DAYS_BETWEEN = (91.0, 18.0)  # mean and SD of days between visits: quarterly, as the Hopkins cohort follows
_FLARE_ON = 6  # a baseline SLEDAI-2K at or above this is read as a flare at baseline
_LABS = {"wbc": 0.10, "haemoglobin": 0.05, "platelets": 0.10, "egfr": 0.06}  # visit-to-visit CV about baseline


def visits_table(seed: int, patients: pd.DataFrame, diagnosis: np.ndarray, years: float = 4.0) -> pd.DataFrame:
    """One row per earlier visit of each patient of ``patients`` (the generated table; ``diagnosis`` per patient)."""
    rng = np.random.default_rng([seed, STREAM])
    n = len(patients)
    site = patients["site"].astype(str).to_numpy() if "site" in patients.columns else np.zeros(n)
    base = patients["baseline_date"].to_numpy(dtype="datetime64[D]")
    # Gaps back from the baseline; a patient has as many visits as fit in the follow-up and after diagnosis.
    most = int(np.ceil(years * 365.25 / (_DAYS_BETWEEN[0] - 2 * _DAYS_BETWEEN[1]))) + 1
    shape = (_DAYS_BETWEEN[0] / _DAYS_BETWEEN[1]) ** 2
    gaps = np.maximum(np.round(rng.gamma(shape, _DAYS_BETWEEN[0] / shape, (n, most))), 14).astype("int64")
    back = np.cumsum(gaps, axis=1)
    follow = np.round(rng.uniform(1.0, years, n) * 365.25).astype("int64")
    earliest = np.maximum(base - follow.astype("timedelta64[D]"), np.asarray(diagnosis, dtype="datetime64[D]"))
    dates = base[:, None] - back.astype("timedelta64[D]")
    held = dates >= earliest[:, None]
    flare = _chain(rng, patients, n, most)
    row, k = np.nonzero(held)
    order = np.lexsort((-k, row))  # each patient's visits oldest first, patients in table order
    row, k = row[order], k[order]
    out = pd.DataFrame({"patient_id": patients["patient_id"].to_numpy()[row],
                        "visit_date": dates[row, k].astype("datetime64[s]")})
    turned = flare[row, k + 1] != flare[row, 0]  # the visit's state against the baseline's (column 0)
    up = np.where(flare[row, k + 1], 1, -1) * turned
    bump = 1 + rng.poisson(2.0, len(row))  # mean 3.0 points, Petri et al. 1991
    wobble = 2 * (rng.random(len(row)) < 0.15) - 2 * (rng.random(len(row)) < 0.15)  # a 2-point item on or off
    score = patients["sledai_2k"].to_numpy(dtype=float, na_value=np.nan)[row]
    score = np.clip(np.where(np.isnan(score), np.nan, score + up * bump + wobble), 0, 105)
    out["sledai_2k"] = _missing_like(rng, patients["sledai_2k"], site, row, pd.array(score, dtype="Float64")
                                     .round().astype("Int32"))
    _bilag(out, patients, row, up)
    for lab, cv in _LABS.items():
        if lab in patients.columns:
            value = patients[lab].to_numpy(dtype=float, na_value=np.nan)[row] * rng.lognormal(0, cv, len(row))
            out[lab] = _missing_like(rng, patients[lab], site, row, pd.array(np.round(value, 1), dtype="Float64"))
    if "weight_kg" in patients.columns:
        weight = patients["weight_kg"].to_numpy(dtype=float, na_value=np.nan)[row] + rng.normal(0, 1.5, len(row))
        out["weight_kg"] = _missing_like(rng, patients["weight_kg"], site, row,
                                         pd.array(np.round(np.clip(weight, 20, 350), 1), dtype="Float64"))
    if "pregnant" in patients.columns:
        pregnant = patients["pregnant"].to_numpy(dtype=object, na_value=None)[row]
        recent = (base[row] - dates[row, k]).astype("int64") <= 270
        out["pregnant"] = pd.array(np.where(pd.isna(pregnant), None, (pregnant == True) & recent),  # noqa: E712
                                   dtype="boolean")
    return out


def _chain(rng, patients: pd.DataFrame, n: int, most: int) -> np.ndarray:
    """Flare (True) or not per patient at the baseline (column 0) and each visit back from it."""
    names = list(PATTERNS)
    share = np.array([PATTERNS[p][0] for p in names])
    pattern = rng.choice(len(names), size=n, p=share / share.sum())
    to_flare = np.array([PATTERNS[p][1] for p in names])[pattern]
    stay = np.array([PATTERNS[p][2] for p in names])[pattern]
    score = patients["sledai_2k"].to_numpy(dtype=float, na_value=np.nan)
    stationary = to_flare / (to_flare + 1 - stay)
    state = np.where(np.isnan(score), rng.random(n) < stationary, score >= _FLARE_ON)
    out = np.empty((n, most + 1), dtype=bool)
    out[:, 0] = state
    for step in range(1, most + 1):  # a loop over visits (at most ~25), each step vectorised over patients
        state = rng.random(n) < np.where(state, stay, to_flare)
        out[:, step] = state
    return out


def _bilag(out: pd.DataFrame, patients: pd.DataFrame, row: np.ndarray, up: np.ndarray) -> None:
    """BILAG grades at each visit: the baseline's, one involved domain up to B in a new flare, A/B to C after one."""
    for d in BILAG_DOMAINS:
        col = f"bilag_{d}"
        if col not in patients.columns:
            continue
        grade = patients[col].astype("string").fillna("").to_numpy(dtype=str)[row]  # "" is not recorded
        grade = np.where((up < 0) & np.isin(grade, ["A", "B"]), "C", grade)
        if d in ("musculoskeletal", "mucocutaneous"):  # where SLE flares most often show (Petri et al. 1991)
            grade = np.where((up > 0) & np.isin(grade, ["C", "D"]), "B", grade)  # E: never involved, stays
        out[col] = pd.Categorical(np.where(grade == "", None, grade), categories=list("ABCDE"))


def _missing_like(rng, baseline: pd.Series, site: np.ndarray, row: np.ndarray, values):
    """``values`` with each visit's value missing as often as the baseline's is at the patient's site."""
    share = pd.Series(np.asarray(baseline.isna(), dtype=float)).groupby(site).transform("mean").to_numpy()
    values = pd.array(values)
    values[rng.random(len(row)) < share[row]] = pd.NA
    return values
