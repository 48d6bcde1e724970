"""Synthetic visits: quarterly-ish follow-up before each baseline, disease activity flaring and remitting.

Drawn from a random stream of their own (the seed with a fixed suffix). The patients
row is the last visit: visits run back from the baseline, at most ``years`` years and
never before diagnosis, about every three months (as the Hopkins Lupus Cohort sees
its patients).

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
* a flare raises SLEDAI-2K by 3 points on average (the same study's mean rise of the
  SLEDAI at flare, 3.0; remission lowers it alike) and shows in one organ the patient has had: mucocutaneous,
  musculoskeletal, haematological, or renal in a patient with nephritis, with weights
  0.3, 0.3, 0.2 and 0.2 (our assumption, in the order of Petri et al., J Rheumatol
  2009;36:2476-2480, where B flares were most often haematological, renal,
  mucocutaneous and musculoskeletal); that organ's BILAG grade rises to B, or to A in
  a severe flare: 0.254 of the 1.765 A-or-B flares per patient-year, 14% (Petri 2009);
  between flares every A or B domain of an active baseline settles to C;
* how long a flare lasts (a quarter in 0.6 of cases for relapsing-remitting
  patients) is our assumption, not a published figure.

Each visit's SLEDAI-2K is its baseline's clinical items (the baseline score less the laboratory
items its own row scores) moved by the flare's points, plus the laboratory items the visit's own
C3/C4, anti-dsDNA, UPCR, platelets and white cells score (SLEDAI-2K's definitions and weights,
Gladman et al., J Rheumatol 2002;29:288-291; a lab the visit does not record scores as at
baseline, one the baseline row does not record is read there as not scoring). Labs that move
with a flare carry its points: the clinical items take only the rest, so a flare rises by its
drawn points or by its labs' rise, whichever is more (a mean rise of 3.2 at the bundled
extract's new flares; a visit in the baseline's state may also gain or lose a 2-point item).
So no visit scores below its own labs.

Labs and the physician global follow each visit's activity (:mod:`screening.synth.visit_labs`)
and a new flare may start a glucocorticoid course (:mod:`screening.synth.visit_treatment`);
the weight varies by a kilogram or two; a pregnancy is present only in the nine months before
a pregnant baseline. Values go missing at each visit as often as at the baseline at the
patient's site.

The baseline row is the last visit and stays as the cross-sectional generator drew it: the
chain starts from its activity (a flare where SLEDAI-2K is 6 or more), a visit in the
baseline's state keeps its values within a few percent, every flare course ends before the
baseline (its taper reaching the glucocorticoid the baseline row takes, drawn from the
baseline's own activity), and the latest anti-dsDNA by a visit after the baseline row's
test is that test. Only the medication table changes with visits (see
:mod:`screening.synth.visit_treatment` for how the visits' courses replace the cross-sectional
ones within the follow-up).

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

from screening.io.schema import BILAG_DOMAINS, VISIT_FIELDS
from screening.synth.disease import lab_items
from screening.synth.visit_labs import VisitState, missing_like, nephritis_ever, physician_global, visit_labs
from screening.synth.visit_treatment import flare_courses

__all__ = ["FLARE_ORGANS", "PATTERNS", "SEVERE", "STREAM", "visits_table"]

#: Suffix of the visits' own random stream: ``default_rng([seed, STREAM])``.
STREAM = 26
#: Pattern -> (share of patients, P(flare next quarter | quiet), P(flare next quarter | flare)).
#: Shares: Györi et al. 2017 (M-SLEDAI patient-years); rates tuned to 0.65 flares per patient-year overall
#: (Petri et al. 1991); persistence assumed.
PATTERNS = {"long_quiescent": (0.307, 0.02, 0.2), "relapsing_remitting": (0.538, 0.40, 0.4),
            "chronic_active": (0.155, 0.70, 0.85)}
#: Organ a flare shows in -> its weight among the organs the patient has had (our assumption, in Petri 2009's order).
FLARE_ORGANS = {"mucocutaneous": 0.3, "musculoskeletal": 0.3, "haematological": 0.2, "renal": 0.2}
#: Share of flares that are severe (BILAG A): 0.254 A flares of 1.765 A-or-B flares per patient-year (Petri 2009).
SEVERE = 0.254 / 1.765
_DAYS_BETWEEN = (91.0, 18.0)  # mean and SD of days between visits: quarterly, as the Hopkins cohort follows
_FLARE_ON = 6  # a baseline SLEDAI-2K at or above this is read as a flare at baseline


def visits_table(seed: int, patients: pd.DataFrame, diagnosis: np.ndarray,
                 years: float = 4.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per earlier visit of each patient of ``patients`` (the generated table; ``diagnosis`` per patient),
    and the glucocorticoid courses the new flares at those visits started (medication rows)."""
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
    flare = _chain(rng, patients, n, most + 1)  # the baseline, each visit, and the state before the oldest
    organs, severities = _episodes(rng, patients, flare)
    row, k = np.nonzero(held)
    order = np.lexsort((-k, row))  # each patient's visits oldest first, patients in table order
    row, k = row[order], k[order]
    when = dates[row, k]
    out = pd.DataFrame({"patient_id": patients["patient_id"].to_numpy()[row],
                        "visit_date": when.astype("datetime64[s]")})
    now = flare[row, k + 1]
    turned = now != flare[row, 0]  # the visit's state against the baseline's (column 0)
    up = np.where(now, 1, -1) * turned
    organ, severe = organs[row, k + 1], severities[row, k + 1]
    state = VisitState(now=now, up=up, severe=severe, renal=(up > 0) & (organ == _organ_code("renal")),
                       haem=(up > 0) & (organ == _organ_code("haematological")), when=when)
    bump = 1 + rng.poisson(2.0, len(row))  # mean 3.0 points, Petri et al. 1991
    wobble = 2 * (rng.random(len(row)) < 0.15) - 2 * (rng.random(len(row)) < 0.15)  # a 2-point item on or off
    # which visits score SLEDAI-2K is drawn here, the score itself once the visit's labs are (_rescored)
    out["sledai_2k"] = missing_like(rng, patients["sledai_2k"], site, row,
                                    pd.array(patients["sledai_2k"].to_numpy(dtype=float, na_value=np.nan)[row],
                                             dtype="Float64"))
    _bilag(out, patients, row, up, organ, severe)
    visit_labs(rng, out, patients, row, site, state)
    out["sledai_2k"] = _rescored(out, patients, row, up, bump, wobble)
    physician_global(rng, out, patients, row, site)  # after the score: the PGA reads it
    if "weight_kg" in patients.columns:
        weight = patients["weight_kg"].to_numpy(dtype=float, na_value=np.nan)[row] + rng.normal(0, 1.5, len(row))
        out["weight_kg"] = missing_like(rng, patients["weight_kg"], site, row,
                                        pd.array(np.round(np.clip(weight, 20, 350), 1), dtype="Float64"))
    if "pregnant" in patients.columns:
        pregnant = patients["pregnant"].to_numpy(dtype=object, na_value=None)[row]
        recent = (base[row] - when).astype("int64") <= 270
        out["pregnant"] = pd.array(np.where(pd.isna(pregnant), None, (pregnant == True) & recent),  # noqa: E712
                                   dtype="boolean")
    new = now & ~flare[row, k + 2]  # quiet at the step before this visit: a new flare
    courses = flare_courses(rng, patients, row[new], when[new], severe[new], base[row[new]])
    return out[["patient_id", "visit_date", *[c for c in VISIT_FIELDS if c in out.columns]]], courses


