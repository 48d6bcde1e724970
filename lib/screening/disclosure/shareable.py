"""The tables a report shares, in one pass: counts → tables with their relations → protect → render.

:func:`published_counts` takes every count a report publishes from a
:class:`~screening.engine.funnel.Screening` in one pass
(:func:`~screening.engine.report_counts.report_counts`) and registers each table
with the relations its definition implies (:mod:`screening.disclosure.relations`,
:mod:`screening.disclosure.makeup`); :func:`shareable_tables` protects them
together (:mod:`screening.disclosure.audit`: small counts shown as ``≤10``, every
other count rounded, the whole attacked) and renders them. Percentages are
computed from the rounded counts.

Example
-------
>>> from screening import load_extract, screen
>>> tables = shareable_tables(screen(load_extract("data/synthetic")), whatif=False)
>>> tables["headline"]["patients"].tolist()
['5000', '90', '375', '465', '4535']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.disclosure.audit import protect
from screening.disclosure.categories import (
    POPULATIONS,
    complete_groups,
    declare_funnel_structure,
    declare_structure,
    declared_groups,
    every_criterion,
    fixed_breakdowns,
    is_breakdown,
    policy_zeros,
    too_few_for_breakdowns,
    unnamed_notes,
)
from screening.disclosure.makeup import SHARED_ALONG, SHARED_BY, add_makeup, min_group_size, render_makeup
from screening.disclosure.relations import (
    Published,
    add_comparison,
    add_composition,
    add_missingness,
    add_not_assessable,
    add_outcome_by,
    add_sweeps,
    funnel_counts,
)
from screening.disclosure.rule import HIDDEN, SHAREABLE, SmallCellRule
from screening.disclosure.transitions import structural_transitions
from screening.engine.counts import headline_table, percent_of
from screening.engine.funnel import Screening
from screening.engine.groups import AGE_BINS, MISSING
from screening.engine.relax_counts import add_relaxations, render_relaxations
from screening.engine.report_counts import COMPOSITION, ReportCounts, report_counts
from screening.errors import DisclosureError, ScreeningError
from screening.rules.library import RULES

__all__ = ["shareable_tables", "published_counts", "register", "funnel_table", "check_subgroup", "site_rows",
           "SUBGROUPS", "VARIANT", "OTHER_SITES"]

#: Subgroups a shareable report may split by: declared categorical columns with few levels (name → column, bins).
SUBGROUPS = {"site": ("site", None), "sex": ("sex", None), "race_ethnicity": ("race_ethnicity", None),
             "age_band": ("age_years", AGE_BINS)}
#: More groups than this and a subgroup table is mostly small counts.
MAX_LEVELS = 30
#: The row of ``outcome_by_site`` pooling the small sites when the sites are not declared (:func:`site_rows`).
OTHER_SITES = "(other sites)"
#: The protocol the what-if tables compare with.
VARIANT = "misle-phase1-pilot"
#: Tables that may be withheld, whole or in part, when nothing else protects a count in them.
OPTIONAL = ("composition", "outcome_by", "criteria", "missingness", "not_assessable", "overlap", "leave_one_out",
            "comparison", "transitions", "by_criterion", "sweeps", "makeup", "differential", "shapley",
            "relaxations", "near_misses", "portfolio")


def check_subgroup(name: str) -> None:
    """Refuse anything but a declared categorical column: a date or free text would publish raw values."""
    if name not in SUBGROUPS:
        raise ScreeningError(f"--subgroup {name!r} is not a declared categorical column; shareable subgroups are: "
                             + ", ".join(SUBGROUPS) + ".")


def _counts(s: Screening, rule: SmallCellRule, subgroup: str, whatif: bool, variant, sweeps: dict | None,
            makeup: bool) -> ReportCounts:
    """Every count the report publishes, in the one pass over the screening (checked for a shareable subgroup)."""
    check_subgroup(subgroup)
    column, bins = SUBGROUPS[subgroup]
    counts = report_counts(s, (column, bins), whatif=whatif, variant=variant, sweeps=sweeps,
                           makeup=(SHARED_ALONG, SHARED_BY, min_group_size(rule.threshold)) if makeup else None,
                           attrition_by=rule.internal)
    if counts.outcome is None:
        raise ScreeningError(f"--subgroup {subgroup}: the extract has no {column!r} column.")
    if counts.levels > MAX_LEVELS:
        raise ScreeningError(f"--subgroup {subgroup}: {counts.levels} different values, more than {MAX_LEVELS}; "
                             "a subgroup table that fine would be mostly small counts.")
    return counts


def _one_column(criteria, policy: str) -> dict[int, str]:
    """Criteria (by position) unknown exactly where one patients column is missing (policy ``separate`` only)."""
    one_column = {}
    if policy == "separate":
        for j, c in enumerate(criteria):
            column = RULES[c.rule].one_column_of(c.params)  # unknown exactly where this column is missing
            if column:
                one_column[j] = column
    return one_column


def site_rows(table: pd.DataFrame, sites: list[str] | None, threshold: int) -> tuple[pd.DataFrame, list | None]:
    """Outcome by site, and the sites to list whether present or not.

    Sites are not in the data dictionary. Declared (``--sites``), every declared site is listed, present or
    not, and a site the extract holds beyond them is an error. Undeclared, a row listed only for the sites
    present would say that someone is at a small site: the sites of ``threshold`` patients or fewer are
    pooled into one row, :data:`OTHER_SITES`, that names none of them.

    >>> t = pd.DataFrame({"site": ["A", "B", "C"], "eligible": [5, 0, 1], "excluded": [95, 3, 0],
    ...                   "not_assessable": [0, 0, 0], "total": [100, 3, 1]})
    >>> site_rows(t, None, 10)[0]["site"].tolist(), site_rows(t, ["A", "B", "C", "D"], 10)[1]
    (['A', '(other sites)'], ['A', 'B', 'C', 'D', '(missing)'])
    """
    present = set(table["site"].astype(str)) - {MISSING}
    if sites is not None:
        declared = [str(site) for site in sites]
        beyond = sorted(present - set(declared))
        if beyond:
            raise ScreeningError(f"--sites: the extract holds {len(beyond)} site(s) the list does not declare "
                                 f"({', '.join(beyond[:5])}{', ...' if len(beyond) > 5 else ''}): declare every "
                                 "site of the registry; each is listed whether or not it has patients.")
        return table, declared + [MISSING]
    small = (table["total"] <= threshold) & (table["site"].astype(str) != MISSING)
    if not small.any():
        return table, None
    pooled = table[small].drop(columns="site").sum().to_frame().T.assign(site=OTHER_SITES)[table.columns]
    return pd.concat([table[~small], pooled], ignore_index=True), None


def site_floors(pub: Published, name: str, threshold: int) -> None:
    """Undeclared sites (:func:`site_rows`): what a row's listing tells the reader, told to the audit too. A site
    named has more than ``threshold`` patients; the pooled row and ``(missing)`` are listed only when they hold one.
    """
    for i, site in enumerate(pub.tables[name]["site"].astype(str)):
        pub.cells.floors[pub.cells[pub._r((name, i, "total"))]] = 1 if site in (OTHER_SITES, MISSING) else \
            threshold + 1


def _outcome(counts: ReportCounts, subgroup: str, rule: SmallCellRule, sites: list[str] | None = None
             ) -> pd.DataFrame:
    """Outcome by the subgroup, every declared group listed, present or not: a missing row would read as zero."""
    column, bins = SUBGROUPS[subgroup]
    table, groups = counts.outcome, declared_groups(column, bins)
    if column == "site":
        table, groups = site_rows(table, sites, rule.threshold)
    if groups is not None:
        table = complete_groups(table, column, groups, counts=("eligible", "excluded", "not_assessable", "total"))
    return table.rename(columns={column: subgroup})


def _composition(counts: ReportCounts) -> pd.DataFrame:
    """Composition by sex, race/ethnicity and age band, stacked: column, group, population, patients."""
    parts = []
    for c, bins in COMPOSITION.items():
        comp = counts.composition[counts.composition["column"] == c].drop(columns="column").rename(columns={"group": c})
        # Every declared group in every population, in the order rows always had: a row present only
        # when it has patients would name a one-patient extract's patient.
        comp = complete_groups(comp, c, declared_groups(c, bins), list(POPULATIONS), counts=("patients",))
        parts.append(comp.sort_values(["population", c], kind="stable").rename(columns={c: "group"}).assign(column=c))
    return pd.concat(parts, ignore_index=True)[["column", "group", "population", "patients"]]


def register(counts: ReportCounts, rule: SmallCellRule, subgroup: str = "site",
             sites: list[str] | None = None) -> Published:
    """Every table of ``counts`` registered as published cells, with every relation between them.

    ``sites``: every site of the registry, declared (:func:`site_rows`).
    """
    pub = funnel_counts(counts.counts, counts.criteria, rule)
    column, bins = SUBGROUPS[subgroup]
    outcome_name = f"outcome_by_{subgroup}"
    add_outcome_by(pub, outcome_name, _outcome(counts, subgroup, rule, sites))
    add_composition(pub, _composition(counts), outcome_name, column)
    add_not_assessable(pub, every_criterion(counts.not_assessable, counts.criteria), counts.ids)
    declare_structure(pub, counts.protocol, counts.policy, outcome_name, subgroup, column, bins)
    if subgroup == "site" and sites is None:
        site_floors(pub, outcome_name, rule.threshold)
    add_missingness(pub, counts.missingness, _one_column(counts.criteria, counts.policy))
    if counts.makeup is not None:
        notes = add_makeup(pub, counts.makeup, counts.ids, (outcome_name, column))
        if "makeup" in pub.tables:
            pub.tables["makeup"].attrs["notes"] = notes
        declare_funnel_structure(pub, counts.protocol, counts.policy)
    if counts.comparison is not None:
        summary_b, transitions, by, name_b = counts.comparison
        add_comparison(pub, summary_b, transitions, by)
        structural_transitions(pub, counts.protocol, counts.policy, counts.variant)
        pub.tables["comparison"].attrs["variant"] = name_b
    if counts.sweeps is not None:
        add_sweeps(pub, *counts.sweeps)
    policy_zeros(pub, counts.policy)
    return pub


def published_counts(s: Screening, rule: SmallCellRule, subgroup: str = "site", whatif: bool = True,
                     variant=VARIANT, sweeps: dict | None = None, makeup: bool = True,
                     relax: bool = True, sites: list[str] | None = None) -> Published:
    """Every shareable table as true counts, with every relation between them.

    ``makeup``: the pool's make-up along the funnel and whom each criterion excludes
    (:mod:`screening.disclosure.makeup`). ``relax``: Shapley shares, the best relaxations
    and near misses (:mod:`screening.engine.relax_counts`).
    """
    pub = register(_counts(s, rule, subgroup, whatif, variant, sweeps, makeup), rule, subgroup, sites)
    if relax:
        add_relaxations(pub, s)  # relax_counts still reads the screening itself (see its module)
        policy_zeros(pub, s.policy)
    return pub


def funnel_table(s: Screening, rule: SmallCellRule = SHAREABLE, headline: bool = False):
    """The sequential funnel alone, protected as it is published (``python -m screening funnel``).

    ``headline=True``: the headline too (eligible, not assessable, the range), protected with it: a pair.
    """
    if rule.internal:
        return (s.attrition(), headline_table(s.counts)) if headline else s.attrition()
    pub = funnel_counts(s.counts, s.criteria, rule, tables=("headline", "attrition"))
    policy_zeros(pub, s.policy)
    protect(pub.cells)
    shown = _render(pub)
    return (shown["attrition"], shown["headline"]) if headline else shown["attrition"]


def shareable_tables(s: Screening, rule: SmallCellRule = SHAREABLE, subgroup: str = "site", whatif: bool = True,
                     variant=VARIANT, sweeps: dict | None = None, portfolio=None,
                     over_time=None, sites: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every shareable table, small counts redacted and every count rounded, protected together.

    ``portfolio`` (a :class:`~screening.engine.portfolio.Portfolio` on the same extract) adds its
    tables (:mod:`screening.disclosure.portfolio`), attacked with the rest; so does ``over_time`` (an
    :class:`~screening.engine.over_time.EligibilityOverTime`, :mod:`screening.disclosure.over_time`).

    With an internal rule (threshold 0) every count is exact and the funnel within
    each subgroup is added: split by site, most of its steps are small counts.
    When a small pool cannot be broken down safely (the sex mix of 14 eligible
    patients, say), that breakdown is withheld and listed in ``_withheld``; when
    the funnel itself cannot be protected, :class:`~screening.errors.DisclosureError`.
    """
    counts = _counts(s, rule, subgroup, whatif, variant, sweeps, makeup=True)
    pub = register(counts, rule, subgroup, sites)
    add_relaxations(pub, s)
    policy_zeros(pub, s.policy)
    if portfolio is not None:
        from screening.disclosure.portfolio import add_portfolio, render_portfolio

        add_portfolio(pub, portfolio, funnel=s, variant=counts.variant)
    if over_time is not None:  # an EligibilityOverTime on the same extract (screening.disclosure.over_time)
        from screening.disclosure.over_time import add_over_time, render_over_time

        add_over_time(pub, over_time)
    extra = [render_portfolio] if portfolio is not None else []
    extra += [render_over_time] if over_time is not None else []

    def _render_all():
        out = _render(pub)
        for more in extra:
            out |= more(pub)
        return out

    if rule.internal:
        tables = _render_all()
        column = SUBGROUPS[subgroup][0]
        tables[f"attrition_by_{subgroup}"] = counts.attrition_by.rename(columns={column: subgroup})
        return tables
    withheld = too_few_for_breakdowns(counts.counts.total, pub, rule)
    for _ in range(12):
        pub.cells.state = [0] * len(pub.cells.values)
        pub.cells.withhold(lambda name: _is_withheld(name, pub, withheld))
        try:
            hidden = protect(pub.cells)
        except DisclosureError as exc:
            blocks = {_block(name, pub) for name in exc.cells} - {None} - withheld
            if not blocks:  # the funnel itself cannot be protected
                raise
            withheld |= blocks
            continue
        tables = _render_all()
        for name in list(tables):
            if (name,) in withheld:
                tables[name] = tables[name].iloc[0:0]  # withheld whole: published empty, listed in _withheld
        # A composition block withheld keeps its rows, each shown empty: the table's rows never depend on the data.
        notes = unnamed_notes(pub.tables["makeup"].attrs.get("notes", [])) \
            if "makeup" in pub.tables and ("makeup",) not in withheld else []
        tables["_withheld"] = pd.DataFrame({"withheld": [" / ".join(map(str, b)) for b in sorted(withheld)] + notes})
        tables["_protection"] = pd.DataFrame({"cells": [len(pub.cells.values)], "also_hidden": [hidden]})
        return fixed_breakdowns(tables, published=not any(is_breakdown(b[0]) and len(b) == 1 for b in withheld))
    raise DisclosureError("small-cell protection kept failing after withholding breakdowns")


