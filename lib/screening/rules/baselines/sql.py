"""The same protocol written as SQL, for the benchmark and as a test oracle: DuckDB and PostgreSQL.

Each rule's SQL form (registered beside its pandas form in :mod:`screening.rules.library`)
gives an expression for "condition met"; SQL's NULL logic is three-valued (Kleene) like
pandas' nullable booleans, so unknowns propagate the same way. The per-patient states,
the sequential funnel, per-criterion counts and the overlap table are all computed in
SQL. What differs between databases goes through :mod:`screening.rules.baselines.dialects`.

Tables get into a database two ways: :func:`connect` puts DuckDB views straight onto an
extract's files (mapping coded values through the vocabulary in SQL, as the loader
does), and :func:`load_tables` copies a loaded :class:`~screening.io.extract.Extract`
(a converted OMOP or Synthea source, say) into DuckDB or PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import TABLES
from screening.io.vocabulary import MAPPED_COLUMNS, canonical, ingredients, normalise
from screening.rules.absence import lacking
from screening.rules.baselines.dialects import DUCKDB, Dialect, dialect
from screening.rules.baselines.sqltext import Query
from screening.rules.library import RULES
from screening.rules.protocol import Criterion, Protocol

__all__ = ["connect", "criterion_sql", "load_tables", "placed_sql", "run_funnel", "states", "states_sql"]

EVENT_TABLES = ("patients", "medications", "malignancies", "infections")
_SQL_TYPE = {"date": "DATE", "int": "INTEGER", "float": "DOUBLE", "bool": "BOOLEAN"}


def _extra_kinds() -> dict[str, str]:
    """Patients columns outside the dictionary that some rule reads (EHR cohort entry), with their kinds."""
    return {col: kind for r in RULES.values() for col, kind in r.extra_columns.items()}


def connect(folder: str | Path, columns: dict[str, list[str]] | None = None, copy: bool = False):
    """A DuckDB connection whose tables are views straight onto the extract's Parquet or CSV files.

    Nothing is copied into DuckDB: each query reads only the columns (and, for
    Parquet, the row groups) it needs, as a DuckDB user would query an extract.
    ``copy=True`` loads the tables into DuckDB first, to time the SQL alone (after load).
    """
    import duckdb

    con = duckdb.connect()
    _vocabulary(con)
    folder = Path(folder)
    absent: dict[str, list[str]] = {}
    for name in EVENT_TABLES:
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if not pq.exists() and not csv.exists():  # an event table left out: no rows, and marked absent
            absent[name] = ["*"]
            blank = ", ".join(f"CAST(NULL AS {_SQL_TYPE.get(f.kind, 'VARCHAR')}) AS {f.name}" for f in TABLES[name])
            con.execute(f"CREATE VIEW {name} AS SELECT {blank} WHERE FALSE")
            continue
        source = f"read_parquet('{pq}')" if pq.exists() else _read_csv(csv, name)
        have = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        listed = columns[name] if columns and name in columns else have
        # A column left out of the file is blank in every row, as the loader reads it.
        gone = [f for f in TABLES[name] if f.name not in have]
        absent[name] = [f.name for f in gone]
        cols = ", ".join([c for c in listed if c in have] + [f"CAST(NULL AS {_SQL_TYPE.get(f.kind, 'VARCHAR')}) "
                                                             f"AS {f.name}" for f in gone])
        # Coded values as the loader reads them: each distinct spelling normalised and looked up once.
        coded = [c for c in MAPPED_COLUMNS[name] if c in have]
        if coded:
            _spellings(con, source, name, coded)
            joins = " ".join(f"LEFT JOIN spelling v{i} ON v{i}.col = '{name}.{c}' "
                             f"AND v{i}.written = CAST(t.{c} AS VARCHAR)" for i, c in enumerate(coded))
            replaced = ", ".join(f"v{i}.canonical AS {c}" for i, c in enumerate(coded))
            source = f"(SELECT t.* REPLACE ({replaced}) FROM {source} t {joins})"
        if name == "medications":  # a class the vocabulary did not know: the known drug's class
            source = (f"(SELECT m.* REPLACE (coalesce(m.drug_class, i.drug_class) AS drug_class) FROM {source} m "
                      f"LEFT JOIN ingredients i ON i.drug = m.drug)")
        con.execute(f"CREATE {'TABLE' if copy else 'VIEW'} {name} AS SELECT {cols} FROM {source}")
    _record_absent(con, DUCKDB, absent)
    return con


def _record_absent(con, d: Dialect, absent: dict) -> None:
    """Keep which columns and tables the extract's files left out (``*``: the whole table), for :func:`states`."""
    d.execute(con, "DROP TABLE IF EXISTS absent_columns")
    d.create_table(con, "absent_columns", pd.DataFrame(
        [(t, c) for t, cols in absent.items() for c in cols], columns=["table_name", "column_name"], dtype="string"))


