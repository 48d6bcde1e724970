"""Patient columns and lab values: a comparison of one column, any of several flags, labs against limits."""

from __future__ import annotations

import operator

import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import LAB_DATES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import SQL_OPS, Query, lit
from screening.rules.implied import IMPLIED, implied_in, implied_in_naive, implied_in_sql, values_of
from screening.rules.masks import any_of, boolean, isin, recency, recent
from screening.rules.registry import Param, rule

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}
COLUMN_OPS = ("<", "<=", ">", ">=", "==", "!=", "in", "is")


@rule("column", one_column="{column}",
      column=Param(None, "the patients column compared", kind="column name", column=True),
      op=Param("==", "comparison", choices=COLUMN_OPS),
      value=Param(None, "what the column is compared with (a list for in, true/false for is)",
                  kind="number, text, true/false or list"))
def column(ex: Extract, column: str, op: str, value):
    """A simple comparison of one patient column with a value: `column op value` (op also `in`)."""
    col = ex.patients[column]
    if column in IMPLIED and op in ("in", "is", "==", "!="):  # a blank read from its partner field where it can be
        return implied_in(ex.patients, column, _asked(column, op, value))
    if op == "in":
        return isin(col, value)
    if op == "is":
        return boolean(col) if value is True else ~boolean(col)
    try:
        met = boolean(_OPS[op](col, value))
    except (TypeError, ValueError) as exc:  # pandas' own message names neither the column nor the comparison
        held = (f"the values {', '.join(map(repr, list(col.cat.categories[:4])))}"
                if isinstance(col.dtype, pd.CategoricalDtype) else f"{col.dtype} values")
        raise TypeError(f"column {column} {op} {value!r}: {column} holds {held}, which {op} cannot compare with "
                        f"{value!r}; use == or in for labels, or a number for a numeric column") from exc
    # A text (categorical) column compares a blank as unequal: it is unknown, as in the other engines.
    met[col.isna().to_numpy()] = pd.NA
    return met


def _asked(column: str, op: str, value) -> list:
    """The values an ``in``, ``is``, ``==`` or ``!=`` comparison is met by."""
    if op == "in":
        return list(value)
    if op == "!=":
        return [v for v in values_of(column) if v != value]
    return [bool(value)] if op == "is" else [value]


@column.naive_form
def column_naive(patient: R.Patient, column: str, op: str, value):
    if column in IMPLIED and op in ("in", "is", "==", "!="):
        return implied_in_naive(patient, column, _asked(column, op, value))
    v = patient[column]
    if op == "in":
        return None if R.na(v) else v in value
    if op == "is":
        return None if R.na(v) else bool(v) == value
    return R.cmp(v, op, value)


@column.sql_form
def column_sql(q: Query, column: str, op: str, value) -> str:
    col = f"p.{column}"
    if column in IMPLIED and op in ("in", "is", "==", "!="):
        return implied_in_sql(column, _asked(column, op, value), q.has)
    if op == "in":
        return f"({col} IN {lit(value)})"
    if op == "is":
        return f"({col})" if value else f"(NOT {col})"
    return f"({col} {SQL_OPS[op]} {lit(value)})"


@column.check_form
def column_check(params: dict):
    if not params.get("column"):
        yield "column", "the patient column the rule compares"
    if params.get("op") not in COLUMN_OPS:
        yield "op", "one of " + ", ".join(COLUMN_OPS)


@column.lint_form
def column_lint(params: dict, dictionary: dict):
    f = dictionary.get(params["column"])
    if f is not None and f.allowed and params["op"] in ("in", "==", "!="):
        values = params["value"] if isinstance(params["value"], list) else [params["value"]]
        never = [v for v in values if v not in f.allowed]
        if never:
            yield "error", "value", (f"{', '.join(map(repr, never))} never occurs in '{params['column']}' "
                                     f"(one of {', '.join(f.allowed)})")
    if params["op"] == "is" and not isinstance(params["value"], bool):
        yield "error", "value", "op 'is' compares with true or false"
    if params["op"] == "in" and not isinstance(params["value"], list):
        yield "error", "value", "op 'in' needs a list of values"


@rule("lab_value",
      column=Param("egfr", "the lab value compared", choices=tuple(LAB_DATES), column=True),
      op=Param("<", "comparison", choices=("<", "<=", ">", ">=")),
      value=Param(None, "the threshold", kind="number"),
      within_months=recency("the value"))
def lab_value(ex: Extract, column: str, op: str, value: float, within_months: float | None):
    """A lab value (or the weight) compared with a threshold, `column op value`, if measured recently enough."""
    return boolean(_OPS[op](recent(ex, column, within_months), value))


