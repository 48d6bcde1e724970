"""The portfolio's shareable tables, registered with the relations their definitions imply, and protected.

Four tables (:class:`~screening.engine.portfolio.Portfolio`): ``portfolio_headline``
(patients, eligible for at least one trial, exactly one, two or more, none),
``portfolio`` (per trial: eligible, not assessable, excluded, the pool's upper end),
``portfolio_binding`` (per trial, the criteria that exclude the most) and
``portfolio_overlap`` (patients per combination of trials, the combinations of
more than the threshold listed, the rest as one row). Relations declared to the
audit (:mod:`screening.disclosure.audit`):

* per trial: patients = eligible + not assessable + excluded; upper end = eligible + not assessable;
  eligible ≤ eligible for at least one trial; a criterion's exclusions ≤ the trial's;
* the headline: patients = at least one + none; at least one = exactly one + two or more;
* the overlap: its rows add up to the patients eligible for at least one trial; a trial's
  eligible lies between the listed combinations holding it and those plus the rest; so do
  exactly one and two or more; and the per-trial counts add up to each patient counted once
  per trial (between 1 and k times for the rest, 2 to k times for two or more).

A count the report already publishes is the same cell here (the report's own funnel,
the protocol it compares with, a criterion with the same rule and parameters), so
hiding one hides both.

Example
-------
>>> from screening import load_extract
>>> from screening.engine.portfolio import Portfolio
>>> p = Portfolio(load_extract("data/synthetic"), ["misle-phase2", "belimumab-bliss52"])
>>> shown = portfolio_tables(p)["portfolio"]
>>> shown.columns.tolist()[2:]
['eligible', 'not_assessable', 'excluded', 'eligible_upper']
>>> all(v == "≤10" or (int(v) >= 15 and int(v) % 5 == 0) for v in shown["eligible"])  # the small-cell rule
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.disclosure.audit import protect
from screening.disclosure.relations import Published
from screening.disclosure.rule import SHAREABLE, SmallCellRule
from screening.disclosure.shareable import _by_shown
from screening.engine.portfolio import Portfolio, mask_key
from screening.errors import DisclosureError

__all__ = ["add_portfolio", "portfolio_tables", "render_portfolio", "TABLES", "TRIAL_COLUMNS"]

TABLES = ("portfolio_headline", "portfolio", "portfolio_binding", "portfolio_overlap")
TRIAL_COLUMNS = ["eligible", "not_assessable", "excluded", "eligible_upper"]


def _known(pub: Published, funnel, variant) -> tuple[dict, dict]:
    """Cells the report already publishes: by protocol fingerprint (its totals) and by criterion (excluded alone)."""
    by_protocol: dict[str, dict[str, tuple]] = {}
    by_criterion: dict[str, tuple] = {}
    if funnel is not None and "headline" in pub.tables:
        s = pub.status_cells
        by_protocol[funnel.protocol.fingerprint()] = {"eligible": s["eligible"], "excluded": s["excluded"],
                                                      "not_assessable": s["not_assessable"],
                                                      "eligible_upper": pub.head(3)}
        if "criteria" in pub.tables:
            for j, c in enumerate(funnel.criteria):
                by_criterion[mask_key(c)] = ("criteria", j, "excluded_alone")
    if variant is not None and "comparison" in pub.tables:
        by_protocol.setdefault(variant.fingerprint(), {st: ("comparison", i, "variant") for i, st in
                                                       enumerate(["eligible", "excluded", "not_assessable"])})
        if "by_criterion" in pub.tables:
            changed = pub.tables["by_criterion"]["criterion"].tolist()
            for c in variant.counted:
                if c.id in changed:
                    by_criterion.setdefault(mask_key(c), ("by_criterion", changed.index(c.id), "excluded_alone_b"))
    return by_protocol, by_criterion


def _binding(portfolio: Portfolio, rule: SmallCellRule, top: int) -> pd.DataFrame:
    """Per trial, the criteria excluding the most by their *shown* counts (ties in protocol order).

    Ranked by the rounded count: an order by exact counts would tell apart two counts shown alike.
    """
    parts = []
    for pid, s in portfolio.screenings.items():
        table = s.criteria_table()[["criterion", "label", "excluded_alone"]]
        table = table.assign(_key=[mask_key(c) for c in s.criteria],
                             _shown=[-(rule.rounded(v) or 0) for v in table["excluded_alone"]])
        table = table.sort_values("_shown", kind="stable").head(top)
        parts.append(table.assign(protocol=pid, rank=np.arange(1, len(table) + 1)))
    return pd.concat(parts, ignore_index=True)[["protocol", "rank", "criterion", "label", "excluded_alone", "_key"]]


def add_portfolio(pub: Published, portfolio: Portfolio, funnel=None, variant=None, top: int = 3) -> None:
    """Register the portfolio's tables in ``pub`` with every relation; ``funnel``: the report's screening,
    ``variant``: the protocol its what-if tables compare with (their counts are the same cells here).
    """
    by_protocol, by_criterion = _known(pub, funnel, variant)
    head = portfolio.headline
    total = pub.head(0) if "headline" in pub.tables else None
    pub.add("portfolio_headline", head, ["patients"], locked=True,
            alias=lambda i, col: total if i == 0 else None)
    h = [("portfolio_headline", i, "patients") for i in range(len(head))]
    pub.total(h[0], [h[1], h[4]])
    pub.total(h[1], [h[2], h[3]])

    summary = portfolio.summary.drop(columns="binding")
    prints = [s.protocol.fingerprint() for s in portfolio.screenings.values()]
    pub.add("portfolio", summary, TRIAL_COLUMNS, locked=True,
            alias=lambda i, col: by_protocol.get(prints[i], {}).get(col))
    k = len(summary)
    trial = lambda j, col: ("portfolio", j, col)  # noqa: E731
    if portfolio.policy != "separate":  # no one is not assessable when missing data decide: a known zero
        for j in range(k):
            pub.cells.known.add(pub.cells[pub._r(trial(j, "not_assessable"))])
    for j in range(k):
        pub.total(h[0], [trial(j, "eligible"), trial(j, "not_assessable"), trial(j, "excluded")])
        pub.total(trial(j, "eligible_upper"), [trial(j, "eligible"), trial(j, "not_assessable")])
        pub.le(trial(j, "eligible"), h[1])

    binding = _binding(portfolio, pub.rule, top)
    first: dict[str, tuple] = dict(by_criterion)
    keys = binding["_key"].tolist()

    def same_criterion(i: int, col: str):
        earlier = first.get(keys[i])
        first.setdefault(keys[i], ("portfolio_binding", i, col))
        return earlier

    pub.add("portfolio_binding", binding.drop(columns="_key"), ["excluded_alone"], alias=same_criterion)
    ids = portfolio.ids
    for i, pid in enumerate(binding["protocol"]):
        pub.le(("portfolio_binding", i, "excluded_alone"), trial(ids.index(pid), "excluded"))
    _overlap(pub, portfolio, h)


def _overlap(pub: Published, portfolio: Portfolio, h: list[tuple]) -> None:
    """Combinations of trials with more patients than the threshold, the rest as one row."""
    ids = portfolio.ids
    table = portfolio.overlap
    table = table[table["patients"] > pub.rule.threshold]
    rest = int(portfolio.headline["patients"].iloc[1]) - int(table["patients"].sum())
    table = pd.concat([table, pd.DataFrame({**{pid: [False] for pid in ids}, "patients": [rest], "trials": [0]})],
                      ignore_index=True)
    table.insert(0, "combination", ["listed"] * (len(table) - 1)
                 + [f"other combinations (each under {pub.rule.threshold + 1})"])
    pub.add("portfolio_overlap", table, ["patients"])
    listed = [("portfolio_overlap", i, "patients") for i in range(len(table) - 1)]
    other = ("portfolio_overlap", len(table) - 1, "patients")
    pub.total(h[1], listed + [other])
    members = table[ids].to_numpy(dtype=bool)[:-1]
    sizes = members.sum(axis=1)
    eligible = [("portfolio", j, "eligible") for j in range(len(ids))]
    for j in range(len(ids)):
        holding = [listed[i] for i in np.flatnonzero(members[:, j])]
        pub.le(holding, eligible[j])
        pub.le(eligible[j], holding + [other])
    for cell, part in ((h[2], sizes == 1), (h[3], sizes >= 2)):
        chosen = [listed[i] for i in np.flatnonzero(part)]
        pub.le(chosen, cell)
        pub.le(cell, chosen + [other])
    # Each eligible patient counts once per trial: the listed exactly by their size, the rest 1 to k times.
    k = float(len(ids))
    weighted = [(cell, float(size)) for cell, size in zip(listed, sizes, strict=True)]
    trials = [(e, 1.0) for e in eligible]
    _at_most(pub, [(e, -v) for e, v in trials] + weighted + [(other, 1.0)])
    _at_most(pub, trials + [(c, -v) for c, v in weighted] + [(other, -k)])
    _at_most(pub, [(e, -v) for e, v in trials] + [(h[2], 1.0), (h[3], 2.0)])
    _at_most(pub, trials + [(h[2], -1.0), (h[3], -k)])


def _at_most(pub: Published, terms: list[tuple[tuple, float]]) -> None:
    """Publish sum(coefficient × count) ≤ 0; a count named twice (one cell shown twice) adds its coefficients."""
    coefficients: dict = {}
    for name, c in terms:
        coefficients[pub._r(name)] = coefficients.get(pub._r(name), 0.0) + c
    pub.cells.at_most({k: c for k, c in coefficients.items() if c})


def portfolio_tables(portfolio: Portfolio, rule: SmallCellRule = SHAREABLE) -> dict[str, pd.DataFrame]:
    """The portfolio's tables as shared: small counts ``≤10``, every other count rounded, attacked together.

    When the overlap or the binding criteria cannot be protected they are withheld (published
    empty, named under ``_withheld``); when the per-trial counts cannot, :class:`DisclosureError`.
    """
    withheld: list[str] = []
    for drop in ([], ["portfolio_overlap"], ["portfolio_overlap", "portfolio_binding"]):
        pub = Published(rule)
        add_portfolio(pub, portfolio)
        pub.cells.withhold(lambda name, drop=drop: name[0] in drop)
        try:
            hidden = protect(pub.cells)
        except DisclosureError:
            continue
        withheld = drop
        break
    else:
        raise DisclosureError("The portfolio's counts are too small to share at a small-cell threshold of "
                              f"{rule.threshold}: share a larger extract, or use --internal.")
    tables = render_portfolio(pub)
    for name in withheld:
        tables[name] = tables[name].iloc[0:0]
    tables["_withheld"] = pd.DataFrame({"withheld": withheld})
    tables["_protection"] = pd.DataFrame({"cells": [len(pub.cells.values)], "also_hidden": [hidden]})
    return tables


def render_portfolio(pub: Published) -> dict[str, pd.DataFrame]:
    """The portfolio's tables of ``pub`` with each count as published; overlap rows by shown count."""
    out = {}
    for name in TABLES:
        shown = pub.tables[name].copy()
        if not pub.rule.internal:
            for col in pub.columns[name]:
                shown[col] = [pub.label((name, i, col)) for i in range(len(shown))]
        out[name] = shown
    o = out["portfolio_overlap"]
    ids = [c for c in o.columns if o[c].dtype == bool]
    listed = o.iloc[:-1].assign(_pattern=["".join("01"[int(v)] for v in row) for row in o[ids].to_numpy()[:-1]])
    listed = _by_shown(listed, "patients", ["trials", "_pattern"]).drop(columns="_pattern")
    out["portfolio_overlap"] = pd.concat([listed, o.iloc[-1:]], ignore_index=True)
    return out
