"""The synthetic patients' disease, stages 1 to 4: demographics, organ history, current activity and labs.

Each stage adds its draws to one dict of per-patient arrays (see
:func:`screening.synth.synthetic.generate`); figures and sources are in
``data/README.md`` (section "Calibration").
"""

from __future__ import annotations

import numpy as np

from screening.io.schema import BILAG_DOMAINS
from screening.synth.draws import RACES, SITES, YEAR, as_days, proportions, sigmoid

__all__ = ["LAB_ITEMS", "activity", "blood_and_kidney", "demographics", "lab_items", "organ_history", "sledai",
           "upcr_for_grade"]

_SITE_WEIGHTS = np.array([0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05])
# Lifetime nephritis risk by race/ethnicity (White, Black, Hispanic, Asian, Other).
_NEPHRITIS_RISK = np.array([0.25, 0.50, 0.45, 0.50, 0.35])
_BASELINE_FROM = np.datetime64("2022-01-01", "D")
_BASELINE_DAYS = 1277  # up to 2025-06-30

# ACR 1997 manifestations ever present (Asia-Pacific Lupus Collaboration cohort, Golder 2016, Table 1);
# renal comes from the nephritis model, ANA from the titre, immunologic also from serology.
_ACR_EVER = {"malar": 0.589, "discoid": 0.157, "photosensitivity": 0.291, "oral_ulcers": 0.363,
             "arthritis": 0.653, "serositis": 0.170, "neurologic": 0.087, "haematologic": 0.606,
             "immunologic": 0.838}
# Per BILAG domain: logit offset of grade A/B given the domain was ever involved, and the share of A
# within A/B. Tuned so musculoskeletal and mucocutaneous dominate and CNS, eye and gut stay rare.
_DOMAIN_ACTIVITY = {
    "constitutional": (-3.7, 0.2), "mucocutaneous": (-2.95, 0.25), "neuropsychiatric": (-3.3, 0.5),
    "musculoskeletal": (-2.45, 0.25), "cardiorespiratory": (-2.95, 0.3), "gastrointestinal": (-3.2, 0.5),
    "ophthalmic": (-3.2, 0.5), "haematological": (-3.6, 0.35),
}


# --- 1. demographics ---------------------------------------------------------------------------

def demographics(rng, n: int) -> dict:
    p: dict = {"n": n}
    p["id"] = np.char.add("P", np.char.zfill(rng.permutation(np.arange(1, n + 1) * 7 + 100000).astype(str), 7))
    p["site"] = rng.choice(len(SITES), size=n, p=_SITE_WEIGHTS)
    p["female"] = rng.random(n) < 0.89
    p["race"] = rng.choice(len(RACES), size=n, p=proportions([35, 20, 22, 17, 6]))
    # Age at diagnosis: 10 plus a gamma with mean 23 and SD 12.5 (mean 33, as SLICC inception's 35 and
    # APLC's 29); disease duration: gamma with the BILAG-2004 cohort's mean 8.8 and SD 7.7 years.
    # Both are smooth, so no age is over-represented; 90 and over is top-coded.
    p["age_dx"] = 10 + rng.gamma((23 / 12.5) ** 2, 12.5 ** 2 / 23, n)
    p["duration"] = rng.gamma((8.8 / 7.7) ** 2, 7.7 ** 2 / 8.8, n)
    age_exact = p["age_dx"] + p["duration"]
    p["age"] = np.minimum(np.floor(age_exact), 90).astype(int)
    p["baseline"] = _BASELINE_FROM + rng.integers(0, _BASELINE_DAYS, n).astype("timedelta64[D]")
    p["diagnosis"] = p["baseline"] - as_days(p["duration"] * YEAR)
    p["adult_from"] = p["baseline"] - as_days((age_exact - 18) * YEAR)  # the day the patient turned 18
    weight = np.where(p["female"], rng.lognormal(np.log(68), 0.2, n), rng.lognormal(np.log(82), 0.18, n))
    weight = np.where(p["age"] < 16, weight * 0.8, weight)
    p["weight"] = np.clip(np.round(weight, 1), 35, 200)
    return p


# --- 2. organ history --------------------------------------------------------------------------

