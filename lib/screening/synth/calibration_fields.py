"""Calibration targets of the optional SLE fields (PGA, C3/C4, antiphospholipid, biopsy, neutrophils,
creatinine, TB status), each with its source; part of :data:`screening.synth.calibration.TARGETS`.

Example
-------
>>> from screening import load_extract
>>> ex = load_extract("data/synthetic")
>>> target = next(t for t in FIELD_TARGETS if t.quantity.startswith("creatinine agrees"))
>>> target.measure(ex)
1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.synth.sle_fields import egfr_ckd_epi
from screening.synth.target import Target, share

__all__ = ["FIELD_TARGETS"]


def _sledai(p: pd.DataFrame) -> pd.Series:
    return p["sledai_2k"].astype("Float64")


def _low_complement(p: pd.DataFrame) -> pd.Series:
    """C3 below 90 or C4 below 10 mg/dL; unknown where neither is recorded low and one is missing."""
    low = (p["c3"] < 90) | (p["c4"] < 10)
    return low.astype("boolean")


def _pga_sledai_rank_correlation(ex: Extract) -> float:
    p = ex.patients
    both = p[["physician_global", "sledai_2k"]].dropna().astype(float)
    return float(both["physician_global"].rank().corr(both["sledai_2k"].rank()))


def _pga_mean_inactive(ex: Extract) -> float:
    p = ex.patients
    return float(p.loc[(_sledai(p) <= 4).fillna(False).to_numpy(dtype=bool), "physician_global"].mean())


def _biopsy_class(p: pd.DataFrame) -> pd.Series:
    return p["renal_biopsy_class"].astype("string")


def _biopsy_without_nephritis(ex: Extract) -> float:
    p = ex.patients
    return float((p["renal_biopsy_class"].notna() & (p["lupus_nephritis"] == "never").fillna(False)).sum())


def _proliferative(ex: Extract) -> float:
    k = _biopsy_class(ex.patients)
    return share(k.str.startswith("III") | k.str.startswith("IV"))


def _pure_membranous(ex: Extract) -> float:
    return share(_biopsy_class(ex.patients) == "V")


def _neutropenia(p: pd.DataFrame) -> pd.Series:
    return (p["neutrophils"] < 1.8).astype("boolean")


def _neutropenia_low_c3_ratio(ex: Extract) -> float:
    p = ex.patients
    return share(_neutropenia(p), p["c3"] < 90) / share(_neutropenia(p), p["c3"] >= 90)


def _creatinine_agrees(ex: Extract) -> float:
    """Share of patients with creatinine, eGFR, age and sex whose eGFR is CKD-EPI 2021's within 2 units."""
    p = ex.patients
    keep = (p["creatinine"].notna() & p["egfr"].notna() & p["age_years"].notna() & p["sex"].notna()).to_numpy()
    q = p[keep]
    computed = egfr_ckd_epi(q["creatinine"].to_numpy(dtype=float), q["age_years"].to_numpy(dtype=float),
                            (q["sex"] == "F").to_numpy(dtype=bool))
    # eGFR is recorded rounded, between 4 and 150
    return float(np.mean(np.abs(np.clip(computed, 4, 150) - q["egfr"].to_numpy(dtype=float)) <= 2))


def _creatinine_high_in_ckd(ex: Extract) -> float:
    p = ex.patients
    return share(p["creatinine"] > p["creatinine_uln"], p["egfr"] < 45)


def _tb_status_is(status: str, among: tuple[str, ...]):
    def measure(ex: Extract) -> float:
        s = ex.patients["tb_status"]
        return share((s == status).where(s.notna()), s.isin(among))
    return measure


def _latent_treated(ex: Extract) -> float:
    p = ex.patients
    return share(p["latent_tb_treated"], p["tb_status"] == "latent")


_REGISTRY_TABLE = "Lupus Sci Med, https://lupus.bmj.com/highwire/markup/137467 (124 patients; PGA 0.6, low C3 or " \
                  "C4 22% when clinical SELENA-SLEDAI is 0–4; low C3 or C4 39% at median 6, 73% at median 8)"
_JRBR = "Hiromura et al., Clinical and histological features of lupus nephritis in Japan: a cross-sectional " \
        "analysis of the Japan Renal Biopsy Registry (J-RBR), Nephrology 2017 (331 first biopsies: I 1.2%, " \
        "II 7.9%, III±V 25.1%, IV-S±V 13.0%, IV-G±V 31.1%, V 20.8%, VI 0.9%)"
