"""What a rule's SQL form writes with: the :class:`Query` it adds CTEs to, and shared SQL snippets.

A SQL form is ``form(q, **params) -> str``: an expression for "met" over the patients
row ``p`` (three-valued: NULL is unknown, as SQL's Kleene logic matches pandas'
nullable booleans). Per-patient answers over event tables go into CTEs through
``q.cte`` or ``q.any_event``; dates are stepped back through ``q.months_before`` and
``q.days_before``, the dialect's hooks.

>>> from screening.rules.baselines.dialects import DUCKDB
>>> q = Query(DUCKDB, "c0")
>>> q.within("p.ana_date", 6)
'(CASE WHEN p.ana_date IS NULL OR p.baseline_date IS NULL THEN NULL ELSE p.ana_date >= (p.baseline_date - INTERVAL 6 MONTH) AND p.ana_date <= p.baseline_date END)'
"""  # noqa: E501

from __future__ import annotations

from screening.io.schema import LAB_DATES
from screening.io.vocabulary import classes_of
from screening.rules.baselines.dialects import Dialect

__all__ = ["EARLY", "LATE", "Query", "isin", "is_drug", "lit", "overlap"]

#: stand-ins for "as early / as late as it could be" when a date is missing
EARLY, LATE = "DATE '1900-01-01'", "DATE '2999-12-31'"
#: comparison operators as SQL writes them (``==`` is DuckDB's spelling only)
SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


class Query:
    """One criterion's SQL under construction: its CTEs, the ones joined to the patients row, and the dialect."""

    def __init__(self, dialect: Dialect, key: str, columns: set[str] | None = None) -> None:
        self.dialect, self.key = dialect, key
        self.ctes: list[str] = []
        self.joins: list[str] = []
        #: the patients columns the database holds (None: every column a rule reads)
        self.columns = columns
        #: the expression for "met", once the rule's SQL form has written it
        self.met = ""

    def has(self, column: str) -> bool:
        """Whether the patients table holds ``column`` (EHR-only columns may be absent)."""
        return self.columns is None or column in self.columns

    def cte(self, suffix: str, body: str, join: bool = False) -> str:
        """Add ``<key>_<suffix> AS (body)``; ``join``: left-join it to the patients row. Returns its name."""
        name = f"{self.key}_{suffix}" if suffix else self.key
        self.ctes.append(f"{name} AS ({body})")
        if join:
            self.joins.append(name)
        return name

    def any_event(self, expr: str, source: str) -> str:
        """Three-valued "any" of ``expr`` over a patient's rows of ``source``: TRUE, NULL (unknown) or FALSE."""
        name = self.cte("", f"SELECT patient_id, bool_or({expr}) AS any_true, bool_or(({expr}) IS NULL) AS "
                            f"any_unknown FROM {source} AS rows_of GROUP BY patient_id", join=True)
        return f"(CASE WHEN {name}.any_true THEN TRUE WHEN {name}.any_unknown THEN NULL ELSE FALSE END)"

    def months_before(self, date: str, months: float) -> str:
        return self.dialect.months_before(date, months)

    def days_before(self, date: str, days: str) -> str:
        return self.dialect.days_before(date, days)

    def within(self, col: str, months: float) -> str:
        """``col`` falls in [baseline - months, baseline]; NULL if either date is."""
        return (f"(CASE WHEN {col} IS NULL OR p.baseline_date IS NULL THEN NULL "
                f"ELSE {col} >= {self.months_before('p.baseline_date', months)} AND {col} <= p.baseline_date END)")

    def recent(self, column: str, months: float | None) -> str:
        """``p.column``, NULL when its date is older than ``months`` (an absent or NULL date: undated, used)."""
        dated = LAB_DATES.get(column)
        if months is None or dated is None or not self.has(dated):
            return f"p.{column}"
        return (f"(CASE WHEN p.{dated} < {self.months_before('p.baseline_date', months)} THEN NULL "
                f"ELSE p.{column} END)")


def lit(value) -> str:
    """A Python value as an SQL literal (a list as a parenthesised list)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "(" + ", ".join(lit(v) for v in value) + ")" if value else "(NULL)"
    return "'" + str(value).replace("'", "''") + "'"


def isin(column: str, values: list) -> str:
    """``column IN (...)``; an empty list matches nothing (``IN ()`` is not SQL, ``IN (NULL)`` is never true)."""
    return f"({column} IN {lit(values)})" if values else "FALSE"


def is_drug(drugs: list[str]) -> str:
    """``x.drug`` is one of ``drugs``; NULL for a name the vocabulary did not know if its class (or an unknown
    class) may hold one."""
    classes = classes_of(drugs)
    unknown = (f"(CASE WHEN x.drug_class IS NULL OR x.drug_class IN {lit(classes)} THEN NULL ELSE FALSE END)"
               if classes else "FALSE")
    return f"(CASE WHEN x.drug IS NULL THEN {unknown} ELSE {isin('x.drug', drugs)} END)"


def overlap(start: str, stop: str, begin: str, end: str) -> str:
    """[start, stop] meets [begin, end]; a missing start lies on or before stop, a missing stop is ongoing."""
    return (f"(CASE WHEN {begin} IS NULL OR {end} IS NULL THEN NULL "
            f"WHEN {start} IS NULL THEN "
            f"(CASE WHEN {stop} IS NULL OR {stop} > {end} THEN NULL ELSE {stop} >= {begin} END) "
            f"ELSE {start} <= {end} AND ({stop} IS NULL OR {stop} >= {begin}) END)")
