"""Calibration targets of the synthetic visits: labs and treatment following activity, each with its source.

Measured on the earlier visits of an extract with a visits table (the baseline rows are
:data:`screening.synth.calibration.TARGETS`' business); part of
:func:`screening.synth.calibration.calibration_table` when the extract holds visits.

Example
-------
>>> from screening import load_extract
>>> ex = load_extract("data/synthetic")
>>> target = next(t for t in VISIT_TARGETS if t.quantity.startswith("new flares (a BILAG"))
>>> 0.3 < target.measure(ex) < 0.6
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.synth.target import Target, share

__all__ = ["VISIT_TARGETS", "flare_visits"]


def _visits(ex: Extract) -> pd.DataFrame:
    return ex.visits if ex.visits is not None else pd.DataFrame(columns=["patient_id", "visit_date"])


def _sledai(v: pd.DataFrame) -> pd.Series:
    return v["sledai_2k"].astype("Float64")


def _low_complement(v: pd.DataFrame) -> pd.Series:
    return ((v["c3"] < 90) | (v["c4"] < 10)).astype("boolean")


def _renal_ab(v: pd.DataFrame) -> pd.Series:
    return v["bilag_renal"].isin(["A", "B"])


def _new_ab(ex: Extract, domains: tuple[str, ...]) -> np.ndarray:
    """Per visit: a BILAG-2004 grade A or B in one of ``domains`` that was C, D or E at the patient's last visit."""
    v = _visits(ex)
    pos = ex.patient_rows("visits") if ex.visits is not None else np.zeros(0, dtype=np.int64)
    same = np.r_[False, pos[1:] == pos[:-1]] if len(pos) else np.zeros(0, dtype=bool)  # patient by patient
    out = np.zeros(len(v), dtype=bool)
    for d in domains:
        grade = v[f"bilag_{d}"].astype("string").fillna("").to_numpy(dtype=str)
        before = np.r_[[""], grade[:-1]] if len(grade) else grade
        out |= same & np.isin(grade, ["A", "B"]) & np.isin(before, ["C", "D", "E"])
    return out


def flare_visits(ex: Extract) -> np.ndarray:
    """Per visit: a new flare by BILAG-2004, a new A or B grade in any domain since the last visit."""
    from screening.io.schema import BILAG_DOMAINS

    return _new_ab(ex, BILAG_DOMAINS)


def _renal_flare(ex: Extract) -> pd.Series:
    return pd.Series(_new_ab(ex, ("renal",)))


def _other_flare(ex: Extract) -> pd.Series:
    return pd.Series(_new_ab(ex, ("mucocutaneous", "musculoskeletal", "haematological"))
                     & ~_visits(ex)["bilag_renal"].isin(["A", "B"]).to_numpy())


def _treated(ex: Extract) -> float:
    """Share of new flares (:func:`flare_visits`) with a glucocorticoid course begun at the visit (or its pulse)."""
    v = _visits(ex)
    m = ex.medications
    rows = ex.patient_rows("medications")
    gc = (m["drug_class"] == "glucocorticoid").to_numpy()
    begun = pd.MultiIndex.from_arrays([rows[gc], m["start_date"].to_numpy()[gc].astype("datetime64[D]")])
    visit = pd.MultiIndex.from_arrays([ex.patient_rows("visits"), v["visit_date"].to_numpy().astype("datetime64[D]")])
    return float(visit[flare_visits(ex)].isin(begun).mean())


def _pga_rank_correlation(ex: Extract) -> float:
    both = _visits(ex)[["physician_global", "sledai_2k"]].dropna().astype(float)
    return float(both["physician_global"].rank().corr(both["sledai_2k"].rank()))


def _below_lab_items(ex: Extract) -> pd.Series:
    """Per visit scoring SLEDAI-2K: a score below the points its own laboratory items alone give."""
    from screening.synth.disease import lab_items

    v = _visits(ex)
    return (_sledai(v) < np.nansum(lab_items(v), axis=1)).astype("boolean")


def _flare_rise(ex: Extract) -> float:
    """Mean rise of SLEDAI-2K since the patient's previous visit at new flares (:func:`flare_visits`)."""
    pos = ex.patient_rows("visits") if ex.visits is not None else np.zeros(0, dtype=np.int64)
    score = _sledai(_visits(ex)).to_numpy(dtype=float, na_value=np.nan)
    rise = (score - np.r_[np.nan, score[:-1]])[flare_visits(ex) & np.r_[False, pos[1:] == pos[:-1]]]
    return float(np.nanmean(rise)) if (~np.isnan(rise)).any() else float("nan")


def _low_count(v: pd.DataFrame) -> pd.Series:
    return ((v["platelets"] < 50_000) | (v["wbc"] < 2.0) | (v["haemoglobin"] < 10)).astype("boolean")


