"""Which groups a shareable breakdown lists, and which of its zeros the protocol alone decides.

A breakdown by group (composition, outcome by sex, ...) that lists only the
groups present tells who is in the data: a one-patient extract's table names
that patient's sex, race and age band, and a row left out reads as zero. So a
breakdown lists every group the data dictionary declares (each sex and
race/ethnicity, every age band, and ``(missing)``), present or not, small
counts shown as ``≤10`` like any other. Below :func:`min_breakdown_patients`
no breakdown is published at all: every group of so few patients is small.

Some zeros are no secret: no patient outside the protocol's age range is
eligible, or not assessable (a known age outside the range excludes). A reader
knowing the protocol knows these zeros, so they are shown as ``0`` and the
audit (:mod:`screening.disclosure.audit`) counts them as known, as the reader
does (:mod:`screening.disclosure.published` reads ``0`` as exactly 0). Which
zeros are structural is decided from the protocol and the missing-data policy,
never from the data; every other zero stays ``≤10``.

Example
-------
>>> from screening.rules.protocol import load_protocol
>>> zeros = structural_zeros(load_protocol("misle-phase2"), "separate", "age_years", declared_groups("age_years"))
>>> sorted(zeros["eligible"]), sorted(zeros["not_assessable"])
(['(missing)', '[0, 18)', '[66, 91)'], ['[0, 18)', '[66, 91)'])
"""

from __future__ import annotations

import operator
import re

import pandas as pd

from screening.disclosure.makeup import SHARED_BY
from screening.disclosure.relations import Published
from screening.disclosure.rule import SmallCellRule
from screening.engine.groups import AGE_BINS, MISSING, SMALL_GROUPS, band_labels, declared_levels
from screening.rules.protocol import Protocol

__all__ = ["declared_groups", "structural_zeros", "min_breakdown_patients", "is_breakdown", "complete_groups",
           "every_criterion", "declare_structure", "known_zero", "too_few_for_breakdowns", "fixed_breakdowns",
           "unnamed_notes", "failing_groups", "funnel_structural_cells", "policy_zeros", "declare_funnel_structure",
           "BREAKDOWN_FACTOR", "POPULATIONS"]

#: No breakdown by group below this many times the small-cell threshold of patients (100 at the default 10).
BREAKDOWN_FACTOR = 10
#: Numeric columns cut into bands, and their bands.
BANDED = {"age_years": AGE_BINS}
#: The populations a composition table describes, each listing every declared group.
POPULATIONS = ("extract", "eligible", "not_assessable")


def min_breakdown_patients(threshold: int) -> int:
    """The fewest patients an extract needs for any breakdown by group to be published.

    >>> min_breakdown_patients(10)
    100
    """
    return BREAKDOWN_FACTOR * threshold


def is_breakdown(table: str) -> bool:
    """A table of counts by a patient characteristic (not by criterion or data column).

    >>> [is_breakdown(t) for t in ("composition", "outcome_by_site", "leave_one_out", "leave_one_out_sex")]
    [True, True, False, True]
    """
    return table in ("composition", "makeup") or table.startswith(("outcome_by_", "differential_", "leave_one_out_",
                                                                   "over_time_by_"))


def declared_groups(column: str, bins=None) -> list[str] | None:
    """Every group of ``column`` the data dictionary declares, and ``(missing)``; None when it declares none (site).

    >>> declared_groups("sex")
    ['F', 'M', '(missing)']
    """
    levels = declared_levels(column, bins if bins is not None else BANDED.get(column))
    return None if levels is None else levels + [MISSING]


def complete_groups(table: pd.DataFrame, column: str, groups: list[str], populations: list[str] | None = None,
                    counts: tuple[str, ...] = ()) -> pd.DataFrame:
    """``table`` with a row for every group in ``groups`` (within each of ``populations``, a ``population``
    column), its ``counts`` 0 where the data have none. Groups the data hold beyond ``groups`` come after them.

    >>> t = pd.DataFrame({"sex": ["F"], "population": ["extract"], "patients": [1]})
    >>> complete_groups(t, "sex", ["F", "M"], ["extract", "eligible"], ("patients",))["patients"].tolist()
    [1, 0, 0, 0]
    """
    table = table.assign(**{column: table[column].astype(str)})
    keys = list(groups) + [g for g in table[column].unique() if g not in groups]
    full = pd.DataFrame({column: keys})
    if populations is not None:
        full = pd.DataFrame({"population": [p for p in populations for _ in keys], column: keys * len(populations)})
        full = full[[column, "population"]]
    out = full.merge(table, how="left", on=list(full.columns))
    for col in counts:
        out[col] = out[col].fillna(0).astype(int)
    return out


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}