@lab_value.naive_form
def lab_value_naive(patient: R.Patient, column: str, op: str, value: float, within_months: float | None):
    return R.cmp(R.recent(patient, column, within_months), op, value)


@lab_value.sql_form
def lab_value_sql(q: Query, column: str, op: str, value: float, within_months: float | None) -> str:
    return f"({q.recent(column, within_months)} {SQL_OPS[op]} {lit(value)})"


@lab_value.check_form
def lab_value_check(params: dict):
    if params["value"] is None:
        yield "value", "the threshold the lab value is compared with"


@rule("any_flag", columns=Param([], "boolean patients columns, any of which true meets the rule",
                                 kind="list of column names", column=True))
def any_flag(ex: Extract, columns: list[str]):
    """Any of the boolean patient `columns` is true (unknown if none is true and one is missing)."""
    return any_of([boolean(ex.patients[c]) for c in columns], len(ex.patients))


@any_flag.naive_form
def any_flag_naive(patient: R.Patient, columns: list[str]):
    return R.any_(R.flag(patient[c]) for c in columns)


@any_flag.sql_form
def any_flag_sql(q: Query, columns: list[str]) -> str:
    return "(FALSE OR " + " OR ".join(f"p.{c}" for c in columns) + ")"


@any_flag.lint_form
def any_flag_lint(params: dict, dictionary: dict):
    for c in params["columns"]:
        if c in dictionary and dictionary[c].kind != "bool":
            yield "error", "columns", f"'{c}' is not a true/false column"


@rule("liver_enzymes", reads=("ast", "ast_uln", "alt", "alt_uln"),
      uln_multiple=Param(4.0, "multiple of the upper limit of normal that is too high", "× ULN"),
      within_months=recency("an AST or ALT result"))
def liver_enzymes(ex: Extract, uln_multiple: float, within_months: float | None):
    """AST or ALT above uln_multiple times its laboratory upper limit of normal."""
    p = ex.patients
    ast, alt = recent(ex, "ast", within_months), recent(ex, "alt", within_months)
    return boolean(ast > uln_multiple * p["ast_uln"]) | boolean(alt > uln_multiple * p["alt_uln"])


@liver_enzymes.naive_form
def liver_enzymes_naive(patient: R.Patient, uln_multiple: float, within_months: float | None):
    ast, alt = R.recent(patient, "ast", within_months), R.recent(patient, "alt", within_months)
    return R.or_(R.cmp(ast, ">", None if R.na(patient["ast_uln"]) else uln_multiple * patient["ast_uln"]),
                 R.cmp(alt, ">", None if R.na(patient["alt_uln"]) else uln_multiple * patient["alt_uln"]))


@liver_enzymes.sql_form
def liver_enzymes_sql(q: Query, uln_multiple: float, within_months: float | None) -> str:
    ast, alt = q.recent("ast", within_months), q.recent("alt", within_months)
    return f"({ast} > {uln_multiple} * p.ast_uln OR {alt} > {uln_multiple} * p.alt_uln)"


#: Lab values reported with their laboratory's upper limit of normal, held in ``<column>_uln``.
WITH_ULN = ("ast", "alt", "creatinine")


@rule("lab_vs_uln", reads=("{columns}_uln",),
      columns=Param(["ast", "alt"], "lab values, any of which compared with its own ULN meets the rule",
                    choices=WITH_ULN, column=True),
      op=Param(">", "comparison", choices=("<", "<=", ">", ">=")),
      multiple=Param(2.0, "multiple of the laboratory's upper limit of normal", "× ULN"),
      within_months=recency("the value"))
def lab_vs_uln(ex: Extract, columns: list[str], op: str, multiple: float, within_months: float | None):
    """Any of the lab `columns` compared with multiple times its upper limit of normal: `value op multiple × ULN`."""
    p = ex.patients
    return any_of([boolean(_OPS[op](recent(ex, c, within_months), multiple * p[f"{c}_uln"])) for c in columns],
                  len(p))


@lab_vs_uln.naive_form
def lab_vs_uln_naive(patient: R.Patient, columns: list[str], op: str, multiple: float,
                     within_months: float | None):
    return R.any_(R.cmp(R.recent(patient, c, within_months), op,
                        None if R.na(patient[f"{c}_uln"]) else multiple * patient[f"{c}_uln"]) for c in columns)


@lab_vs_uln.sql_form
def lab_vs_uln_sql(q: Query, columns: list[str], op: str, multiple: float, within_months: float | None) -> str:
    return "(FALSE" + "".join(f" OR {q.recent(c, within_months)} {SQL_OPS[op]} {lit(multiple)} * p.{c}_uln"
                              for c in columns) + ")"