def _absent(con, d: Dialect) -> dict[str, tuple[str, ...]]:
    rows = d.frame(con, "SELECT table_name, column_name FROM absent_columns")
    return {t: tuple(group["column_name"]) for t, group in rows.groupby("table_name")}


def _vocabulary(con) -> None:
    """Tables for the vocabulary step: each coded column's spellings (filled per extract) and the ingredients."""
    con.execute("CREATE TABLE spelling (col VARCHAR, written VARCHAR, canonical VARCHAR)")
    con.execute("CREATE TABLE ingredients (drug VARCHAR, drug_class VARCHAR)")
    con.executemany("INSERT INTO ingredients VALUES (?, ?)", ingredients()[["drug", "drug_class"]].values.tolist())


def _spellings(con, source: str, table: str, columns: list[str]) -> None:
    """Each distinct value of ``columns`` as written, with its canonical value (NULL if the vocabulary has none).

    A DuckDB user maps the few distinct spellings, not every row: one pass over the file gathers every
    column's distinct values (a pass per column re-read the file each time), then a hash join on the written
    value. The spellings are normalised as the loader normalises them (NFKC, which DuckDB lacks; case; white
    space).
    """
    lists = ", ".join(f"list_sort(list_distinct(list(CAST({c} AS VARCHAR))))" for c in columns)
    found = con.execute(f"SELECT {lists} FROM {source}").fetchall()[0]
    rows = []
    for c, written in zip(columns, found, strict=True):
        written = [w for w in written or [] if w is not None]
        lookup = canonical(c)
        rows += [(f"{table}.{c}", w, lookup.get(n)) for w, n in zip(written, normalise(written), strict=True)]
    if rows:
        con.register("_spellings", pd.DataFrame(rows, columns=["col", "written", "canonical"], dtype=object))
        con.execute("INSERT INTO spelling SELECT col, written, canonical FROM _spellings")
        con.unregister("_spellings")


def _read_csv(csv: Path, table: str) -> str:
    """``read_csv`` with the dictionary's types: a column empty in every row would otherwise be text."""
    with open(csv, encoding="utf-8-sig") as handle:
        header = handle.readline().strip().split(",")
    kinds = {f.name: f.kind for f in TABLES[table]} | (_extra_kinds() if table == "patients" else {})
    typed = [f"'{name}': '{_SQL_TYPE[kind]}'" for name, kind in kinds.items() if kind in _SQL_TYPE and name in header]
    return f"read_csv('{csv}', header=true" + (f", types={{{', '.join(typed)}}})" if typed else ")")


def load_tables(con, extract: Extract, sql_dialect: str | Dialect = DUCKDB) -> None:
    """Copy a loaded extract's four tables into the connected database (values as the loader read them)."""
    d = dialect(sql_dialect)
    for name in EVENT_TABLES:
        frame = extract.table(name)
        frame = frame.reset_index() if name == "patients" else frame
        d.execute(con, f"DROP TABLE IF EXISTS {name}")
        d.create_table(con, name, frame)
    _record_absent(con, d, extract.absent)


def criterion_sql(c: Criterion, i: int, sql_dialect: str | Dialect = DUCKDB,
                  columns: set[str] | None = None) -> Query:
    """The SQL of one criterion's rule: ``q.ctes``, ``q.joins`` and the expression ``q.met``."""
    r = RULES[c.rule]
    if r.sql is None:
        raise NotImplementedError(f"no SQL for rule {c.rule}")
    q = Query(dialect(sql_dialect), f"c{i}", columns)
    q.met = r.sql(q, **{**r.defaults, **c.params})
    return q


