"""The SQL baseline engine run on (person, index date) rows: screening at every visit, inside the database.

The rules' SQL reads a ``patients`` row and its ``medications``, ``malignancies`` and
``infections`` by ``patient_id``, counting every window back from ``p.baseline_date``. So a
visit is screened by giving the database one ``patients`` row per index date, whose key is
that row: :func:`load_index_tables` loads an extract with its visits table as ``src_*``
tables and derives, in SQL, the same per-visit rows as :mod:`screening.engine.visit_frame`
does in pandas (written from its rules, not its code):

* each patient's visits in date order, then the baseline (a visit on the baseline day is the
  patients row itself);
* at a visit, the visit's own fields over the patient's; a lab the visit holds dated by its
  own ``*_date`` when given, else by the visit; a value dated after the visit (ANA, a lab, the
  nephritis onset) not yet recorded; age the younger of the two whole ages the patient may have
  had, unless the visit records it;
* events known to start after a visit left out (the baseline keeps every event).

:func:`visit_funnel` then runs :func:`~screening.rules.baselines.sql.states_sql` unchanged on
those rows (twice when age is inferred: an age criterion the two possible ages disagree on is
unknown) and places every row in SQL.

Example
-------
>>> import duckdb
>>> from screening import load_extract
>>> ex = load_extract("data/synthetic")
>>> con = duckdb.connect()
>>> load_index_tables(con, ex)
>>> v = visit_funnel(con, "misle-phase2")    # one row per visit, the baseline among them
>>> len(v), int(v["baseline"].sum())           # 26,100 earlier visits and 5,000 baselines
(31100, 5000)
>>> v.loc[v["baseline"], "status"].value_counts().to_dict() == {"excluded": 4535, "not_assessable": 375, "eligible": 90}
True
"""

from __future__ import annotations

import pandas as pd

from screening.io.schema import DATED, EVENT_DATES, LAB_DATES
from screening.io.visits import held_fields
from screening.rules.absence import lacking
from screening.rules.baselines.dialects import DUCKDB, Dialect, dialect
from screening.rules.baselines.sql import _absent, _record_absent, placed_sql, states_sql
from screening.rules.protocol import Protocol, load_protocol

__all__ = ["load_index_tables", "visit_funnel", "index_patients_sql"]

_EVENTS = tuple(EVENT_DATES)


def load_index_tables(con, extract, sql_dialect: str | Dialect = DUCKDB) -> None:
    """Load ``extract`` (with its visits table, if any) and build the per-index-date tables in the database.

    Creates ``src_patients``, ``src_visits`` and ``src_<event table>`` (the extract as loaded),
    ``index_dates`` (one row per screened visit: ``patient_id`` the row's key, ``person``, ``visit_date``,
    ``baseline``), ``index_patients`` (and ``index_patients_older`` when ages are inferred), the event
    tables ``medications``, ``malignancies``, ``infections`` keyed by index row, and the view ``patients``.
    """
    d = dialect(sql_dialect)
    patients = extract.patients.reset_index()
    patients.insert(0, "screening_position", range(len(patients)))
    visits = extract.visits if extract.visits is not None else pd.DataFrame(
        {"patient_id": pd.Series(dtype="string"), "visit_date": pd.Series(dtype="datetime64[s]")})
    tables = {"src_patients": patients, "src_visits": visits} | {f"src_{n}": extract.table(n) for n in _EVENTS}
    for name, frame in tables.items():
        d.execute(con, f"DROP TABLE IF EXISTS {name}")
        d.create_table(con, name, frame)
    _record_absent(con, d, extract.absent)
    d.execute(con, "DROP TABLE IF EXISTS index_dates")
    d.execute(con, "CREATE TABLE index_dates AS SELECT CAST(row_number() OVER (ORDER BY position, baseline, "
                   "visit_date) - 1 AS BIGINT) AS patient_id, person, visit_date, baseline FROM ("
                   "SELECT p.screening_position AS position, p.patient_id AS person, p.baseline_date AS visit_date, "
                   "TRUE AS baseline FROM src_patients p UNION ALL "
                   "SELECT p.screening_position, p.patient_id, v.visit_date, FALSE FROM src_visits v "
                   "JOIN src_patients p ON p.patient_id = v.patient_id "
                   "WHERE v.visit_date IS DISTINCT FROM p.baseline_date) AS screened")
    columns = [c for c in patients.columns if c not in ("screening_position",)]
    held = held_fields(visits, columns)
    infer_age = "age_years" in columns and "age_years" not in held
    for table, older in (("index_patients", False), ("index_patients_older", True)):
        d.execute(con, f"DROP TABLE IF EXISTS {table}")
        # without inferred ages the older table is the same rows: states that never differ
        d.execute(con, f"CREATE TABLE {table} AS {index_patients_sql(columns, held, older and infer_age)}"
                  + ("" if infer_age or not older else " WHERE FALSE"))
    for name in _EVENTS:
        when = EVENT_DATES[name]
        cols = ", ".join(f"x.{c}" for c in extract.table(name).columns if c != "patient_id")
        d.execute(con, f"DROP TABLE IF EXISTS {name}")
        d.execute(con, f"CREATE TABLE {name} AS SELECT i.patient_id, {cols} FROM src_{name} x "
                       f"JOIN index_dates i ON i.person = x.patient_id "
                       f"WHERE i.baseline OR x.{when} IS NULL OR x.{when} <= i.visit_date")
    _use(con, d, "index_patients")


