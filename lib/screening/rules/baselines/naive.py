"""The naive way, for comparison only: ``DataFrame.apply`` over patients, filtering each one's events.

This is how a screening script is often first written. Each rule's row-wise form
(registered beside its pandas form in :mod:`screening.rules.library`) answers for one
patient at a time in plain Python, with ``None`` for unknown. The benchmark times
it against the vectorised engine, and the tests use it as an independent oracle:
both must agree on every patient. Do not use it for real extracts: it is hundreds
of times slower.
"""

from __future__ import annotations

import pandas as pd

from screening.io.extract import Extract
from screening.rules.absence import lacking
from screening.rules.baselines.rows import Patient, not_
from screening.rules.library import RULES
from screening.rules.protocol import Criterion, Protocol

__all__ = ["naive_met", "naive_states", "naive_eligible", "naive_visit_states"]


def naive_met(c: Criterion, patient: Patient) -> bool | None:
    """Whether one patient meets criterion ``c``'s condition, by its rule's row-wise form."""
    r = RULES[c.rule]
    if r.naive is None:
        raise NotImplementedError(f"rule {c.rule} has no row-wise form")
    return r.naive(patient, **{**r.defaults, **c.params})


def naive_states(extract: Extract, protocol: Protocol, patients: list[str] | None = None) -> pd.DataFrame:
    """Per patient and counted criterion: 1 passes, 0 fails, -1 unknown, computed row by row."""
    p = extract.patients if patients is None else extract.patients.loc[patients]
    # Plain string ids, as a first script would hold them (the loader keeps them categorical).
    meds, mal, inf = (t.assign(patient_id=t["patient_id"].astype("string"))
                      for t in (extract.medications, extract.malignancies, extract.infections))
    # An absent event table or stop_date assesses no one (an absent column otherwise reads as blank, as loaded).
    unassessable = {c.id for c in protocol.counted if lacking(extract.absent, c)}

    def one(row: pd.Series) -> pd.Series:
        pid = row.name
        # The naive part: scan every event table per patient.
        patient = Patient(row, meds[meds["patient_id"] == pid], mal[mal["patient_id"] == pid],
                          inf[inf["patient_id"] == pid])
        out = {}
        for c in protocol.counted:
            if c.id in unassessable:
                out[c.id] = -1
                continue
            met = naive_met(c, patient)
            passes = met if c.kind == "inclusion" else not_(met)
            out[c.id] = -1 if passes is None else int(passes)
        return pd.Series(out)

    return p.apply(one, axis=1)


def naive_eligible(extract: Extract, protocol: Protocol, patients: list[str] | None = None) -> pd.Index:
    states = naive_states(extract, protocol, patients)
    return states.index[(states == 1).all(axis=1)]


def naive_visit_states(extract: Extract, protocol: Protocol) -> pd.DataFrame:
    """Per patient-visit and counted criterion (1 / 0 / -1), each visit rebuilt as a patient row by hand.

    The second implementation of :mod:`screening.engine.visit_frame`, written from its rules rather
    than its code: the visit's fields over the patient's, values dated after the visit unknown, each
    whole age the patient may have had (an answer they disagree on unknown), events known to start
    after the visit left out; the baseline as it is. Indexed by
    ``(patient_id, visit_date)``, each patient's visits in date order with the baseline last.
    """
    import math

    from screening.io.schema import DATED, EVENT_DATES, LAB_DATES
    from screening.io.visits import held_fields

    events = {name: extract.table(name).assign(patient_id=extract.table(name)["patient_id"].astype("string"))
              for name in EVENT_DATES}
    visits = extract.visits
    held = [] if visits is None else held_fields(visits, extract.patients.columns)
    out, index = [], []

    def states(row: pd.Series, own: dict) -> dict:
        patient = Patient(row, own["medications"], own["malignancies"], own["infections"])
        result = {}
        for c in protocol.counted:
            met = naive_met(c, patient)
            passes = met if c.kind == "inclusion" else not_(met)
            result[c.id] = -1 if passes is None else int(passes)
        return result

    for pid, row in extract.patients.iterrows():
        own = {name: t[t["patient_id"] == pid] for name, t in events.items()}
        base = row["baseline_date"]
        mine = pd.DataFrame() if visits is None else visits[visits["patient_id"].astype("string") == pid]
        for _, visit in mine.sort_values("visit_date").iterrows():
            day = visit["visit_date"]
            if day == base:
                continue  # the patients row is that visit
            seen = row.copy()
            seen["baseline_date"] = day
            for c in held:
                if c in seen.index and not any(LAB_DATES.get(v) == c for v in held):
                    seen[c] = visit[c]
                    if LAB_DATES.get(c) in seen.index:
                        # taken on its own date when the visit gives one, else at the visit
                        taken = visit.get(LAB_DATES[c], pd.NaT)
                        seen[LAB_DATES[c]] = pd.NaT if pd.isna(visit[c]) else (day if pd.isna(taken) else taken)
            for date, values in DATED.items():
                if date in seen.index and not any(v in held for v in values) and not pd.isna(seen[date]) \
                        and seen[date] > day:
                    for c in (date, *values):
                        if c in seen.index:
                            seen[c] = pd.NA
            then = {name: t[~(t[EVENT_DATES[name]] > day).fillna(False)] for name, t in own.items()}
            ages = [None]
            if "age_years" in seen.index and "age_years" not in held and not pd.isna(row["age_years"]) \
                    and not pd.isna(base):
                # aged A at baseline: A - years to A + 1 - years at the visit, so one of two whole ages
                years = (base - day).total_seconds() / (365.25 * 86400)
                ages = [max(0, math.floor(row["age_years"] - years))]
                if not math.isclose(years, round(years)):
                    ages.append(min(ages[0] + 1, 90))
                if row["age_years"] >= 90:
                    ages = [ages[0], 90]
            answers = []
            for age in ages:
                if age is not None:
                    seen["age_years"] = age
                answers.append(states(seen, then))
            # settled only where every possible age gives the same answer
            out.append({k: v if all(a[k] == v for a in answers) else -1 for k, v in answers[0].items()})
            index.append((pid, day))
        out.append(states(row, own))
        index.append((pid, base))
    return pd.DataFrame(out, index=pd.MultiIndex.from_tuples(index, names=["patient_id", "visit_date"]))
