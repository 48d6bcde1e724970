"""The SQL that picks an SLE cohort's rows out of an OMOP CDM, written once for every database.

The queries are SQLAlchemy Core expressions, compiled for whichever database is
connected: PostgreSQL, SQL Server, Snowflake, BigQuery or Databricks through their
SQLAlchemy dialects, SQLite (whose missing date type one hook, :class:`AsDate`,
covers), and DuckDB (folders of Parquet/CSV files and ``.duckdb`` files) through
the PostgreSQL rendering, which DuckDB reads. SQLAlchemy Core
rather than Ibis: it is already a pinned dependency, its dialects quote and
type identifiers for each database, temporary tables and ``INSERT ... SELECT``
are first-class, and the expressions below need nothing Ibis adds (its
dataframe API, its own backends) while Ibis would pull in a large dependency
tree of its own.

The work follows OHDSI Circe: the concept sets of ``concepts.yaml`` become one
table ``codesets(set_name, domain, root_id, concept_id)`` built in the database
(listed ids, codes looked up in ``concept``, and their descendants through
``concept_ancestor``), and every later query joins it. The persons query returns
one short row per person (demographics, baseline, SLE diagnoses, death,
observation period); the event queries return only the SLE cohort's rows that
fall in a concept set and before baseline. Memory and time then follow the
cohort, not the CDM.

Example
-------
>>> import sqlalchemy as sa
>>> from sqlalchemy.dialects import postgresql
>>> cat = Catalog({"person": ["person_id", "year_of_birth"]})
>>> print(sa.select(cat.col("person", "person_id")).compile(dialect=postgresql.dialect()))
SELECT person.person_id 
FROM person
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

__all__ = ["Catalog", "ITEMS", "ROOTS", "CODESETS", "COHORT", "roots_insert", "codesets_insert",
           "persons_query", "events_query", "codeset_size", "measurements_query", "drugs_query", "CONDITION_TABLES",
           "visit_dates_query", "periods_query"]

_META = sa.MetaData()
#: The concept-set file as rows (set_name, domain, vocabulary_id, concept_code, concept_id, descendants).
ITEMS = sa.Table("screening_items", _META, sa.Column("set_name", sa.String(64)), sa.Column("domain", sa.String(16)),
                 sa.Column("vocabulary_id", sa.String(32)), sa.Column("concept_code", sa.String(64)),
                 sa.Column("concept_id", sa.BigInteger), sa.Column("descendants", sa.Integer),
                 prefixes=["TEMPORARY"])
ROOTS = sa.Table("screening_roots", _META, sa.Column("set_name", sa.String(64)), sa.Column("domain", sa.String(16)),
                 sa.Column("root_id", sa.BigInteger), sa.Column("descendants", sa.Integer), prefixes=["TEMPORARY"])
CODESETS = sa.Table("screening_codesets", _META, sa.Column("set_name", sa.String(64)),
                    sa.Column("domain", sa.String(16)), sa.Column("root_id", sa.BigInteger),
                    sa.Column("concept_id", sa.BigInteger), prefixes=["TEMPORARY"])
#: The SLE cohort: each person's baseline and how far back labs and drug rows are read.
COHORT = sa.Table("screening_cohort", _META, sa.Column("person_id", sa.BigInteger), sa.Column("baseline", sa.Date),
                  sa.Column("lab_since", sa.Date), sa.Column("drug_since", sa.Date), prefixes=["TEMPORARY"])

#: Tables whose records can fall in a condition or procedure set: (table, concept column, date column).
CONDITION_TABLES = (("condition_occurrence", "condition_concept_id", "condition_start_date"),
                    ("procedure_occurrence", "procedure_concept_id", "procedure_date"),
                    ("observation", "observation_concept_id", "observation_date"))


class AsDate(sa.sql.functions.FunctionElement):
    """A value read as a date, written for each database: ``CAST(x AS DATE)``, or ``date(x)`` in SQLite.

    SQLite has no date type: a cast there makes 2024 of '2024-06-15'. Its ``date()`` gives the
    ISO text, which compares in date order.
    """

    type = sa.Date()
    name = "as_date"
    inherit_cache = True


@compiles(AsDate)
def _cast_date(element, compiler, **kw):
    (value,) = element.clauses.clauses
    return compiler.process(sa.cast(value, sa.Date), **kw)


@compiles(AsDate, "sqlite")
def _sqlite_date(element, compiler, **kw):
    (value,) = element.clauses.clauses
    return f"date({compiler.process(value, **kw)})"


class Catalog:
    """The CDM's tables as found: logical (lower-case) names to the database's own spelling.

    ``found`` maps a table to its columns as the database spells them, and
    optionally ``schemas`` a table to its schema (CDM and vocabulary schemas differ).
    """

    def __init__(self, found: dict[str, list[str]], schemas: dict[str, str | None] | None = None,
                 names: dict[str, str] | None = None) -> None:
        self._tables: dict[str, sa.TableClause] = {}
        self._columns: dict[str, dict[str, str]] = {}
        for name, columns in found.items():
            actual = (names or {}).get(name, name)
            self._tables[name] = sa.table(actual, *[sa.column(c) for c in columns],
                                          schema=(schemas or {}).get(name))
            self._columns[name] = {c.lower(): c for c in columns}

    def has(self, table: str, column: str | None = None) -> bool:
        if table not in self._tables:
            return False
        return column is None or column in self._columns[table]

    def table(self, name: str) -> sa.TableClause:
        return self._tables[name]

    def col(self, table: str, column: str, alias: sa.TableClause | None = None):
        """A column by its lower-case name, or a typed NULL when the table lacks it (a trimmed CDM)."""
        if not self.has(table, column):
            return sa.null().label(column)
        source = self._tables[table] if alias is None else alias
        found = source.c[self._columns[table][column]]
        # A date stored as text or a timestamp (CSV loads, some ETLs) still compares as a date.
        return AsDate(found) if column.endswith("_date") else found


def _day(value: str):
    return AsDate(sa.literal(date.fromisoformat(value).isoformat()))


def roots_insert(cat: Catalog):
    """Each set's root concepts: ids listed in the file, and ids the CDM's concept table gives for codes."""
    parts = [sa.select(ITEMS.c.set_name, ITEMS.c.domain, ITEMS.c.concept_id, ITEMS.c.descendants)
             .where(ITEMS.c.concept_id.is_not(None))]
    if cat.has("concept", "concept_code") and cat.has("concept", "vocabulary_id"):
        c = cat.table("concept")
        parts.append(sa.select(ITEMS.c.set_name, ITEMS.c.domain, cat.col("concept", "concept_id"), ITEMS.c.descendants)
                     .select_from(ITEMS.join(c, sa.and_(
                         cat.col("concept", "vocabulary_id") == ITEMS.c.vocabulary_id,
                         sa.cast(cat.col("concept", "concept_code"), sa.String) == ITEMS.c.concept_code))))
    return ROOTS.insert().from_select(["set_name", "domain", "root_id", "descendants"], sa.union(*parts))


def codesets_insert(cat: Catalog, edges: str | None):
    """Every set's concepts: its roots and, where the set asks, their descendants.

    ``edges`` names the table giving descendants: ``concept_ancestor``, or
    ``drug_strength`` (ingredient → drug, drug sets only) when a CDM lacks it.
    """
    roots = sa.select(ROOTS.c.set_name, ROOTS.c.domain, ROOTS.c.root_id, ROOTS.c.root_id.label("concept_id"))
    parts = [roots]
    if edges == "concept_ancestor":
        up, down = cat.col(edges, "ancestor_concept_id"), cat.col(edges, "descendant_concept_id")
        keep = ROOTS.c.descendants == 1
    elif edges == "drug_strength":
        up, down = cat.col(edges, "ingredient_concept_id"), cat.col(edges, "drug_concept_id")
        keep = sa.and_(ROOTS.c.descendants == 1, ROOTS.c.domain == "drug")
    if edges:
        parts.append(sa.select(ROOTS.c.set_name, ROOTS.c.domain, ROOTS.c.root_id, down)
                     .select_from(ROOTS.join(cat.table(edges), up == ROOTS.c.root_id)).where(keep))
    return CODESETS.insert().from_select(["set_name", "domain", "root_id", "concept_id"], sa.union(*parts))


def codeset_size(set_name: str):
    """How many concepts a set resolved to in this CDM (said when nobody matches it)."""
    return sa.select(sa.func.count(sa.distinct(CODESETS.c.concept_id))).where(CODESETS.c.set_name == set_name)


def _baselines(cat: Catalog, baseline: str | None, before: str):
    """person_id, baseline: a fixed date for everyone, or each person's last visit on or before ``before``."""
    if baseline is not None:
        return sa.select(cat.col("person", "person_id").label("person_id"), _day(baseline).label("baseline")) \
            .subquery("base")
    v = "visit_occurrence"
    if not cat.has(v):
        return sa.select(cat.col("person", "person_id").label("person_id"),
                         sa.cast(sa.null(), sa.Date).label("baseline")).subquery("base")
    start = cat.col(v, "visit_start_date")
    return (sa.select(cat.col(v, "person_id").label("person_id"), sa.func.max(start).label("baseline"))
            .where(start <= _day(before)).group_by(cat.col(v, "person_id")).subquery("base"))


