"""The optional SLE fields of the synthetic patients table, drawn from their own random stream.

Physician global assessment, C3 and C4, antiphospholipid antibodies, the latest kidney
biopsy, absolute neutrophils, creatinine and its upper limit of normal, and
tuberculosis status follow the patient the other stages drew (activity, SLEDAI-2K,
nephritis, blood count, eGFR, the recorded TB test and chest X-ray). They are drawn
after every other field and from a stream of their own (:func:`field_stream`), so
adding them left every other column of :func:`screening.synth.synthetic.generate`
as it was. Figures and sources are in :mod:`screening.synth.calibration_fields`.

Example
-------
>>> from screening.synth.synthetic import generate
>>> p = generate(300, seed=4)["patients"]
>>> bool((p["neutrophils"] <= p["wbc"]).dropna().all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.synth.draws import as_days, proportions, with_missing
from screening.synth.patients_table import SITE_MISSING

__all__ = ["CKD_EPI_2021", "complement_values", "egfr_ckd_epi", "field_stream", "pga_mean", "sle_fields"]

#: CKD-EPI 2021 creatinine equation without race (Inker et al., N Engl J Med 2021;385:1737-1749):
#: sex -> (kappa, alpha, sex factor); eGFR = 142 * min(Scr/k, 1)^a * max(Scr/k, 1)^-1.200 * 0.9938^age * factor.
CKD_EPI_2021 = {"F": (0.7, -0.241, 1.012), "M": (0.9, -0.302, 1.0)}
# Each site's laboratory reports its own creatinine upper limit of normal (mg/dL), women and men, about
# the Mayo Clinic Laboratories interval (0.59-1.04 women, 0.74-1.35 men).
_CREAT_ULN_F = np.array([1.04, 1.02, 1.10, 1.00, 1.04, 1.10, 0.95, 1.02])
_CREAT_ULN_M = np.array([1.35, 1.27, 1.30, 1.20, 1.35, 1.30, 1.18, 1.25])
# Kidney biopsy classes of a first biopsy, Japan Renal Biopsy Registry (Hiromura et al., Nephrology 2017;
# 331 patients): I 1.2%, II 7.9%, III(±V) 25.1%, IV-S(±V) 13.0%, IV-G(±V) 31.1%, V 20.8%, VI 0.9%.
_NON_PROLIFERATIVE = (("I", 1.2), ("II", 7.9), ("V", 20.8))
_PROLIFERATIVE = (("III", 25.1), ("IV-S", 13.0), ("IV-G", 31.1))


def field_stream(seed: int) -> np.random.Generator:
    """The random stream of the optional SLE fields: a child of ``seed``'s, independent of the main stream."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])


def egfr_ckd_epi(creatinine, age, female) -> np.ndarray:
    """eGFR (mL/min/1.73 m²) from serum creatinine (mg/dL), age and sex by CKD-EPI 2021.

    >>> [round(float(v)) for v in egfr_ckd_epi([0.7, 1.0], [40, 50], [True, False])]
    [112, 92]
    """
    creatinine, age, female = np.atleast_1d(creatinine), np.atleast_1d(age), np.atleast_1d(female)
    kappa, alpha, factor = (np.where(female, CKD_EPI_2021["F"][i], CKD_EPI_2021["M"][i]) for i in range(3))
    ratio = np.asarray(creatinine, dtype=float) / kappa
    return (142 * np.minimum(ratio, 1) ** alpha * np.maximum(ratio, 1) ** -1.2 * 0.9938 ** np.asarray(age)
            * factor)


def _creatinine_for(egfr, age, female) -> np.ndarray:
    """The creatinine CKD-EPI 2021 turns into ``egfr``: the equation solved for creatinine, piece by piece."""
    kappa, alpha, factor = (np.where(female, CKD_EPI_2021["F"][i], CKD_EPI_2021["M"][i]) for i in range(3))
    g = np.asarray(egfr, dtype=float) / (142 * 0.9938 ** np.asarray(age, dtype=float) * factor)
    return kappa * np.where(g >= 1, g ** (1 / alpha), g ** (-1 / 1.2))


