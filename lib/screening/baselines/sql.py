"""The same protocol written as DuckDB SQL, for the benchmark and as a test oracle.

Each rule becomes a SQL expression for "condition met"; SQL's NULL logic is
three-valued (Kleene) like pandas' nullable booleans, so unknowns propagate the
same way. The per-patient states, the sequential funnel, per-criterion counts
and the overlap table are all computed in SQL.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..protocol import Criterion, Protocol
from ..windows import DAYS_PER_MONTH, PREDNISONE_EQUIVALENT

__all__ = ["connect", "states_sql", "run_funnel"]


def connect(folder: str | Path, columns: dict[str, list[str]] | None = None, copy: bool = False):
    """A DuckDB connection whose tables are views straight onto the extract's Parquet or CSV files.

    Nothing is copied into DuckDB: each query reads only the columns (and, for
    Parquet, the row groups) it needs, as a DuckDB user would query an extract.
    ``copy=True`` loads the tables into DuckDB first, to time the SQL alone (after load).
    """
    import duckdb

    con = duckdb.connect()
    folder = Path(folder)
    for name in ("patients", "medications", "malignancies", "infections"):
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        source = f"read_parquet('{pq}')" if pq.exists() else f"read_csv('{csv}', header=true)"
        cols = ", ".join(columns[name]) if columns and name in columns else "*"
        con.execute(f"CREATE {'TABLE' if copy else 'VIEW'} {name} AS SELECT {cols} FROM {source}")
    return con


def _lit(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "(" + ", ".join(_lit(v) for v in value) + ")" if value else "(NULL)"
    return "'" + str(value).replace("'", "''") + "'"


def _in(column: str, values: list) -> str:
    """``column IN (...)``; an empty list matches nothing (``IN ()`` is not SQL, ``IN (NULL)`` is never true)."""
    return f"({column} IN {_lit(values)})" if values else "FALSE"


def _before(date: str, months: float) -> str:
    if float(months).is_integer():
        return f"({date} - INTERVAL {int(months)} MONTH)"
    return f"({date} - INTERVAL {round(months * DAYS_PER_MONTH)} DAY)"


def _within(col: str, months: float) -> str:
    return (f"(CASE WHEN {col} IS NULL OR p.baseline_date IS NULL THEN NULL "
            f"ELSE {col} >= {_before('p.baseline_date', months)} AND {col} <= p.baseline_date END)")


def _kleene_any(cte: str, expr: str, source: str) -> str:
    """A CTE giving, per patient, whether any event is true and whether any is unknown."""
    return (f"{cte} AS (SELECT patient_id, bool_or({expr}) AS any_true, bool_or(({expr}) IS NULL) AS any_unknown "
            f"FROM {source} GROUP BY patient_id)")


def _from_any(cte: str) -> str:
    return f"(CASE WHEN {cte}.any_true THEN TRUE WHEN {cte}.any_unknown THEN NULL ELSE FALSE END)"


def _overlap(start: str, stop: str, begin: str, end: str) -> str:
    return (f"(CASE WHEN {start} IS NULL THEN (CASE WHEN {stop} IS NULL OR {stop} >= {begin} THEN NULL ELSE FALSE END) "
            f"ELSE {start} <= {end} AND ({stop} IS NULL OR {stop} >= {begin}) END)")


def _rule(c: Criterion, i: int) -> tuple[str, list[str]]:  # noqa: C901 - one branch per rule
    """SQL for one criterion: the expression for "met" and the CTEs it needs."""
    p, k = c.params, f"c{i}"
    if c.rule == "age":
        return f"(p.age_years >= {p['min_age']} AND p.age_years <= {p['max_age']})", []
    if c.rule == "classification":
        acr = f"(p.acr_criteria_count >= {p['acr_min']})"
        return (f"({acr} OR p.slicc_classified)" if p["accept_slicc"] else acr), []
    if c.rule == "autoantibody":
        return (f"((p.ana_titre >= {p['ana_min_titre']} AND {_within('p.ana_date', p['months'])}) OR "
                f"(p.anti_dsdna_positive AND {_within('p.anti_dsdna_date', p['months'])}))"), []
    if c.rule == "sledai":
        upper = f" AND p.sledai_2k <= {p['max']}" if p["max"] is not None else ""
        return f"(p.sledai_2k >= {p['min']}{upper})", []
    if c.rule == "bilag_active":
        terms = " OR ".join(f"(p.bilag_{d} IN {_lit(p['grades'])})" for d in p["domains"])
        return f"(FALSE OR {terms})", []
    if c.rule == "bilag_count":
        def count(test: str) -> str:
            return "(" + (" + ".join(f"(CASE WHEN p.bilag_{d} {test} THEN 1 ELSE 0 END)" for d in p["domains"])
                          or "0") + ")"
        n_a, n_ab, missing = count("= 'A'"), count("IN ('A', 'B')"), count("IS NULL")
        return (f"(CASE WHEN {n_a} >= {p['a_min']} OR {n_ab} >= {p['b_min']} THEN TRUE "
                f"WHEN {n_a} + {missing} >= {p['a_min']} OR {n_ab} + {missing} >= {p['b_min']} THEN NULL "
                f"ELSE FALSE END)"), []
    if c.rule == "column":
        col = f"p.{p['column']}"
        if p["op"] == "in":
            return f"({col} IN {_lit(p['value'])})", []
        if p["op"] == "is":
            return (f"({col})" if p["value"] else f"(NOT {col})"), []
        return f"({col} {p['op']} {_lit(p['value'])})", []
    if c.rule == "any_flag":
        return "(FALSE OR " + " OR ".join(f"p.{col}" for col in p["columns"]) + ")", []
    if c.rule == "liver_enzymes":
        m = p["uln_multiple"]
        return f"(p.ast > {m} * p.ast_uln OR p.alt > {m} * p.alt_uln)", []
    if c.rule == "pregnancy":
        return ("(CASE WHEN p.sex = 'M' THEN FALSE ELSE (p.pregnant OR p.breastfeeding OR "
                "(p.childbearing_potential AND NOT p.contraception)) END)"), []
    if c.rule == "malignancy":
        src = (f"(SELECT x.patient_id, x.diagnosis_date AS d, b.baseline_date AS base FROM malignancies x "
               f"JOIN patients b USING (patient_id) WHERE x.malignancy_type NOT IN {_lit(p['excepted'])})")
        since = _before("base", round(12 * p["lookback_years"]))
        expr = f"CASE WHEN d IS NULL OR base IS NULL THEN NULL ELSE d >= {since} AND d <= base END"
        return _from_any(k), [_kleene_any(k, expr, src)]
    if c.rule == "recent_infection":
        src = ("(SELECT x.patient_id, x.onset_date AS d, b.baseline_date AS base, x.infection_type AS t "
               "FROM infections x JOIN patients b USING (patient_id))")
        days = f"(CASE WHEN t = 'herpes_zoster' THEN {p['herpes_zoster_days']} ELSE {p['serious_infection_days']} END)"
        expr = (f"CASE WHEN d IS NULL OR base IS NULL THEN NULL ELSE d >= base - to_days({days}) "
                f"AND d <= base END")
        return _from_any(k), [_kleene_any(k, expr, src)]
    if c.rule == "drug_exposure":
        where = (f"({_in('x.drug', p['drugs'])} OR {_in('x.drug_class', p['classes'])}) "
                 f"AND NOT {_in('x.drug', p['excepted'])}")
        src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base "
               f"FROM medications x JOIN patients b USING (patient_id) WHERE {where})")
        return _from_any(k), [_kleene_any(k, _overlap("s", "e", _before("base", p["months"]), "base"), src)]
    if c.rule == "regimen_change":
        src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, "
               f"{_before('b.baseline_date', p['months'])} AS begin FROM medications x JOIN patients b "
               f"USING (patient_id) WHERE x.drug_class IN {_lit(p['classes'])})")
        expr = ("(CASE WHEN s IS NULL THEN NULL ELSE s >= begin AND s <= base END) OR "
                "coalesce(e >= begin AND e < base, FALSE)")
        return _from_any(k), [_kleene_any(k, expr, src)]
    if c.rule == "glucocorticoid_dose":
        return _glucocorticoid(p, k)
    if c.rule == "nephritis_therapy":
        return _nephritis(p, k)
    raise NotImplementedError(f"no SQL for rule {c.rule}")


def _glucocorticoid(p: dict, k: str) -> tuple[str, list[str]]:
    factors = " ".join(f"WHEN '{drug}' THEN {factor!r}" for drug, factor in PREDNISONE_EQUIVALENT.items())
    begin = _before("b.baseline_date", p["months"])
    ctes = [
        f"{k}_rows AS (SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, "
        f"{begin} AS begin, x.dose * (CASE x.drug {factors} ELSE NULL END) AS mg FROM medications x "
        f"JOIN patients b USING (patient_id) WHERE x.drug_class = 'glucocorticoid')",
        f"{k}_in AS (SELECT *, {_overlap('s', 'e', 'begin', 'base')} AS inside FROM {k}_rows)",
        f"{k}_sure AS (SELECT patient_id, CAST(CASE WHEN s > begin THEN s ELSE begin END AS DATE) AS lo, "
        f"CAST(CASE WHEN e IS NULL OR e > base THEN base ELSE e END AS DATE) AS hi, "
        f"CAST(round(mg * 1000000) AS BIGINT) AS units FROM {k}_in WHERE inside AND mg IS NOT NULL)",
        f"{k}_ev AS (SELECT patient_id, lo AS day, units AS delta FROM {k}_sure UNION ALL "
        f"SELECT patient_id, hi + 1 AS day, -units AS delta FROM {k}_sure)",
        f"{k}_run AS (SELECT patient_id, sum(delta) OVER (PARTITION BY patient_id ORDER BY day, delta "
        f"ROWS UNBOUNDED PRECEDING) AS total FROM {k}_ev)",
        f"{k}_peak AS (SELECT patient_id, max(total) / 1000000.0 AS peak FROM {k}_run GROUP BY patient_id)",
        f"{k}_doubt AS (SELECT patient_id, bool_or(inside IS NULL OR (inside AND mg IS NULL)) AS doubt "
        f"FROM {k}_in GROUP BY patient_id)",
    ]
    limit = p["max_mg_per_kg"]
    expr = (f"(CASE WHEN coalesce({k}_peak.peak, 0) > 0 AND p.weight_kg IS NOT NULL AND "
            f"{k}_peak.peak / p.weight_kg > {limit} THEN TRUE "
            f"WHEN coalesce({k}_doubt.doubt, FALSE) OR (coalesce({k}_peak.peak, 0) > 0 AND p.weight_kg IS NULL) "
            f"THEN NULL ELSE FALSE END)")
    return expr, ctes


def _nephritis(p: dict, k: str) -> tuple[str, list[str]]:
    total = p["total_months"] * DAYS_PER_MONTH
    cyc_need = p["cyclophosphamide_months"] * DAYS_PER_MONTH
    ctes = [
        f"{k}_rows AS (SELECT x.patient_id, x.drug, x.start_date AS raw_start, "
        f"CASE WHEN x.start_date IS NULL OR b.nephritis_onset_date IS NULL THEN NULL "
        f"WHEN x.start_date > b.nephritis_onset_date THEN x.start_date ELSE b.nephritis_onset_date END AS lo, "
        f"CASE WHEN b.baseline_date IS NULL THEN NULL WHEN x.stop_date IS NULL OR x.stop_date > b.baseline_date "
        f"THEN b.baseline_date ELSE x.stop_date END AS hi FROM medications x JOIN patients b USING (patient_id) "
        f"WHERE x.drug IN ('mycophenolate', 'azathioprine', 'cyclophosphamide'))",
        f"{k}_first AS (SELECT patient_id, min(raw_start) FILTER (WHERE drug = 'cyclophosphamide') AS first_cyc, "
        f"bool_or(raw_start IS NULL) AS unknown_start FROM {k}_rows GROUP BY patient_id)",
        f"{k}_sets AS (SELECT r.patient_id, 'mmf' AS grp, CAST(lo AS DATE) AS lo, CAST(hi AS DATE) AS hi "
        f"FROM {k}_rows r "
        f"WHERE drug = 'mycophenolate' AND lo IS NOT NULL AND hi >= lo "
        f"UNION ALL SELECT r.patient_id, 'cyc', CAST(lo AS DATE), CAST(hi AS DATE) FROM {k}_rows r "
        f"WHERE drug = 'cyclophosphamide' AND lo IS NOT NULL AND hi >= lo "
        f"UNION ALL SELECT r.patient_id, 'maint', CAST(lo AS DATE), CAST(hi AS DATE) FROM {k}_rows r "
        f"JOIN {k}_first f USING (patient_id) WHERE drug IN ('mycophenolate', 'azathioprine') "
        f"AND lo IS NOT NULL AND hi >= lo AND raw_start >= f.first_cyc)",
        f"{k}_prev AS (SELECT *, max(hi) OVER (PARTITION BY patient_id, grp ORDER BY lo ROWS BETWEEN "
        f"UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM {k}_sets)",
        f"{k}_days AS (SELECT patient_id, "
        f"sum(CASE WHEN grp = 'mmf' THEN greatest(0, hi - CASE WHEN prev_end > lo THEN prev_end ELSE lo END) "
        f"ELSE 0 END) AS mmf, "
        f"sum(CASE WHEN grp = 'cyc' THEN greatest(0, hi - CASE WHEN prev_end > lo THEN prev_end ELSE lo END) "
        f"ELSE 0 END) AS cyc, "
        f"sum(CASE WHEN grp = 'maint' THEN greatest(0, hi - CASE WHEN prev_end > lo THEN prev_end ELSE lo END) "
        f"ELSE 0 END) AS maint FROM {k}_prev GROUP BY patient_id)",
    ]
    done = (f"(coalesce({k}_days.mmf, 0) >= {total} OR (coalesce({k}_days.cyc, 0) >= {cyc_need} AND "
            f"coalesce({k}_days.cyc, 0) + coalesce({k}_days.maint, 0) >= {total}))")
    completed = (f"(CASE WHEN {done} THEN TRUE WHEN p.nephritis_onset_date IS NULL OR p.baseline_date IS NULL "
                 f"OR coalesce({k}_first.unknown_start, FALSE) THEN NULL ELSE FALSE END)")
    applies = (f"(CASE WHEN p.bilag_renal IS NULL AND p.lupus_nephritis = 'never' THEN FALSE "
               f"ELSE p.bilag_renal IN {_lit(p['grades'])} END)")
    return f"((NOT {applies}) OR {completed})", ctes


def states_sql(protocol: Protocol) -> str:
    """A query returning patient_id and one state column per counted criterion (1, 0, -1)."""
    ctes, cols, joins = [], [], []
    for i, c in enumerate(protocol.counted):
        expr, more = _rule(c, i)
        ctes += more
        for cte in more:
            name = cte.split(" AS ", 1)[0]
            if name.endswith(("_peak", "_doubt", "_days", "_first")) or name == f"c{i}":
                joins.append(f"LEFT JOIN {name} USING (patient_id)")
        passes = expr if c.kind == "inclusion" else f"(NOT {expr})"
        cols.append(f"CAST(CASE WHEN {passes} IS NULL THEN -1 WHEN {passes} THEN 1 ELSE 0 END AS TINYINT) "
                    f"AS \"{c.id}\"")
    with_ = ("WITH " + ",\n".join(ctes) + "\n") if ctes else ""
    return (f"{with_}SELECT p.patient_id, {', '.join(cols)} FROM patients p {' '.join(joins)}")


def run_funnel(con, protocol: Protocol) -> dict[str, pd.DataFrame]:
    """States, sequential funnel, per-criterion counts and overlap, all computed inside DuckDB."""
    ids = [c.id for c in protocol.counted]
    con.execute(f"CREATE OR REPLACE TEMP TABLE states AS {states_sql(protocol)}")
    quoted = [f'"{i}"' for i in ids]
    fails = "list_value(" + ", ".join(quoted) + ")"
    placed = (f"SELECT patient_id, list_position({fails}, 0) AS first_fail, "
              f"list_position({fails}, -1) AS first_unknown FROM states")
    status = ("CASE WHEN first_fail IS NOT NULL THEN 'excluded' WHEN first_unknown IS NOT NULL "
              "THEN 'not_assessable' ELSE 'eligible' END")
    con.execute(f"CREATE OR REPLACE TEMP TABLE placed AS SELECT patient_id, {status} AS status, "
                f"coalesce(first_fail, first_unknown) AS step FROM ({placed})")
    funnel = con.execute("SELECT step, status, count(*) AS patients FROM placed WHERE status <> 'eligible' "
                         "GROUP BY ALL ORDER BY step, status").df()
    alone = con.execute("SELECT " + ", ".join(f"sum(CASE WHEN {q} = 0 THEN 1 ELSE 0 END) AS {q}" for q in quoted)
                        + " FROM states").df()
    overlap = con.execute(f"SELECT {', '.join(quoted)}, count(*) AS patients FROM "
                          f"(SELECT {', '.join(f'{q} = 0 AS {q}' for q in quoted)} FROM states) "
                          f"WHERE {' OR '.join(quoted)} GROUP BY ALL ORDER BY patients DESC").df()
    eligible = con.execute("SELECT patient_id FROM placed WHERE status = 'eligible' ORDER BY patient_id").df()
    return {"funnel": funnel, "alone": alone, "overlap": overlap, "eligible": eligible}