def organ_history(rng, p: dict) -> None:
    n, years = p["n"], p["duration"]
    # Lifetime nephritis risk by ethnicity, male sex and young onset (Hanly 2016), reached mostly in
    # the first years of disease: a third is present at diagnosis.
    risk = _NEPHRITIS_RISK[p["race"]] + 0.08 * ~p["female"] + 0.08 * (p["age_dx"] < 25) - 0.06 * (p["age_dx"] > 45)
    risk = risk * (0.35 + 0.65 * (1 - np.exp(-years / 1.5)))
    ln_ever = rng.random(n) < risk
    first = p["diagnosis"] + as_days(years * rng.beta(1, 3, n) * YEAR)
    since = (p["baseline"] - first).astype("int64") / YEAR
    ln_active = ln_ever & (rng.random(n) < 0.18 + 0.5 * np.exp(-since / 2))
    # A nephritis active for long after its first onset is a flare: its episode starts 1-18 months ago.
    flare = ln_active & (since > 1.5)
    episode = np.where(flare, np.maximum(p["baseline"] - as_days(rng.uniform(30, 540, n)), first), first)
    # End-stage renal disease: 4.3% of nephritis at 10 years (Hanly 2016); 40% of them transplanted.
    esrd = ln_ever & (rng.random(n) < 0.01 + 0.006 * since)
    transplant = (esrd & (rng.random(n) < 0.4)) | (rng.random(n) < 0.002)
    p.update(ln_ever=ln_ever, ln_active=ln_active, ln_first=first, ln_episode=episode,
             dialysis=esrd & ~transplant, transplant=transplant)

    boost = 0.75 + 0.25 * (1 - np.exp(-years / 2))  # manifestations accumulate with duration
    ever = {name: rng.random(n) < np.minimum(share * boost / 0.96, 0.97) for name, share in _ACR_EVER.items()}
    p["acr"] = ever
    p["ever"] = {
        "constitutional": rng.random(n) < 0.5, "mucocutaneous": ever["malar"] | ever["discoid"]
        | ever["photosensitivity"] | ever["oral_ulcers"], "neuropsychiatric": ever["neurologic"],
        "musculoskeletal": ever["arthritis"], "cardiorespiratory": ever["serositis"],
        "gastrointestinal": rng.random(n) < 0.04, "ophthalmic": rng.random(n) < 0.04, "renal": ln_ever,
        "haematological": ever["haematologic"],
    }


# --- 3. current activity -------------------------------------------------------------------------

def activity(rng, p: dict) -> None:
    n = p["n"]
    # A latent activity level: higher early in the disease, in the young, and in non-White patients.
    z = (rng.normal(0, 1, n) + 0.5 * (p["duration"] < 2) + 0.25 * (p["age"] < 30) + 0.2 * (p["race"] != 0)
         + 0.8 * p["ln_active"])
    p["z"] = z
    grades = {}
    for domain, (offset, share_a) in _DOMAIN_ACTIVITY.items():
        ever = p["ever"][domain]
        u = rng.random(n)
        active = ever & (u < sigmoid(offset + 1.4 * z))
        mild = ever & ~active & (u < sigmoid(offset + 1.4 * z + 1.6))
        a = active & (rng.random(n) < share_a)
        grades[domain] = np.where(a, "A", np.where(active, "B", np.where(mild, "C", np.where(ever, "D", "E"))))
    # Renal grade follows nephritis history: active A/B (or C when mild), remission C/D, never E.
    u = rng.random(n)
    renal = np.where(u < 0.42, "A", np.where(u < 0.87, "B", "C"))
    renal = np.where(p["ln_active"], renal, np.where(u < 0.15, "C", "D"))
    grades["renal"] = np.where(p["ln_ever"], renal, "E")
    p["bilag"] = {d: grades[d].astype(object) for d in BILAG_DOMAINS}
    ab = {d: np.isin(g, ("A", "B")) for d, g in p["bilag"].items()}
    p["ab"] = ab
    p["cns"] = (p["bilag"]["neuropsychiatric"] == "A") | (ab["neuropsychiatric"] & (rng.random(n) < 0.4))
    # Serology: anti-dsDNA and low complement with activity and nephritis; anti-Sm more in Black and Asian.
    p["dsdna"] = rng.random(n) < sigmoid(-0.6 + 0.8 * z + 0.6 * p["ln_active"] + 0.3 * p["ln_ever"])
    p["low_c"] = rng.random(n) < sigmoid(-2.6 + 0.5 * z + 3.4 * p["dsdna"] + 0.6 * p["ln_active"])
    p["sm"] = rng.random(n) < np.where(np.isin(p["race"], (1, 3)), 0.35, 0.2)
    p["acr"]["immunologic"] |= p["dsdna"] | p["sm"]
    major = ab["renal"] | ab["neuropsychiatric"] | ab["haematological"] | ab["cardiorespiratory"]
    p["major"] = major


