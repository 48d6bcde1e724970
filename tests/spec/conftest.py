"""The ``engine`` fixture: evaluate one rule on a hand-drawn extract with each implementation.

Engines: the pandas masks (``screening.rules.library``), the row-wise naive forms, the SQL
forms on DuckDB (views straight onto the written files) and on PostgreSQL (one
throw-away server for the whole session, a fresh schema per call).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import replace

import pandas as pd
import pytest

import boundary
from screening import load_extract
from screening.rules.library import RULES
from screening.rules.protocol import Criterion, Protocol
from screening.synth.synthetic import write_extract

ENGINES = ["pandas", "naive", "duckdb", "postgres"]
EVENT_COLUMNS = {"medications": ["patient_id", "drug", "drug_class", "start_date", "stop_date", "dose"],
                 "malignancies": ["patient_id", "malignancy_type", "diagnosis_date"],
                 "infections": ["patient_id", "infection_type", "onset_date"]}
#: medication rows with coded values the vocabulary does not know ("Zz-unknown"): a class unknown is the
#: known drug's class ("Benlysta" is belimumab, a biologic); with both unknown the row may be any drug.
MEDS_OF_UNKNOWN_CODES = [("BOTH_UNKNOWN", "Zz-unknown", "Zz-unknown", "2024-05-20", None, 40.0),
                         ("BENLYSTA", "Benlysta", "Zz-unknown", "2024-05-20", None, 600.0),
                         ("AZATHIOPRINE", "azathioprine", "Zz-unknown", "2024-05-20", None, 100.0),
                         ("PREDNISONE", "prednisone", "Zz-unknown", "2024-05-20", None, 40.0),
                         ("HCQ", "hydroxychloroquine", "Zz-unknown", "2024-05-20", None, 200.0)]


def _value(cell: str):
    cell = cell.strip()
    if cell == "":
        return None
    if cell.lower() in ("true", "false"):
        return cell.lower() == "true"
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def draw(text: str) -> list[dict]:
    """Rows of a pipe-drawn table: a header line, then one line per row; a blank cell is not recorded.

    >>> draw('''
    ...     patient | age_years | ana_date
    ...     P1      | 18        | 2024-01-31
    ...     P2      |           |
    ... ''')
    [{'patient': 'P1', 'age_years': 18, 'ana_date': '2024-01-31'}, {'patient': 'P2', 'age_years': None, 'ana_date': None}]
    """  # noqa: E501
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header = [h.strip() for h in lines[0].split("|")]
    return [dict(zip(header, map(_value, line.split("|")), strict=True)) for line in lines[1:]]


def _events(rows, table: str) -> pd.DataFrame:
    cols = EVENT_COLUMNS[table]
    if isinstance(rows, str):
        rows = [[r["patient"], *(r[c] for c in cols[1:])] for r in draw(rows)]
    frame = pd.DataFrame([list(r) for r in rows], columns=cols)
    if table == "medications":
        frame["dose_unit"] = "mg/day"
    return frame


def spec_tables(patients: dict[str, dict] | str, medications=(), malignancies=(), infections=()) -> dict:
    """Tables for ``patients`` (id -> changes to the boundary fixture's base patient, or a drawn table whose
    first column is ``patient``) and their event rows (tuples in column order, or drawn tables).

    Medication rows are (patient, drug, class, start, stop, dose); dates as text, None for blank.
    """
    if isinstance(patients, str):
        patients = {r.pop("patient"): r for r in draw(patients)}
    cols = list(boundary.tables()["patients"].columns)
    rows = [{"patient_id": pid, **boundary.BASE, **changes} for pid, changes in patients.items()]
    more = sorted({c for changes in patients.values() for c in changes} - set(cols))  # lab dates, EHR columns
    out = {"patients": pd.DataFrame(rows, columns=cols + more)}
    for table, given in (("medications", medications), ("malignancies", malignancies), ("infections", infections)):
        out[table] = _events(given, table)
    return out


def _typed_extras(ex):
    """EHR cohort-entry columns typed as the OMOP and Synthea readers give them (a CSV holds them as text)."""
    kinds = {col: kind for r in RULES.values() for col, kind in r.extra_columns.items() if col in ex.patients}
    if not kinds:
        return ex
    convert = {"date": lambda s: pd.to_datetime(s).astype("datetime64[s]"),
               "int": lambda s: pd.to_numeric(s).astype("Int64"),
               "bool": lambda s: s.astype("string").str.lower().map({"true": True, "false": False}).astype("boolean")}
    patients = ex.patients.assign(**{col: convert[kind](ex.patients[col]) for col, kind in kinds.items()})
    return replace(ex, patients=patients, _rows=dict(ex._rows))


_SCHEMAS = itertools.count()


def _on_postgres(con, ex, protocol: Protocol) -> pd.DataFrame:
    from screening.rules.baselines.dialects import POSTGRES
    from screening.rules.baselines.sql import load_tables, states

    schema = f"spec{next(_SCHEMAS)}"
    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"SET search_path TO {schema}")
    try:
        load_tables(con, ex, POSTGRES)
        return states(con, protocol, POSTGRES)["c"]
    finally:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


#: tables (as written) -> (folder, extract): each drawn extract is written and loaded once, for every engine
_WRITTEN: dict[str, tuple] = {}


def _written(tables: dict[str, pd.DataFrame], root) -> tuple:
    key = hashlib.sha256("".join(f"{n}\n{t.to_csv(index=False)}" for n, t in tables.items()).encode()).hexdigest()
    if key not in _WRITTEN:
        folder = write_extract(tables, root / key[:16])
        _WRITTEN[key] = (folder, _typed_extras(load_extract(folder)))
    return _WRITTEN[key]


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path_factory):
    """A function (tables, rule, **params) -> {patient: True/False/None} for one implementation.

    Parameters not given take the rule's defaults.
    """

    def run(tables: dict[str, pd.DataFrame], rule: str, **params) -> dict[str, bool | None]:
        params = {**RULES[rule].defaults, **params}
        folder, ex = _written(tables, tmp_path_factory.getbasetemp())
        protocol = Protocol("spec", "spec", (Criterion("c", "c", "inclusion", rule, params),))
        if request.param == "pandas":
            met = RULES[rule](ex, **params)
            return {pid: (None if pd.isna(v) else bool(v)) for pid, v in zip(ex.patients.index, met, strict=True)}
        if request.param == "naive":
            from screening.rules.baselines.naive import naive_states

            states = naive_states(ex, protocol)["c"]
        elif request.param == "duckdb":
            from screening.rules.baselines.sql import connect, states

            states = states(connect(folder), protocol)["c"]
        else:
            states = _on_postgres(request.getfixturevalue("postgres"), ex, protocol)
        return {pid: {1: True, 0: False, -1: None}[int(v)] for pid, v in states.items()}

    return run
