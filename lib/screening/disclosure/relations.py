"""The relations between published tables: what each table's definition implies about its counts.

Each count a report publishes is registered as a cell (:class:`Published`), and
so is every relation the tables' definitions imply (:mod:`screening.engine.counts`
defines the tables): a step's entering = excluded + not assessable + remaining;
the last step's excluded = the last criterion's "excluded uniquely"; eligible
without a criterion = eligible + its gain; ... The attack
(:mod:`screening.disclosure.audit`) works on exactly these relations, so the
audit cannot drift from the definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screening.disclosure.audit import Cells
from screening.disclosure.rule import SmallCellRule
from screening.engine.counts import (
    STATUSES,
    Counts,
    attrition_table,
    criteria_table,
    headline_table,
    leave_one_out_table,
    overlap_table,
)
from screening.engine.groups import MISSING

__all__ = ["Published", "funnel_counts", "declare_funnel", "declare_criteria", "declare_overlap",
           "declare_leave_one_out", "overlap_published", "add_outcome_by", "add_composition", "add_missingness",
           "add_not_assessable", "add_comparison", "add_sweeps", "STEP_COLUMNS", "CRITERIA_COLUMNS",
           "OUTCOME_COLUMNS"]

STEP_COLUMNS = ["entering", "excluded", "not_assessable", "remaining"]
CRITERIA_COLUMNS = ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"]
OUTCOME_COLUMNS = ["eligible", "excluded", "not_assessable", "total"]


@dataclass
class Published:
    """Count tables as they will be published, each count registered as a cell, with the relations between them.

    ``tables`` hold true counts; ``columns`` names each table's count columns.
    A cell is named ``(table, row position, column)``.
    """

    rule: SmallCellRule
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    cells: Cells = None  # type: ignore[assignment]
    #: A count shown in two tables is one cell: the second place names the first.
    aliases: dict[tuple, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cells is None:
            self.cells = Cells(self.rule)

    def add(self, name: str, frame: pd.DataFrame, columns: list[str], locked: bool = False, alias=None,
            present: tuple[str, ...] = ()) -> None:
        """Register a table's counts; ``alias(row, column)`` may name the cell already holding that count.

        ``present``: columns a row is only listed with when they hold at least one patient.
        """
        frame = frame.reset_index(drop=True)
        self.tables[name], self.columns[name] = frame, list(columns)
        values = frame[columns].to_numpy()
        for i in range(len(frame)):  # cells of a table (tens), not patients
            for col, v in zip(columns, values[i], strict=True):
                same = self._r(alias(i, col)) if alias and alias(i, col) is not None else None
                if same is not None:
                    self._agrees(same, v, (name, i, col))
                    self.aliases[(name, i, col)] = same
                else:
                    self.cells.add((name, i, col), self._count(v), locked=locked, present=col in present)

    def _count(self, value):
        """What a cell holds: a true count (a reader's view, :mod:`screening.network.bounds`, holds shown text)."""
        return int(value)

    def _agrees(self, first: tuple, value, name: tuple) -> None:
        assert self.cells.values[self.cells[first]] == int(value), (name, first)

    def _r(self, name: tuple) -> tuple:
        return self.aliases.get(name, name)

    def label(self, name: tuple) -> str:
        return self.cells.label(self._r(name))

    def cell(self, table: str, row, column: str, key: int | str = 0) -> tuple:
        """A cell's name; ``row`` is a position, or a value of the table's ``key`` column (default the first)."""
        if not isinstance(row, (int, np.integer)):
            keys = self.tables[table][key] if isinstance(key, str) else self.tables[table].iloc[:, key]
            row = int(np.flatnonzero(keys.astype(str).to_numpy() == str(row))[0])
        return (table, int(row), column)

    def column(self, table: str, column: str) -> list[tuple]:
        return [(table, i, column) for i in range(len(self.tables[table]))]

    def total(self, total: tuple, parts: list[tuple]) -> None:
        """Publish total = sum of parts."""
        coefficients: dict = {self._r(total): 1}
        for p in map(self._r, parts):
            coefficients[p] = coefficients.get(p, 0) - 1
        self.cells.equal({k: c for k, c in coefficients.items() if c})

    def same(self, a: tuple, b: tuple) -> None:
        """Publish a = b (one count shown in two places)."""
        a, b = self._r(a), self._r(b)
        if a != b:
            self.cells.equal({a: 1, b: -1})

    def le(self, small: list[tuple] | tuple, large: list[tuple] | tuple) -> None:
        """Publish sum(small) ≤ sum(large)."""
        coefficients: dict = {}
        for k in [small] if isinstance(small, tuple) else small:
            coefficients[self._r(k)] = coefficients.get(self._r(k), 0) + 1
        for k in [large] if isinstance(large, tuple) else large:
            coefficients[self._r(k)] = coefficients.get(self._r(k), 0) - 1
        self.cells.at_most({k: c for k, c in coefficients.items() if c})

    # --- the headline ----------------------------------------------------------------------------------

    def head(self, measure: int) -> tuple:
        return ("headline", measure, "patients")

    @property
    def status_cells(self) -> dict[str, tuple]:
        return {"eligible": self.head(1), "excluded": self.head(4), "not_assessable": self.head(2)}


def funnel_counts(c: Counts, crits, rule: SmallCellRule, tables=("headline", "attrition", "criteria", "overlap",
                                                        "leave_one_out")) -> Published:
    """The funnel tables of ``c`` and every relation between them; ``tables`` picks which are published."""
    pub = Published(rule)
    declare_funnel(pub, headline_table(c), attrition_table(c, crits))
    if "criteria" in tables:
        declare_criteria(pub, criteria_table(c, crits).drop(columns=["excluded_in_sequence",
                                                                     "not_assessable_in_sequence"]))
    if "overlap" in tables and "criteria" in tables:
        declare_overlap(pub, overlap_published(c, [x.id for x in crits], rule.threshold))
    if "leave_one_out" in tables and "criteria" in tables:
        # Eligible-without is eligible + gain: published as the gain alone, the one count behind both.
        declare_leave_one_out(pub, leave_one_out_table(c, crits).drop(columns="eligible_without"))
    return pub


def declare_funnel(pub: Published, headline: pd.DataFrame, attrition: pd.DataFrame) -> None:
    """Register the headline and the attrition table (step 0 the extract, then one step per criterion) with the
    sums that tie them: these relations hold whoever reads the tables, the audit or a network of sites."""
    pub.add("headline", headline, ["patients"], locked=True)
    n, eligible, unknown, upper, excluded = (pub.head(i) for i in range(5))
    pub.total(n, [eligible, unknown, excluded])
    pub.total(upper, [eligible, unknown])
    step = lambda i, col: ("attrition", i, col)  # noqa: E731

    def shown_before(i: int, col: str):  # a step's entering is the previous step's remaining: one count
        if i == 0 and col in ("entering", "remaining"):
            return n
        return step(i - 1, "remaining") if col == "entering" else None

    pub.add("attrition", attrition, STEP_COLUMNS, locked=True, alias=shown_before)
    k = len(attrition) - 1
    for i in range(1, k + 1):
        pub.total(step(i, "entering"), [step(i, "excluded"), step(i, "not_assessable"), step(i, "remaining")])
    pub.same(step(k, "remaining"), eligible)
    pub.total(excluded, [step(i, "excluded") for i in range(1, k + 1)])
    pub.total(unknown, [step(i, "not_assessable") for i in range(1, k + 1)])


def declare_leave_one_out(pub: Published, table: pd.DataFrame) -> None:
    """Register ``leave_one_out`` (criterion, gain): the gain is the criteria table's gain if dropped."""
    ids = pub.tables["criteria"]["criterion"].tolist()
    pub.add("leave_one_out", table, ["gain"], alias=lambda j, col: ("criteria", ids.index(table["criterion"].iloc[j]),
                                                                    "gain_if_dropped"))


def declare_criteria(pub: Published, table: pd.DataFrame) -> None:
    """Register the criteria table (one row per criterion, in protocol order): alone, uniquely, gain if dropped,
    and how they bound the funnel steps."""
    pub.add("criteria", table, CRITERIA_COLUMNS, locked=True)
    k = len(table)
    crit = lambda j, col: ("criteria", j, col)  # noqa: E731
    step = lambda j, col: ("attrition", j + 1, col)  # noqa: E731  (criterion j decides step j + 1)
    status = pub.status_cells
    # The first step removes exactly who fails its criterion; the last, exactly who fails only the last one.
    pub.same(crit(0, "excluded_alone"), step(0, "excluded"))
    pub.same(crit(k - 1, "excluded_uniquely"), step(k - 1, "excluded"))
    for j in range(k):
        # Failing only j ⊆ excluded at j's step ⊆ failing j; excluded at j's step ⊆ excluded.
        pub.le(crit(j, "excluded_uniquely"), step(j, "excluded"))
        pub.le(step(j, "excluded"), crit(j, "excluded_alone"))
        pub.le(crit(j, "excluded_alone"), status["excluded"])
        pub.le(step(j, "not_assessable"), crit(j, "not_assessable_alone"))
        # Gained by dropping j: every other criterion passes, j fails (only j) or is unknown.
        pub.le(crit(j, "gain_if_dropped"), [crit(j, "excluded_uniquely"), crit(j, "not_assessable_alone")])
    # Those one criterion short of eligible are different patients for each criterion.
    pub.le([crit(j, "gain_if_dropped") for j in range(k)], [status["excluded"], status["not_assessable"]])
    pub.le([crit(j, "excluded_uniquely") for j in range(k)], status["excluded"])


def overlap_published(c: Counts, ids: list[str], threshold: int) -> pd.DataFrame:
    """Combinations of failed criteria with more patients than ``threshold``, the rest as one row (last)."""
    table = overlap_table(c, ids, min_patients=threshold + 1)
    other = int(c.status[1]) - int(table["patients"].sum())
    rest = pd.DataFrame({**{cid: [False] for cid in ids}, "patients": [other], "criteria": [0]})
    table = pd.concat([table, rest], ignore_index=True)
    table.insert(0, "combination", ["listed"] * (len(table) - 1)
                 + [f"other combinations (each under {threshold + 1})"])
    return table


def declare_overlap(pub: Published, table: pd.DataFrame) -> None:
    """Register ``overlap`` (:func:`overlap_published`: a yes/no column per criterion) against the criteria
    table and the excluded."""
    ids = pub.tables["criteria"]["criterion"].tolist()
    pub.add("overlap", table, ["patients"])
    listed = [("overlap", i, "patients") for i in range(len(table) - 1)]
    rest_cell = ("overlap", len(table) - 1, "patients")
    pub.total(pub.status_cells["excluded"], listed + [rest_cell])
    members = table[ids].to_numpy()[:-1]
    sizes = members.sum(axis=1)
    alone = [("criteria", j, "excluded_alone") for j in range(len(ids))]
    for j in range(len(ids)):
        holding = [listed[i] for i in np.flatnonzero(members[:, j])]
        pub.le(holding, alone[j])
        pub.le(alone[j], holding + [rest_cell])
        single = [listed[i] for i in np.flatnonzero(members[:, j] & (sizes == 1))]
        if single:
            pub.same(single[0], ("criteria", j, "excluded_uniquely"))
        else:
            pub.le(("criteria", j, "excluded_uniquely"), rest_cell)
    # Each excluded patient counts once in "alone" per criterion failed: 1 to k times for the unlisted.
    weighted = {cell: float(size) for cell, size in zip(listed, sizes, strict=True)}
    pub.cells.at_most({**{a: -1.0 for a in alone}, **weighted, rest_cell: 1.0})
    pub.cells.at_most({**{a: 1.0 for a in alone}, **{k: -v for k, v in weighted.items()},
                       rest_cell: -float(len(ids))})


def add_outcome_by(pub: Published, name: str, outcome: pd.DataFrame) -> None:
    """Patients by status within each group: rows add up to their total, columns to the headline."""
    pub.add(name, outcome, OUTCOME_COLUMNS, present=("total",))
    for i in range(len(outcome)):
        pub.total((name, i, "total"), [(name, i, c) for c in OUTCOME_COLUMNS[:3]])
    status = {**pub.status_cells, "total": pub.head(0)}
    for col, total in status.items():
        pub.total(total, pub.column(name, col))


def add_composition(pub: Published, composition: pd.DataFrame, outcome_name: str | None = None,
                    subgroup: str | None = None) -> None:
    """Groups of each column within the extract, the eligible and the not assessable; each adds up to its total.

    When the subgroup table splits by the same column, each group's counts are the same patients.
    """
    pub.add("composition", composition, ["patients"], present=("patients",))
    population = {"extract": pub.head(0), "eligible": pub.status_cells["eligible"],
                  "not_assessable": pub.status_cells["not_assessable"]}
    status_of = {"extract": "total", "eligible": "eligible", "not_assessable": "not_assessable"}
    for (column, pop), part in composition.groupby(["column", "population"], sort=False):
        pub.total(population[pop], [("composition", i, "patients") for i in part.index])
        if column == subgroup and outcome_name in pub.tables:
            groups = pub.tables[outcome_name].iloc[:, 0].astype(str).to_numpy()
            for i, group in zip(part.index, part["group"].astype(str), strict=True):
                if group in groups:
                    pub.same(("composition", i, "patients"), pub.cell(outcome_name, group, status_of[pop]))


def add_missingness(pub: Published, quality: pd.DataFrame, one_column: dict[int, str]) -> None:
    """Missing values per column; a criterion reading one column is unknown exactly where it is missing.

    ``one_column`` maps a criterion's position to the patients column it reads (policy ``separate`` only).
    """
    pub.add("missingness", quality, ["missing"])
    columns = quality["column"].astype(str).tolist()
    for j, column in one_column.items():
        if column in columns and "criteria" in pub.tables:
            pub.same(("criteria", j, "not_assessable_alone"), pub.cell("missingness", column, "missing", key="column"))
    if "composition" in pub.tables:
        comp = pub.tables["composition"]
        for i in np.flatnonzero((comp["group"] == MISSING) & (comp["population"] == "extract")):
            if comp["column"].iloc[i] in columns:
                pub.same(("composition", int(i), "patients"),
                         pub.cell("missingness", comp["column"].iloc[i], "missing", key="column"))


def add_not_assessable(pub: Published, table: pd.DataFrame, ids: list[str]) -> None:
    """Among not-assessable patients, how many lack each criterion's data (a patient may count twice)."""
    pub.add("not_assessable", table, ["missing_any"], present=("missing_any",))
    unknown = pub.status_cells["not_assessable"]
    cells = pub.column("not_assessable", "missing_any")
    pub.le(unknown, cells)  # every not-assessable patient lacks at least one criterion's data
    for cell, cid in zip(cells, table["criterion"], strict=True):
        j = ids.index(cid)
        pub.le(cell, unknown)
        pub.le(("attrition", j + 1, "not_assessable"), cell)
        if "criteria" in pub.tables:
            pub.le(cell, ("criteria", j, "not_assessable_alone"))


def add_comparison(pub: Published, summary_b: pd.Series, transitions: pd.DataFrame,
                   by_criterion: pd.DataFrame) -> None:
    """A variant protocol on the same extract: its totals, each patient's move, and its changed criteria."""
    status = list(STATUSES)
    pub.add("comparison", pd.DataFrame({"status": status, "variant": summary_b.reindex(status).to_numpy()}),
            ["variant"])
    pub.total(pub.head(0), pub.column("comparison", "variant"))
    moves = transitions.reindex(index=status, columns=status).reset_index(drop=True)
    moves.insert(0, "reference", status)
    pub.add("transitions", moves, status)
    for i, s in enumerate(status):
        pub.total(pub.status_cells[s], [("transitions", i, b) for b in status])
        pub.total(("comparison", i, "variant"), [("transitions", a, s) for a in range(3)])
    columns = ["excluded_alone_a", "excluded_alone_b", "not_assessable_alone_a", "not_assessable_alone_b"]
    pub.add("by_criterion", by_criterion, columns)
    if "criteria" in pub.tables:
        ids = pub.tables["criteria"]["criterion"].tolist()
        for i, cid in enumerate(by_criterion["criterion"]):
            if cid in ids:
                pub.same(("by_criterion", i, "excluded_alone_a"), ("criteria", ids.index(cid), "excluded_alone"))
                pub.same(("by_criterion", i, "not_assessable_alone_a"),
                         ("criteria", ids.index(cid), "not_assessable_alone"))
            pub.le(("by_criterion", i, "excluded_alone_b"), ("comparison", 1, "variant"))


def _same_value(a, b) -> bool:
    """A sweep's value is the protocol's own: numerically (a swept 6.0 is a minimum of 6), else as text.

    >>> _same_value(6.0, 6), _same_value("6.0", 6), _same_value(True, 1), _same_value("a", "a")
    (True, True, False, True)
    """
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is not None and b is not None and str(a) == str(b)
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def add_sweeps(pub: Published, sweeps: pd.DataFrame, current: dict[str, object]) -> None:
    """Totals for each value of a parameter: each row adds up to the extract; the protocol's value is the funnel.

    Neighbouring values differ by a few patients: each difference is protected like a count.
    """
    status = pub.status_cells
    at_protocol = [_same_value(v, current.get(p)) for p, v in zip(sweeps["parameter"], sweeps["value"], strict=True)]
    pub.add("sweeps", sweeps, list(STATUSES), alias=lambda i, col: status[col] if at_protocol[i] else None)
    for i in range(len(sweeps)):
        pub.total(pub.head(0), [("sweeps", i, s) for s in STATUSES])
    names, values = sweeps["parameter"].to_numpy(), sweeps["value"].to_numpy()
    for i in np.flatnonzero(names[1:] == names[:-1]):
        for s in STATUSES:
            pub.cells.target({pub._r(("sweeps", int(i) + 1, s)): 1, pub._r(("sweeps", int(i), s)): -1},
                             f"{names[i]} {s}: {values[i]} → {values[i + 1]}")