# --- 4. labs ---------------------------------------------------------------------------------------

def blood_and_kidney(rng, p: dict) -> None:
    n, haem = p["n"], p["bilag"]["haematological"]
    # Which count is low in haematological activity: platelets, white cells or haemolysis (assumption).
    kind = rng.choice(3, size=n, p=[0.45, 0.25, 0.30])
    cytopenia = np.isin(haem, ("A", "B", "C"))
    low_plt = np.select([haem == "A", haem == "B"], [rng.uniform(5_000, 25_000, n), rng.uniform(25_000, 50_000, n)],
                        rng.uniform(50_000, 100_000, n))
    plt_ = np.where(cytopenia & (kind == 0), low_plt, np.clip(rng.normal(255_000, 65_000, n), 110_000, 700_000))
    p["platelets"] = np.round(plt_, -3)
    wbc = np.clip(rng.lognormal(np.log(5.6), 0.32, n), 3.0, 25)
    low_wbc = np.where(haem == "A", rng.uniform(0.5, 1.0, n), np.where(haem == "B", rng.uniform(1.0, 2.0, n),
                       rng.uniform(2.0, 3.9, n)))
    p["wbc"] = np.round(np.where(cytopenia & (kind == 1), low_wbc, wbc), 1)

    # eGFR: about 120 at 20 and falling about 0.9 per year after (healthy ageing; Delanaye 2019), lower after
    # nephritis, below 15 on dialysis, middling after a transplant.
    age = p["age"]
    egfr = rng.normal(120 - 0.9 * np.maximum(age - 20, 0), 12, n)
    egfr = np.where(p["ln_active"], egfr * rng.lognormal(np.log(0.72), 0.3, n),
                    np.where(p["ln_ever"], egfr * rng.lognormal(np.log(0.85), 0.2, n), egfr))
    egfr = np.where(p["dialysis"], rng.uniform(4, 14, n), np.where(p["transplant"] & p["ln_ever"],
                                                                  rng.normal(55, 15, n), egfr))
    p["egfr"] = np.clip(np.round(egfr), 4, 150)
    p["upcr"] = upcr_for_grade(rng, p["bilag"]["renal"])

    # Haemoglobin: about 1.3 g/dL lower in women; lower with kidney disease, active disease and haemolysis.
    hb = np.where(p["female"], rng.normal(12.9, 1.0, n), rng.normal(14.3, 1.1, n) - 0.02 * np.maximum(age - 50, 0))
    hb = hb - 1.2 * (p["egfr"] < 60) - 1.0 * p["dialysis"] - 0.4 * np.clip(p["z"], 0, None)
    haemolysis = np.isin(haem, ("A", "B")) & (kind == 2)
    hb = np.where(haemolysis & (haem == "A"), rng.uniform(6.0, 8.0, n),
                  np.where(haemolysis, rng.uniform(8.0, 10.0, n), np.maximum(hb, 8.0)))
    p["hb"] = np.round(np.clip(hb, 4, 19), 1)


def upcr_for_grade(rng, renal: np.ndarray) -> np.ndarray:
    """Urine protein-to-creatinine ratio (g/g) at each renal BILAG grade: A about 2.5, B 1.0, C 0.5, D 0.2, E 0.08."""
    n = len(renal)
    upcr = np.select([renal == "A", renal == "B", renal == "C", renal == "D"],
                     [rng.lognormal(np.log(2.5), 0.5, n), rng.lognormal(np.log(1.0), 0.4, n),
                      rng.lognormal(np.log(0.5), 0.4, n), rng.lognormal(np.log(0.2), 0.5, n)],
                     rng.lognormal(np.log(0.08), 0.5, n))
    return np.clip(np.round(upcr, 2), 0.01, 25)


