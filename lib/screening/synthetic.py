"""A seeded, realistic synthetic SLE registry extract.

Distributions follow published SLE cohort figures; each figure and its source is
listed in ``data/README.md`` (section "Calibration"). Generation is vectorised, so
a million patients take seconds, and the same seed always gives the same extract.

Example
-------
>>> from screening.synthetic import generate
>>> tables = generate(200, seed=1)
>>> sorted(tables)
['infections', 'malignancies', 'medications', 'patients']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .schema import BILAG_DOMAINS, TABLES

__all__ = ["generate", "write_extract", "DEFAULT_SEED", "DEFAULT_PATIENTS"]

DEFAULT_SEED = 20261125
DEFAULT_PATIENTS = 5000
_SITES = np.array([f"S{i:02d}" for i in range(1, 9)])
_SITE_WEIGHTS = np.array([0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05])
# Sites 7 and 8 do not score BILAG routinely, site 6 rarely records SLEDAI:
# missingness follows the site, as it does in multi-centre registries.
_BILAG_MISSING_BY_SITE = np.array([0.08, 0.1, 0.12, 0.1, 0.15, 0.2, 0.85, 0.9])
_SLEDAI_MISSING_BY_SITE = np.array([0.05, 0.06, 0.08, 0.1, 0.1, 0.55, 0.12, 0.15])
_BASELINE_FROM = np.datetime64("2022-01-01")
_BASELINE_DAYS = 1277  # up to 2025-06-30


def _pick(rng, values, p, n):
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=_share(p))]


def _share(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _missing(rng, values, share, n=None):
    """Blank a share of values (share may be per row)."""
    n = len(values) if n is None else n
    out = pd.array(values)
    out[rng.random(n) < share] = pd.NA
    return out


def _days(values) -> np.ndarray:
    return np.asarray(np.round(values), dtype="int64").astype("timedelta64[D]")


def generate(n: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, history: float = 4.0) -> dict[str, pd.DataFrame]:
    """Generate the four extract tables for ``n`` patients.

    ``history`` is the mean number of past prednisone courses per patient; it
    sets the size of the medication table (about 6 rows per patient at 4.0,
    10 at 7.7).

    Example
    -------
    >>> t = generate(50, seed=3)
    >>> len(t["patients"]), t["patients"]["patient_id"].is_unique
    (50, True)
    """
    rng = np.random.default_rng(seed)
    ids = np.char.add("P", np.char.zfill(rng.permutation(np.arange(1, n + 1) * 7 + 100000).astype(str), 7))
    site_idx = rng.choice(len(_SITES), size=n, p=_SITE_WEIGHTS)
    female = rng.random(n) < 0.89
    race = _pick(rng, ["White", "Black", "Hispanic", "Asian", "Other"], [35, 20, 22, 17, 6], n)
    age = np.clip(np.round(rng.normal(42, 14, n)), 16, 95).astype(int)
    age = np.minimum(age, 90)
    baseline = _BASELINE_FROM + _days(rng.integers(0, _BASELINE_DAYS, n))
    weight = np.where(female, rng.lognormal(np.log(70), 0.2, n), rng.lognormal(np.log(82), 0.18, n))
    weight = np.clip(np.round(weight, 1), 35, 200)

    # Nephritis is more frequent in younger, male and non-White patients (Hanly 2016).
    ln_risk = 0.30 + 0.10 * (race != "White") + 0.08 * (~female) + 0.06 * (age < 30)
    ln_ever = rng.random(n) < ln_risk
    ln_active = ln_ever & (rng.random(n) < 0.35)
    nephritis = np.where(ln_active, "active", np.where(ln_ever, "remission", "never")).astype(object)
    onset_days = np.where(ln_active, rng.integers(20, 900, n), rng.integers(200, 4000, n))
    onset = baseline - _days(onset_days)

    # Disease activity: remission / low / moderate / high (GRA registry shares).
    activity = rng.choice(4, size=n, p=_share([30.5, 36.4, 11.9 + 6, 4.0 + 3]))
    activity = np.where(ln_active & (activity < 2), activity + 1 + (rng.random(n) < 0.5), activity)
    lo = np.array([0, 2, 6, 12])[activity]
    hi = np.array([2, 6, 12, 30])[activity]
    sledai = np.floor(lo + rng.random(n) * (hi - lo)).astype(int)
    # SLEDAI-2K items score 1, 2, 4 or 8: odd totals below 4 are rare, so nudge toward even.
    sledai = np.where((sledai % 2 == 1) & (rng.random(n) < 0.7), sledai + 1, sledai)

    patients = pd.DataFrame({
        "patient_id": ids,
        "site": _SITES[site_idx],
        "sex": _missing(rng, np.where(female, "F", "M").astype(object), 0.003),
        "age_years": _missing(rng, age, 0.01),
        "race_ethnicity": _missing(rng, race, 0.06),
        "weight_kg": _missing(rng, weight, 0.05),
        "baseline_date": baseline.astype("datetime64[s]"),
    })
    acr = rng.choice(np.arange(2, 11), size=n, p=_share([2, 9, 24, 24, 18, 12, 6, 3, 2]))
    patients["acr_criteria_count"] = _missing(rng, acr, 0.06)
    patients["slicc_classified"] = _missing(rng, (acr >= 4) | (rng.random(n) < 0.6), 0.15)

    ana = _pick(rng, [0, 40, 80, 160, 320, 640, 1280], [1.2, 1.0, 6, 14, 26, 28, 23.8], n)
    patients["ana_titre"] = _missing(rng, ana.astype(int), 0.08)
    patients["ana_date"] = _missing(rng, baseline - _days(rng.exponential(150, n)), 0.08)
    patients["anti_dsdna_positive"] = _missing(rng, rng.random(n) < 0.54 + 0.15 * (activity >= 2), 0.10)
    patients["anti_dsdna_date"] = _missing(rng, baseline - _days(rng.exponential(100, n)), 0.10)
    patients["anti_sm_positive"] = _missing(rng, rng.random(n) < 0.25, 0.20)
    patients["anti_sm_date"] = _missing(rng, baseline - _days(rng.exponential(400, n)), 0.20)
    patients["sledai_2k"] = _missing(rng, sledai, _SLEDAI_MISSING_BY_SITE[site_idx])

    # BILAG: grade A/B more likely with activity; renal A/B follows active nephritis.
    ab_p = np.array([0.01, 0.05, 0.16, 0.30])[activity]
    bilag_missing = rng.random(n) < _BILAG_MISSING_BY_SITE[site_idx]
    for domain in BILAG_DOMAINS:
        u = rng.random(n)
        p_ab = np.where(ln_active, 0.75, 0.02) if domain == "renal" else ab_p
        grade = np.where(u < p_ab * 0.35, "A", np.where(u < p_ab, "B",
                         np.where(u < p_ab + 0.2, "C", np.where(u < p_ab + 0.5, "D", "E")))).astype(object)
        grade = pd.array(grade)
        grade[bilag_missing] = pd.NA
        patients[f"bilag_{domain}"] = grade

    patients["cns_lupus_active"] = _missing(rng, rng.random(n) < 0.02 + 0.04 * (activity == 3), 0.05)
    patients["lupus_nephritis"] = _missing(rng, nephritis, 0.03)
    onset_arr = pd.array(onset.astype("datetime64[s]"))
    onset_arr[~ln_ever | (rng.random(n) < 0.05)] = pd.NaT
    patients["nephritis_onset_date"] = onset_arr
    egfr = np.where(ln_ever, rng.normal(72, 30, n), rng.normal(96, 18, n))
    egfr = np.clip(np.round(egfr, 0), 4, 150)
    patients["egfr"] = _missing(rng, egfr, 0.07)
    prot = np.where(ln_active, rng.lognormal(np.log(1.2), 0.8, n), rng.lognormal(np.log(0.1), 0.6, n))
    patients["proteinuria_g_per_g"] = _missing(rng, np.clip(np.round(prot, 2), 0, 25), 0.15)
    patients["dialysis"] = _missing(rng, (egfr < 15) & (rng.random(n) < 0.7), 0.02)

    cbc_missing = rng.random(n) < 0.05
    lft_missing = rng.random(n) < 0.06
    wbc = np.clip(np.round(rng.lognormal(np.log(5.5), 0.38, n), 1), 0.3, 40)
    hb = np.clip(np.round(rng.normal(12.2, 1.6, n), 1), 4, 19)
    plt_ = np.clip(np.round(rng.normal(240_000, 80_000, n), -3), 5_000, 900_000)
    plt_ = np.where(rng.random(n) < 0.01, rng.integers(5_000, 40_000, n), plt_)
    for name, values in (("wbc", wbc), ("haemoglobin", hb), ("platelets", plt_)):
        arr = pd.array(values.astype(float), dtype="Float64")
        arr[cbc_missing] = pd.NA
        patients[name] = arr
    hepatitis = rng.random(n) < 0.012  # a small tail of marked transaminase rises
    for name, uln, sigma in (("ast", 40.0, 0.45), ("alt", 45.0, 0.5)):
        values = np.clip(np.round(rng.lognormal(np.log(24), sigma, n)), 5, 3000)
        values = np.where(hepatitis, np.round(uln * rng.uniform(2.5, 9, n)), values)
        arr = pd.array(values.astype(float), dtype="Float64")
        arr[lft_missing] = pd.NA
        patients[name] = arr
        patients[f"{name}_uln"] = pd.array(np.where(lft_missing, np.nan, uln), dtype="Float64")

    # Infection serology is done as a panel before immunosuppression: usually all or none.
    no_panel = rng.random(n) < 0.06
    for name, share, extra_missing in (("hiv_positive", 0.003, 0.02), ("hepatitis_b_positive", 0.015, 0.01),
                                       ("hepatitis_c_positive", 0.01, 0.02), ("tb_positive", 0.03, 0.06)):
        patients[name] = _missing(rng, rng.random(n) < share, np.where(no_panel, 1.0, extra_missing))
    patients["chest_xray"] = _missing(rng, _pick(rng, ["normal", "tb_or_fungal", "other_abnormal"],
                                                 [90.5, 1.5, 8], n), 0.12 + 0.5 * no_panel)
    fertile = female & (age <= 50)
    patients["pregnant"] = _missing(rng, fertile & (rng.random(n) < 0.015), 0.04)
    patients["breastfeeding"] = _missing(rng, fertile & (rng.random(n) < 0.01), 0.06)
    patients["childbearing_potential"] = _missing(rng, fertile & (rng.random(n) < 0.92), 0.05)
    contraception = pd.array(rng.random(n) < 0.9, dtype="boolean")
    contraception[~fertile | (rng.random(n) < 0.06)] = pd.NA
    patients["contraception"] = contraception
    patients["organ_transplant"] = _missing(rng, rng.random(n) < 0.004 + 0.012 * ln_ever, 0.02)
    patients["unstable_condition"] = _missing(rng, rng.random(n) < 0.04, 0.03)

    tables = {
        "patients": patients,
        "medications": _medications(rng, ids, baseline, female, ln_ever, ln_active, onset, activity, history),
        "malignancies": _malignancies(rng, ids, baseline, age),
        "infections": _infections(rng, ids, baseline),
    }
    return {name: table[[f.name for f in TABLES[name]]] for name, table in tables.items()}


def _rows(ids, baseline, who, drug, klass, start, stop, dose, unit):
    """One block of medication rows for the patients selected by ``who`` (positions)."""
    return pd.DataFrame({
        "patient_id": ids[who], "drug": drug, "drug_class": klass,
        "start_date": start, "stop_date": stop, "dose": dose, "dose_unit": unit,
    })


def _medications(rng, ids, baseline, female, ln_ever, ln_active, onset, activity, history) -> pd.DataFrame:
    n = len(ids)
    blocks = []
    nat = np.datetime64("NaT")

    # Current glucocorticoid (GRA shares: 44% none, 24% 1-5, 4% 6-9, 15% >=10, 13% unknown dose).
    on_gc = rng.random(n) < 0.56
    who = np.flatnonzero(on_gc)
    k = len(who)
    band = rng.choice(4, size=k, p=_share([24.3, 4.1, 14.6, 13.1]))
    dose = np.where(band == 0, rng.choice([2.5, 5.0], k), np.where(band == 1, rng.choice([7.5, 7.5, 6.0], k),
                    rng.choice([10, 12.5, 15, 20, 25, 30, 40], k, p=[.3, .1, .2, .2, .08, .07, .05])))
    dose = pd.array(dose.astype(float), dtype="Float64")
    dose[band == 3] = pd.NA
    drug = np.where(rng.random(k) < 0.9, "prednisone", "methylprednisolone")
    plain = np.asarray(dose, dtype=float)
    dose_vals = np.where(drug == "methylprednisolone", plain * 0.8, plain)
    dose = pd.array(np.round(dose_vals, 1), dtype="Float64")
    start = baseline[who] - _days(rng.integers(10, 500, k))
    blocks.append(_rows(ids, baseline, who, drug, "glucocorticoid", start, nat, dose, "mg/day"))

    # Recent bursts and older tapers: the rows the 1-month steroid window has to see through.
    who = np.flatnonzero(rng.random(n) < 0.10 + 0.15 * (activity >= 2))
    k = len(who)
    stop = baseline[who] - _days(rng.integers(0, 150, k))
    start = stop - _days(rng.integers(7, 60, k))
    dose = rng.choice([20.0, 30.0, 40.0, 60.0], k)
    blocks.append(_rows(ids, baseline, who, "prednisone", "glucocorticoid", start, stop, dose, "mg/day"))
    counts = rng.poisson(history, n)
    who = np.repeat(np.arange(n), counts)
    k = len(who)
    stop = baseline[who] - _days(rng.integers(150, 3650, k))
    start = stop - _days(rng.integers(14, 240, k))
    dose = rng.choice([5.0, 7.5, 10.0, 15.0, 20.0, 40.0], k)
    blocks.append(_rows(ids, baseline, who, "prednisone", "glucocorticoid", start, stop, dose, "mg/day"))

    # Hydroxychloroquine for most patients.
    who = np.flatnonzero(rng.random(n) < 0.78)
    k = len(who)
    blocks.append(_rows(ids, baseline, who, "hydroxychloroquine", "antimalarial",
                        baseline[who] - _days(rng.integers(60, 4000, k)), nat,
                        rng.choice([200.0, 300.0, 400.0], k), "mg/day"))

    # Nephritis induction: cyclophosphamide for some, then mycophenolate or azathioprine.
    cyc = ln_ever & (rng.random(n) < 0.25)
    who = np.flatnonzero(cyc)
    k = len(who)
    cyc_start = np.minimum(onset[who] + _days(rng.integers(0, 30, k)), baseline[who])
    cyc_len = rng.integers(45, 190, k)
    cyc_stop = cyc_start + _days(cyc_len)
    cyc_stop = np.minimum(cyc_stop, baseline[who])
    blocks.append(_rows(ids, baseline, who, "cyclophosphamide", "immunosuppressant", cyc_start, cyc_stop,
                        rng.choice([500.0, 750.0, 1000.0], k), "mg"))
    follow = np.where(rng.random(k) < 0.75, "mycophenolate", "azathioprine")
    maint_dose = np.where(follow == "mycophenolate", rng.choice([2000.0, 2500.0, 3000.0], k),
                          rng.choice([100.0, 150.0], k))
    maint_start = np.minimum(cyc_stop + _days(rng.integers(1, 20, k)), baseline[who])
    blocks.append(_rows(ids, baseline, who, follow, "immunosuppressant", maint_start, nat, maint_dose, "mg/day"))

    mmf = ln_ever & ~cyc & (rng.random(n) < 0.75)
    who = np.flatnonzero(mmf)
    k = len(who)
    mmf_start = np.minimum(onset[who] + _days(rng.integers(0, 60, k)), baseline[who])
    blocks.append(_rows(ids, baseline, who, "mycophenolate", "immunosuppressant", mmf_start, nat,
                        rng.choice([2000.0, 2500.0, 3000.0], k), "mg/day"))

    # Non-renal immunosuppressants.
    other = ~ln_ever & (rng.random(n) < 0.30)
    who = np.flatnonzero(other)
    k = len(who)
    drug = _pick(rng, ["azathioprine", "methotrexate", "mycophenolate"], [45, 35, 20], k)
    dose = np.where(drug == "azathioprine", 100.0, np.where(drug == "methotrexate", 15.0 / 7, 2000.0))
    blocks.append(_rows(ids, baseline, who, drug, "immunosuppressant",
                        baseline[who] - _days(rng.integers(30, 3000, k)), nat, np.round(dose, 2), "mg/day"))

    # A recent dose change or addition (a new segment started within ~6 months).
    changed = (ln_ever | other) & (rng.random(n) < 0.16)
    who = np.flatnonzero(changed)
    k = len(who)
    drug = np.where(ln_ever[who], "mycophenolate", "azathioprine")
    blocks.append(_rows(ids, baseline, who, drug, "immunosuppressant",
                        baseline[who] - _days(rng.integers(0, 180, k)), nat,
                        np.where(drug == "mycophenolate", 3000.0, 150.0), "mg/day"))

    # Biologics: belimumab courses, rituximab infusion pairs, anifrolumab.
    who = np.flatnonzero(rng.random(n) < 0.07 + 0.04 * (activity >= 2))
    k = len(who)
    b_start = baseline[who] - _days(rng.integers(60, 1500, k))
    b_stop = np.where(rng.random(k) < 0.5, baseline[who] - _days(rng.integers(0, 240, k)), nat)
    b_stop = np.where(b_stop < b_start, b_start, b_stop).astype("datetime64[D]")
    blocks.append(_rows(ids, baseline, who, "belimumab", "biologic", b_start, b_stop, 10.0 * 70, "mg"))
    who = np.flatnonzero(rng.random(n) < 0.035)
    k = len(who)
    r1 = baseline[who] - _days(rng.integers(14, 900, k))
    for offset in (0, 14):
        day = r1 + _days(np.full(k, offset))
        blocks.append(_rows(ids, baseline, who, "rituximab", "biologic", day, day, 1000.0, "mg"))
    who = np.flatnonzero(rng.random(n) < 0.02)
    k = len(who)
    a_start = baseline[who] - _days(rng.integers(30, 700, k))
    blocks.append(_rows(ids, baseline, who, "anifrolumab", "biologic", a_start,
                        np.where(rng.random(k) < 0.6, nat, a_start + _days(rng.integers(28, 300, k))), 300.0, "mg"))

    meds = pd.concat(blocks, ignore_index=True)
    meds["start_date"] = pd.to_datetime(meds["start_date"]).astype("datetime64[s]")
    meds["stop_date"] = pd.to_datetime(meds["stop_date"]).astype("datetime64[s]")
    meds["dose"] = pd.array(meds["dose"], dtype="Float64")
    # Registries lose a few doses and start dates; these must surface as not assessable.
    m = len(meds)
    meds.loc[rng.random(m) < 0.02, "dose"] = pd.NA
    meds.loc[rng.random(m) < 0.004, "start_date"] = pd.NaT
    order = np.lexsort((meds["start_date"].to_numpy(), meds["patient_id"].to_numpy()))
    return meds.iloc[order].reset_index(drop=True)


def _malignancies(rng, ids, baseline, age) -> pd.DataFrame:
    n = len(ids)
    who = np.flatnonzero(rng.random(n) < 0.02 + 0.0008 * np.maximum(age - 40, 0))
    k = len(who)
    kind = _pick(rng, ["basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ", "melanoma", "breast",
                       "lymphoma", "lung", "colorectal", "cervical_invasive", "other"],
                 [28, 12, 18, 3, 13, 7, 4, 5, 3, 7], k)
    date = pd.array((baseline[who] - _days(rng.integers(30, 5500, k))).astype("datetime64[s]"))
    date[rng.random(k) < 0.03] = pd.NaT
    return pd.DataFrame({"patient_id": ids[who], "malignancy_type": kind, "diagnosis_date": date})


def _infections(rng, ids, baseline) -> pd.DataFrame:
    n = len(ids)
    blocks = []
    for kind, share in (("herpes_zoster", 0.05), ("serious_infection", 0.09)):
        who = np.flatnonzero(rng.random(n) < share)
        date = pd.array((baseline[who] - _days(rng.integers(0, 730, len(who)))).astype("datetime64[s]"))
        date[rng.random(len(who)) < 0.02] = pd.NaT
        blocks.append(pd.DataFrame({"patient_id": ids[who], "infection_type": kind, "onset_date": date}))
    return pd.concat(blocks, ignore_index=True).sort_values(["patient_id", "infection_type"], ignore_index=True)


def write_extract(tables: dict[str, pd.DataFrame], folder: str | Path, fmt: str = "csv") -> Path:
    """Write extract tables as ``<table>.csv`` or ``<table>.parquet`` into ``folder``.

    CSV dates are written YYYY-MM-DD, booleans true/false, missing values empty,
    so the files read back exactly and hash the same on every run.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        out = table.copy()
        for col in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[col]):
                out[col] = out[col].dt.strftime("%Y-%m-%d")
            elif pd.api.types.is_bool_dtype(out[col]) or str(out[col].dtype) == "boolean":
                out[col] = out[col].map({True: "true", False: "false"})
        target = folder / f"{name}.{fmt}"
        tmp = target.with_suffix(target.suffix + ".tmp")
        if fmt == "csv":
            out.to_csv(tmp, index=False, lineterminator="\n")
        else:
            table.to_parquet(tmp, index=False)
        tmp.replace(target)
    return folder