def _band_always(op: str, value, lo: float, hi: float) -> bool | None:
    """True (False) when ``x op value`` holds (fails) for every ``x`` in ``[lo, hi)``; None when it varies."""
    v = float(value)
    always = {">": lo > v, ">=": lo >= v, "<": hi <= v, "<=": hi <= v, "==": False, "!=": not lo <= v < hi}
    never = {">": hi <= v, ">=": hi <= v, "<": lo >= v, "<=": lo > v, "==": not lo <= v < hi, "!=": False}
    return True if always.get(op) else (False if never.get(op) else None)


def _met(criterion, column: str, group: str, bins) -> bool | None:
    """Whether ``criterion``'s rule is met by every patient of ``group`` (True), by none (False), or varies (None).

    Only rules reading ``column`` alone are decided: ``age`` on ages, ``column`` comparisons.
    """
    p = criterion.params
    if criterion.rule == "age" and column == "age_years" and bins is not None:
        lo, hi = _band(group, bins)
        if lo is None:
            return None
        inside = _band_always(">=", p["min_age"], lo, hi), _band_always("<=", p["max_age"], lo, hi)
        return False if False in inside else (True if inside == (True, True) else None)
    if criterion.rule != "column" or p.get("column") != column:
        return None
    op, value = p.get("op"), p.get("value")
    if bins is not None:
        lo, hi = _band(group, bins)
        return None if lo is None or op not in _OPS else _band_always(op, value, lo, hi)
    if op == "in":
        return group in [str(v) for v in (value if isinstance(value, list) else [value])]
    if op in ("==", "!="):
        return _OPS[op](group, str(value))
    return None


def _band(group: str, bins) -> tuple[float | None, float | None]:
    labels = band_labels(bins)
    if group not in labels:
        return None, None
    i = labels.index(group)
    return float(bins[i]), float(bins[i + 1])


def _reads_only(criterion, column: str) -> bool:
    """The criterion is unknown exactly where ``column`` is missing."""
    return (criterion.rule == "age" and column == "age_years") or \
        (criterion.rule == "column" and criterion.params.get("column") == column)


def structural_zeros(protocol, policy: str, column: str, groups: list[str], bins=None) -> dict[str, set[str]]:
    """Groups of ``column`` with no eligible or no not-assessable patient whatever the data: population → groups.

    A group some counted criterion fails for every patient in it (an inclusion rule never met,
    an exclusion rule always met) has no eligible and no not-assessable patient. Missing values
    of a column a criterion reads alone leave it unknown: never eligible unless unknown counts as
    passing (policy ``include``). Under ``exclude`` or ``include`` no one is not assessable.
    """
    bins = bins if bins is not None else BANDED.get(column)
    zeros: dict[str, set[str]] = {"eligible": set(), "not_assessable": set()}
    for criterion in protocol.counted:
        for group in groups:
            if group == MISSING:
                if _reads_only(criterion, column) and policy in ("separate", "exclude"):
                    zeros["eligible"].add(group)
                continue
            met = _met(criterion, column, group, bins)
            if met is not None and met != (criterion.kind == "inclusion"):
                zeros["eligible"].add(group)
                zeros["not_assessable"].add(group)
    if policy != "separate":
        zeros["not_assessable"] = set(groups)
    return zeros


# --- what the shareable tables tell the audit, and which of them are published ----------------------


def every_criterion(table: pd.DataFrame, criteria) -> pd.DataFrame:
    """Not-assessable patients lacking each criterion's data (``table``, criteria with any), one row per counted
    criterion even at zero: a criterion left out would read as "no one lacks its data"."""
    every = pd.DataFrame({"criterion": [c.id for c in criteria], "label": [c.display_label for c in criteria]})
    every = every.merge(table[["criterion", "missing_any"]], how="left", on="criterion")
    every["missing_any"] = every["missing_any"].fillna(0).astype(int)
    return every.sort_values("missing_any", ascending=False, kind="stable").reset_index(drop=True)


