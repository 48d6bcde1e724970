"""The naive way, for comparison only: ``DataFrame.apply`` over patients, filtering each one's events.

This is how a screening script is often first written. It re-implements every
rule of ``screening.rules.criteria`` in plain Python, one patient at a time, with
``None`` for unknown. The benchmark times it against the vectorised engine, and
the tests use it as an independent oracle: both must agree on every patient.
Do not use it for real extracts: it is hundreds of times slower.
"""

from __future__ import annotations

import operator

import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import LAB_DATES
from screening.io.vocabulary import classes_of
from screening.rules.criteria import _ANY_DOSE_MG, _WEIGHT_RANGE
from screening.rules.protocol import Protocol
from screening.rules.windows import DAYS_PER_MONTH, PREDNISONE_EQUIVALENT

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


def _recent(row, column, months):
    """The row's value, or None when it is dated more than ``months`` before baseline."""
    date = row.get(LAB_DATES.get(column))
    if months is None or _na(date) or _na(row["baseline_date"]):
        return row[column]
    return None if date < _months_before(row["baseline_date"], months) else row[column]


def _any(values):
    values = list(values)
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _overlaps(start, stop, begin, end):
    if _na(begin) or _na(end):
        return None
    if _na(start):  # it began on or before its stop
        if _na(stop) or stop > end:
            return None
        return stop >= begin
    return start <= end and (_na(stop) or stop >= begin)


def _is_drug(m, drugs):
    """None for a drug name the vocabulary did not know, if its class (or an unknown one) may hold one of ``drugs``."""
    if _na(m["drug"]):
        holds = classes_of(drugs)
        return None if holds and (_na(m["drug_class"]) or m["drug_class"] in holds) else False
    return m["drug"] in drugs


def _class_in(m, classes):
    """None for a drug class the vocabulary did not know (when any class is asked for)."""
    if _na(m["drug_class"]):
        return None if classes else False
    return m["drug_class"] in classes


def _renal(row):
    if _na(row["bilag_renal"]):
        return "E" if row.get("lupus_nephritis") == "never" else None
    return row["bilag_renal"]


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
        grade = {d: _renal(row) if d == "renal" else row[f"bilag_{d}"] for d in p["domains"]}
        return _any(None if _na(g) else g in p["grades"] for g in grade.values())
    if name == "bilag_count":
        grades = [_renal(row) if d == "renal" else row[f"bilag_{d}"] for d in p["domains"]]
        missing = sum(_na(g) for g in grades)
        n_a = sum(not _na(g) and g == "A" for g in grades)
        n_ab = sum(not _na(g) and g in ("A", "B") for g in grades)
        if n_a >= p["a_min"] or n_ab >= p["b_min"]:
            return True
        return None if (n_a + missing >= p["a_min"] or n_ab + missing >= p["b_min"]) else False
    if name == "lab_value":
        return _cmp(_recent(row, p["column"], p["within_months"]), p["op"], p["value"])
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
        ast, alt = _recent(row, "ast", p["within_months"]), _recent(row, "alt", p["within_months"])
        return _or(_cmp(ast, ">", None if _na(row["ast_uln"]) else m * row["ast_uln"]),
                   _cmp(alt, ">", None if _na(row["alt_uln"]) else m * row["alt_uln"]))
    if name == "pregnancy":
        if row["sex"] == "M":
            return False
        flag = {c: None if _na(row[c]) else bool(row[c]) for c in
                ("pregnant", "breastfeeding", "childbearing_potential", "contraception")}
        return _or(flag["pregnant"], flag["breastfeeding"],
                   _and(flag["childbearing_potential"], _not(flag["contraception"])))
    if name == "pregnancy_recorded":
        return False if row["sex"] == "M" else (None if _na(row["pregnant"]) else bool(row["pregnant"]))
    if name == "malignancy":
        hits = []
        for _, m in mal.iterrows():
            kind = m["malignancy_type"]
            counts = (None if p["excepted"] else True) if _na(kind) else kind not in p["excepted"]
            d = m["diagnosis_date"]
            hits.append(_and(counts, None if _na(d) or _na(base) else
                             (base - pd.DateOffset(months=round(12 * p["lookback_years"])) <= d <= base)))
        return _any(hits)
    if name == "recent_infection":
        hits = []
        for _, e in inf.iterrows():
            both = (p["herpes_zoster_days"], p["serious_infection_days"])
            if _na(e["infection_type"]):  # either type: recent within the shorter look-back surely, the longer maybe
                shorter, longer = min(both), max(both)
            else:
                shorter = longer = both[0] if e["infection_type"] == "herpes_zoster" else both[1]
            d = e["onset_date"]
            if _na(d) or _na(base):
                hits.append(None)
            elif base - pd.Timedelta(days=shorter) <= d <= base:
                hits.append(True)
            else:
                hits.append(None if base - pd.Timedelta(days=longer) <= d <= base else False)
        return _any(hits)
    if name == "drug_exposure":
        hits = []
        for _, m in meds.iterrows():
            pick = _and(_or(_is_drug(m, p["drugs"]), _class_in(m, p["classes"])), _not(_is_drug(m, p["excepted"])))
            if pick is not False:
                hits.append(_and(pick, _overlaps(m["start_date"], m["stop_date"], _months_before(base, p["months"]),
                                                 base)))
        return _any(hits)
    if name == "regimen_change":
        hits = []
        begin = _months_before(base, p["months"])
        for _, m in meds.iterrows():
            member = _class_in(m, p["classes"])
            if member is False:
                continue
            if _na(base):
                hits.append(None)
                continue
            if _na(m["start_date"]):
                started = False if not _na(m["stop_date"]) and m["stop_date"] < begin else None
            else:
                started = begin <= m["start_date"] <= base
            stopped = False if _na(m["stop_date"]) else begin <= m["stop_date"] < base
            hits.append(_and(member, _or(started, stopped)))
        return _any(hits)
    if name == "glucocorticoid_dose":
        return _glucocorticoid(p, row, meds)
    if name == "nephritis_therapy":
        return _nephritis(p, row, meds)
    raise KeyError(name)


