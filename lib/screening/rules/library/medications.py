"""Medications before baseline: exposure to listed drugs or classes, and changes of regimen (look-backs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import DRUG_CLASSES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query, is_drug, isin, overlap
from screening.rules.masks import class_in, drug_pairs, gather, in_categories, lookback
from screening.rules.masks import is_drug as is_drug_mask
from screening.rules.registry import Param, rule
from screening.rules.windows import any_per_patient, overlap_states


@rule("drug_exposure", reads=("baseline_date", "medications"), lookback=True,
      drugs=Param([], "drug ingredients that count (lower case)", kind="list of drug names"),
      classes=Param([], "drug classes that count", choices=DRUG_CLASSES),
      excepted=Param([], "drugs that never count, even in a listed class", kind="list of drug names"),
      months=Param(6, "look-back before baseline (0: taken on the baseline day)", "months"))
def drug_exposure(ex: Extract, drugs: list[str], classes: list[str], excepted: list[str], months: float):
    """Any listed drug (or drug of a listed class, bar `excepted`) taken within `months` before baseline."""
    meds = ex.medications
    grid, pair = drug_pairs(meds)
    # Answered once per (drug, class) pair; gathered onto every row only as "may count", then exactly onto
    # the few rows that may also meet the window.
    pick = pd.array((is_drug_mask(grid, drugs) | class_in(grid, classes)) & ~is_drug_mask(grid, excepted),
                    dtype="boolean")
    at, rows, begin, end = lookback(ex, months, pick.fillna(True).to_numpy(dtype=bool)[pair])
    hit = overlap_states(meds["start_date"].to_numpy()[at], meds["stop_date"].to_numpy()[at], begin, end)
    return any_per_patient(len(ex.patients), rows, hit & gather(pick, pair[at]))


@drug_exposure.naive_form
def drug_exposure_naive(patient: R.Patient, drugs: list[str], classes: list[str], excepted: list[str],
                        months: float):
    base, hits = patient["baseline_date"], []
    for _, m in patient.medications.iterrows():
        pick = R.and_(R.or_(R.is_drug(m, drugs), R.class_in(m, classes)), R.not_(R.is_drug(m, excepted)))
        if pick is not False:
            hits.append(R.and_(pick, R.overlaps(m["start_date"], m["stop_date"], R.months_before(base, months),
                                                base)))
    return R.any_(hits)


@drug_exposure.sql_form
def drug_exposure_sql(q: Query, drugs: list[str], classes: list[str], excepted: list[str], months: float) -> str:
    pick = f"(({is_drug(drugs)} OR {isin('x.drug_class', classes)}) AND NOT {is_drug(excepted)})"
    src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, {pick} AS pick "
           f"FROM medications x JOIN patients b USING (patient_id) WHERE {pick} IS DISTINCT FROM FALSE)")
    return q.any_event("pick AND " + overlap("s", "e", q.months_before("base", months), "base"), src)


@drug_exposure.lint_form
def drug_exposure_lint(params: dict, dictionary: dict):
    if not params["drugs"] and not params["classes"]:
        yield "error", "drugs", "names no drug and no class: the criterion is never met"


@rule("regimen_change", reads=("baseline_date", "medications"), lookback=True,
      classes=Param(["immunosuppressant"], "drug classes whose changes count", choices=DRUG_CLASSES),
      months=Param(3, "look-back before baseline", "months"))
def regimen_change(ex: Extract, classes: list[str], months: float):
    """A drug of `classes` started, stopped or changed dose within `months` before baseline."""
    meds = ex.medications
    klass = meds["drug_class"]
    # A class the vocabulary did not know may be any: possibly a member.
    possible = in_categories(klass, classes) | ((klass.cat.codes.to_numpy() < 0) & bool(classes))
    at, rows, begin, end = lookback(ex, months, possible)
    member = class_in(meds[["drug_class"]].iloc[at], classes)
    start, stop = meds["start_date"].to_numpy()[at], meds["stop_date"].to_numpy()[at]  # NaT compares False
    # A missing start lies on or before its stop: a stop before the window rules a start in it out.
    started, unsure = (start >= begin) & (start <= end), np.isnat(start) & ~(stop < begin)
    # A course stopping before baseline is a change; one that runs past baseline is not.
    changed = started | ((stop >= begin) & (stop < end))
    no_window = np.isnat(end)  # no baseline, no window
    changed = pd.arrays.BooleanArray(changed & ~no_window, (unsure & ~changed) | no_window)
    return any_per_patient(len(ex.patients), rows, changed & member)


@regimen_change.naive_form
def regimen_change_naive(patient: R.Patient, classes: list[str], months: float):
    base, hits = patient["baseline_date"], []
    begin = R.months_before(base, months)
    for _, m in patient.medications.iterrows():
        member = R.class_in(m, classes)
        if member is False:
            continue
        if R.na(base):
            hits.append(None)
            continue
        if R.na(m["start_date"]):
            started = False if not R.na(m["stop_date"]) and m["stop_date"] < begin else None
        else:
            started = begin <= m["start_date"] <= base
        stopped = False if R.na(m["stop_date"]) else begin <= m["stop_date"] < base
        hits.append(R.and_(member, R.or_(started, stopped)))
    return R.any_(hits)


@regimen_change.sql_form
def regimen_change_sql(q: Query, classes: list[str], months: float) -> str:
    member = isin("x.drug_class", classes)  # NULL for a class the vocabulary did not know
    src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, "
           f"{q.months_before('b.baseline_date', months)} AS begin, {member} AS member FROM medications x "
           f"JOIN patients b USING (patient_id) WHERE {member} IS DISTINCT FROM FALSE)")
    return q.any_event("(CASE WHEN base IS NULL THEN NULL ELSE "
                       "(CASE WHEN s IS NULL THEN (CASE WHEN e < begin THEN FALSE END) ELSE s >= begin AND s <= base "
                       "END) OR coalesce(e >= begin AND e < base, FALSE) END) AND member", src)