def sle_fields(rng: np.random.Generator, p: dict, t: pd.DataFrame) -> None:
    """Add the optional SLE columns to the patients table ``t`` from the patients ``p`` (see the module)."""
    n, site = p["n"], p["site"]
    mult = SITE_MISSING[site]
    _physician_global(rng, p, t, mult)
    _complement(rng, p, t, mult)
    _antiphospholipid(rng, p, t, mult)
    _biopsy(rng, p, t, mult)
    # Absolute neutrophils: a share of the white cells, lower with low complement (neutropenia goes with
    # low C3, OR 1.91; Meyer et al., Lupus Sci Med 2020); the differential comes with the count, or not.
    share = np.clip(rng.normal(0.58, 0.09, n) - 0.06 * p["low_c"], 0.30, 0.85)
    neutrophils = pd.array(np.round(np.asarray(p["wbc"]) * share, 2), dtype="Float64")
    neutrophils[t["wbc"].isna().to_numpy() | (rng.random(n) < 0.06 * mult)] = pd.NA
    t["neutrophils"] = neutrophils
    # Creatinine is what eGFR was computed from, so the two agree by CKD-EPI 2021 wherever both are recorded.
    creatinine = np.round(_creatinine_for(p["egfr"], p["age"], p["female"]), 2)
    no_creatinine = (t["egfr"].isna().to_numpy() & (rng.random(n) < 0.7)) | (rng.random(n) < 0.04 * mult)
    for name, values in (("creatinine", creatinine),
                         ("creatinine_uln", np.where(p["female"], _CREAT_ULN_F[site], _CREAT_ULN_M[site]))):
        column = pd.array(values, dtype="Float64")
        column[no_creatinine] = pd.NA
        t[name] = column
    _tuberculosis(rng, t, mult)


def _physician_global(rng, p, t, mult) -> None:
    # PGA rises with SLEDAI-2K and levels off: about 0.7 at 2, 1.4 at 6 and 1.9 at 11, as in registry and trial
    # tables (Lupus Sci Med, https://lupus.bmj.com/highwire/markup/137467; pooled TULIP 1.8 at SLEDAI-2K 11.4).
    n = p["n"]
    pga = np.round(np.clip(pga_mean(p["sledai"]) + 0.15 * p["z"] + rng.normal(0, 0.55, n), 0, 3), 1)
    # Scored at the visit that scores SLEDAI-2K: mostly missing together (assumption).
    missing = np.where(t["sledai_2k"].isna().to_numpy(), 0.8, 0.05 * mult)
    t["physician_global"] = with_missing(rng, pga, missing)


def _complement(rng, p, t, mult) -> None:
    # Low complement (SLEDAI-2K's item) means C3 below 90 or C4 below 10 mg/dL, the lower limits of the
    # belimumab trials (RMD Open, https://rmdopen.bmj.com/highwire/markup/140511); which one is low is an
    # assumption: both in 45%, C3 alone in 30%, C4 alone in 25%.
    n = p["n"]
    c3, c4 = complement_values(rng, p["low_c"])
    missing = rng.random(n) < 0.10 * mult  # measured together: a panel
    for name, values in (("c3", c3), ("c4", c4)):
        column = pd.array(values, dtype="Float64")
        column[missing] = pd.NA
        t[name] = column


def pga_mean(sledai) -> np.ndarray:
    """The PGA (0-3) expected at a SLEDAI-2K total: rising and levelling off (see ``_physician_global``)."""
    return 2.2 * (1 - np.exp(-(np.asarray(sledai, dtype=float) + 0.5) / 6))


def complement_values(rng: np.random.Generator, low: np.ndarray,
                      which: tuple[float, float, float] = (0.45, 0.30, 0.25)) -> tuple[np.ndarray, np.ndarray]:
    """C3 and C4 (mg/dL, as recorded) of patients whose complement is ``low`` or not (see ``_complement``);
    ``which`` is the share of low complement with both low, C3 alone and C4 alone."""
    n = len(low)
    which = rng.choice(3, size=n, p=list(which))
    low_c3 = low & (which != 2)
    low_c4 = low & (which != 1)
    c3 = np.where(low_c3, np.clip(90 - rng.gamma(2.0, 12.0, n), 25, 89), np.clip(rng.normal(118, 18, n), 90, 200))
    c4 = np.where(low_c4, np.clip(10 - rng.gamma(2.0, 1.6, n), 2, 9.9), np.clip(rng.normal(22, 6, n), 10, 50))
    return np.floor(c3), np.floor(c4 * 10) / 10


