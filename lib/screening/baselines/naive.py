"""The naive way, for comparison only: ``DataFrame.apply`` over patients, filtering each one's events.

This is how a screening script is often first written. It re-implements every
rule of ``screening.criteria`` in plain Python, one patient at a time, with
``None`` for unknown. The benchmark times it against the vectorised engine, and
the tests use it as an independent oracle: both must agree on every patient.
Do not use it for real extracts: it is hundreds of times slower.
"""

from __future__ import annotations

import operator

import pandas as pd

from ..extract import Extract
from ..protocol import Protocol
from ..windows import DAYS_PER_MONTH, PREDNISONE_EQUIVALENT

__all__ = ["naive_states", "naive_eligible"]

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}


def _na(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _and(*xs):
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def _or(*xs):
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def _not(x):
    return None if x is None else not x


def _cmp(a, op, b):
    return None if _na(a) or _na(b) else bool(_OPS[op](a, b))


def _months_before(date, months):
    if float(months).is_integer():
        return date - pd.DateOffset(months=int(months))
    return date - pd.Timedelta(days=round(months * DAYS_PER_MONTH))


def _within(date, base, months):
    if _na(date) or _na(base):
        return None
    return _months_before(base, months) <= date <= base


def _any(values):
    values = list(values)
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _overlaps(start, stop, begin, end):
    if _na(start):
        return None if (_na(stop) or stop >= begin) else False
    return start <= end and (_na(stop) or stop >= begin)


def _rule(name, p, row, meds, mal, inf):  # noqa: C901 - one branch per rule, by design
    base = row["baseline_date"]
    if name == "age":
        return _and(_cmp(row["age_years"], ">=", p["min_age"]), _cmp(row["age_years"], "<=", p["max_age"]))
    if name == "classification":
        acr = _cmp(row["acr_criteria_count"], ">=", p["acr_min"])
        return _or(acr, None if _na(row["slicc_classified"]) else bool(row["slicc_classified"])) \
            if p["accept_slicc"] else acr
    if name == "autoantibody":
        ana = _and(_cmp(row["ana_titre"], ">=", p["ana_min_titre"]), _within(row["ana_date"], base, p["months"]))
        ds = None if _na(row["anti_dsdna_positive"]) else bool(row["anti_dsdna_positive"])
        return _or(ana, _and(ds, _within(row["anti_dsdna_date"], base, p["months"])))
    if name == "sledai":
        ok = _cmp(row["sledai_2k"], ">=", p["min"])
        return ok if p["max"] is None else _and(ok, _cmp(row["sledai_2k"], "<=", p["max"]))
    if name == "bilag_active":
        return _any(None if _na(row[f"bilag_{d}"]) else row[f"bilag_{d}"] in p["grades"] for d in p["domains"])
    if name == "bilag_count":
        grades = [row[f"bilag_{d}"] for d in p["domains"]]
        missing = sum(_na(g) for g in grades)
        n_a = sum(not _na(g) and g == "A" for g in grades)
        n_ab = sum(not _na(g) and g in ("A", "B") for g in grades)
        if n_a >= p["a_min"] or n_ab >= p["b_min"]:
            return True
        return None if (n_a + missing >= p["a_min"] or n_ab + missing >= p["b_min"]) else False
    if name == "column":
        v = row[p["column"]]
        if p["op"] == "in":
            return None if _na(v) else v in p["value"]
        if p["op"] == "is":
            return None if _na(v) else bool(v) == p["value"]
        return _cmp(v, p["op"], p["value"])
    if name == "any_flag":
        return _any(None if _na(row[c]) else bool(row[c]) for c in p["columns"])
    if name == "liver_enzymes":
        m = p["uln_multiple"]
        return _or(_cmp(row["ast"], ">", None if _na(row["ast_uln"]) else m * row["ast_uln"]),
                   _cmp(row["alt"], ">", None if _na(row["alt_uln"]) else m * row["alt_uln"]))
    if name == "pregnancy":
        if row["sex"] == "M":
            return False
        flag = {c: None if _na(row[c]) else bool(row[c]) for c in
                ("pregnant", "breastfeeding", "childbearing_potential", "contraception")}
        return _or(flag["pregnant"], flag["breastfeeding"],
                   _and(flag["childbearing_potential"], _not(flag["contraception"])))
    if name == "malignancy":
        hits = []
        for _, m in mal.iterrows():
            if m["malignancy_type"] in p["excepted"]:
                continue
            d = m["diagnosis_date"]
            hits.append(None if _na(d) or _na(base) else
                        (base - pd.DateOffset(months=round(12 * p["lookback_years"])) <= d <= base))
        return _any(hits)
    if name == "recent_infection":
        hits = []
        for _, e in inf.iterrows():
            days = p["herpes_zoster_days"] if e["infection_type"] == "herpes_zoster" else p["serious_infection_days"]
            d = e["onset_date"]
            hits.append(None if _na(d) or _na(base) else (base - pd.Timedelta(days=days) <= d <= base))
        return _any(hits)
    if name == "drug_exposure":
        hits = []
        for _, m in meds.iterrows():
            if (m["drug"] in p["drugs"] or m["drug_class"] in p["classes"]) and m["drug"] not in p["excepted"]:
                hits.append(_overlaps(m["start_date"], m["stop_date"], _months_before(base, p["months"]), base))
        return _any(hits)
    if name == "regimen_change":
        hits = []
        begin = _months_before(base, p["months"])
        for _, m in meds.iterrows():
            if m["drug_class"] not in p["classes"]:
                continue
            started = None if _na(m["start_date"]) else begin <= m["start_date"] <= base
            stopped = False if _na(m["stop_date"]) else begin <= m["stop_date"] < base
            hits.append(_or(started, stopped))
        return _any(hits)
    if name == "glucocorticoid_dose":
        return _glucocorticoid(p, row, meds)
    if name == "nephritis_therapy":
        return _nephritis(p, row, meds)
    raise KeyError(name)


def _glucocorticoid(p, row, meds):
    base = row["baseline_date"]
    begin = _months_before(base, p["months"])
    per_day: dict = {}
    doubt = False
    for _, m in meds.iterrows():
        if m["drug_class"] != "glucocorticoid":
            continue
        inside = _overlaps(m["start_date"], m["stop_date"], begin, base)
        factor = PREDNISONE_EQUIVALENT.get(m["drug"])
        dose = None if _na(m["dose"]) or factor is None else m["dose"] * factor
        if inside is None or (inside and dose is None):
            doubt = True
            continue
        if not inside:
            continue
        lo = max(m["start_date"], begin)
        hi = base if _na(m["stop_date"]) else min(m["stop_date"], base)
        for day in pd.date_range(lo, hi, freq="D"):
            per_day[day] = per_day.get(day, 0.0) + dose
    peak = max(per_day.values(), default=0.0)
    weight = row["weight_kg"]
    if peak > 0 and _na(weight):
        doubt = True
    above = bool(peak > 0 and not _na(weight) and peak / weight > p["max_mg_per_kg"])
    return True if above else (None if doubt else False)


def _covered(intervals) -> float:
    days = set()
    for lo, hi in intervals:
        days.update(range(lo, hi))  # end-exclusive, as the engine measures hi - lo
    return float(len(days))


def _nephritis(p, row, meds):
    renal = row["bilag_renal"]
    applies = None if _na(renal) else renal in p["grades"]
    if _na(renal) and row["lupus_nephritis"] == "never":
        applies = False
    onset, base = row["nephritis_onset_date"], row["baseline_date"]
    course = {"mycophenolate": [], "azathioprine": [], "cyclophosphamide": []}
    unknown_start = False
    first_cyc = None
    for _, m in meds.iterrows():
        if m["drug"] not in course:
            continue
        if _na(m["start_date"]):
            unknown_start = True
            continue
        if m["drug"] == "cyclophosphamide" and (first_cyc is None or m["start_date"] < first_cyc):
            first_cyc = m["start_date"]
    for _, m in meds.iterrows():
        if m["drug"] not in course or _na(m["start_date"]) or _na(onset) or _na(base):
            continue
        lo = max(m["start_date"], onset)
        hi = min(base if _na(m["stop_date"]) else m["stop_date"], base)
        if hi < lo:
            continue
        day = pd.Timestamp("1970-01-01")
        course[m["drug"]].append(((lo - day).days, (hi - day).days, m["start_date"]))
    need = p["total_months"] * DAYS_PER_MONTH
    mmf = _covered((a, b) for a, b, _ in course["mycophenolate"])
    cyc = _covered((a, b) for a, b, _ in course["cyclophosphamide"])
    maint = _covered((a, b) for drug in ("mycophenolate", "azathioprine") for a, b, s in course[drug]
                     if first_cyc is not None and s >= first_cyc)
    done = mmf >= need or (cyc >= p["cyclophosphamide_months"] * DAYS_PER_MONTH and cyc + maint >= need)
    completed = True if done else (None if (_na(onset) or _na(base) or unknown_start) else False)
    return _or(_not(applies), completed)


def naive_states(extract: Extract, protocol: Protocol, patients: list[str] | None = None) -> pd.DataFrame:
    """Per patient and counted criterion: 1 passes, 0 fails, -1 unknown, computed row by row."""
    p = extract.patients if patients is None else extract.patients.loc[patients]
    # Plain string ids, as a first script would hold them (the loader keeps them categorical).
    meds, mal, inf = (t.assign(patient_id=t["patient_id"].astype("string"))
                      for t in (extract.medications, extract.malignancies, extract.infections))

    def one(row: pd.Series) -> pd.Series:
        pid = row.name
        mine = meds[meds["patient_id"] == pid]  # the naive part: scan every event table per patient
        my_mal = mal[mal["patient_id"] == pid]
        my_inf = inf[inf["patient_id"] == pid]
        out = {}
        for c in protocol.counted:
            met = _rule(c.rule, c.params, row, mine, my_mal, my_inf)
            passes = met if c.kind == "inclusion" else _not(met)
            out[c.id] = -1 if passes is None else int(passes)
        return pd.Series(out)

    return p.apply(one, axis=1)


def naive_eligible(extract: Extract, protocol: Protocol, patients: list[str] | None = None) -> pd.Index:
    states = naive_states(extract, protocol, patients)
    return states.index[(states == 1).all(axis=1)]
