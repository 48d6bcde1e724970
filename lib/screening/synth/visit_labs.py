"""Labs and the physician global at each synthetic visit, following the visit's activity.

A visit in the same state as the baseline (both quiet, or both in a flare) keeps the
baseline's values within a few percent. A visit whose state differs moves with it:

* **complement**: in a new flare a normal C3/C4 falls below its limit (C3 < 90 or
  C4 < 10 mg/dL) in 95% of renal or haematological flares
  (both in 80% of these, our assumption) and 45% of others. Low
  C3 in 92% (12 of 13) of renal flares and in 43% (C4 53%) of non-renal flares of 51
  flaring patients (Narayanan et al., Med J Armed Forces India 2010;66:102-107,
  PMC4920905); falls in C3 and C4 go with renal and haematological activity (Ho,
  Barr, Magder, Petri, Arthritis Rheum 2001;44:2350-2357). In remission a low value
  recovers in 70% (our assumption, which keeps low complement at quiet visits near the
  22% a registry sees at SLEDAI 0-4: Lupus Sci Med, https://lupus.bmj.com/highwire/markup/137467);
* **anti-dsDNA** (the latest result by the visit, tested at each visit as the Hopkins
  cohort does quarterly): positive in 95% of renal flares (all 13 in Narayanan 2010),
  a negative turning positive in 15% of other flares (non-renal flares: 35% positive,
  Narayanan 2010), a positive turning negative in 30% of remissions (our assumption;
  anti-dsDNA levels fall around flares, Ho, Magder, Barr, Petri, Arthritis Rheum
  2001;44:2342-2349). A visit after the baseline row's own test reads that test;
* **counts**: a haematological flare lowers platelets (60%) or white cells (40%, our
  assumption) into BILAG-2004's B range (platelets 25-50 ×10³/µL, white cells
  1-2 ×10³/µL) or its A range when severe, as :mod:`screening.synth.disease` draws
  them at baseline; after one they recover into the C range;
* **proteinuria**: a renal flare draws the UPCR of renal grade B (about 1.0 g/g) or A
  (2.5 g/g), remission that of grade C (0.5 g/g), by :func:`~screening.synth.disease.upcr_for_grade`
  (proteinuria above 0.5 g/g marks a renal flare: EULAR/ERA-EDTA recommendations, Bertsias
  et al., Ann Rheum Dis 2012;71:1771-1782); lupus nephritis reads *active* at a renal flare;
* **physician global**: the PGA the visit's SLEDAI-2K implies
  (:func:`~screening.synth.sle_fields.pga_mean`) plus the patient's own offset at baseline;
  :func:`physician_global` is called once :mod:`screening.synth.visits` has scored the visit
  from these labs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from screening.synth.disease import upcr_for_grade
from screening.synth.draws import SITES
from screening.synth.patients_table import SITE_MISSING
from screening.synth.sle_fields import complement_values, pga_mean

__all__ = ["VisitState", "missing_like", "nephritis_ever", "physician_global", "visit_labs"]

_LABS = {"wbc": 0.10, "haemoglobin": 0.05, "platelets": 0.10, "egfr": 0.06}  # visit-to-visit CV about baseline
_LOW_IN_FLARE = (0.95, 0.45)  # complement falls: renal or haematological flare, other flare (Narayanan 2010)
_RECOVERS = 0.70  # low complement normal again in remission (our assumption)
_DSDNA_UP = (0.95, 0.15)  # anti-dsDNA positive: renal flare; negative turning positive in another (Narayanan 2010)
_DSDNA_DOWN = 0.30  # a positive anti-dsDNA negative again in remission (our assumption)


class VisitState(NamedTuple):
    """Per visit: in a flare, against the baseline (+1 flaring where it was quiet, -1 the reverse, 0 the same),
    a severe flare, a renal or a haematological one (where ``up`` is +1), and the date."""

    now: np.ndarray
    up: np.ndarray
    severe: np.ndarray
    renal: np.ndarray
    haem: np.ndarray
    when: np.ndarray


def visit_labs(rng, out: pd.DataFrame, patients: pd.DataFrame, row: np.ndarray, site: np.ndarray,
               s: VisitState) -> None:
    """Add each visit's labs, anti-dsDNA and nephritis status to ``out`` (see the module)."""
    _counts(rng, out, patients, row, site, s)
    _complement(rng, out, patients, row, site, s)
    _anti_dsdna(rng, out, patients, row, site, s)
    _proteinuria(rng, out, patients, row, site, s)
    if "lupus_nephritis" in patients.columns:
        status = patients["lupus_nephritis"].to_numpy(dtype=object, na_value=None)[row]
        out["lupus_nephritis"] = pd.array(np.where(s.renal, "active", status), dtype=object)