def persons_query(cat: Catalog, baseline: str | None, before: str):
    """One row per person: demographics, baseline, SLE diagnosis days by baseline, death, observation period.

    An SLE diagnosis is a record of the ``sle`` set in any table :func:`events_query` reads conditions from
    (:data:`CONDITION_TABLES`), as each index date counts them: one definition of the cohort entry at
    baseline and at every visit.
    """
    p = "person"
    base = _baselines(cat, baseline, before)
    sle_cols = [sa.literal(0).label("sle_diagnoses"), sa.cast(sa.null(), sa.Date).label("first_sle")]
    joins = []
    days = [sa.select(cat.col(table, "person_id").label("person_id"), cat.col(table, day).label("day"))
            .select_from(cat.table(table).join(CODESETS, cat.col(table, concept) == CODESETS.c.concept_id))
            .where(CODESETS.c.set_name == "sle", CODESETS.c.domain == "condition")
            for table, concept, day in CONDITION_TABLES if cat.has(table, concept)]
    if days:
        records = sa.union_all(*days).subquery("sle_records")
        sle = (sa.select(records.c.person_id, sa.func.count(sa.distinct(records.c.day)).label("n"),
                         sa.func.min(records.c.day).label("first"))
               .select_from(records.join(base, base.c.person_id == records.c.person_id))
               .where(records.c.day <= base.c.baseline)
               .group_by(records.c.person_id).subquery("sle"))
        sle_cols = [sa.func.coalesce(sle.c.n, 0).label("sle_diagnoses"), sle.c.first.label("first_sle")]
        joins.append(sle)
    extra = []
    if cat.has("death"):
        death = (sa.select(cat.col("death", "person_id").label("person_id"),
                           sa.func.min(cat.col("death", "death_date")).label("death_date"))
                 .group_by(cat.col("death", "person_id")).subquery("died"))
        extra.append(death.c.death_date)
        joins.append(death)
    if cat.has("observation_period"):
        op = "observation_period"
        start, end = cat.col(op, "observation_period_start_date"), cat.col(op, "observation_period_end_date")
        obs = (sa.select(cat.col(op, "person_id").label("person_id"), sa.func.min(start).label("observation_start"))
               .select_from(cat.table(op).join(base, base.c.person_id == cat.col(op, "person_id")))
               .where(start <= base.c.baseline, end >= base.c.baseline)
               .group_by(cat.col(op, "person_id")).subquery("observed"))
        extra.append(obs.c.observation_start)
        joins.append(obs)
    cols = [cat.col(p, c).label(c) for c in ("person_id", "gender_concept_id", "race_concept_id",
                                             "ethnicity_concept_id",
                                    "year_of_birth", "month_of_birth", "day_of_birth", "birth_datetime",
                                    "care_site_id")]
    frm = cat.table(p).outerjoin(base, base.c.person_id == cat.col(p, "person_id"))
    for sub in joins:
        frm = frm.outerjoin(sub, sub.c.person_id == cat.col(p, "person_id"))
    return sa.select(*cols, base.c.baseline, *sle_cols, *extra).select_from(frm)