def declare_structure(pub: Published, protocol: Protocol, policy: str, outcome_name: str, subgroup: str,
                      column: str, bins) -> None:
    """What a reader knows of the breakdowns from the protocol alone, told to the audit.

    Rows are listed whether or not they hold patients, so no row is known to hold one; a zero the
    protocol forces (:func:`~screening.disclosure.categories.structural_zeros`) is known, and shown as 0.
    """
    cells = pub.cells
    for name in ("composition", "not_assessable", outcome_name):
        for col in pub.columns.get(name, []):
            for i in range(len(pub.tables.get(name, ()))):
                if (name, i, col) in cells:
                    cells.present.discard(cells[(name, i, col)])
    comp = pub.tables["composition"]
    for column, part in comp.groupby("column", sort=False):
        zeros = structural_zeros(protocol, policy, column, list(part["group"].astype(str).unique()))
        for i, group, population in zip(part.index, part["group"].astype(str), part["population"], strict=True):
            if group in zeros.get(population, ()):
                known_zero(pub, ("composition", int(i), "patients"))
    if declared_groups(column, bins) is not None and outcome_name in pub.tables:
        table = pub.tables[outcome_name]
        groups = list(table[subgroup].astype(str))
        zeros = structural_zeros(protocol, policy, column, groups, bins)
        for i, group in enumerate(groups):
            for population, zero in zeros.items():
                if group in zero:
                    known_zero(pub, (outcome_name, i, population))
    if policy != "separate":
        for i in range(len(pub.tables["not_assessable"])):
            known_zero(pub, ("not_assessable", i, "missing_any"))


def policy_zeros(pub: Published, policy: str) -> None:
    """Under ``exclude`` or ``include`` no one is not assessable, in any table: the funnel's and the headline's,
    each criterion's alone, the variant's, every sweep value's, every relaxation's. Shown as 0, known to the audit."""
    if policy == "separate":
        return
    comparison = pub.tables.get("comparison")
    unknown_row = list(comparison["status"]).index("not_assessable") if comparison is not None else None
    for name in list(pub.cells._index):
        if "not_assessable" in name[2] or name == pub.head(2) or name == ("comparison", unknown_row, "variant"):
            known_zero(pub, name)


def known_zero(pub: Published, name: tuple) -> None:
    """A count the protocol forces to zero: shown as 0, and known to the audit as to the reader."""
    i = pub.cells[pub._r(name)]
    if pub.cells.values[i] == 0:  # always, by the reasoning that chose it (tests hold it to that)
        pub.cells.known.add(i)


def too_few_for_breakdowns(n_patients: int, pub: Published, rule: SmallCellRule) -> set:
    """Every breakdown by group, withheld whole below :func:`~screening.disclosure.categories.min_breakdown_patients`:
    in so small an extract every group is a small count, and which groups exist is itself the secret."""
    # Decided on the count as published: the exact count, near the minimum, would show through the choice.
    if (rule.rounded(n_patients) or 0) >= min_breakdown_patients(rule.threshold):
        return set()
    return {(name,) for name in pub.tables if is_breakdown(name)}


def fixed_breakdowns(tables: dict[str, pd.DataFrame], published: bool) -> dict[str, pd.DataFrame]:
    """The same tables whatever the data: when breakdowns are published, one per characteristic and kind (empty
    where its groups were too small), and none below the minimum extract."""
    stems = ("differential", "leave_one_out")
    if not published:
        return {k: v for k, v in tables.items() if not any(k == f"{t}_{c}" for t in stems for c in SHARED_BY)}
    for stem in stems:
        have = [c for c in SHARED_BY if f"{stem}_{c}" in tables]
        if not have:
            continue
        template = tables[f"{stem}_{have[0]}"]
        for c in SHARED_BY:
            tables.setdefault(f"{stem}_{c}", template.iloc[0:0].rename(columns={have[0]: c}))
    return tables


def unnamed_notes(notes: list[str]) -> list[str]:
    """The make-up's notes without the groups they name: which groups were small says who is in the data.

    >>> unnamed_notes(["makeup / sex: withheld F (too few patients even merged)",
    ...           "makeup / site: merged S01, S02 into (small groups merged)"])
    ['makeup / sex: small groups withheld (too few patients even merged)', \
'makeup / site: small groups merged into (small groups merged)']
    """
    out = []
    for note in notes:
        note = re.sub(r": merged .+ into ", ": small groups merged into ", note)
        out.append(re.sub(r": withheld .+ \(too few", ": small groups withheld (too few", note))
    return out


def failing_groups(protocol, column: str, groups: list[str], bins=None, policy: str = "separate") -> list[set[str]]:
    """Per counted criterion, in protocol order: the groups of ``column`` it fails for every patient.

    Under ``exclude`` a missing value counts as failing, so ``(missing)`` fails every criterion that reads
    ``column`` alone (the age criterion for a missing age).

    >>> from screening.rules.protocol import load_protocol
    >>> groups = failing_groups(load_protocol("misle-phase2"), "age_years", ["[0, 18)", "(missing)"], policy="exclude")
    >>> sorted(groups[0])
    ['(missing)', '[0, 18)']
    """
    bins = bins if bins is not None else BANDED.get(column)
    out = []
    for criterion in protocol.counted:
        fails = set()
        for group in groups:
            if group == MISSING:
                if policy == "exclude" and _reads_only(criterion, column):
                    fails.add(group)
                continue
            met = _met(criterion, column, group, bins)
            if met is not None and met != (criterion.kind == "inclusion"):
                fails.add(group)
        out.append(fails)
    return out