def nephritis_ever(patients: pd.DataFrame) -> np.ndarray:
    """Per patient: lupus nephritis ever (active or in remission); an unrecorded status read from the renal grade."""
    n = len(patients)
    grade = patients["bilag_renal"].astype("string").fillna("").to_numpy(dtype=str) \
        if "bilag_renal" in patients.columns else np.full(n, "")
    by_grade = np.isin(grade, ["A", "B", "C", "D"])
    if "lupus_nephritis" not in patients.columns:
        return by_grade
    status = patients["lupus_nephritis"].astype("string").fillna("").to_numpy(dtype=str)
    return np.where(status == "", by_grade, np.isin(status, ["active", "remission"]))


def missing_like(rng, baseline: pd.Series, site: np.ndarray, row: np.ndarray, values):
    """``values`` with each visit's value missing as often as the baseline's is at the patient's site."""
    values = pd.array(values)
    values[rng.random(len(row)) < _missing_share(baseline, site)[row]] = pd.NA
    return values


def _missing_share(baseline: pd.Series, site: np.ndarray) -> np.ndarray:
    return pd.Series(np.asarray(baseline.isna(), dtype=float)).groupby(site).transform("mean").to_numpy()


def _floats(patients: pd.DataFrame, column: str, row: np.ndarray) -> np.ndarray:
    return patients[column].to_numpy(dtype=float, na_value=np.nan)[row]


def _counts(rng, out, patients, row, site, s: VisitState) -> None:
    m = len(row)
    platelets = rng.random(m) < 0.6  # which count a haematological flare lowers (our assumption)
    for lab, cv in _LABS.items():
        if lab not in patients.columns:
            continue
        b = _floats(patients, lab, row)
        value = b * rng.lognormal(0, cv, m)
        if lab == "platelets":  # BILAG-2004 ranges, as screening.synth.disease draws them at baseline
            low = np.where(s.severe, rng.uniform(5_000, 25_000, m), rng.uniform(25_000, 50_000, m))
            value = np.where(s.haem & platelets, low, value)
            value = np.where((s.up < 0) & (b < 50_000), rng.uniform(50_000, 100_000, m), value)
            value = np.round(value, -3)
        elif lab == "wbc":
            low = np.where(s.severe, rng.uniform(0.5, 1.0, m), rng.uniform(1.0, 2.0, m))
            value = np.where(s.haem & ~platelets, low, value)
            value = np.where((s.up < 0) & (b < 2.0), rng.uniform(2.0, 3.9, m), value)
        elif lab == "haemoglobin":  # haemolysis of an active baseline eases after it
            value = np.where((s.up < 0) & (b < 10), rng.uniform(10.0, 11.5, m), value)
        out[lab] = missing_like(rng, patients[lab], site, row, pd.array(np.round(value, 1), dtype="Float64"))


def _complement(rng, out, patients, row, site, s: VisitState) -> None:
    if "c3" not in patients.columns or "c4" not in patients.columns:
        return
    m = len(row)
    # a baseline not recorded: the patient's complement drawn once, low as often as at their baseline activity
    c3, c4 = (patients[c].to_numpy(dtype=float, na_value=np.nan) for c in ("c3", "c4"))
    unknown = np.isnan(c3) | np.isnan(c4)
    active = _floats(patients, "sledai_2k", np.arange(len(patients))) >= 6
    guess3, guess4 = complement_values(rng, rng.random(len(patients)) < np.where(active, 0.55, 0.22))
    c3, c4 = np.where(unknown, guess3, c3)[row], np.where(unknown, guess4, c4)[row]
    was_low = (c3 < 90) | (c4 < 10)
    u = rng.random(m)
    falls = u < np.where(s.renal | s.haem, *_LOW_IN_FLARE)
    low = np.select([s.up > 0, s.up < 0], [was_low | falls, was_low & (u >= _RECOVERS)], was_low)
    # both fall in most renal and haematological flares: low C3 92%, low C4 85% of renal flares (Narayanan 2010)
    fresh3, fresh4 = complement_values(rng, low & ~(s.renal | s.haem))
    both3, both4 = complement_values(rng, low & (s.renal | s.haem), which=(0.8, 0.12, 0.08))
    fresh3, fresh4 = np.where(s.renal | s.haem, both3, fresh3), np.where(s.renal | s.haem, both4, fresh4)
    noise = rng.lognormal(0, 0.08, (2, m))
    changed = low != was_low
    # an unchanged status keeps each value on its side of the limit
    kept3 = np.where(c3 < 90, np.minimum(c3 * noise[0], 89), np.maximum(c3 * noise[0], 90))
    kept4 = np.where(c4 < 10, np.minimum(c4 * noise[1], 9.9), np.maximum(c4 * noise[1], 10))
    missing = rng.random(m) < _missing_share(patients["c3"], site)[row]  # measured together: a panel
    for name, values in (("c3", np.where(changed, fresh3, np.floor(kept3))),
                         ("c4", np.where(changed, fresh4, np.floor(kept4 * 10) / 10))):
        column = pd.array(values, dtype="Float64")
        column[missing] = pd.NA
        out[name] = column