def events_query(cat: Catalog, domains: tuple[str, ...] = ("condition", "procedure")):
    """The cohort's records in a condition or procedure set, on or before baseline: person_id, set_name, date."""
    parts = []
    for table, concept, day in CONDITION_TABLES:
        if not cat.has(table, concept):
            continue
        t = cat.table(table)
        parts.append(sa.select(cat.col(table, "person_id").label("person_id"), CODESETS.c.set_name,
                               cat.col(table, day).label("date"))
                     .select_from(t.join(COHORT, COHORT.c.person_id == cat.col(table, "person_id"))
                                  .join(CODESETS, CODESETS.c.concept_id == cat.col(table, concept)))
                     .where(CODESETS.c.domain.in_(domains), cat.col(table, day) <= COHORT.c.baseline))
    return sa.union_all(*parts) if parts else None


def visit_dates_query(cat: Catalog):
    """The cohort's visit days up to baseline (index dates): person_id, date."""
    v = "visit_occurrence"
    if not cat.has(v):
        return None
    day = cat.col(v, "visit_start_date")
    return (sa.select(cat.col(v, "person_id").label("person_id"), day.label("date"))
            .select_from(cat.table(v).join(COHORT, COHORT.c.person_id == cat.col(v, "person_id")))
            .where(day <= COHORT.c.baseline).distinct())