def _never_failing(protocol, column: str, groups: list[str], policy: str) -> list[tuple[set[str], set[str]]]:
    """Per counted criterion: the groups none of whom fails it, and of those the ones all of whom pass it.

    A criterion reading ``column`` alone leaves a missing value unknown (never failing) unless
    ``exclude``, and counts it as passing under ``include``.
    """
    out = []
    for criterion in protocol.counted:
        passing = {g for g in groups if g != MISSING and _met(criterion, column, g, BANDED.get(column))
                   == (criterion.kind == "inclusion")}
        if MISSING in groups and _reads_only(criterion, column) and policy == "include":
            passing.add(MISSING)
        never = passing | ({MISSING} if MISSING in groups and _reads_only(criterion, column)
                           and policy == "separate" else set())
        out.append((never, passing))
    return out


def funnel_structural_cells(pub: Published, protocol: Protocol, policy: str = "separate") -> list[tuple]:
    """Counts along the funnel the protocol forces to zero, by group: a group a criterion fails for everyone
    is out of play from that criterion's step on (``makeup``), removed by no later step
    (``differential_*``, in sequence), and gains nothing from dropping another criterion (``leave_one_out_*``);
    a group no one of whom fails a criterion is removed by it neither alone nor in sequence, and a group all
    of whom pass it gains nothing when it is dropped (the age criterion for the bands inside its range).
    The make-up after the last step is the eligible pool: a group that can hold no eligible patient
    (:func:`structural_zeros`, a missing age say) holds none there either. A row of small groups merged
    holds every declared group not listed on its own, as a reader sees: a zero holds when it holds for each."""
    names = []
    ids = [c.id for c in protocol.counted]
    for column in SHARED_BY:
        groups = declared_groups(column)
        if groups is None:
            continue
        fails = failing_groups(protocol, column, groups, policy=policy)
        never = _never_failing(protocol, column, groups, policy)
        first = {g: min((j for j, f in enumerate(fails) if g in f), default=None) for g in groups}
        no_eligible = structural_zeros(protocol, policy, column, groups)["eligible"]
        m = pub.tables.get("makeup")
        listed = set() if m is None else set(m.loc[m["characteristic"] == column, "group"].astype(str))
        merged = set(groups) - listed
        members = lambda group: merged if group == SMALL_GROUPS else {group}  # noqa: E731
        gone = lambda g, j: first.get(g) is not None and j > first[g]  # noqa: E731  (out of play before step j)
        if m is not None:
            for i, (char, group, step) in enumerate(zip(m["characteristic"], m["group"].astype(str), m["step"],
                                                        strict=True)):
                inside = members(group)
                out_of_play = bool(inside) and all(gone(g, int(step)) for g in inside)
                if char == column and (out_of_play or (int(step) == len(ids) and inside <= no_eligible)):
                    names.append(("makeup", i, "patients"))
        d = pub.tables.get(f"differential_{column}")
        for i, (cid, group) in enumerate([] if d is None else zip(d["criterion"], d[column].astype(str),
                                                                   strict=True)):
            inside, j = members(group), ids.index(cid) if cid in ids else None
            if j is None or not inside:
                continue
            if inside <= never[j][0]:
                names += [(f"differential_{column}", i, "removed_alone")]
            if all(g in never[j][0] or gone(g, j) for g in inside):
                names += [(f"differential_{column}", i, "removed_in_sequence")]
        loo = pub.tables.get(f"leave_one_out_{column}")
        for i, (cid, group) in enumerate([] if loo is None else zip(loo["criterion"], loo[column].astype(str),
                                                                     strict=True)):
            inside, j = members(group), ids.index(cid) if cid in ids else None
            if j is not None and inside and all(g in never[j][1] or any(g in f for k, f in enumerate(fails)
                                                                         if k != j) for g in inside):
                names.append((f"leave_one_out_{column}", i, "gain"))
    return names


def declare_funnel_structure(pub: Published, protocol: Protocol, policy: str = "separate") -> None:
    """Mark :func:`funnel_structural_cells` known: shown as 0, and known to the audit as to the reader."""
    for name in funnel_structural_cells(pub, protocol, policy):
        if name in pub.cells or name in pub.aliases:
            known_zero(pub, name)