def _anti_dsdna(rng, out, patients, row, site, s: VisitState) -> None:
    if "anti_dsdna_positive" not in patients.columns or "anti_dsdna_date" not in patients.columns:
        return
    m = len(row)
    b = patients["anti_dsdna_positive"].to_numpy(dtype=object, na_value=None)
    # a baseline not recorded: positive drawn once per patient, 40% (our assumption; 35-56% in cohorts)
    positive = np.where(pd.isna(b), rng.random(len(b)) < 0.40, b == True)[row]  # noqa: E712
    b = b[row]
    u = rng.random(m)
    turns = u < np.where(s.renal, *_DSDNA_UP)
    own = np.select([s.up > 0, s.up < 0], [positive | turns, positive & (u >= _DSDNA_DOWN)], positive)
    tested = rng.random(m) >= _missing_share(patients["anti_dsdna_positive"], site)[row]
    dated = patients["anti_dsdna_date"].to_numpy(dtype="datetime64[s]")[row]
    when = s.when.astype("datetime64[s]")
    covered = ~np.isnat(dated) & (dated <= when)  # the baseline row's test, taken before this visit
    frame = pd.DataFrame({"positive": pd.array(np.where(covered, b, np.where(tested, own, None)), dtype="boolean"),
                          "date": np.where(covered, dated, np.where(tested, when, np.datetime64("NaT")))})
    frame.loc[frame["positive"].isna(), "date"] = pd.NaT
    frame = frame.groupby(row, sort=False).ffill()  # the latest result by the visit: an untested visit keeps it
    out["anti_dsdna_positive"] = frame["positive"].array
    out["anti_dsdna_date"] = frame["date"].to_numpy(dtype="datetime64[s]")


def _proteinuria(rng, out, patients, row, site, s: VisitState) -> None:
    if "proteinuria_g_per_g" not in patients.columns:
        return
    m = len(row)
    grade = patients["bilag_renal"].astype("string").fillna("").to_numpy(dtype=str) \
        if "bilag_renal" in patients.columns else np.full(len(patients), "")
    grade = np.where(grade == "", np.where(nephritis_ever(patients), "D", "E"), grade)
    b = patients["proteinuria_g_per_g"].to_numpy(dtype=float, na_value=np.nan)
    b = np.where(np.isnan(b), upcr_for_grade(rng, grade), b)[row]  # not recorded: drawn once per patient
    grade = grade[row]
    settles = (s.up < 0) & np.isin(grade, ["A", "B"])
    fresh = upcr_for_grade(rng, np.where(s.renal, np.where(s.severe, "A", "B"), "C"))
    kept = np.clip(np.round(b * rng.lognormal(0, 0.25, m), 2), 0.01, 25)  # 25% visit to visit (our assumption)
    value = np.where(s.renal | settles, fresh, kept)
    out["proteinuria_g_per_g"] = missing_like(rng, patients["proteinuria_g_per_g"], site, row,
                                              pd.array(value, dtype="Float64"))


def physician_global(rng, out, patients, row, site) -> None:
    """Add each visit's physician global to ``out``, from the visit's SLEDAI-2K (so drawn after it: see the module)."""
    if "physician_global" not in patients.columns:
        return
    m = len(row)
    score = out["sledai_2k"].to_numpy(dtype=float, na_value=np.nan)
    at_base = _floats(patients, "sledai_2k", row)
    offset = _floats(patients, "physician_global", row) - pga_mean(at_base)
    # not recorded: the patient's own offset drawn once, as screening.synth.sle_fields draws it
    offset = np.where(np.isnan(offset), rng.normal(0, 0.55, len(patients))[row], offset)
    read = np.where(np.isnan(score), np.where(np.isnan(at_base), 4, at_base), score)
    pga = np.round(np.clip(pga_mean(read) + offset + rng.normal(0, 0.2, m), 0, 3), 1)
    mult = pd.Series(dict(zip(SITES, SITE_MISSING, strict=True))).reindex(site).fillna(1.0).to_numpy()[row]
    # scored at the visit that scores SLEDAI-2K: mostly missing together (as at baseline, an assumption)
    missing = rng.random(m) < np.where(np.isnan(score), 0.8, 0.05 * mult)
    column = pd.array(pga, dtype="Float64")
    column[missing] = pd.NA
    out["physician_global"] = column
