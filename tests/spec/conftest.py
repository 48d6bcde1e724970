"""The ``engine`` fixture: evaluate one rule on a hand-written extract with each implementation."""

from __future__ import annotations

import pandas as pd
import pytest

import boundary
from screening import load_extract
from screening.rules.protocol import Criterion, Protocol
from screening.synth.synthetic import write_extract

ENGINES = ["pandas", "naive", "duckdb"]


def spec_tables(patients: dict[str, dict], medications: list[tuple] = ()) -> dict[str, pd.DataFrame]:
    """Tables for ``patients`` (id -> changes to the boundary fixture's base patient) and their medication rows.

    A medication row is (patient, drug, class, start, stop, dose); dates as text, None for blank.
    """
    base = boundary.tables()
    cols = {name: list(frame.columns) for name, frame in base.items()}
    rows = [{"patient_id": pid, **boundary.BASE, **changes} for pid, changes in patients.items()]
    meds = [{"patient_id": pid, "drug": drug, "drug_class": klass, "start_date": start, "stop_date": stop,
             "dose": dose, "dose_unit": "mg/day"} for pid, drug, klass, start, stop, dose in medications]
    dated = sorted({c for changes in patients.values() for c in changes} - set(cols["patients"]))  # lab dates
    return {"patients": pd.DataFrame(rows, columns=cols["patients"] + dated),
            "medications": pd.DataFrame(meds, columns=cols["medications"]),
            "malignancies": base["malignancies"].iloc[:0], "infections": base["infections"].iloc[:0]}


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    """A function (tables, rule, params) -> {patient: True/False/None} for one implementation."""

    def run(tables: dict[str, pd.DataFrame], rule: str, params: dict) -> dict[str, bool | None]:
        folder = write_extract(tables, tmp_path / "extract")
        ex = load_extract(folder)
        protocol = Protocol("spec", "spec", (Criterion("c", "c", "inclusion", rule, params),))
        if request.param == "pandas":
            from screening.rules.criteria import RULES

            met = RULES[rule](ex, **params)
            return {pid: (None if pd.isna(v) else bool(v)) for pid, v in zip(ex.patients.index, met, strict=True)}
        if request.param == "naive":
            from screening.rules.baselines.naive import naive_states

            states = naive_states(ex, protocol)["c"]
        else:
            from screening.rules.baselines.sql import connect, states_sql

            states = connect(folder).execute(states_sql(protocol)).df().set_index("patient_id")["c"]
        return {pid: {1: True, 0: False, -1: None}[int(v)] for pid, v in states.items()}

    return run
