"""The synthetic patients table, stage 7: every field as the registry records it, missing by site and field."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.schema import BILAG_DOMAINS
from screening.synth.draws import RACES, SITES, as_days, proportions, with_missing

__all__ = ["SITE_MISSING", "patients_table"]

# Missingness follows the site, as in multi-centre registries: S01 is a research clinic that records
# almost everything, S05 a community practice that records less; S07 and S08 do not score BILAG
# routinely, S06 rarely records SLEDAI. Multiplies each field's base missing share.
SITE_MISSING = np.array([0.5, 0.8, 1.0, 1.0, 1.8, 1.2, 1.0, 1.3])
_BILAG_MISSING_BY_SITE = np.array([0.05, 0.1, 0.12, 0.1, 0.18, 0.2, 0.85, 0.9])
_SLEDAI_MISSING_BY_SITE = np.array([0.03, 0.06, 0.08, 0.1, 0.14, 0.55, 0.12, 0.15])


def patients_table(rng, p: dict) -> pd.DataFrame:
    n, site = p["n"], p["site"]
    mult = SITE_MISSING[site]

    def blank(values, share):
        return with_missing(rng, values, share * mult)

    female, age, base = p["female"], p["age"], p["baseline"]
    t = pd.DataFrame({
        "patient_id": p["id"], "site": SITES[site],
        "sex": blank(np.where(female, "F", "M").astype(object), 0.003),
        "age_years": blank(age, 0.01),
        "race_ethnicity": blank(RACES[p["race"]], 0.06),
        "weight_kg": blank(p["weight"], 0.05),
        "baseline_date": base.astype("datetime64[s]"),
        "sle_diagnosis_date": blank(p["diagnosis"].astype("datetime64[s]"), 0.04),
    })
    acr = sum(v.astype(int) for v in p["acr"].values()) + p["ln_ever"] + 1
    titres = np.asarray([0, 40, 80, 160, 320, 640, 1280])
    ana = titres[rng.choice(7, size=n, p=proportions([1.2, 1.0, 6, 14, 26, 28, 23.8]))]
    acr = acr - (ana < 80)  # the ANA criterion is the titre
    t["acr_criteria_count"] = blank(acr, 0.06)
    t["slicc_classified"] = blank((acr >= 4) | (rng.random(n) < 0.6), 0.15)
    # ANA and anti-dsDNA are retested more often in active disease (assumption: every few months).
    ana_date = np.maximum(base - as_days(rng.exponential(np.where(p["z"] > 0.5, 150, 400), n)), p["diagnosis"])
    t["ana_titre"] = blank(ana, 0.08)
    t["ana_date"] = blank(ana_date.astype("datetime64[s]"), 0.08)
    t["anti_dsdna_positive"] = blank(p["dsdna"], 0.10)
    ds_date = np.maximum(base - as_days(rng.exponential(np.where(p["z"] > 0.5, 90, 200), n)), p["diagnosis"])
    t["anti_dsdna_date"] = blank(ds_date.astype("datetime64[s]"), 0.10)
    t["anti_sm_positive"] = blank(p["sm"], 0.20)
    sm_date = np.maximum(base - as_days(rng.exponential(900, n)), p["diagnosis"])
    t["anti_sm_date"] = blank(sm_date.astype("datetime64[s]"), 0.20)
    t["sledai_2k"] = with_missing(rng, p["sledai"], _SLEDAI_MISSING_BY_SITE[site])
    bilag_missing = rng.random(n) < _BILAG_MISSING_BY_SITE[site]
    for domain in BILAG_DOMAINS:
        grade = pd.array(p["bilag"][domain])
        grade[bilag_missing] = pd.NA
        t[f"bilag_{domain}"] = grade
    t["cns_lupus_active"] = blank(p["cns"], 0.05)
    status = np.where(p["ln_active"], "active", np.where(p["ln_ever"], "remission", "never")).astype(object)
    t["lupus_nephritis"] = blank(status, 0.03)
    onset = pd.array(p["ln_episode"].astype("datetime64[s]"))
    onset[~p["ln_ever"] | (rng.random(n) < 0.05 * mult)] = pd.NaT
    t["nephritis_onset_date"] = onset
    t["egfr"] = blank(p["egfr"], 0.07)
    t["proteinuria_g_per_g"] = blank(p["upcr"], 0.15)
    t["dialysis"] = blank(p["dialysis"], 0.02)
    # The blood count and liver enzymes are panels: recorded together or not at all.
    cbc_missing = rng.random(n) < 0.05 * mult
    lft_missing = rng.random(n) < 0.06 * mult
    for name, key, missing in (("wbc", "wbc", cbc_missing), ("haemoglobin", "hb", cbc_missing),
                               ("platelets", "platelets", cbc_missing), ("ast", "ast", lft_missing),
                               ("ast_uln", "ast_uln", lft_missing), ("alt", "alt", lft_missing),
                               ("alt_uln", "alt_uln", lft_missing)):
        values = pd.array(np.asarray(p[key], dtype=float), dtype="Float64")
        values[missing] = pd.NA
        t[name] = values
    # Infection serology is done as a panel before immunosuppression: usually all or none.
    no_panel = rng.random(n) < 0.06 * mult
    for name, share, extra in (("hiv_positive", 0.003, 0.02), ("hepatitis_b_positive", 0.015, 0.01),
                               ("hepatitis_c_positive", 0.01, 0.02), ("tb_positive", 0.03, 0.06)):
        t[name] = with_missing(rng, rng.random(n) < share, np.where(no_panel, 1.0, extra * mult))
    xray = np.asarray(["normal", "tb_or_fungal", "other_abnormal"], dtype=object)[
        rng.choice(3, size=n, p=proportions([90.5, 1.5, 8]))]
    t["chest_xray"] = with_missing(rng, xray, (0.12 + 0.5 * no_panel) * mult)
    t["pregnant"] = blank(p["pregnant"], 0.04)
    t["breastfeeding"] = blank(p["breastfeeding"], 0.06)
    t["childbearing_potential"] = blank(p["cbp"], 0.05)
    # Effective contraception: most women with child-bearing potential, nearly all on a teratogenic
    # drug, none who are pregnant; not applicable (empty) for men and other women (assumption).
    uses = rng.random(n) < np.where(p["teratogen"], 0.95, 0.8)
    contraception = pd.array(uses & ~p["pregnant"], dtype="boolean")
    contraception[~p["cbp"] | (rng.random(n) < 0.06 * mult)] = pd.NA
    t["contraception"] = contraception
    t["organ_transplant"] = blank(p["transplant"], 0.02)
    t["unstable_condition"] = blank(rng.random(n) < 0.02 + 0.04 * p["major"], 0.03)
    return t