_LBBR = "Meyer et al., Systemic lupus erythematosus and neutropaenia, Lupus Sci Med 2020 (PMC7333801; 998 patients)"

FIELD_TARGETS: tuple[Target, ...] = (
    Target("PGA and SLEDAI-2K, rank correlation", "r = 0.74 (528 visits); ρ = 0.82 (334 patients)",
           "PMC6937422 (SELENA-SLEDAI PGA against SLEDAI, 50 patients); 334 patients over 36 months, Lupus, "
           "https://doi.org/10.1177/0961203319836717", _pga_sledai_rank_correlation, 0.60, 0.88, ""),
    Target("PGA mean, SLEDAI-2K ≤ 4 (0–3)", "0.6 (median 0.5)", _REGISTRY_TABLE, _pga_mean_inactive, 0.35, 0.85, ""),
    Target("PGA not recorded", "17.1% disease activity missing",
           "COVID-19 Global Rheumatology Alliance SLE cohort, Table 1 (PMC8882632); scored with SLEDAI-2K is an "
           "assumption", lambda ex: float(ex.patients["physician_global"].isna().mean()), 0.08, 0.25),
    Target("low C3 (< 90) or C4 (< 10 mg/dL), SLEDAI-2K ≥ 6", "39–73% in active disease", _REGISTRY_TABLE,
           lambda ex: share(_low_complement(ex.patients), _sledai(ex.patients) >= 6), 0.40, 0.85),
    Target("low C3 or C4, SLEDAI-2K ≤ 4", "22% in inactive disease", _REGISTRY_TABLE,
           lambda ex: share(_low_complement(ex.patients), _sledai(ex.patients) <= 4), 0.10, 0.35),
    Target("antiphospholipid antibodies positive, among tested", "27–40%",
           "27% of 1,930 (Ann Rheum Dis, https://ard.bmj.com/highwire/markup/181758); 27.6% of 127 newly diagnosed "
           "(RMD Open, https://rmdopen.bmj.com/highwire/markup/143197); about 40% (eTG complete, SLE in adults)",
           lambda ex: share(ex.patients["antiphospholipid_positive"]), 0.24, 0.42),
    Target("kidney biopsy class without lupus nephritis", "none",
           "ISN/RPS 2003 classes describe lupus nephritis (Weening et al., J Am Soc Nephrol 2004)",
           _biopsy_without_nephritis, 0, 0, "n"),
    Target("biopsy class III or IV (± V)", "69.2%", _JRBR, _proliferative, 0.60, 0.80),
    Target("biopsy class V alone", "20.8%", _JRBR, _pure_membranous, 0.13, 0.28),
    Target("neutrophils < 1.8 ×10³/mm³", "21% (any record; 20–40% in reviews)",
           f"{_LBBR}; lower at a single visit is an assumption", lambda ex: share(_neutropenia(ex.patients)),
           0.06, 0.25),
    Target("neutrophils < 1.8, low C3 ÷ normal C3", "OR 1.91 (1.03–4.37); a ratio of shares here", _LBBR,
           _neutropenia_low_c3_ratio, 1.2, 4.0, ""),
    Target("creatinine agrees with eGFR by CKD-EPI 2021 (within 2 mL/min/1.73 m²)", "all",
           "Inker et al., New creatinine- and cystatin C-based equations to estimate GFR without race, N Engl J Med "
           "2021", _creatinine_agrees, 0.99, 1),
    Target("creatinine above its laboratory's ULN, eGFR < 45", "most (GFR about halves before creatinine "
           "leaves its range)", "Mayo Clinic Laboratories interval (0.59–1.04 mg/dL women, 0.74–1.35 men); "
           "NKF K/DOQI CKD guideline 2002", _creatinine_high_in_ckd, 0.80, 1),
    Target("latent tuberculosis, among tested", "2.8% (Japan) to 18.7% (India, endemic)",
           "QuantiFERON-TB Gold in 71 SLE patients, Lupus, https://doi.org/10.1177/0961203310397966; 219 patients "
           "by IGRA, Lupus Sci Med, https://lupus.bmj.com/content/10/Suppl_1/A56; a low-incidence registry is an "
           "assumption",
           _tb_status_is("latent", ("negative", "latent", "active")), 0.015, 0.06),
    Target("latent tuberculosis treated", "most", "assumption", _latent_treated, 0.50, 0.80),
)