def _rescored(out: pd.DataFrame, patients: pd.DataFrame, row: np.ndarray, up: np.ndarray, bump: np.ndarray,
              wobble: np.ndarray) -> pd.arrays.IntegerArray:
    """Each visit's SLEDAI-2K: the clinical items of its baseline, moved by a flare (``up`` times ``bump``) and the
    wobble, plus the laboratory items its own values score (where ``out["sledai_2k"]`` holds a value)."""
    at_base = lab_items(patients)[row]
    base_labs = np.nansum(at_base, axis=1)  # an item the baseline row does not record is read as not scoring
    own = lab_items(out)
    labs = np.nansum(np.where(np.isnan(own), at_base, own), axis=1)  # a lab the visit does not record: as at baseline
    score = out["sledai_2k"].to_numpy(dtype=float, na_value=np.nan)
    clinical = np.maximum(score - base_labs, 0)
    # Petri 1991's mean rise of 3 is the whole score's: labs that move with the flare take their points out of it
    moved = up * np.maximum(bump - up * (labs - base_labs), 0)
    score = np.minimum(np.maximum(clinical + moved + wobble, 0) + labs, 105)
    return pd.array(score, dtype="Float64").round().astype("Int32")


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


def _organ_code(name: str) -> int:
    return list(FLARE_ORGANS).index(name)