def _block(name: tuple, pub: Published):
    """The breakdown to withhold for a cell that cannot be protected; None for the funnel itself."""
    table, row, _ = name
    if table == "composition":
        comp = pub.tables["composition"]
        return ("composition", comp["column"].iloc[row], comp["population"].iloc[row])
    return (table,) if table.startswith(OPTIONAL) else None


def _is_withheld(name: tuple, pub: Published, withheld: set) -> bool:
    block = _block(name, pub)
    return block is not None and (block in withheld or (name[0],) in withheld)


def _number(text: pd.Series) -> pd.Series:
    """Shown counts as numbers; redacted or hidden ones as missing."""
    return pd.to_numeric(text.astype(str).where(text.astype(str).str.fullmatch(r"\d+")), errors="coerce")


def _percent(part: pd.Series, whole) -> np.ndarray:
    """A share of two shown counts, to one decimal; ``*`` where either is not shown."""
    part, whole = _number(part), (_number(whole) if isinstance(whole, pd.Series) else whole)
    pct = percent_of(part, whole)
    return np.where(np.isnan(pct), HIDDEN, pct.astype(str)).astype(object)


def _by_shown(frame: pd.DataFrame, column: str, ties: list[str]) -> pd.DataFrame:
    """Largest shown count first (redacted ones last), then ``ties``."""
    key = _number(frame[column]).fillna(-1)
    return frame.assign(_shown=-key).sort_values(["_shown", *ties], kind="stable").drop(columns="_shown") \
        .reset_index(drop=True)


