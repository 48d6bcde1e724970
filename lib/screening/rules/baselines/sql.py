"""The same protocol written as DuckDB SQL, for the benchmark and as a test oracle.

Each rule becomes a SQL expression for "condition met"; SQL's NULL logic is
three-valued (Kleene) like pandas' nullable booleans, so unknowns propagate the
same way. The per-patient states, the sequential funnel, per-criterion counts
and the overlap table are all computed in SQL.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from screening.io.schema import LAB_DATES, TABLES
from screening.io.vocabulary import MAPPED_COLUMNS, canonical, classes_of, ingredients, normalise
from screening.rules.criteria import _ANY_DOSE_MG, _WEIGHT_RANGE
from screening.rules.protocol import Criterion, Protocol
from screening.rules.windows import DAYS_PER_MONTH, PREDNISONE_EQUIVALENT

__all__ = ["connect", "states_sql", "run_funnel"]


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
    for name in ("patients", "medications", "malignancies", "infections"):
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        source = f"read_parquet('{pq}')" if pq.exists() else _read_csv(csv, name)
        have = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        listed = columns[name] if columns and name in columns else have
        # An optional column left out of the file is not recorded, as the loader reads it.
        cols = ", ".join([c for c in listed if c in have] + [f"CAST(NULL AS DATE) AS {f.name}" for f in TABLES[name]
                                                             if f.optional and f.kind == "date" and f.name not in have])
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
    return con


def _vocabulary(con) -> None:
    """Tables for the vocabulary step: each coded column's spellings (filled per extract) and the ingredients."""
    con.execute("CREATE TABLE spelling (col VARCHAR, written VARCHAR, canonical VARCHAR)")
    con.execute("CREATE TABLE ingredients (drug VARCHAR, drug_class VARCHAR)")
    con.executemany("INSERT INTO ingredients VALUES (?, ?)", ingredients()[["drug", "drug_class"]].values.tolist())


def _spellings(con, source: str, table: str, columns: list[str]) -> None:
    """Each distinct value of ``columns`` as written, with its canonical value (NULL if the vocabulary has none).

    A DuckDB user maps the few distinct spellings, not every row: one DISTINCT pass per
    column, then a hash join on the written value. The spellings are normalised as the
    loader normalises them (NFKC, which DuckDB lacks; case; white space).
    """
    for c in columns:
        written = [r[0] for r in con.execute(f"SELECT DISTINCT CAST({c} AS VARCHAR) FROM {source}").fetchall()
                   if r[0] is not None]
        lookup = canonical(c)
        if written:
            con.executemany("INSERT INTO spelling VALUES (?, ?, ?)",
                            [(f"{table}.{c}", w, lookup.get(n)) for w, n in zip(written, normalise(written),
                                                                                strict=True)])


def _read_csv(csv: Path, table: str) -> str:
    """``read_csv`` with the dictionary's types: a column empty in every row would otherwise be text."""
    with open(csv, encoding="utf-8-sig") as handle:
        header = handle.readline().strip().split(",")
    sql_type = {"date": "DATE", "int": "INTEGER", "float": "DOUBLE", "bool": "BOOLEAN"}
    typed = [f"'{f.name}': '{sql_type[f.kind]}'" for f in TABLES[table] if f.kind in sql_type and f.name in header]
    return f"read_csv('{csv}', header=true" + (f", types={{{', '.join(typed)}}})" if typed else ")")


def _is_drug(drugs: list[str]) -> str:
    """``x.drug`` is one of ``drugs``; NULL for a name the vocabulary did not know if its class (or an unknown
    class) may hold one."""
    classes = classes_of(drugs)
    unknown = (f"(CASE WHEN x.drug_class IS NULL OR x.drug_class IN {_lit(classes)} THEN NULL ELSE FALSE END)"
               if classes else "FALSE")
    return f"(CASE WHEN x.drug IS NULL THEN {unknown} ELSE {_in('x.drug', drugs)} END)"


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


def _recent(column: str, months: float | None) -> str:
    """``p.column``, NULL when its date (an optional column, NULL when absent) is older than ``months``."""
    dated = LAB_DATES.get(column)
    if months is None or dated is None:
        return f"p.{column}"
    return f"(CASE WHEN p.{dated} < {_before('p.baseline_date', months)} THEN NULL ELSE p.{column} END)"


def _kleene_any(cte: str, expr: str, source: str) -> str:
    """A CTE giving, per patient, whether any event is true and whether any is unknown."""
    return (f"{cte} AS (SELECT patient_id, bool_or({expr}) AS any_true, bool_or(({expr}) IS NULL) AS any_unknown "
            f"FROM {source} GROUP BY patient_id)")