def _episodes(rng, patients: pd.DataFrame, flare: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient and chain step: the organ (code in FLARE_ORGANS, -1 none) and severity of the flare it is in.

    A flare episode is a run of flare steps; its organ and severity are drawn once, at its onset (the
    run's oldest step), so every visit of one flare shows the same organ.
    """
    n, cols = flare.shape
    older = np.zeros_like(flare)
    older[:, :-1] = flare[:, 1:]
    onset = flare & ~older
    who, at = np.nonzero(onset)
    names = list(FLARE_ORGANS)
    weights = np.zeros((len(who), len(names)))
    for i, d in enumerate(names):
        col = f"bilag_{d}"
        if d == "renal":
            can = nephritis_ever(patients)[who]
        elif col in patients.columns:  # any organ not graded E (never involved); an unscored grade may be any
            can = patients[col].astype("string").fillna("").to_numpy(dtype=str)[who] != "E"
        else:
            can = np.ones(len(who), dtype=bool)
        weights[:, i] = FLARE_ORGANS[d] * can
    total = weights.sum(axis=1)
    u = rng.random(len(who)) * total
    organ = np.where(total > 0, (u[:, None] >= np.cumsum(weights, axis=1)).sum(axis=1), -1)
    severe = rng.random(len(who)) < SEVERE
    # the onset at or before (older than) each step: a run's steps all reach back to its onset
    step = np.where(onset, np.arange(cols), cols)
    nearest = np.minimum(np.minimum.accumulate(step[:, ::-1], axis=1)[:, ::-1], cols - 1)
    episode = np.full((n, cols), -1, dtype=np.int64)
    episode[who, at] = np.arange(len(who))
    episode = np.where(flare, np.take_along_axis(episode, nearest, axis=1), -1)
    organ, severe = np.append(organ, -1), np.append(severe, False)  # -1 (no episode) reads the sentinel
    return organ[episode], severe[episode]


def _bilag(out: pd.DataFrame, patients: pd.DataFrame, row: np.ndarray, up: np.ndarray, organ: np.ndarray,
           severe: np.ndarray) -> None:
    """BILAG grades at each visit: the baseline's, the flaring organ up to B (A if severe), A/B to C after one."""
    names = list(FLARE_ORGANS)
    for d in BILAG_DOMAINS:
        col = f"bilag_{d}"
        if col not in patients.columns:
            continue
        grade = patients[col].astype("string").fillna("").to_numpy(dtype=str)[row]  # "" is not recorded
        grade = np.where((up < 0) & np.isin(grade, ["A", "B"]), "C", grade)
        if d in FLARE_ORGANS:  # E (never involved) stays: no flare is drawn in it
            hit = (up > 0) & (organ == names.index(d)) & np.isin(grade, ["A", "B", "C", "D"])
            grade = np.where(hit, np.where(severe | (grade == "A"), "A", "B"), grade)
        out[col] = pd.Categorical(np.where(grade == "", None, grade), categories=list("ABCDE"))
