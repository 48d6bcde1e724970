"""The rule registry: one :class:`Rule` per rule name, holding every implementation and every fact about it.

A rule answers, per patient, whether a condition holds: ``True``, ``False`` or
unknown. It is written three times, side by side in its family module under
:mod:`screening.rules.library`, and each form registers on the same entry:

* ``pandas``: the vectorised mask the funnel uses (``Extract`` -> ``BooleanArray``);
* ``naive``: the row-wise oracle (one patient's row and events -> ``True``/``False``/``None``),
  run by :mod:`screening.rules.baselines.naive`;
* ``sql``: an SQL expression for "met" (plus any per-patient CTEs), written through the
  dialect hooks of :mod:`screening.rules.baselines.dialects` and run by
  :mod:`screening.rules.baselines.sql` on DuckDB and PostgreSQL.

Facts the rest of the package needs are fields of the rule, not lists kept elsewhere:
what it ``reads``, which parameters name patient columns (``Param(column=True)``),
whether it is a ``lookback`` window (lint warns at 0), the ``one_column`` whose
missingness is exactly its unknown (disclosure), columns outside the data
dictionary it reads (``extra_columns``), its own ``lint`` findings and ``check`` of
parameter relations.

Example
-------
>>> from screening.rules.library import RULES
>>> r = RULES["age"]
>>> r.defaults, r.engines()
({'min_age': 18, 'max_age': 65}, ('pandas', 'naive', 'sql'))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ENGINES", "Param", "Rule", "RULES", "rule"]

#: the implementations every rule carries
ENGINES = ("pandas", "naive", "sql")


@dataclass(frozen=True)
class Param:
    """One parameter of a rule, declared beside it: default, meaning, unit and allowed values.

    ``kind`` names the type when the default (``None``) cannot; ``choices`` lists the
    values a parameter (or each item of a list parameter) may take. ``column`` marks a
    parameter whose value names the patients column(s) the rule reads; without
    ``choices`` that column may lie outside the data dictionary (an extra column).
    """

    default: object
    meaning: str
    unit: str = ""
    choices: tuple = ()
    kind: str = ""
    column: bool = False

    @property
    def type(self) -> str:
        """The parameter's type in words, for ``python -m screening rules``."""
        if self.kind:
            return self.kind
        d = self.default
        if isinstance(d, bool):
            return "true/false"
        if isinstance(d, int):
            return "whole number"
        if isinstance(d, float):
            return "number"
        if isinstance(d, list):
            return "list"
        return "text"


#: a lint finding of one rule: (severity, parameter, message)
Finding = tuple[str, str, str]


@dataclass
class Rule:
    """A named, parameterised condition on an extract, with its pandas, naive and SQL forms."""

    name: str
    pandas: Callable[..., pd.arrays.BooleanArray]
    params: dict[str, Param]
    doc: str
    #: patient columns and event tables the rule reads (for column pruning at scale); ``bilag_{domains}``
    #: stands for one column per value of the list parameter ``domains``, ``egfr if egfr_below`` for a column
    #: read only when that parameter is set (not none, not false)
    reads: tuple[str, ...]
    #: row-wise form: (patient row, **params) -> True / False / None
    naive: Callable | None = None
    #: SQL form: (query, **params) -> SQL text for "met" (the query collects CTEs and dialect hooks)
    sql: Callable | None = None
    #: a look-back window before baseline: a zero-length one is worth a lint warning
    lookback: bool = False
    #: the patients column whose missingness is exactly this rule's unknown (``{param}``: that parameter's value)
    one_column: str | None = None
    #: patients columns outside the data dictionary (added by EHR readers) -> their kind (int, date, bool)
    extra_columns: dict[str, str] = field(default_factory=dict)
    #: the parameter saying how far back (months) it reads lab tests, when not a recency limit
    lab_months: str | None = None
    #: (params, dictionary fields by name) -> findings beyond the generic ones of ``screening.rules.lint``
    lint: Callable[[dict, dict], Iterable[Finding]] | None = None
    #: params -> (parameter, what it must be) for values that cannot work together (a load error)
    check: Callable[[dict], Iterable[tuple[str, str]]] | None = None

    @property
    def func(self) -> Callable[..., pd.arrays.BooleanArray]:
        """The pandas form (its name before the other engines joined it)."""
        return self.pandas

    @property
    def defaults(self) -> dict:
        """Parameter name → default value."""
        return {name: p.default for name, p in self.params.items()}

    def __call__(self, extract, **params) -> pd.arrays.BooleanArray:
        result = self.pandas(extract, **{**self.defaults, **params})
        return pd.array(result, dtype="boolean")

    def engines(self) -> tuple[str, ...]:
        """The engines this rule has a form for, in :data:`ENGINES` order."""
        return tuple(e for e in ENGINES if getattr(self, e) is not None)

    def column_params(self, free: bool = False) -> list[str]:
        """Names of the parameters naming patients columns; ``free``: only those that may name extra columns."""
        return [k for k, p in self.params.items() if p.column and not (free and p.choices)]

    def named_columns(self, params: dict, free: bool = False) -> list[str]:
        """The patients columns named by ``params`` (see :meth:`column_params`), in parameter order."""
        out: list[str] = []
        for k in self.column_params(free):
            value = params.get(k)
            out += list(value) if isinstance(value, list) else [value] if value else []
        return out

    def one_column_of(self, params: dict) -> str | None:
        """The column whose missingness is exactly this criterion's unknown, if there is one.

        None for a column another field can fill in (:mod:`screening.rules.implied`): some blanks are settled.
        """
        from screening.rules.implied import IMPLIED

        column = params.get(self.one_column.strip("{}")) or None if self.one_column and \
            self.one_column.startswith("{") else self.one_column
        return None if column in IMPLIED else column

    # --- registering the other forms beside the pandas one -------------------------------------

    def naive_form(self, func: Callable) -> Callable:
        """Decorator: register ``func`` as this rule's row-wise form."""
        self.naive = func
        return func

    def sql_form(self, func: Callable) -> Callable:
        """Decorator: register ``func`` as this rule's SQL form."""
        self.sql = func
        return func

    def lint_form(self, func: Callable) -> Callable:
        """Decorator: register ``func`` as this rule's own lint checks."""
        self.lint = func
        return func

    def check_form(self, func: Callable) -> Callable:
        """Decorator: register ``func`` as this rule's check of parameter relations."""
        self.check = func
        return func


RULES: dict[str, Rule] = {}


def rule(name: str, reads: tuple[str, ...] = (), *, lookback: bool = False, one_column: str | None = None,
         extra_columns: dict[str, str] | None = None, lab_months: str | None = None,
         **params) -> Callable[[Callable], Rule]:
    """Register the decorated pandas function as rule ``name``; each parameter is a :class:`Param` or a default.

    Returns the :class:`Rule`, so its other forms register on it (``@age.naive_form``, ``@age.sql_form``).
    """

    def register(func: Callable) -> Rule:
        if name in RULES:
            raise ValueError(f"rule {name!r} is registered twice")
        declared = {k: v if isinstance(v, Param) else Param(v, "") for k, v in params.items()}
        RULES[name] = Rule(name, func, declared, (func.__doc__ or "").strip().splitlines()[0], reads,
                           lookback=lookback, one_column=one_column, extra_columns=dict(extra_columns or {}),
                           lab_months=lab_months)
        return RULES[name]

    return register