def _from_any(cte: str) -> str:
    return f"(CASE WHEN {cte}.any_true THEN TRUE WHEN {cte}.any_unknown THEN NULL ELSE FALSE END)"


def _overlap(start: str, stop: str, begin: str, end: str) -> str:
    """[start, stop] meets [begin, end]; a missing start lies on or before stop, a missing stop is ongoing."""
    return (f"(CASE WHEN {begin} IS NULL OR {end} IS NULL THEN NULL "
            f"WHEN {start} IS NULL THEN "
            f"(CASE WHEN {stop} IS NULL OR {stop} > {end} THEN NULL ELSE {stop} >= {begin} END) "
            f"ELSE {start} <= {end} AND ({stop} IS NULL OR {stop} >= {begin}) END)")


#: renal BILAG, E (never involved) when not scored for a patient who never had nephritis
_RENAL = "coalesce(p.bilag_renal, CASE WHEN p.lupus_nephritis = 'never' THEN 'E' END)"
_EARLY, _LATE = "DATE '1900-01-01'", "DATE '2999-12-31'"


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
        terms = " OR ".join(f"({_RENAL if d == 'renal' else f'p.bilag_{d}'} IN {_lit(p['grades'])})"
                            for d in p["domains"])
        return f"(FALSE OR {terms})", []
    if c.rule == "bilag_count":
        def count(test: str) -> str:
            grade = {d: _RENAL if d == "renal" else f"p.bilag_{d}" for d in p["domains"]}
            return "(" + (" + ".join(f"(CASE WHEN {grade[d]} {test} THEN 1 ELSE 0 END)"
                                     for d in p["domains"])
                          or "0") + ")"
        n_a, n_ab, missing = count("= 'A'"), count("IN ('A', 'B')"), count("IS NULL")
        return (f"(CASE WHEN {n_a} >= {p['a_min']} OR {n_ab} >= {p['b_min']} THEN TRUE "
                f"WHEN {n_a} + {missing} >= {p['a_min']} OR {n_ab} + {missing} >= {p['b_min']} THEN NULL "
                f"ELSE FALSE END)"), []
    if c.rule == "lab_value":
        return f"({_recent(p['column'], p['within_months'])} {p['op']} {_lit(p['value'])})", []
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
        m, ast, alt = p["uln_multiple"], _recent("ast", p["within_months"]), _recent("alt", p["within_months"])
        return f"({ast} > {m} * p.ast_uln OR {alt} > {m} * p.alt_uln)", []
    if c.rule == "pregnancy":
        return ("(CASE WHEN p.sex = 'M' THEN FALSE ELSE (p.pregnant OR p.breastfeeding OR "
                "(p.childbearing_potential AND NOT p.contraception)) END)"), []
    if c.rule == "pregnancy_recorded":
        return "(CASE WHEN p.sex = 'M' THEN FALSE ELSE p.pregnant END)", []
    if c.rule == "malignancy":
        counts = f"(NOT {_in('x.malignancy_type', p['excepted'])})"  # NULL for a type the vocabulary did not know
        src = (f"(SELECT x.patient_id, x.diagnosis_date AS d, b.baseline_date AS base, {counts} AS counts "
               f"FROM malignancies x JOIN patients b USING (patient_id) WHERE {counts} IS DISTINCT FROM FALSE)")
        since = _before("base", round(12 * p["lookback_years"]))
        expr = f"(CASE WHEN d IS NULL OR base IS NULL THEN NULL ELSE d >= {since} AND d <= base END) AND counts"
        return _from_any(k), [_kleene_any(k, expr, src)]
    if c.rule == "recent_infection":
        src = ("(SELECT x.patient_id, x.onset_date AS d, b.baseline_date AS base, x.infection_type AS t "
               "FROM infections x JOIN patients b USING (patient_id))")
        hz, si = p["herpes_zoster_days"], p["serious_infection_days"]
        # A type the vocabulary did not know (NULL): the shorter look-back surely, the longer maybe.
        short = f"(CASE WHEN t IS NULL THEN {min(hz, si)} WHEN t = 'herpes_zoster' THEN {hz} ELSE {si} END)"
        long = f"(CASE WHEN t IS NULL THEN {max(hz, si)} WHEN t = 'herpes_zoster' THEN {hz} ELSE {si} END)"
        expr = (f"CASE WHEN d IS NULL OR base IS NULL THEN NULL WHEN d >= base - to_days({short}) AND d <= base "
                f"THEN TRUE WHEN d >= base - to_days({long}) AND d <= base THEN NULL ELSE FALSE END")
        return _from_any(k), [_kleene_any(k, expr, src)]
    if c.rule == "drug_exposure":
        pick = (f"(({_is_drug(p['drugs'])} OR {_in('x.drug_class', p['classes'])}) "
                f"AND NOT {_is_drug(p['excepted'])})")
        src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, {pick} AS pick "
               f"FROM medications x JOIN patients b USING (patient_id) WHERE {pick} IS DISTINCT FROM FALSE)")
        return _from_any(k), [_kleene_any(k, "pick AND " + _overlap("s", "e", _before("base", p["months"]), "base"),
                                          src)]
    if c.rule == "regimen_change":
        member = _in("x.drug_class", p["classes"])  # NULL for a class the vocabulary did not know
        src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, "
               f"{_before('b.baseline_date', p['months'])} AS begin, {member} AS member FROM medications x "
               f"JOIN patients b USING (patient_id) WHERE {member} IS DISTINCT FROM FALSE)")
        expr = ("(CASE WHEN base IS NULL THEN NULL ELSE "
                "(CASE WHEN s IS NULL THEN (CASE WHEN e < begin THEN FALSE END) ELSE s >= begin AND s <= base END) "
                "OR coalesce(e >= begin AND e < base, FALSE) END) AND member")
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
        f"{begin} AS begin, x.dose * (CASE WHEN x.drug_class IS NULL THEN NULL "
        f"WHEN x.drug IS NULL THEN {min(PREDNISONE_EQUIVALENT.values())!r} "
        f"ELSE (CASE x.drug {factors} ELSE NULL END) END) AS mg, "
        f"x.dose * (CASE WHEN x.drug IS NULL THEN {max(PREDNISONE_EQUIVALENT.values())!r} "
        f"ELSE (CASE x.drug {factors} ELSE NULL END) END) AS mg_most FROM medications x "
        # A row of unknown class (its drug unknown too) may be a glucocorticoid: possibly taken only.
        f"JOIN patients b USING (patient_id) WHERE x.drug_class = 'glucocorticoid' OR x.drug_class IS NULL)",
        # Surely taken: known dose, clipped to a known window; a missing start surely ran on its stop day.
        # Possibly taken: a missing start long ago, a missing baseline anywhere, a missing dose huge.
        f"{k}_seg AS (SELECT patient_id, 'sure' AS bound, CAST(CASE WHEN coalesce(s, e) > begin THEN coalesce(s, e) "
        f"ELSE begin END AS DATE) AS lo, CAST(CASE WHEN e IS NULL OR e > base THEN base ELSE e END AS DATE) AS hi, "
        f"mg FROM {k}_rows WHERE mg IS NOT NULL AND base IS NOT NULL AND coalesce(s, e) IS NOT NULL "
        f"UNION ALL SELECT patient_id, 'maybe', "
        f"CAST(greatest(coalesce(s, {_EARLY}), coalesce(begin, {_EARLY})) AS DATE), "
        f"CAST(least(coalesce(e, base, {_LATE}), coalesce(base, {_LATE})) AS DATE), "
        f"coalesce(mg_most, {_ANY_DOSE_MG!r}) "
        f"FROM {k}_rows)",
        f"{k}_sure AS (SELECT patient_id, bound, lo, hi, CAST(round(mg * 1000000) AS BIGINT) AS units FROM {k}_seg "
        f"WHERE hi >= lo)",
        f"{k}_ev AS (SELECT patient_id, bound, lo AS day, units AS delta FROM {k}_sure UNION ALL "
        f"SELECT patient_id, bound, hi + 1 AS day, -units AS delta FROM {k}_sure)",
        f"{k}_run AS (SELECT patient_id, bound, sum(delta) OVER (PARTITION BY patient_id, bound ORDER BY day, delta "
        f"ROWS UNBOUNDED PRECEDING) AS total FROM {k}_ev)",
        f"{k}_peak AS (SELECT patient_id, max(total) FILTER (WHERE bound = 'sure') / 1000000.0 AS sure, "
        f"max(total) FILTER (WHERE bound = 'maybe') / 1000000.0 AS maybe FROM {k}_run GROUP BY patient_id)",
    ]
    limit, (light, heavy) = p["max_mg_per_kg"], _WEIGHT_RANGE
    weight = _recent("weight_kg", p["weight_months"])
    expr = (f"(CASE WHEN coalesce({k}_peak.sure, 0) / coalesce({weight}, {heavy!r}) > {limit} THEN TRUE "
            f"WHEN coalesce({k}_peak.maybe, 0) / coalesce({weight}, {light!r}) > {limit} THEN NULL ELSE FALSE END)")
    return expr, ctes