def states_sql(protocol: Protocol, sql_dialect: str | Dialect = DUCKDB, columns: set[str] | None = None,
               absent: dict | None = None) -> str:
    """A query returning patient_id and one state column per counted criterion (1, 0, -1).

    ``columns``: the patients columns the database holds, when some a rule reads may be
    absent (EHR cohort-entry columns); None takes every one as present. ``absent``: the
    extract's absent columns and tables (:mod:`screening.rules.absence`); a criterion they
    leave unable to assess anyone is -1 for every patient.
    """
    d = dialect(sql_dialect)
    ctes, cols, joins = [], [], []
    for i, c in enumerate(protocol.counted):
        if lacking(absent or {}, c):
            cols.append(f"CAST(-1 AS {d.tiny_int}) AS \"{c.id}\"")
            continue
        q = criterion_sql(c, i, d, columns)
        ctes += q.ctes
        joins += [f"LEFT JOIN {name} USING (patient_id)" for name in q.joins]
        passes = q.met if c.kind == "inclusion" else f"(NOT {q.met})"
        cols.append(f"CAST(CASE WHEN {passes} IS NULL THEN -1 WHEN {passes} THEN 1 ELSE 0 END AS {d.tiny_int}) "
                    f"AS \"{c.id}\"")
    with_ = ("WITH " + ",\n".join(ctes) + "\n") if ctes else ""
    return f"{with_}SELECT p.patient_id, {', '.join(cols)} FROM patients p {' '.join(joins)}"


def states(con, protocol: Protocol, sql_dialect: str | Dialect = DUCKDB) -> pd.DataFrame:
    """Per patient (index) and counted criterion: 1 passes, 0 fails, -1 unknown, computed in the database."""
    d = dialect(sql_dialect)
    sql = states_sql(protocol, d, set(d.columns(con, "patients")), _absent(con, d))
    return d.frame(con, sql).set_index("patient_id")


def placed_sql(ids: list[str], sql_dialect: str | Dialect = DUCKDB, states: str = "states") -> str:
    """Each patient's status and step (1-based criterion, NULL if eligible) from a table of states.

    Excluded at the first criterion failed; otherwise not assessable at the first unknown; otherwise eligible.
    """
    d = dialect(sql_dialect)
    quoted = [f'"{i}"' for i in ids]
    first = (f"SELECT patient_id, {d.first_position(quoted, 0)} AS first_fail, "
             f"{d.first_position(quoted, -1)} AS first_unknown FROM {states}")
    status = ("CASE WHEN first_fail IS NOT NULL THEN 'excluded' WHEN first_unknown IS NOT NULL "
              "THEN 'not_assessable' ELSE 'eligible' END")
    return (f"SELECT patient_id, {status} AS status, coalesce(first_fail, first_unknown) AS step "
            f"FROM ({first}) AS first_steps")


def run_funnel(con, protocol: Protocol, sql_dialect: str | Dialect = DUCKDB) -> dict[str, pd.DataFrame]:
    """States, sequential funnel, per-criterion counts and overlap, all computed inside the database."""
    d = dialect(sql_dialect)
    ids = [c.id for c in protocol.counted]
    d.execute(con, "DROP TABLE IF EXISTS states")
    sql = states_sql(protocol, d, set(d.columns(con, "patients")), _absent(con, d))
    d.execute(con, f"CREATE TEMP TABLE states AS {sql}")
    quoted = [f'"{i}"' for i in ids]
    d.execute(con, "DROP TABLE IF EXISTS placed")
    d.execute(con, f"CREATE TEMP TABLE placed AS {placed_sql(ids, d)}")
    funnel = d.frame(con, "SELECT step, status, count(*) AS patients FROM placed WHERE status <> 'eligible' "
                          "GROUP BY step, status ORDER BY step, status")
    alone = d.frame(con, "SELECT " + ", ".join(f"sum(CASE WHEN {q} = 0 THEN 1 ELSE 0 END) AS {q}" for q in quoted)
                    + " FROM states")
    overlap = d.frame(con, f"SELECT {', '.join(quoted)}, count(*) AS patients FROM "
                           f"(SELECT {', '.join(f'{q} = 0 AS {q}' for q in quoted)} FROM states) AS failed "
                           f"WHERE {' OR '.join(quoted)} GROUP BY {', '.join(quoted)} ORDER BY patients DESC")
    eligible = d.frame(con, "SELECT patient_id FROM placed WHERE status = 'eligible' ORDER BY patient_id")
    return {"funnel": funnel, "alone": alone, "overlap": overlap, "eligible": eligible}
