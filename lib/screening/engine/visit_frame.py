"""An extract seen at every visit: one "patient" row per patient-visit, its visit date the baseline.

The rules count every window back from ``baseline_date`` and read the patient's row,
so screening at a visit is screening a copy of the patient whose baseline is that
visit. :func:`per_visit_extract` builds those copies for every visit at once (numpy
gathers, no loop over patients), and the funnel engine screens them unchanged:

* the visit's own fields (SLEDAI-2K, BILAG, labs, weight, pregnancy ...) replace the
  patient's; a field the visits table does not hold is read from the patients row;
  a lab value taken at a visit is dated by it, unless the visit gives the lab's own
  date (an EHR's latest value on or before the visit, :mod:`screening.io.sources`);
* what was not yet known at the visit is not recorded: a dated test (ANA,
  anti-dsDNA, anti-Sm, antiphospholipid, biopsy, a dated lab, the nephritis onset)
  dated after the visit, and every medication, malignancy and infection starting
  after it (medications as taken then);
* age: a patient aged A at baseline was aged A - d to A + 1 - d a fraction of
  years d before it, so at a visit their whole age is one of two values. The frame
  holds the younger (:func:`older_ages` gives the other); the over-time screening
  evaluates age-reading criteria at the older too and leaves a visit unknown where
  the two disagree (a visits table with ``age_years`` gives it exactly);
* the patients row is each patient's latest visit (the loader refuses visits after
  it) and is screened exactly as :func:`~screening.engine.funnel.screen` screens it;
  a visit on the baseline day is read as the patients row.

Without a visits table each patient has one visit, the baseline, and the copy is the extract.

Example
-------
>>> from screening import load_extract
>>> ex = load_extract("data/synthetic")
>>> rows = visit_rows(ex)  # the bundled extract's 26,100 earlier visits and each patient's baseline
>>> len(rows), int(rows["baseline"].sum())
(31100, 5000)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import DATED, EVENT_DATES, LAB_DATES
from screening.io.visits import held_fields

__all__ = ["visit_rows", "per_visit_extract", "older_ages"]

_YEAR = np.timedelta64(31_557_600, "s")  # 365.25 days


def visit_rows(extract: Extract) -> pd.DataFrame:
    """One row per screened visit, each patient's in date order with the baseline last.

    Columns: ``patient`` (position in ``extract.patients``), ``visit`` (row of the visits
    table, -1 for the baseline), ``visit_date`` and ``baseline`` (the patients row).
    """
    n = extract.n_patients
    base = extract.patients["baseline_date"].to_numpy(dtype="datetime64[s]")
    patient, visit, date = np.arange(n), np.full(n, -1), base
    if extract.visits is not None and len(extract.visits):
        pos = extract.patient_rows("visits")
        vdate = extract.visits["visit_date"].to_numpy(dtype="datetime64[s]")
        other_day = vdate != base[pos]  # NaT differs from every date: a patient without baseline keeps them all
        kept = np.flatnonzero(other_day)
        patient = np.concatenate([pos[kept], patient])
        visit = np.concatenate([kept, visit])
        date = np.concatenate([vdate[kept], base])
    is_base = visit < 0
    # NaT sorts as the smallest int64; the baseline flag puts the baseline last whatever its date
    order = np.lexsort((date.astype("int64"), is_base, patient))
    return pd.DataFrame({"patient": patient[order], "visit": visit[order], "visit_date": date[order],
                         "baseline": is_base[order]})


def per_visit_extract(extract: Extract, rows: pd.DataFrame) -> Extract:
    """The extract as one patient row per entry of ``rows`` (:func:`visit_rows`), each seen at its visit.

    Every patient column is kept: a rule may read a column only when the extract holds it (the renal
    BILAG grade reads ``lupus_nephritis``). The result's patients are indexed 0..len(rows)-1 in the
    order of ``rows``.
    """
    p = extract.patients
    keep = list(p.columns)
    take = rows["patient"].to_numpy()
    out = {c: p[c].array.take(take) for c in keep}
    on_visit = np.flatnonzero(~rows["baseline"].to_numpy())
    when = rows["visit_date"].to_numpy(dtype="datetime64[s]")
    if len(on_visit):
        _overlay(out, extract.visits, rows["visit"].to_numpy()[on_visit], on_visit, when[on_visit])
    frame = pd.DataFrame(out, index=pd.RangeIndex(len(rows)), copy=False)
    tables, positions = {}, {}
    for name, date in EVENT_DATES.items():
        tables[name], positions[name] = _events(extract, name, date, rows, when)
    return replace(extract, patients=frame, **tables, _rows=positions, visits=None)


def _overlay(out: dict, visits: pd.DataFrame, source: np.ndarray, at: np.ndarray, when: np.ndarray) -> None:
    """Put each visit's fields on its row; hide what was dated after it; age the patient back."""
    held = held_fields(visits, out)
    base = out["baseline_date"].copy()
    with_value = {LAB_DATES[c] for c in held if c in LAB_DATES}
    for c in held:
        if c in with_value:
            continue  # dated with its value, below
        col = out[c].copy()
        col[at] = visits[c].array.take(source)
        out[c] = col
        if LAB_DATES.get(c) in out:  # a lab taken at the visit is dated by it, unless the visit gives its date
            dated = out[LAB_DATES[c]].copy()
            own = visits[LAB_DATES[c]].to_numpy(dtype="datetime64[s]")[source] if LAB_DATES[c] in held \
                else np.full(len(source), np.datetime64("NaT"), dtype="datetime64[s]")
            dated[at] = np.where(pd.isna(visits[c].array.take(source)), np.datetime64("NaT"),
                                 np.where(np.isnat(own), when, own))
            out[LAB_DATES[c]] = dated
    for date, values in DATED.items():
        if date not in out or any(v in held for v in values):
            continue
        later = np.asarray(out[date][at] > when, dtype=bool)  # NaT compares False: not recorded stays so
        for c in (date, *values):
            if c in out and later.any():
                col = out[c].copy()
                col[at[later]] = None
                out[c] = col
    if "age_years" in out and "age_years" not in held:
        younger, _ = _ages(out["age_years"][at], np.asarray(base[at], dtype="datetime64[s]"), when)
        age = out["age_years"].copy()
        age[at] = pd.array(younger, dtype="Float64").astype("Int32")
        out["age_years"] = age
    stamped = out["baseline_date"].copy()
    stamped[at] = when
    out["baseline_date"] = stamped