def _antiphospholipid(rng, p, t, mult) -> None:
    # About 30% positive, more with thrombocytopenia (assumption); tested rarely, often long before baseline.
    n = p["n"]
    positive = rng.random(n) < 0.28 + 0.15 * (np.asarray(p["platelets"]) < 100_000)
    date = np.maximum(p["baseline"] - as_days(rng.exponential(700, n)), p["diagnosis"])
    untested = rng.random(n) < 0.20 * mult
    result = pd.array(positive, dtype="boolean")
    result[untested] = pd.NA
    t["antiphospholipid_positive"] = result
    dated = pd.array(date.astype("datetime64[s]"))
    dated[untested | (rng.random(n) < 0.03 * mult)] = pd.NaT
    t["antiphospholipid_date"] = dated


def _biopsy(rng, p, t, mult) -> None:
    """The latest kidney biopsy: only after nephritis; proliferative classes more often in renal A."""
    n, ever = p["n"], p["ln_ever"]
    biopsied = ever & (rng.random(n) < 0.8)  # some nephritis is diagnosed without a biopsy (assumption)
    names = np.array([c for c, _ in _NON_PROLIFERATIVE + _PROLIFERATIVE], dtype=object)
    non = rng.choice(3, size=n, p=proportions([w for _, w in _NON_PROLIFERATIVE]))
    pro = 3 + rng.choice(3, size=n, p=proportions([w for _, w in _PROLIFERATIVE]))
    share_pro = 69.2 / 100 + np.where(p["bilag"]["renal"] == "A", 0.12, 0.0) - np.where(p["ln_active"], 0.0, 0.04)
    proliferative = rng.random(n) < share_pro
    klass = names[np.where(proliferative, pro, non)]
    # A registry often writes IV without S or G (assumption: 40%); a fifth of III/IV with a membranous part.
    klass = np.where(proliferative & (pro > 3) & (rng.random(n) < 0.4), "IV", klass)
    klass = np.where(proliferative & (rng.random(n) < 0.2), klass + "+V", klass)
    esrd = p["dialysis"] | (p["transplant"] & ever)
    klass = np.where(esrd & (rng.random(n) < 0.3), "VI", klass).astype(object)
    # Biopsied at the current episode's onset after a flare (60%), else at the first onset; within 2 months.
    flare = p["ln_episode"] > p["ln_first"]
    onset = np.where(flare & (rng.random(n) < 0.6), p["ln_episode"], p["ln_first"])
    date = np.minimum(onset + as_days(rng.uniform(0, 60, n)), p["baseline"])
    lost = rng.random(n) < 0.06 * mult
    recorded_class = pd.array(np.where(biopsied, klass, None), dtype=object)
    recorded_class[lost] = None
    t["renal_biopsy_class"] = recorded_class
    dated = pd.array(date.astype("datetime64[s]"))
    dated[~biopsied | lost | (rng.random(n) < 0.04 * mult)] = pd.NaT
    t["renal_biopsy_date"] = dated


def _tuberculosis(rng, t, mult) -> None:
    """TB status read from the recorded test and chest X-ray, so the two never disagree."""
    n = len(t)
    tested = t["tb_positive"].notna().to_numpy()
    positive = t["tb_positive"].fillna(False).to_numpy(dtype=bool)
    xray_tb = (t["chest_xray"] == "tb_or_fungal").fillna(False).to_numpy(dtype=bool)
    active = positive & ((xray_tb & (rng.random(n) < 0.5)) | (rng.random(n) < 0.02))
    status = np.where(positive, np.where(active, "active", "latent"), "negative").astype(object)
    status[~tested | (rng.random(n) < 0.02 * mult)] = None
    t["tb_status"] = pd.array(status, dtype=object)
    # Latent TB: treatment started in most before immunosuppression (assumption: 65%); empty otherwise.
    treated = pd.array(rng.random(n) < 0.65, dtype="boolean")
    treated[(status != "latent") | (rng.random(n) < 0.15 * mult)] = pd.NA
    t["latent_tb_treated"] = treated