def _use(con, d: Dialect, table: str) -> None:
    """Point the view ``patients`` (what every rule's SQL reads) at one table of per-index rows."""
    d.execute(con, "DROP VIEW IF EXISTS patients")
    d.execute(con, f"CREATE VIEW patients AS SELECT * FROM {table}")


def index_patients_sql(columns: list[str], held: list[str], older: bool = False) -> str:
    """One patients row per index date: the baseline's row as loaded, a visit's as known at the visit.

    ``older``: the other whole age a patient may have had at a visit (where there is one), instead of
    the younger.
    """
    expr = {c: f"p.{c}" for c in columns}
    dated_with_value = {LAB_DATES[c] for c in held if c in LAB_DATES}
    for c in held:
        if c in dated_with_value:
            continue
        expr[c] = f"v.{c}"
        if LAB_DATES.get(c) in expr:  # a lab the visit holds: dated by its own date, else by the visit
            own = f"coalesce(v.{LAB_DATES[c]}, i.visit_date)" if LAB_DATES[c] in held else "i.visit_date"
            expr[LAB_DATES[c]] = f"(CASE WHEN v.{c} IS NULL THEN NULL ELSE {own} END)"
    for date, values in DATED.items():  # known only after the visit: not recorded at it
        if date not in expr or any(v in held for v in values):
            continue
        later = f"({expr[date]}) > i.visit_date"
        for c in (date, *values):
            if c in expr:
                expr[c] = f"(CASE WHEN {later} THEN NULL ELSE {expr[c]} END)"
    if "age_years" in expr and "age_years" not in held:
        expr["age_years"] = _age(older)
    expr["baseline_date"] = "i.visit_date"
    expr.pop("patient_id")
    visit_cols = ", ".join(f"(CASE WHEN i.baseline THEN p.{c} ELSE {e} END) AS {c}" for c, e in expr.items())
    return (f"SELECT i.patient_id, {visit_cols} FROM index_dates i JOIN src_patients p ON p.patient_id = i.person "
            f"LEFT JOIN src_visits v ON v.patient_id = i.person AND v.visit_date = i.visit_date AND NOT i.baseline")


def _age(older: bool) -> str:
    """Whole age at the visit of a patient aged A at baseline, ``days`` before it: A - days/365.25, floored.

    The older of the two possible ages is one more, except when the visit is a whole number of
    365.25-day years before (a multiple of 1,461 days), where it is exact; 90 (90 or over) stays 90.
    """
    days = "(p.baseline_date - i.visit_date)"
    # CASE, not greatest/least: both databases' greatest and least skip a NULL, making an unknown age 0
    floor = f"floor(p.age_years - {days} / 365.25)"
    younger = f"(CASE WHEN {floor} < 0 THEN 0 ELSE {floor} END)"
    if not older:
        return f"CAST({younger} AS INTEGER)"
    other = f"(CASE WHEN {days} % 1461 = 0 THEN {younger} ELSE {younger} + 1 END)"
    return f"CAST((CASE WHEN p.age_years >= 90 OR {other} > 90 THEN 90 ELSE {other} END) AS INTEGER)"


def visit_funnel(con, protocol: Protocol | str, sql_dialect: str | Dialect = DUCKDB) -> pd.DataFrame:
    """Every index row placed in the database: person, visit date, baseline, status, criterion, and its states.

    Rows come in the pandas engine's order (each patient's visits by date, then the baseline), with
    ``patient_id`` the person and one state column (1 passes, 0 fails, -1 unknown) per counted criterion.
    """
    d = dialect(sql_dialect)
    protocol = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    ids = [c.id for c in protocol.counted]
    absent = _absent(con, d)
    columns = set(d.columns(con, "patients"))
    d.execute(con, "DROP TABLE IF EXISTS index_states")
    d.execute(con, f"CREATE TABLE index_states AS {states_sql(protocol, d, columns, absent)}")
    if int(d.frame(con, "SELECT count(*) AS n FROM index_patients_older")["n"].iloc[0]):
        _settle_age(con, d, protocol, columns, absent)
    rows = d.frame(con, f"SELECT i.person, i.visit_date, i.baseline, pl.status, pl.step, "
                        f"{', '.join(f's.{q}' for q in _quoted(ids))} FROM index_dates i "
                        f"JOIN ({placed_sql(ids, d, 'index_states')}) AS pl ON pl.patient_id = i.patient_id "
                        f"JOIN index_states s ON s.patient_id = i.patient_id ORDER BY i.patient_id")
    names = pd.Series([""] + ids)
    rows.insert(4, "criterion", names.take(rows.pop("step").fillna(0).astype(int)).to_numpy())
    return rows.rename(columns={"person": "patient_id"})


def _settle_age(con, d: Dialect, protocol: Protocol, columns: set, absent: dict) -> None:
    """Each age-reading criterion at the older possible age too; where the two answers differ, unknown."""
    aged = [c.id for c in protocol.counted if "age_years" in c.columns().get("patients", ())
            and not lacking(absent, c)]
    if not aged:
        return
    _use(con, d, "index_patients_older")
    d.execute(con, "DROP TABLE IF EXISTS index_states_older")
    d.execute(con, f"CREATE TABLE index_states_older AS {states_sql(protocol, d, columns, absent)}")
    _use(con, d, "index_patients")
    for q in _quoted(aged):
        d.execute(con, f"UPDATE index_states SET {q} = -1 WHERE patient_id IN (SELECT o.patient_id FROM "
                       f"index_states_older o JOIN index_states s USING (patient_id) WHERE o.{q} <> s.{q})")


def _quoted(ids: list[str]) -> list[str]:
    return [f'"{i}"' for i in ids]