def _events(extract: Extract, name: str, date: str, rows: pd.DataFrame, when: np.ndarray):
    """Each patient's events repeated for each of their visits, less those known to come after the visit.

    A baseline keeps every event, as the extract's own screening does.
    """
    table = extract.table(name)
    pos = extract.patient_rows(name)
    n = extract.n_patients
    order = np.argsort(pos, kind="stable")
    per_patient = np.bincount(pos, minlength=n)
    first = np.cumsum(per_patient) - per_patient
    patient = rows["patient"].to_numpy()
    k = per_patient[patient]
    row_of = np.repeat(np.arange(len(rows)), k)
    offset = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    event = order[np.repeat(first[patient], k) + offset]
    if date in table.columns and len(event):
        starts = table[date].to_numpy(dtype="datetime64[s]")[event]
        later = ~rows["baseline"].to_numpy()[row_of] & (starts > when[row_of])
        event, row_of = event[~later], row_of[~later]
    out = table.iloc[event].reset_index(drop=True)
    out["patient_id"] = pd.Categorical.from_codes(row_of, dtype=pd.CategoricalDtype(pd.RangeIndex(len(rows))),
                                                  validate=False)
    return out, row_of


def _ages(age, base: np.ndarray, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Youngest and oldest whole age at ``when`` of patients aged ``age`` at ``base`` (NaN where unknown).

    90 is top-coded (90 or over): the oldest is then 90 too.
    """
    a = np.asarray(pd.array(age, dtype="Float64").to_numpy(dtype=float, na_value=np.nan))
    years = (base - when) / _YEAR
    younger = np.floor(a - years)
    older = np.where(np.isclose(years, np.round(years)), np.round(a - years), younger + 1)
    older = np.where(a >= 90, 90, np.minimum(older, 90))
    return np.clip(younger, 0, None), np.clip(older, 0, None)


def older_ages(extract: Extract, rows: pd.DataFrame) -> np.ndarray | None:
    """Per entry of ``rows``: the other whole age the patient may have had at the visit, NaN where there is none.

    The frame (:func:`per_visit_extract`) holds the younger of the two; a baseline's age, and a
    visit's recorded in the visits table, are exact. None when the extract holds no age.
    """
    p = extract.patients
    if "age_years" not in p.columns:
        return None
    patient = rows["patient"].to_numpy()
    base = p["baseline_date"].to_numpy(dtype="datetime64[s]")[patient]
    when = rows["visit_date"].to_numpy(dtype="datetime64[s]")
    younger, older = _ages(p["age_years"].array.take(patient), base, when)
    exact = rows["baseline"].to_numpy().copy()
    if extract.visits is not None and "age_years" in extract.visits.columns:
        exact[:] = True  # each visit's own age, as recorded
    return np.where(exact | (older == younger), np.nan, older)