def periods_query(cat: Catalog):
    """The cohort's observation periods: person_id, start, end (the cohort entry at each index date)."""
    op = "observation_period"
    if not cat.has(op):
        return None
    return (sa.select(cat.col(op, "person_id").label("person_id"),
                      cat.col(op, "observation_period_start_date").label("start"),
                      cat.col(op, "observation_period_end_date").label("end"))
            .select_from(cat.table(op).join(COHORT, COHORT.c.person_id == cat.col(op, "person_id"))))


def measurements_query(cat: Catalog):
    """The cohort's measurements in a measurement set, from ``lab_since`` (NULL: any time) to baseline."""
    m = "measurement"
    if not cat.has(m):
        return None
    day = cat.col(m, "measurement_date")
    cols = [cat.col(m, "person_id").label("person_id"), CODESETS.c.set_name.label("field"), day.label("date")]
    cols += [cat.col(m, c).label(c) for c in ("value_as_number", "unit_concept_id", "unit_source_value", "range_high",
                                     "value_as_concept_id", "value_source_value")]
    return (sa.select(*cols)
            .select_from(cat.table(m).join(COHORT, COHORT.c.person_id == cat.col(m, "person_id"))
                         .join(CODESETS, CODESETS.c.concept_id == cat.col(m, "measurement_concept_id")))
            .where(CODESETS.c.domain == "measurement", day <= COHORT.c.baseline,
                   sa.or_(COHORT.c.lab_since.is_(None), day >= COHORT.c.lab_since)))


def drugs_query(cat: Catalog):
    """The cohort's exposures to a listed ingredient, with the ingredient's strength, touching the look-back."""
    d = "drug_exposure"
    if not cat.has(d):
        return None
    start, end = cat.col(d, "drug_exposure_start_date"), cat.col(d, "drug_exposure_end_date")
    cols = [cat.col(d, "person_id").label("person_id"), CODESETS.c.set_name.label("drug"), start.label("start_date"),
            end.label("end_date"), *(cat.col(d, c).label(c) for c in ("quantity", "days_supply", "route_source_value"))]
    frm = (cat.table(d).join(COHORT, COHORT.c.person_id == cat.col(d, "person_id"))
           .join(CODESETS, CODESETS.c.concept_id == cat.col(d, "drug_concept_id")))
    if cat.has(d, "route_concept_id"):  # which rows came by a route that does not act systemically
        route = CODESETS.alias("route_sets")
        frm = frm.outerjoin(route, sa.and_(route.c.concept_id == cat.col(d, "route_concept_id"),
                                           route.c.domain == "route"))
        cols.append(route.c.set_name.label("route_set"))
    else:
        cols.append(sa.null().label("route_set"))
    ds = "drug_strength"
    if cat.has(ds, "amount_value"):
        strength = cat.table(ds)
        frm = frm.outerjoin(strength, sa.and_(cat.col(ds, "drug_concept_id") == cat.col(d, "drug_concept_id"),
                                              cat.col(ds, "ingredient_concept_id") == CODESETS.c.root_id))
        cols += [cat.col(ds, c).label(c) for c in ("amount_value", "amount_unit_concept_id")]
    else:
        cols += [sa.null().label("amount_value"), sa.null().label("amount_unit_concept_id")]
    # A row without an end date is read as ongoing, so it may still touch the look-back.
    return (sa.select(*cols).select_from(frm)
            .where(CODESETS.c.domain == "drug", start <= COHORT.c.baseline,
                   sa.or_(end.is_(None), end >= COHORT.c.drug_since)))
