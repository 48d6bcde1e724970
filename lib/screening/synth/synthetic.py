"""A seeded synthetic SLE registry whose fields relate the way patients' do.

Each patient is drawn along a small causal chain, every stage vectorised over
all patients at once:

1. demographics: site, sex, race/ethnicity, age at diagnosis and disease duration
   (so age, the diagnosis date and the baseline date agree);
2. organ history: which ACR manifestations were ever present, lupus nephritis
   (more frequent in Black, Asian and Hispanic, male and young-onset patients),
   its onset after diagnosis, end-stage renal disease;
3. current activity: a latent activity level per patient sets BILAG-2004 grades
   (only an organ ever involved can be graded A–D; never involved is E), serology,
   and the SLEDAI-2K total is summed from the items those grades and labs imply;
4. labs: sex- and age-specific haemoglobin, counts tied to haematological
   activity, eGFR falling with age and with nephritis, dialysis;
5. treatment: steroid use and dose follow activity, immunosuppressants follow
   nephritis and activity, no teratogenic drug in pregnancy, contraception with
   teratogenic drugs; every course starts after diagnosis;
6. events: infections more frequent under immunosuppression and steroids,
   malignancies after diagnosis and in adulthood;
7. missingness by site and by field.

The figures, their sources and the generator's values are listed in
``data/README.md`` (section "Calibration"), printed by
``python -m screening synth --calibration`` (:mod:`screening.synth.calibration`).

Example
-------
>>> from screening.synth.synthetic import generate
>>> tables = generate(200, seed=1)
>>> sorted(tables)
['infections', 'malignancies', 'medications', 'patients']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from screening.io.schema import BILAG_DOMAINS, TABLES

__all__ = ["generate", "write_extract", "DEFAULT_SEED", "DEFAULT_PATIENTS", "TERATOGENIC"]

DEFAULT_SEED = 20261125
DEFAULT_PATIENTS = 5000
#: Drugs contraindicated in pregnancy (EULAR 2016 points to considerations on drugs in pregnancy).
TERATOGENIC = ("mycophenolate", "cyclophosphamide", "methotrexate")

_SITES = np.array([f"S{i:02d}" for i in range(1, 9)])
_SITE_WEIGHTS = np.array([0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05])
# Missingness follows the site, as in multi-centre registries: S01 is a research clinic that records
# almost everything, S05 a community practice that records less; S07 and S08 do not score BILAG
# routinely, S06 rarely records SLEDAI. Multiplies each field's base missing share.
_SITE_MISSING = np.array([0.5, 0.8, 1.0, 1.0, 1.8, 1.2, 1.0, 1.3])
_BILAG_MISSING_BY_SITE = np.array([0.05, 0.1, 0.12, 0.1, 0.18, 0.2, 0.85, 0.9])
_SLEDAI_MISSING_BY_SITE = np.array([0.03, 0.06, 0.08, 0.1, 0.14, 0.55, 0.12, 0.15])
# Each site's laboratory reports its own upper limits of normal (U/L).
_AST_ULN = np.array([40.0, 35.0, 40.0, 34.0, 37.0, 40.0, 32.0, 41.0])
_ALT_ULN = np.array([45.0, 33.0, 40.0, 55.0, 35.0, 45.0, 31.0, 56.0])
_RACES = np.array(["White", "Black", "Hispanic", "Asian", "Other"], dtype=object)
# Lifetime nephritis risk by race/ethnicity (White, Black, Hispanic, Asian, Other).
_NEPHRITIS_RISK = np.array([0.25, 0.50, 0.45, 0.50, 0.35])
_BASELINE_FROM = np.datetime64("2022-01-01", "D")
_BASELINE_DAYS = 1277  # up to 2025-06-30
_YEAR = 365.25

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


def _share(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _days(values) -> np.ndarray:
    return np.asarray(np.round(values), dtype="int64").astype("timedelta64[D]")


def _blank(rng, values, share) -> pd.api.extensions.ExtensionArray:
    """The values as a nullable array with a share of them (a scalar or one per row) not recorded."""
    out = pd.array(values)
    out[rng.random(len(out)) < share] = pd.NA
    return out


def _between(rng, lo, hi) -> np.ndarray:
    """A day uniformly between two day arrays (inclusive); ``hi`` before ``lo`` gives ``lo``."""
    span = np.maximum((hi - lo).astype("int64"), 0)
    return lo + np.floor(rng.random(len(lo)) * (span + 1)).astype("int64").astype("timedelta64[D]")


def generate(n: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, history: float = 4.0) -> dict[str, pd.DataFrame]:
    """Generate the four extract tables for ``n`` patients.

    ``history`` is the mean number of past prednisone courses per patient (more for
    longer disease); it sets the size of the medication table (about 6 rows per
    patient at 4.0, 10 at 7.7).

    Example
    -------
    >>> t = generate(50, seed=3)
    >>> len(t["patients"]), t["patients"]["patient_id"].is_unique
    (50, True)
    """
    rng = np.random.default_rng(seed)
    p = _demographics(rng, n)
    _organ_history(rng, p)
    _activity(rng, p)
    _blood_and_kidney(rng, p)
    _sledai(rng, p)
    _fertility(rng, p)
    meds = _medications(rng, p, history)
    _liver(rng, p)
    tables = {
        "patients": _patients_table(rng, p),
        "medications": meds,
        "malignancies": _malignancies(rng, p),
        "infections": _infections(rng, p, meds),
    }
    # Registry values are "at baseline": the optional lab dates are not generated.
    return {name: table[[f.name for f in TABLES[name] if f.name in table.columns or not f.optional]]
            for name, table in tables.items()}


# --- 1. demographics ---------------------------------------------------------------------------

def _demographics(rng, n: int) -> dict:
    p: dict = {"n": n}
    p["id"] = np.char.add("P", np.char.zfill(rng.permutation(np.arange(1, n + 1) * 7 + 100000).astype(str), 7))
    p["site"] = rng.choice(len(_SITES), size=n, p=_SITE_WEIGHTS)
    p["female"] = rng.random(n) < 0.89
    p["race"] = rng.choice(len(_RACES), size=n, p=_share([35, 20, 22, 17, 6]))
    # Age at diagnosis: 10 plus a gamma with mean 23 and SD 12.5 (mean 33, as SLICC inception's 35 and
    # APLC's 29); disease duration: gamma with the BILAG-2004 cohort's mean 8.8 and SD 7.7 years.
    # Both are smooth, so no age is over-represented; 90 and over is top-coded.
    p["age_dx"] = 10 + rng.gamma((23 / 12.5) ** 2, 12.5 ** 2 / 23, n)
    p["duration"] = rng.gamma((8.8 / 7.7) ** 2, 7.7 ** 2 / 8.8, n)
    age_exact = p["age_dx"] + p["duration"]
    p["age"] = np.minimum(np.floor(age_exact), 90).astype(int)
    p["baseline"] = _BASELINE_FROM + rng.integers(0, _BASELINE_DAYS, n).astype("timedelta64[D]")
    p["diagnosis"] = p["baseline"] - _days(p["duration"] * _YEAR)
    p["adult_from"] = p["baseline"] - _days((age_exact - 18) * _YEAR)  # the day the patient turned 18
    weight = np.where(p["female"], rng.lognormal(np.log(68), 0.2, n), rng.lognormal(np.log(82), 0.18, n))
    weight = np.where(p["age"] < 16, weight * 0.8, weight)
    p["weight"] = np.clip(np.round(weight, 1), 35, 200)
    return p


# --- 2. organ history --------------------------------------------------------------------------

def _organ_history(rng, p: dict) -> None:
    n, years = p["n"], p["duration"]
    # Lifetime nephritis risk by ethnicity, male sex and young onset (Hanly 2016), reached mostly in
    # the first years of disease: a third is present at diagnosis.
    risk = _NEPHRITIS_RISK[p["race"]] + 0.08 * ~p["female"] + 0.08 * (p["age_dx"] < 25) - 0.06 * (p["age_dx"] > 45)
    risk = risk * (0.35 + 0.65 * (1 - np.exp(-years / 1.5)))
    ln_ever = rng.random(n) < risk
    first = p["diagnosis"] + _days(years * rng.beta(1, 3, n) * _YEAR)
    since = (p["baseline"] - first).astype("int64") / _YEAR
    ln_active = ln_ever & (rng.random(n) < 0.18 + 0.5 * np.exp(-since / 2))
    # A nephritis active for long after its first onset is a flare: its episode starts 1-18 months ago.
    flare = ln_active & (since > 1.5)
    episode = np.where(flare, np.maximum(p["baseline"] - _days(rng.uniform(30, 540, n)), first), first)
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

def _activity(rng, p: dict) -> None:
    n = p["n"]
    # A latent activity level: higher early in the disease, in the young, and in non-White patients.
    z = (rng.normal(0, 1, n) + 0.5 * (p["duration"] < 2) + 0.25 * (p["age"] < 30) + 0.2 * (p["race"] != 0)
         + 0.8 * p["ln_active"])
    p["z"] = z
    grades = {}
    for domain, (offset, share_a) in _DOMAIN_ACTIVITY.items():
        ever = p["ever"][domain]
        u = rng.random(n)
        active = ever & (u < _sigmoid(offset + 1.4 * z))
        mild = ever & ~active & (u < _sigmoid(offset + 1.4 * z + 1.6))
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
    p["dsdna"] = rng.random(n) < _sigmoid(-0.6 + 0.8 * z + 0.6 * p["ln_active"] + 0.3 * p["ln_ever"])
    p["low_c"] = rng.random(n) < _sigmoid(-2.6 + 0.5 * z + 3.4 * p["dsdna"] + 0.6 * p["ln_active"])
    p["sm"] = rng.random(n) < np.where(np.isin(p["race"], (1, 3)), 0.35, 0.2)
    p["acr"]["immunologic"] |= p["dsdna"] | p["sm"]
    major = ab["renal"] | ab["neuropsychiatric"] | ab["haematological"] | ab["cardiorespiratory"]
    p["major"] = major


# --- 4. labs ---------------------------------------------------------------------------------------

def _blood_and_kidney(rng, p: dict) -> None:
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
    renal = p["bilag"]["renal"]
    upcr = np.select([renal == "A", renal == "B", renal == "C", renal == "D"],
                     [rng.lognormal(np.log(2.5), 0.5, n), rng.lognormal(np.log(1.0), 0.4, n),
                      rng.lognormal(np.log(0.5), 0.4, n), rng.lognormal(np.log(0.2), 0.5, n)],
                     rng.lognormal(np.log(0.08), 0.5, n))
    p["upcr"] = np.clip(np.round(upcr, 2), 0.01, 25)

    # Haemoglobin: about 1.3 g/dL lower in women; lower with kidney disease, active disease and haemolysis.
    hb = np.where(p["female"], rng.normal(12.9, 1.0, n), rng.normal(14.3, 1.1, n) - 0.02 * np.maximum(age - 50, 0))
    hb = hb - 1.2 * (p["egfr"] < 60) - 1.0 * p["dialysis"] - 0.4 * np.clip(p["z"], 0, None)
    haemolysis = np.isin(haem, ("A", "B")) & (kind == 2)
    hb = np.where(haemolysis & (haem == "A"), rng.uniform(6.0, 8.0, n),
                  np.where(haemolysis, rng.uniform(8.0, 10.0, n), np.maximum(hb, 8.0)))
    p["hb"] = np.round(np.clip(hb, 4, 19), 1)


def _sledai(rng, p: dict) -> None:
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


# --- 5. treatment ----------------------------------------------------------------------------------

def _fertility(rng, p: dict) -> None:
    n, age = p["n"], p["age"]
    cbp = p["female"] & (age >= 14) & (rng.random(n) < 0.96 / (1 + np.exp((age - 47) / 2.0)))
    # Pregnancy is advised against with active disease (assumption: it halves with activity).
    pregnant = cbp & (age >= 18) & (age <= 44) & (rng.random(n) < 0.03 * np.where(p["z"] > 0.8, 0.5, 1.0))
    breastfeeding = cbp & ~pregnant & (age >= 18) & (rng.random(n) < 0.012)
    p.update(cbp=cbp, pregnant=pregnant, breastfeeding=breastfeeding)


def _rows(p, who, drug, klass, start, stop, dose, unit) -> pd.DataFrame:
    """One block of medication rows for the patients at positions ``who``."""
    return pd.DataFrame({"patient_id": p["id"][who], "drug": drug, "drug_class": klass,
                         "start_date": start, "stop_date": stop, "dose": dose, "dose_unit": unit, "_who": who})


def _medications(rng, p: dict, history: float) -> pd.DataFrame:
    n, z, base, dx = p["n"], p["z"], p["baseline"], p["diagnosis"]
    nat = np.datetime64("NaT", "D")
    no_teratogen = p["pregnant"] | p["breastfeeding"]
    blocks = []

    # Current glucocorticoid: more often and at higher dose with activity and major-organ disease
    # (pooled TULIP: 82% on steroids, 52% at 10 mg/day or more, in active disease).
    on_gc = rng.random(n) < _sigmoid(-0.4 + 1.3 * z + 0.8 * p["major"])
    who = np.flatnonzero(on_gc)
    k = len(who)
    level = np.log(4.0) + 0.55 * z[who] + 0.9 * p["major"][who] + rng.normal(0, 0.45, k)
    steps = np.array([2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0])
    dose = steps[np.clip(np.searchsorted(np.log(steps), level), 0, len(steps) - 1)]
    drug = np.where(rng.random(k) < 0.9, "prednisone", "methylprednisolone")
    dose = np.where(drug == "methylprednisolone", np.round(dose * 0.8, 1), dose)
    start = np.maximum(base[who] - _days(rng.integers(10, 600, k)), dx[who])
    blocks.append(_rows(p, who, drug, "glucocorticoid", start, nat, dose, "mg/day"))
    p["gc_dose"] = np.zeros(n)
    p["gc_dose"][who] = dose

    # Recent bursts: high-dose courses that ended before baseline, more with activity.
    who = np.flatnonzero(rng.random(n) < 0.05 + 0.2 * (z > 0.5))
    k = len(who)
    stop = np.maximum(base[who] - _days(rng.integers(0, 150, k)), dx[who])
    start = np.maximum(stop - _days(rng.integers(7, 60, k)), dx[who])
    blocks.append(_rows(p, who, "prednisone", "glucocorticoid", start, stop, rng.choice([20.0, 30.0, 40.0, 60.0], k),
                        "mg/day"))

    # Past courses, more for longer disease, all between diagnosis and five months before baseline.
    weight = np.minimum(p["duration"], 15)
    counts = rng.poisson(history * weight / weight.mean())
    who = np.repeat(np.arange(n), counts)
    k = len(who)
    stop = _between(rng, dx[who] + np.timedelta64(14, "D"), base[who] - np.timedelta64(150, "D"))
    keep = stop <= base[who] - np.timedelta64(150, "D")
    who, stop = who[keep], stop[keep]
    k = len(who)
    start = np.maximum(stop - _days(rng.integers(14, 240, k)), dx[who])
    blocks.append(_rows(p, who, "prednisone", "glucocorticoid", start, stop,
                        rng.choice([5.0, 7.5, 10.0, 15.0, 20.0, 40.0], k), "mg/day"))

    # Hydroxychloroquine for most, started within a year of diagnosis (Eviatar 2024).
    who = np.flatnonzero(rng.random(n) < 0.8)
    k = len(who)
    start = np.minimum(dx[who] + _days(rng.integers(0, 365, k)), base[who])
    blocks.append(_rows(p, who, "hydroxychloroquine", "antimalarial", start, nat,
                        rng.choice([200.0, 300.0, 400.0], k), "mg/day"))

    # Nephritis: cyclophosphamide induction (more in renal A) then mycophenolate or azathioprine, or
    # mycophenolate alone, from the current episode's onset. No teratogenic drug in pregnancy.
    ln = p["ln_ever"]
    cyc = ln & ~no_teratogen & (rng.random(n) < np.where(p["bilag"]["renal"] == "A", 0.4, 0.2))
    who = np.flatnonzero(cyc)
    k = len(who)
    c_start = np.minimum(p["ln_episode"][who] + _days(rng.integers(0, 30, k)), base[who])
    c_stop = np.minimum(c_start + _days(rng.integers(45, 190, k)), base[who])
    blocks.append(_rows(p, who, "cyclophosphamide", "immunosuppressant", c_start, c_stop,
                        rng.choice([500.0, 750.0, 1000.0], k), "mg"))
    follow = np.where(rng.random(k) < 0.75, "mycophenolate", "azathioprine")
    blocks.append(_rows(p, who, follow, "immunosuppressant", np.minimum(c_stop + _days(rng.integers(1, 20, k)),
                                                                          base[who]), nat,
                        np.where(follow == "mycophenolate", rng.choice([2000.0, 3000.0], k), 150.0), "mg/day"))
    mmf = ln & ~cyc & (rng.random(n) < 0.8)
    who = np.flatnonzero(mmf)
    k = len(who)
    drug = np.where(no_teratogen[who], "azathioprine", "mycophenolate")
    blocks.append(_rows(p, who, drug, "immunosuppressant",
                        np.minimum(p["ln_episode"][who] + _days(rng.integers(0, 60, k)), base[who]), nat,
                        np.where(drug == "mycophenolate", rng.choice([2000.0, 2500.0, 3000.0], k), 100.0), "mg/day"))

    # Non-renal immunosuppressants follow activity: methotrexate for joints, azathioprine, mycophenolate.
    other = ~ln & (rng.random(n) < _sigmoid(-1.1 + 0.8 * z + 0.6 * p["major"]))
    who = np.flatnonzero(other)
    k = len(who)
    drug = np.where(p["ever"]["musculoskeletal"][who] & (rng.random(k) < 0.55), "methotrexate",
                    np.where(rng.random(k) < 0.6, "azathioprine", "mycophenolate"))
    drug = np.where(no_teratogen[who], "azathioprine", drug)
    dose = np.select([drug == "azathioprine", drug == "methotrexate"], [100.0, 2.14], 2000.0)
    start = np.minimum(dx[who] + _days(rng.uniform(0, 1, k) * (base[who] - dx[who]).astype("int64")), base[who])
    blocks.append(_rows(p, who, drug, "immunosuppressant", start, nat, dose, "mg/day"))
    on_is = cyc | mmf | other

    # A dose change or addition within six months, more with activity.
    changed = on_is & (rng.random(n) < 0.05 + 0.2 * (z > 0.8))
    who = np.flatnonzero(changed)
    k = len(who)
    drug = np.where(ln[who] & ~no_teratogen[who], "mycophenolate", "azathioprine")
    start = np.maximum(base[who] - _days(rng.integers(0, 180, k)), dx[who])
    blocks.append(_rows(p, who, drug, "immunosuppressant", start, nat,
                        np.where(drug == "mycophenolate", 3000.0, 150.0), "mg/day"))

    # Biologics, with activity: belimumab (licensed 2011), rituximab pairs, anifrolumab (licensed 2021).
    who = np.flatnonzero(rng.random(n) < _sigmoid(-3.2 + 0.9 * z))
    k = len(who)
    b_start = np.maximum(base[who] - _days(rng.integers(60, 1500, k)), np.maximum(dx[who], np.datetime64("2011-03-09")))
    b_start = np.minimum(b_start, base[who])
    b_stop = np.where(rng.random(k) < 0.5, base[who] - _days(rng.integers(0, 240, k)), nat)
    b_stop = np.where(b_stop < b_start, b_start, b_stop)
    blocks.append(_rows(p, who, "belimumab", "biologic", b_start, b_stop, 700.0, "mg"))
    who = np.flatnonzero(rng.random(n) < 0.01 + 0.04 * (p["major"] | p["ab"]["renal"]))
    k = len(who)
    r1 = np.maximum(base[who] - _days(rng.integers(14, 900, k)), dx[who])
    for offset in (0, 14):
        day = np.minimum(r1 + np.timedelta64(offset, "D"), base[who])
        blocks.append(_rows(p, who, "rituximab", "biologic", day, day, 1000.0, "mg"))
    who = np.flatnonzero(rng.random(n) < 0.025 * p["ab"]["mucocutaneous"] + 0.01 * (z > 0.5))
    k = len(who)
    a_start = np.minimum(np.maximum(base[who] - _days(rng.integers(30, 700, k)),
                                    np.maximum(dx[who], np.datetime64("2021-08-02"))), base[who])
    a_stop = np.where(rng.random(k) < 0.6, nat, np.minimum(a_start + _days(rng.integers(28, 300, k)), base[who]))
    blocks.append(_rows(p, who, "anifrolumab", "biologic", a_start, a_stop, 300.0, "mg"))

    meds = pd.concat(blocks, ignore_index=True)
    p["on_is"] = on_is
    who, ongoing = meds["_who"].to_numpy(), meds["stop_date"].isna().to_numpy()
    p["teratogen"] = np.zeros(n, dtype=bool)
    p["teratogen"][who[ongoing & meds["drug"].isin(TERATOGENIC).to_numpy()]] = True
    p["liver_drug"] = np.zeros(n, dtype=bool)
    p["liver_drug"][who[ongoing & meds["drug"].isin(["methotrexate", "azathioprine"]).to_numpy()]] = True
    p["ever_cyc"] = cyc
    # Rows sort by patient id then start; ranking the ids once lets the sort use integers, not strings.
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(p["id"], kind="stable")] = np.arange(n)
    by_patient = rank[who]
    meds = meds.drop(columns="_who")
    meds["start_date"] = pd.to_datetime(meds["start_date"]).astype("datetime64[s]")
    meds["stop_date"] = pd.to_datetime(meds["stop_date"]).astype("datetime64[s]")
    meds["dose"] = pd.array(meds["dose"], dtype="Float64")
    # Registries lose a few doses (GRA: 13% of steroid doses unknown) and start dates.
    m = len(meds)
    gc = (meds["drug_class"] == "glucocorticoid").to_numpy()
    meds.loc[rng.random(m) < np.where(gc, 0.08, 0.02), "dose"] = pd.NA
    meds.loc[rng.random(m) < 0.004, "start_date"] = pd.NaT
    order = np.lexsort((meds["start_date"].to_numpy(), by_patient))
    return meds.iloc[order].reset_index(drop=True)


def _liver(rng, p: dict) -> None:
    """Transaminases: a small tail of marked rises, more on methotrexate or azathioprine."""
    n, on_drug = p["n"], p["liver_drug"]
    raised = rng.random(n) < 0.008 + 0.03 * on_drug
    for name, uln, sigma in (("ast", _AST_ULN[p["site"]], 0.35), ("alt", _ALT_ULN[p["site"]], 0.45)):
        values = np.clip(np.round(rng.lognormal(np.log(22), sigma, n) * (1 + 0.2 * on_drug)), 5, 3000)
        p[name] = np.where(raised, np.round(uln * rng.uniform(2.5, 9, n)), values)
        p[f"{name}_uln"] = uln


# --- 6. events ---------------------------------------------------------------------------------

def _malignancies(rng, p: dict) -> pd.DataFrame:
    n = p["n"]
    risk = (0.01 + 0.0008 * np.maximum(p["age"] - 40, 0) + 0.0004 * np.minimum(p["duration"], 20)
            + 0.01 * p["ever_cyc"])
    who = np.flatnonzero(rng.random(n) < risk)
    lo = np.maximum(p["diagnosis"][who], p["adult_from"][who])
    keep = lo < p["baseline"][who]  # a malignancy after diagnosis and in adulthood only
    who, lo = who[keep], lo[keep]
    k = len(who)
    kind = np.asarray(["basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ", "melanoma", "breast",
                       "lymphoma", "lung", "colorectal", "cervical_invasive", "other"], dtype=object)
    kind = kind[rng.choice(len(kind), size=k, p=_share([28, 12, 18, 3, 13, 7, 4, 5, 3, 7]))]
    date = pd.array(_between(rng, lo, p["baseline"][who] - np.timedelta64(1, "D")).astype("datetime64[s]"))
    date[rng.random(k) < 0.03] = pd.NaT
    return pd.DataFrame({"patient_id": p["id"][who], "malignancy_type": kind, "diagnosis_date": date})


def _infections(rng, p: dict, meds: pd.DataFrame) -> pd.DataFrame:
    """Infections in the two years before baseline, more on immunosuppressants and steroids ≥ 7.5 mg/day."""
    n = p["n"]
    exposure = (1 + 1.5 * p["on_is"]) * (1 + 1.5 * (p["gc_dose"] >= 7.5)) * (1 + 0.5 * (p["age"] >= 60))
    blocks = []
    for kind, rate in (("herpes_zoster", 0.012), ("serious_infection", 0.02)):
        who = np.repeat(np.arange(n), rng.poisson(2 * rate * exposure))
        date = _between(rng, np.maximum(p["baseline"][who] - np.timedelta64(730, "D"), p["diagnosis"][who]),
                        p["baseline"][who])
        date = pd.array(date.astype("datetime64[s]"))
        date[rng.random(len(who)) < 0.02] = pd.NaT
        blocks.append(pd.DataFrame({"patient_id": p["id"][who], "infection_type": kind, "onset_date": date}))
    return pd.concat(blocks, ignore_index=True).sort_values(["patient_id", "infection_type", "onset_date"],
                                                           ignore_index=True)


# --- 7. the patients table, with missingness by site and field ------------------------------------

def _patients_table(rng, p: dict) -> pd.DataFrame:
    n, site = p["n"], p["site"]
    mult = _SITE_MISSING[site]

    def blank(values, share):
        return _blank(rng, values, share * mult)

    female, age, base = p["female"], p["age"], p["baseline"]
    t = pd.DataFrame({
        "patient_id": p["id"], "site": _SITES[site],
        "sex": blank(np.where(female, "F", "M").astype(object), 0.003),
        "age_years": blank(age, 0.01),
        "race_ethnicity": blank(_RACES[p["race"]], 0.06),
        "weight_kg": blank(p["weight"], 0.05),
        "baseline_date": base.astype("datetime64[s]"),
        "sle_diagnosis_date": blank(p["diagnosis"].astype("datetime64[s]"), 0.04),
    })
    acr = sum(v.astype(int) for v in p["acr"].values()) + p["ln_ever"] + 1
    ana = np.asarray([0, 40, 80, 160, 320, 640, 1280])[rng.choice(7, size=n, p=_share([1.2, 1.0, 6, 14, 26, 28, 23.8]))]
    acr = acr - (ana < 80)  # the ANA criterion is the titre
    t["acr_criteria_count"] = blank(acr, 0.06)
    t["slicc_classified"] = blank((acr >= 4) | (rng.random(n) < 0.6), 0.15)
    # ANA and anti-dsDNA are retested more often in active disease (assumption: every few months).
    ana_date = np.maximum(base - _days(rng.exponential(np.where(p["z"] > 0.5, 150, 400), n)), p["diagnosis"])
    t["ana_titre"] = blank(ana, 0.08)
    t["ana_date"] = blank(ana_date.astype("datetime64[s]"), 0.08)
    t["anti_dsdna_positive"] = blank(p["dsdna"], 0.10)
    ds_date = np.maximum(base - _days(rng.exponential(np.where(p["z"] > 0.5, 90, 200), n)), p["diagnosis"])
    t["anti_dsdna_date"] = blank(ds_date.astype("datetime64[s]"), 0.10)
    t["anti_sm_positive"] = blank(p["sm"], 0.20)
    t["anti_sm_date"] = blank(np.maximum(base - _days(rng.exponential(900, n)), p["diagnosis"]).astype("datetime64[s]"),
                              0.20)
    t["sledai_2k"] = _blank(rng, p["sledai"], _SLEDAI_MISSING_BY_SITE[site])
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
        t[name] = _blank(rng, rng.random(n) < share, np.where(no_panel, 1.0, extra * mult))
    xray = np.asarray(["normal", "tb_or_fungal", "other_abnormal"], dtype=object)[
        rng.choice(3, size=n, p=_share([90.5, 1.5, 8]))]
    t["chest_xray"] = _blank(rng, xray, (0.12 + 0.5 * no_panel) * mult)
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


def write_extract(tables: dict[str, pd.DataFrame], folder: str | Path, fmt: str = "csv", messy: bool = False,
                  seed: int = DEFAULT_SEED) -> Path:
    """Write extract tables as ``<table>.csv`` or ``<table>.parquet`` into ``folder``.

    CSV dates are written YYYY-MM-DD, booleans true/false, missing values empty,
    so the files read back exactly and hash the same on every run. ``messy``
    writes them as registries do instead (see :mod:`screening.synth.messy`; ``seed``
    draws the spellings).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if messy:
        from screening.synth.messy import messy_tables

        written = messy_tables(tables, seed)
    else:
        written = {name: _clean_text(table) for name, table in tables.items()}
    for name, table in tables.items():
        target = folder / f"{name}.{fmt}"
        tmp = target.with_suffix(target.suffix + ".tmp")
        if fmt == "csv":
            written[name].to_csv(tmp, index=False, lineterminator="\n")
        else:
            (written[name] if messy else table).to_parquet(tmp, index=False)
        tmp.replace(target)
    return folder


def _clean_text(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(out[col]) or str(out[col].dtype) == "boolean":
            out[col] = out[col].map({True: "true", False: "false"})
    return out