def _nephritis(p: dict, k: str) -> tuple[str, list[str]]:
    total = p["total_months"] * DAYS_PER_MONTH
    cyc_need = p["cyclophosphamide_months"] * DAYS_PER_MONTH
    span = "greatest(0, hi - CASE WHEN prev_end > lo THEN prev_end ELSE lo END)"
    ctes = [
        f"{k}_rows AS (SELECT x.patient_id, x.drug, x.start_date AS raw_start, x.stop_date AS raw_stop, "
        f"b.nephritis_onset_date AS onset, b.baseline_date AS base FROM medications x JOIN patients b "
        f"USING (patient_id) WHERE {_is_drug(['mycophenolate', 'azathioprine', 'cyclophosphamide'])} "
        f"IS DISTINCT FROM FALSE)",
        # A drug name the vocabulary did not know (NULL) may be any of the three: possibly, it is each.
        f"{k}_first AS (SELECT patient_id, min(raw_start) FILTER (WHERE drug = 'cyclophosphamide') AS first_sure, "
        f"min(coalesce(raw_start, {_EARLY})) FILTER (WHERE coalesce(drug, 'cyclophosphamide') = 'cyclophosphamide') "
        f"AS first_maybe "
        f"FROM {k}_rows GROUP BY patient_id)",
        # Surely done: known dates only. Possibly done: each missing date at its most favourable.
        f"{k}_bounds AS (SELECT r.patient_id, r.drug, 'sure' AS bound, "
        f"CASE WHEN raw_start IS NULL OR onset IS NULL THEN NULL ELSE greatest(raw_start, onset) END AS lo, "
        f"CASE WHEN base IS NULL THEN NULL ELSE least(coalesce(raw_stop, base), base) END AS hi, "
        f"coalesce(raw_start >= f.first_sure, FALSE) AS after_cyc FROM {k}_rows r JOIN {k}_first f USING (patient_id) "
        f"WHERE r.drug IS NOT NULL "
        f"UNION ALL SELECT r.patient_id, r.drug, 'maybe', greatest(coalesce(raw_start, {_EARLY}), "
        f"coalesce(onset, {_EARLY})), least(coalesce(raw_stop, base, {_LATE}), coalesce(base, {_LATE})), "
        f"f.first_maybe IS NOT NULL AND (raw_start IS NULL OR raw_start >= f.first_maybe) "
        f"FROM {k}_rows r JOIN {k}_first f USING (patient_id))",
        f"{k}_sets AS (" + " UNION ALL ".join(
            f"SELECT patient_id, bound, '{grp}' AS grp, CAST(lo AS DATE) AS lo, CAST(hi AS DATE) AS hi "
            f"FROM {k}_bounds WHERE coalesce(drug, '{drugs[0]}') IN {_lit(drugs)} "
            f"AND lo IS NOT NULL AND hi >= lo{extra}"
            for grp, drugs, extra in (("mmf", ["mycophenolate"], ""), ("cyc", ["cyclophosphamide"], ""),
                                      ("maint", ["mycophenolate", "azathioprine"], " AND after_cyc"))) + ")",
        f"{k}_prev AS (SELECT *, max(hi) OVER (PARTITION BY patient_id, bound, grp ORDER BY lo ROWS BETWEEN "
        f"UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM {k}_sets)",
        f"{k}_days AS (SELECT patient_id, " + ", ".join(
            f"sum(CASE WHEN grp = '{grp}' AND bound = '{bound}' THEN {span} ELSE 0 END) AS {grp}_{bound}"
            for grp in ("mmf", "cyc", "maint") for bound in ("sure", "maybe")) + f" FROM {k}_prev GROUP BY patient_id)",
    ]

    def done(bound: str) -> str:
        mmf, cyc, maint = (f"coalesce({k}_days.{grp}_{bound}, 0)" for grp in ("mmf", "cyc", "maint"))
        return f"({mmf} >= {total} OR ({cyc} >= {cyc_need} AND {cyc} + {maint} >= {total}))"

    completed = f"(CASE WHEN {done('sure')} THEN TRUE WHEN {done('maybe')} THEN NULL ELSE FALSE END)"
    applies = f"({_RENAL} IN {_lit(p['grades'])})"
    return f"((NOT {applies}) OR {completed})", ctes


def states_sql(protocol: Protocol) -> str:
    """A query returning patient_id and one state column per counted criterion (1, 0, -1)."""
    ctes, cols, joins = [], [], []
    for i, c in enumerate(protocol.counted):
        expr, more = _rule(c, i)
        ctes += more
        for cte in more:
            name = cte.split(" AS ", 1)[0]
            if name.endswith(("_peak", "_days")) or name == f"c{i}":
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