def _render(pub: Published) -> dict[str, pd.DataFrame]:
    """Each table with its counts as published (labels) and percentages from the rounded counts."""
    out = {}
    for name, frame in pub.tables.items():
        shown = frame.copy()
        for col in pub.columns[name]:
            shown[col] = [pub.label((name, i, col)) for i in range(len(frame))]
        out[name] = shown
    if pub.rule.internal:
        for name, frame in pub.tables.items():
            out[name] = frame.copy()
    n = out["headline"]["patients"].astype(str).iloc[0]
    total = float(n) if n.isdigit() else np.nan
    a = out["attrition"]
    if not pub.rule.internal:
        a.loc[0, ["excluded", "not_assessable"]] = "0"  # the extract row removes no one, by definition
    a["pct_of_previous"] = _percent(a["remaining"], a["entering"])
    a["pct_of_total"] = _percent(a["remaining"], total)
    if "composition" in out:
        comp = out["composition"]
        head = out["headline"].set_index("measure")["patients"].astype(str)
        whole = comp["population"].map({"extract": head.iloc[0], "eligible": head.iloc[1],
                                        "not_assessable": head.iloc[2]})
        comp["percent"] = _percent(comp["patients"], whole)
    if "missingness" in out:
        m = out["missingness"]
        m["percent"] = _percent(m["missing"], total)
    # Rows in order of the counts as shown, ties by name: an order by exact counts would tell them apart.
    if "missingness" in out:
        out["missingness"] = _by_shown(out["missingness"], "missing", ["column"])
    if "not_assessable" in out:
        order = {cid: j for j, cid in enumerate(pub.tables["criteria"]["criterion"])} if "criteria" in pub.tables \
            else {}
        out["not_assessable"] = _by_shown(out["not_assessable"].assign(_j=lambda t: t["criterion"].map(order)),
                                          "missing_any", ["_j"]).drop(columns="_j")
    render_makeup(out)
    render_relaxations(out)
    if "overlap" in out:
        o = out["overlap"]
        ids = [c for c in o.columns if o[c].dtype == bool]
        listed = o.iloc[:-1].assign(_pattern=lambda t: ["".join("01"[int(v)] for v in row) for row in
                                                        t[ids].to_numpy()][::1])
        listed = _by_shown(listed, "patients", ["criteria", "_pattern"]).drop(columns="_pattern")
        out["overlap"] = pd.concat([listed, o.iloc[-1:]], ignore_index=True)
    if "comparison" in out:
        c = out["comparison"]
        reference = out["headline"].set_index("measure")["patients"].iloc[[1, 4, 2]].to_numpy()
        c.insert(1, "reference", reference)
        c["difference"] = (_number(c["variant"]) - _number(c["reference"])).astype("Int64").astype(str) \
            .replace("<NA>", HIDDEN)
        c.attrs.update(pub.tables["comparison"].attrs)
    return out