_REGISTRY = "Lupus Sci Med, https://lupus.bmj.com/highwire/markup/137467 (124 patients; low C3 or C4 22% when " \
            "clinical SELENA-SLEDAI is 0–4, 39% at median 6, 73% at median 8)"
_NARAYANAN = "Narayanan et al., Correlation between SLEDAI, C3, C4 and anti-dsDNA antibodies, Med J Armed Forces " \
             "India 2010;66:102-107 (PMC4920905; 51 flaring patients: renal flares 12 of 13 low C3, all 13 " \
             "anti-dsDNA raised; non-renal flares anti-dsDNA raised 35%, low C3 43%, low C4 53%)"

_BILAG_FLARE = "BILAG-2004 flare: a new A (severe) or B (moderate) grade, Isenberg et al., Assessment of disease " \
               "flare in SLE: a comparison of BILAG 2004 and the flare version of SELENA, Ann Rheum Dis 2011"


def _of(ex: Extract, column: str, among: pd.Series) -> float:
    return share(pd.Series(_visits(ex)[column].array), among)


VISIT_TARGETS: tuple[Target, ...] = (
    Target("visits: low C3 or C4, SLEDAI-2K ≥ 6", "39–73% in active disease", _REGISTRY,
           lambda ex: share(_low_complement(_visits(ex)), _sledai(_visits(ex)) >= 6), 0.40, 0.85),
    Target("visits: low C3 or C4, SLEDAI-2K ≤ 4", "22% in inactive disease", _REGISTRY,
           lambda ex: share(_low_complement(_visits(ex)), _sledai(_visits(ex)) <= 4), 0.10, 0.35),
    Target("new renal flares (renal BILAG newly A/B): low C3 (< 90 mg/dL)", "92% (12 of 13); here also returns to "
           "an active baseline, whose C3 is the cross-sectional generator's", _NARAYANAN,
           lambda ex: share(pd.Series((_visits(ex)["c3"] < 90).astype("boolean").array), _renal_flare(ex)),
           0.50, 1),
    Target("new renal flares: anti-dsDNA positive", "all 13", _NARAYANAN,
           lambda ex: _of(ex, "anti_dsdna_positive", _renal_flare(ex)), 0.60, 1),
    Target("new non-renal flares: low C3 or C4", "low C3 43%, low C4 53%", _NARAYANAN,
           lambda ex: share(pd.Series(_low_complement(_visits(ex)).array), _other_flare(ex)), 0.40, 0.80),
    Target("new non-renal flares: anti-dsDNA positive", "35%", _NARAYANAN,
           lambda ex: _of(ex, "anti_dsdna_positive", _other_flare(ex)), 0.25, 0.55),
    Target("new renal flares: UPCR ≥ 0.5 g/g", "all (proteinuria above 0.5 g/g marks a renal flare)",
           "Bertsias et al., EULAR/ERA-EDTA recommendations for lupus nephritis, Ann Rheum Dis 2012",
           lambda ex: share(pd.Series((_visits(ex)["proteinuria_g_per_g"] >= 0.5).astype("boolean").array),
                            _renal_flare(ex)), 0.80, 1),
    Target("visits: low count (platelets < 50k, WBC < 2, Hb < 10), haematological A/B", "all",
           "BILAG-2004 haematological grade definitions",
           lambda ex: share(_low_count(_visits(ex)), _visits(ex)["bilag_haematological"].isin(["A", "B"])), 0.85, 1),
    Target("visits: PGA and SLEDAI-2K, rank correlation", "r = 0.74 (528 visits)",
           "PMC6937422 (SELENA-SLEDAI PGA against SLEDAI, 50 patients)", _pga_rank_correlation, 0.60, 0.88, ""),
    Target("visits: SLEDAI-2K below what its own labs score (C3/C4, anti-dsDNA, UPCR, counts)", "none",
           "SLEDAI-2K item definitions and weights, Gladman et al., J Rheumatol 2002;29:288-291",
           lambda ex: share(_below_lab_items(ex)), 0, 0),
    Target("visits: mean SLEDAI-2K rise at new flares (a BILAG domain newly A/B), since the last visit", "3.0",
           "Petri et al., Arthritis Rheum 1991 (Hopkins Lupus Cohort: mean rise of the SLEDAI at flare)",
           _flare_rise, 2.5, 3.5, ""),
    Target("new flares (a BILAG domain newly A/B) given a glucocorticoid course", "44.8% of flares prompted a "
           "change in treatment", "Petri et al., Definition, incidence, and clinical description of flare in SLE, "
           f"Arthritis Rheum 1991 (Hopkins Lupus Cohort); {_BILAG_FLARE}", _treated, 0.35, 0.55),
)
