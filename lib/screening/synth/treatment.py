"""The synthetic patients' treatment, stage 5: child-bearing potential, medication history, liver enzymes.

Steroid use and dose follow activity, immunosuppressants follow nephritis and
activity, no teratogenic drug in pregnancy; every course starts after diagnosis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.synth.draws import as_days, day_between, sigmoid

__all__ = ["TERATOGENIC", "fertility", "liver", "medications"]

#: Drugs contraindicated in pregnancy (EULAR 2016 points to considerations on drugs in pregnancy).
TERATOGENIC = ("mycophenolate", "cyclophosphamide", "methotrexate")

# Each site's laboratory reports its own upper limits of normal (U/L).
_AST_ULN = np.array([40.0, 35.0, 40.0, 34.0, 37.0, 40.0, 32.0, 41.0])
_ALT_ULN = np.array([45.0, 33.0, 40.0, 55.0, 35.0, 45.0, 31.0, 56.0])


def fertility(rng, p: dict) -> None:
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


def medications(rng, p: dict, history: float) -> pd.DataFrame:
    n, z, base, dx = p["n"], p["z"], p["baseline"], p["diagnosis"]
    nat = np.datetime64("NaT", "D")
    no_teratogen = p["pregnant"] | p["breastfeeding"]
    blocks = []

    # Current glucocorticoid: more often and at higher dose with activity and major-organ disease
    # (pooled TULIP: 82% on steroids, 52% at 10 mg/day or more, in active disease).
    on_gc = rng.random(n) < sigmoid(-0.4 + 1.3 * z + 0.8 * p["major"])
    who = np.flatnonzero(on_gc)
    k = len(who)
    level = np.log(4.0) + 0.55 * z[who] + 0.9 * p["major"][who] + rng.normal(0, 0.45, k)
    steps = np.array([2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0])
    dose = steps[np.clip(np.searchsorted(np.log(steps), level), 0, len(steps) - 1)]
    drug = np.where(rng.random(k) < 0.9, "prednisone", "methylprednisolone")
    dose = np.where(drug == "methylprednisolone", np.round(dose * 0.8, 1), dose)
    start = np.maximum(base[who] - as_days(rng.integers(10, 600, k)), dx[who])
    blocks.append(_rows(p, who, drug, "glucocorticoid", start, nat, dose, "mg/day"))
    p["gc_dose"] = np.zeros(n)
    p["gc_dose"][who] = dose

    # Recent bursts: high-dose courses that ended before baseline, more with activity.
    who = np.flatnonzero(rng.random(n) < 0.05 + 0.2 * (z > 0.5))
    k = len(who)
    stop = np.maximum(base[who] - as_days(rng.integers(0, 150, k)), dx[who])
    start = np.maximum(stop - as_days(rng.integers(7, 60, k)), dx[who])
    blocks.append(_rows(p, who, "prednisone", "glucocorticoid", start, stop, rng.choice([20.0, 30.0, 40.0, 60.0], k),
                        "mg/day"))

    # Past courses, more for longer disease, all between diagnosis and five months before baseline.
    weight = np.minimum(p["duration"], 15)
    counts = rng.poisson(history * weight / weight.mean())
    who = np.repeat(np.arange(n), counts)
    k = len(who)
    stop = day_between(rng, dx[who] + np.timedelta64(14, "D"), base[who] - np.timedelta64(150, "D"))
    keep = stop <= base[who] - np.timedelta64(150, "D")
    who, stop = who[keep], stop[keep]
    k = len(who)
    start = np.maximum(stop - as_days(rng.integers(14, 240, k)), dx[who])
    blocks.append(_rows(p, who, "prednisone", "glucocorticoid", start, stop,
                        rng.choice([5.0, 7.5, 10.0, 15.0, 20.0, 40.0], k), "mg/day"))

    # Hydroxychloroquine for most, started within a year of diagnosis (Eviatar 2024).
    who = np.flatnonzero(rng.random(n) < 0.8)
    k = len(who)
    start = np.minimum(dx[who] + as_days(rng.integers(0, 365, k)), base[who])
    blocks.append(_rows(p, who, "hydroxychloroquine", "antimalarial", start, nat,
                        rng.choice([200.0, 300.0, 400.0], k), "mg/day"))

    # Nephritis: cyclophosphamide induction (more in renal A) then mycophenolate or azathioprine, or
    # mycophenolate alone, from the current episode's onset. No teratogenic drug in pregnancy.
    ln = p["ln_ever"]
    cyc = ln & ~no_teratogen & (rng.random(n) < np.where(p["bilag"]["renal"] == "A", 0.4, 0.2))
    who = np.flatnonzero(cyc)
    k = len(who)
    c_start = np.minimum(p["ln_episode"][who] + as_days(rng.integers(0, 30, k)), base[who])
    c_stop = np.minimum(c_start + as_days(rng.integers(45, 190, k)), base[who])
    blocks.append(_rows(p, who, "cyclophosphamide", "immunosuppressant", c_start, c_stop,
                        rng.choice([500.0, 750.0, 1000.0], k), "mg"))
    follow = np.where(rng.random(k) < 0.75, "mycophenolate", "azathioprine")
    blocks.append(_rows(p, who, follow, "immunosuppressant", np.minimum(c_stop + as_days(rng.integers(1, 20, k)),
                                                                          base[who]), nat,
                        np.where(follow == "mycophenolate", rng.choice([2000.0, 3000.0], k), 150.0), "mg/day"))
    mmf = ln & ~cyc & (rng.random(n) < 0.8)
    who = np.flatnonzero(mmf)
    k = len(who)
    drug = np.where(no_teratogen[who], "azathioprine", "mycophenolate")
    blocks.append(_rows(p, who, drug, "immunosuppressant",
                        np.minimum(p["ln_episode"][who] + as_days(rng.integers(0, 60, k)), base[who]), nat,
                        np.where(drug == "mycophenolate", rng.choice([2000.0, 2500.0, 3000.0], k), 100.0), "mg/day"))

    # Non-renal immunosuppressants follow activity: methotrexate for joints, azathioprine, mycophenolate.
    other = ~ln & (rng.random(n) < sigmoid(-1.1 + 0.8 * z + 0.6 * p["major"]))
    who = np.flatnonzero(other)
    k = len(who)
    drug = np.where(p["ever"]["musculoskeletal"][who] & (rng.random(k) < 0.55), "methotrexate",
                    np.where(rng.random(k) < 0.6, "azathioprine", "mycophenolate"))
    drug = np.where(no_teratogen[who], "azathioprine", drug)
    dose = np.select([drug == "azathioprine", drug == "methotrexate"], [100.0, 2.14], 2000.0)
    start = np.minimum(dx[who] + as_days(rng.uniform(0, 1, k) * (base[who] - dx[who]).astype("int64")), base[who])
    blocks.append(_rows(p, who, drug, "immunosuppressant", start, nat, dose, "mg/day"))
    on_is = cyc | mmf | other

    # A dose change or addition within six months, more with activity.
    changed = on_is & (rng.random(n) < 0.05 + 0.2 * (z > 0.8))
    who = np.flatnonzero(changed)
    k = len(who)
    drug = np.where(ln[who] & ~no_teratogen[who], "mycophenolate", "azathioprine")
    start = np.maximum(base[who] - as_days(rng.integers(0, 180, k)), dx[who])
    blocks.append(_rows(p, who, drug, "immunosuppressant", start, nat,
                        np.where(drug == "mycophenolate", 3000.0, 150.0), "mg/day"))

    # Biologics, with activity: belimumab (licensed 2011), rituximab pairs, anifrolumab (licensed 2021).
    who = np.flatnonzero(rng.random(n) < sigmoid(-3.2 + 0.9 * z))
    k = len(who)
    b_start = np.maximum(base[who] - as_days(rng.integers(60, 1500, k)),
                         np.maximum(dx[who], np.datetime64("2011-03-09")))
    b_start = np.minimum(b_start, base[who])
    b_stop = np.where(rng.random(k) < 0.5, base[who] - as_days(rng.integers(0, 240, k)), nat)
    b_stop = np.where(b_stop < b_start, b_start, b_stop)
    blocks.append(_rows(p, who, "belimumab", "biologic", b_start, b_stop, 700.0, "mg"))
    who = np.flatnonzero(rng.random(n) < 0.01 + 0.04 * (p["major"] | p["ab"]["renal"]))
    k = len(who)
    r1 = np.maximum(base[who] - as_days(rng.integers(14, 900, k)), dx[who])
    for offset in (0, 14):
        day = np.minimum(r1 + np.timedelta64(offset, "D"), base[who])
        blocks.append(_rows(p, who, "rituximab", "biologic", day, day, 1000.0, "mg"))
    who = np.flatnonzero(rng.random(n) < 0.025 * p["ab"]["mucocutaneous"] + 0.01 * (z > 0.5))
    k = len(who)
    a_start = np.minimum(np.maximum(base[who] - as_days(rng.integers(30, 700, k)),
                                    np.maximum(dx[who], np.datetime64("2021-08-02"))), base[who])
    a_stop = np.where(rng.random(k) < 0.6, nat, np.minimum(a_start + as_days(rng.integers(28, 300, k)), base[who]))
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


def liver(rng, p: dict) -> None:
    """Transaminases: a small tail of marked rises, more on methotrexate or azathioprine."""
    n, on_drug = p["n"], p["liver_drug"]
    raised = rng.random(n) < 0.008 + 0.03 * on_drug
    for name, uln, sigma in (("ast", _AST_ULN[p["site"]], 0.35), ("alt", _ALT_ULN[p["site"]], 0.45)):
        values = np.clip(np.round(rng.lognormal(np.log(22), sigma, n) * (1 + 0.2 * on_drug)), 5, 3000)
        p[name] = np.where(raised, np.round(uln * rng.uniform(2.5, 9, n)), values)
        p[f"{name}_uln"] = uln