_EARLY, _LATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2999-12-31")


def _glucocorticoid(p, row, meds):
    """Peak daily dose surely taken, and the peak possibly taken, over the window."""
    base = row["baseline_date"]
    begin = None if _na(base) else _months_before(base, p["months"])
    sure: dict = {}
    maybe: dict = {}
    for _, m in meds.iterrows():
        # A row of unknown class (and so of unknown drug) may be a glucocorticoid: possibly taken only.
        unsure = _na(m["drug_class"])
        if not unsure and m["drug_class"] != "glucocorticoid":
            continue
        # An unrecognised name is some glucocorticoid: at least the weakest, at most the strongest.
        if _na(m["drug"]):
            low, high = min(PREDNISONE_EQUIVALENT.values()), max(PREDNISONE_EQUIVALENT.values())
        else:
            low = high = PREDNISONE_EQUIVALENT.get(m["drug"])
        dose = None if _na(m["dose"]) or low is None or unsure else m["dose"] * low
        most = None if _na(m["dose"]) or high is None else m["dose"] * high
        start, stop = m["start_date"], m["stop_date"]
        if dose is not None and begin is not None:
            lo = stop if _na(start) else start
            if not _na(lo):
                lo = max(lo, begin)
                hi = base if _na(stop) else min(stop, base)
                for day in pd.date_range(lo, hi, freq="D"):
                    sure[day] = sure.get(day, 0.0) + dose
        lo = max(_EARLY if _na(start) else start, _EARLY if begin is None else begin)
        last = _LATE if _na(base) else base
        hi = last if _na(stop) else min(stop, last)
        if hi >= lo:
            # Day-by-day over decades is too slow even here: the possible peak only needs the
            # segments' edges, where totals change.
            maybe[(lo, hi)] = maybe.get((lo, hi), []) + [_ANY_DOSE_MG if most is None else most]
    weight = _recent(row, "weight_kg", p["weight_months"])
    light, heavy = (_WEIGHT_RANGE if _na(weight) else (weight, weight))
    peak_sure = max(sure.values(), default=0.0)
    peak_maybe = max((sum(d for (lo, hi), doses in maybe.items() if lo <= day <= hi for d in doses)
                      for day in {lo for lo, _ in maybe}), default=0.0)
    if peak_sure / heavy > p["max_mg_per_kg"]:
        return True
    return None if peak_maybe / light > p["max_mg_per_kg"] else False


def _covered(intervals) -> float:
    days = set()
    for lo, hi in intervals:
        days.update(range(lo, hi))  # end-exclusive, as the engine measures hi - lo
    return float(len(days))


def _nephritis(p, row, meds):
    renal = _renal(row)
    applies = None if renal is None else renal in p["grades"]
    onset, base = row["nephritis_onset_date"], row["baseline_date"]
    therapy = ("mycophenolate", "azathioprine", "cyclophosphamide")
    rows = [m for _, m in meds.iterrows() if _is_drug(m, therapy) is not False]
    # Surely done: known drugs and dates only. Possibly done: each missing date at its most
    # favourable, and an unknown drug name as every therapy drug.
    if not (_na(onset) or _na(base)) and _course_done(
            p, [(m["drug"], m["start_date"], m["stop_date"], True) for m in rows
                if not _na(m["start_date"]) and not _na(m["drug"])], onset, base):
        return True
    maybe = _course_done(p, [(drug, _EARLY if _na(m["start_date"]) else m["start_date"], m["stop_date"],
                              not _na(m["start_date"])) for m in rows
                             for drug in (therapy if _na(m["drug"]) else (m["drug"],))],
                         _EARLY if _na(onset) else onset, _LATE if _na(base) else base)
    return _or(_not(applies), None if maybe else False)


def _course_done(p, rows, onset, base) -> bool:
    """Whether (drug, start, stop, start_known) rows make a completed course.

    A row with an unknown start may follow cyclophosphamide.
    """
    course = {"mycophenolate": [], "azathioprine": [], "cyclophosphamide": []}
    cyc_starts = [start for drug, start, _, _ in rows if drug == "cyclophosphamide"]
    first_cyc = min(cyc_starts) if cyc_starts else None
    day = pd.Timestamp("1970-01-01")
    for drug, start, stop, known in rows:
        lo = max(start, onset)
        hi = min(base if _na(stop) else stop, base)
        if hi >= lo:
            after = first_cyc is not None and (not known or start >= first_cyc)
            course[drug].append(((lo - day).days, (hi - day).days, after))
    need = p["total_months"] * DAYS_PER_MONTH
    mmf = _covered((a, b) for a, b, _ in course["mycophenolate"])
    cyc = _covered((a, b) for a, b, _ in course["cyclophosphamide"])
    maint = _covered((a, b) for drug in ("mycophenolate", "azathioprine") for a, b, after in course[drug] if after)
    return mmf >= need or (cyc >= p["cyclophosphamide_months"] * DAYS_PER_MONTH and cyc + maint >= need)


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
