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
from screening.rules.baselines.rows import Patient, not_
from screening.rules.library import RULES
from screening.rules.protocol import Criterion, Protocol

__all__ = ["naive_met", "naive_states", "naive_eligible"]


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

    def one(row: pd.Series) -> pd.Series:
        pid = row.name
        # The naive part: scan every event table per patient.
        patient = Patient(row, meds[meds["patient_id"] == pid], mal[mal["patient_id"] == pid],
                          inf[inf["patient_id"] == pid])
        out = {}
        for c in protocol.counted:
            met = naive_met(c, patient)
            passes = met if c.kind == "inclusion" else not_(met)
            out[c.id] = -1 if passes is None else int(passes)
        return pd.Series(out)

    return p.apply(one, axis=1)


def naive_eligible(extract: Extract, protocol: Protocol, patients: list[str] | None = None) -> pd.Index:
    states = naive_states(extract, protocol, patients)
    return states.index[(states == 1).all(axis=1)]