#: The laboratory items of SLEDAI-2K and their weights (Gladman, Ibañez, Urowitz, SLEDAI-2K, J Rheumatol
#: 2002;29:288-291): low complement (C3 or C4 below the lower limit of normal, here C3 < 90 or C4 < 10 mg/dL
#: as :func:`screening.synth.sle_fields.complement_values` draws them), increased DNA binding, proteinuria above
#: 0.5 g/24 h (read here from the UPCR in g/g), platelets below 100,000/µL, white cells below 3,000/µL.
LAB_ITEMS = {"low_complement": 2, "dna_binding": 2, "proteinuria": 4, "thrombocytopenia": 1, "leukopenia": 1}


def lab_items(table) -> np.ndarray:
    """Per row of ``table`` (a patients or visits table) and item of :data:`LAB_ITEMS`, the points its own values
    score: NaN where the value is not recorded (low complement: scored where C3 or C4 is low, or both are known).

    >>> import pandas as pd
    >>> lab_items(pd.DataFrame({"c3": [80.0, None], "c4": [20.0, None], "anti_dsdna_positive": [True, None],
    ...                         "proteinuria_g_per_g": [0.2, 1.1], "platelets": [90_000.0, 200_000.0],
    ...                         "wbc": [5.0, 2.5]})).tolist()
    [[2.0, 2.0, 0.0, 1.0, 0.0], [nan, nan, 4.0, 0.0, 1.0]]
    """
    def floats(column):
        return table[column].to_numpy(dtype=float, na_value=np.nan) if column in table.columns \
            else np.full(len(table), np.nan)

    def scored(value, hit):
        return np.where(np.isnan(value), np.nan, hit.astype(float))

    c3, c4 = floats("c3"), floats("c4")
    upcr, platelets, wbc = floats("proteinuria_g_per_g"), floats("platelets"), floats("wbc")
    low = (c3 < 90) | (c4 < 10)
    items = [np.where(low, 1.0, np.where(np.isnan(c3) | np.isnan(c4), np.nan, 0.0)), floats("anti_dsdna_positive"),
             scored(upcr, upcr > 0.5), scored(platelets, platelets < 100_000), scored(wbc, wbc < 3.0)]
    return np.column_stack(items) * np.array(list(LAB_ITEMS.values()), dtype=float)


def sledai(rng, p: dict) -> None:
    """SLEDAI-2K summed from the items the BILAG grades, labs and serology imply (item weights of SLEDAI-2K)."""
    n, g, ab = p["n"], p["bilag"], p["ab"]
    u = [rng.random(n) for _ in range(8)]
    score = (8 * ab["neuropsychiatric"] + 8 * ab["ophthalmic"]                                  # CNS, visual
             + 8 * ((ab["gastrointestinal"] & (u[0] < 0.5)) | ((g["mucocutaneous"] == "A") & (u[1] < 0.25)))
             + 4 * ab["musculoskeletal"] + 4 * ((g["musculoskeletal"] == "A") & (u[2] < 0.2))  # arthritis, myositis
             + 4 * (p["upcr"] > 0.5)                                                            # proteinuria
             + 4 * (ab["renal"] & (u[3] < np.where(g["renal"] == "A", 0.7, 0.4)))               # haematuria
             + 4 * ((g["renal"] == "A") & (u[4] < 0.4))                                         # casts
             + 2 * (ab["mucocutaneous"] | ((g["mucocutaneous"] == "C") & (u[5] < 0.35)))          # rash
             + 2 * (ab["mucocutaneous"] & (u[6] < 0.4))                                         # alopecia, ulcers
             + 2 * ab["cardiorespiratory"] + 2 * (ab["cardiorespiratory"] & (u[7] < 0.3))       # serositis
             + 2 * p["low_c"] + 2 * p["dsdna"]
             + 1 * (ab["constitutional"] & (u[0] > 0.4))                                        # fever
             + 1 * (p["platelets"] < 100_000) + 1 * (p["wbc"] < 3.0))
    p["sledai"] = score.astype(int)

