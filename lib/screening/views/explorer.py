"""The what-if arithmetic, without widgets: screen an extract under changed settings and tabulate what to show.

Given :class:`Settings` (criteria dropped, parameters changed, order,
missing-data policy) an :class:`Explorer` screens the extract, reusing every
criterion result already computed for the same rule and parameters, and
returns a :class:`View` of what the panel (:mod:`screening.views.panel`) shows.
In shareable mode (``small_cell > 0``) every count in a view follows the
project's small-cell rule (:func:`screening.disclosure.rule.round_counts`).

Example
-------
>>> from screening import load_extract
>>> x = Explorer(load_extract("data/synthetic"), "misle-phase2", small_cell=0)
>>> view = x.view(Settings(set={"sledai.min": 4}))
>>> view.changes.loc[0, ["gained", "lost"]].gt(0).tolist()   # a lower SLEDAI minimum only admits more
[True, False]
>>> print(x.variant_yaml(Settings(dropped=("bilag",), set={"sledai.min": 4}), "sledai4-no-bilag"))
# What-if variant of misle-phase2, saved from the what-if panel.
id: sledai4-no-bilag
title: UC-MSCs in active SLE, Phase 2 (NCT02633163), what-if sledai4-no-bilag
extends: misle-phase2
drop:
- bilag
set:
  sledai.min: 4
<BLANKLINE>
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from screening.disclosure.rule import SmallCellRule, round_counts
from screening.disclosure.transitions import impossible_transitions
from screening.engine.funnel import Screening
from screening.engine.status import PASS
from screening.errors import ProtocolError, ScreeningError
from screening.io.extract import Extract
from screening.rules.protocol import Protocol, load_protocol, shipped_protocols

__all__ = ["Settings", "View", "Explorer", "numeric_parameters", "parameter_label", "over_time_figures", "HEADERS"]

STEP_COUNTS = ["entering", "excluded", "not_assessable", "remaining"]
#: Table headers as the panel shows them.
HEADERS = {"criterion": "Criterion", "label": "Criterion", "excluded_alone": "Excluded by it alone",
           "not_assessable_alone": "Not assessable by it alone", "excluded_uniquely": "Excluded by it only",
           "gain_if_dropped": "Gained if dropped", "against": "Against", "eligible_then": "Eligible there",
           "eligible_now": "Eligible here", "gained": "Gained", "lost": "Lost"}
#: What the eligible count means under each missing-data policy.
POLICY_WORDS = {"separate": "", "exclude": "missing data counted as failing",
                "include": "missing data counted as passing"}
CRITERION_COUNTS = ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"]
CHANGE_COUNTS = ["eligible_then", "eligible_now", "gained", "lost"]


@dataclass(frozen=True)
class Settings:
    """What an investigator changed, relative to the protocol as shipped."""

    dropped: tuple[str, ...] = ()
    set: dict = field(default_factory=dict)  # criterion.param -> value
    order: tuple[str, ...] = ()  # counted criterion ids in funnel order; empty keeps the protocol's
    policy: str = "separate"
    compare_with: str = ""  # a second protocol (shipped name or YAML path); empty for none


@dataclass
class View:
    """Everything the panel shows for one setting. Counts are rounded text in shareable mode."""

    protocol: Protocol
    headline: dict  # eligible, not_assessable, excluded, upper: numbers (exact; rounded ones are in ``shown``)
    shown: dict  # the same as displayed
    attrition: pd.DataFrame  # numbers to draw (rounded in shareable mode)
    attrition_text: pd.DataFrame | None  # the rounded text, in shareable mode
    criteria: pd.DataFrame
    changes: pd.DataFrame  # one row per reference protocol: eligible then/now, gained, lost
    #: with visits: eligible at the last visit and at any in 12 months, newly eligible in the last 12 months
    #: (settled, at most) and per month; counts as displayed (see :func:`over_time_figures`). None without visits.
    over_time: dict | None = None


def _eligible(s: Screening) -> np.ndarray:
    """Per patient: passes every criterion. One pass over the states, cheaper than a full placement."""
    return (s.states == PASS).all(axis=1)


def numeric_parameters(protocol: Protocol) -> dict[str, float]:
    """``criterion.param`` -> value for every numeric parameter of a counted criterion (what gets a slider)."""
    return {f"{c.id}.{k}": v for c in protocol.counted for k, v in c.params.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _forced_zeros(reference: Protocol, now: Protocol, policy: str) -> list[str]:
    """Which of ``gained`` / ``lost`` are zero whatever the data, from the two protocols and the policy alone
    (a variant that only loosens criteria loses no one; an identical one gains and loses no one)."""
    impossible = impossible_transitions(reference, now, policy)
    return [column for column, moves in (("gained", {("excluded", "eligible"), ("not_assessable", "eligible")}),
                                         ("lost", {("eligible", "excluded"), ("eligible", "not_assessable")}))
            if moves <= impossible]


def parameter_label(protocol: Protocol, name: str) -> str:
    """A slider's label: the rule's meaning of ``criterion.param`` with its unit, worded as report 03's sweeps.

    >>> from screening import load_protocol
    >>> parameter_label(load_protocol("misle-phase2"), "sledai.min")
    'Lowest SLEDAI-2K allowed (points)'
    """
    from screening.views.sweep_charts import parameter_axis

    words = parameter_axis(protocol, name)[1]
    return words[:1].upper() + words[1:]


class Explorer:
    """Screens one extract under changing settings; criterion results are shared across every view."""

    def __init__(self, extract: Extract, protocol: Protocol | str = "misle-phase2", policy: str = "separate",
                 small_cell: int = 10) -> None:
        self.extract = extract
        self.shipped = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
        self.rule = SmallCellRule.of(small_cell)  # built once: every view and the panel's own words use it
        self._base = Screening(extract, self.shipped, policy)
        self._eligible: dict[tuple[str, str], np.ndarray] = {}
        self._others: dict[str, Protocol] = {}
        self._visits = None  # the extract screened at every visit, built at the first view and reused by each
        #: views and over-time lines drawn, kept for a setting seen again (see :meth:`view`, :meth:`over_time`)
        self._views: dict[tuple, View] = {}
        self._lines: dict[bytes, dict] = {}  # by the per-visit statuses each line is computed from
        self._statuses: dict[tuple[str, str], bytes] = {}  # (protocol, policy) -> those statuses' key

    def protocol(self, settings: Settings) -> Protocol:
        """The shipped protocol with ``settings`` applied (parameters of dropped criteria are ignored)."""
        kept = {k: v for k, v in settings.set.items() if k.split(".", 1)[0] not in settings.dropped}
        p = self.shipped.with_overrides(kept) if kept else self.shipped
        p = p.without(*settings.dropped) if settings.dropped else p
        if settings.order:
            p = p.reordered([cid for cid in settings.order if cid not in settings.dropped])
        return p

    def screening(self, settings: Settings) -> Screening:
        return self._base.with_protocol(self.protocol(settings), settings.policy)

    def _reference(self, protocol: Protocol, policy: str) -> np.ndarray:
        """Who is eligible under a reference protocol (computed once per protocol and policy)."""
        key = (protocol.fingerprint(), policy)
        if key not in self._eligible:
            self._eligible[key] = _eligible(self._base.with_protocol(protocol, policy))
        return self._eligible[key]

    def _other(self, name: str) -> Protocol:
        if name not in self._others:
            self._others[name] = load_protocol(name)
        return self._others[name]

    def view(self, settings: Settings, over_time: bool = True) -> View:
        """Screen under ``settings`` and tabulate what the panel shows.

        ``over_time=False`` leaves :attr:`View.over_time` to :meth:`over_time`, so the panel can draw the
        funnel before the line over time. A setting seen before is not screened again.
        """
        protocol = self.protocol(settings)
        key = (protocol.fingerprint(), settings.policy, settings.compare_with)
        if key not in self._views:
            _keep(self._views, key, self._view(settings, protocol))
        view = replace(self._views[key], over_time=None)
        if over_time:
            view.over_time = self.over_time(view.protocol, settings.policy)
        return view

    def _view(self, settings: Settings, protocol: Protocol) -> View:
        s = self._base.with_protocol(protocol, settings.policy)
        eligible, excluded, not_assessable = (int(v) for v in s.counts.status)
        headline = {"eligible": eligible, "not_assessable": not_assessable, "excluded": excluded,
                    "upper": eligible + not_assessable}
        words = POLICY_WORDS[settings.policy]
        references = [(f"{self.shipped.id} as shipped" + (f", {words}" if words else ""), self.shipped)]
        if settings.compare_with:
            references.append((settings.compare_with, self._other(settings.compare_with)))
        rows, certain = [], []
        now = _eligible(s)
        for name, protocol in references:
            then = self._reference(protocol, settings.policy)
            rows.append({"against": name, "eligible_then": int(then.sum()), "eligible_now": int(now.sum()),
                         "gained": int((now & ~then).sum()), "lost": int((then & ~now).sum())})
            certain.append(_forced_zeros(protocol, s.protocol, settings.policy))
        changes = pd.DataFrame(rows)
        # Percentages are left out: taken from exact counts, they would undo the rounding.
        attrition = s.attrition().drop(columns=["pct_of_previous", "pct_of_total"])
        criteria = s.criteria_table().drop(columns=["excluded_in_sequence", "not_assessable_in_sequence"])
        rule = self.rule
        if rule.internal:
            return View(s.protocol, headline, dict(headline), attrition, None, criteria, changes)
        head = pd.DataFrame([headline])
        shown = round_counts(head, list(headline), rule).iloc[0].to_dict()
        text = round_counts(attrition, STEP_COUNTS, rule)
        drawn = round_counts(attrition, STEP_COUNTS, rule, as_text=False)
        shown_changes = round_counts(changes, CHANGE_COUNTS, rule)
        # A zero the protocols or the policy force, not the data, discloses nothing: it reads 0, not ≤10.
        if settings.policy != "separate":
            shown["not_assessable"] = "0"
            text["not_assessable"] = "0"
        for i, columns in enumerate(certain):
            shown_changes.loc[i, columns] = "0"
        return View(s.protocol, headline, shown, drawn, text, round_counts(criteria, CRITERION_COUNTS, rule),
                    shown_changes)

    def over_time(self, protocol: Protocol, policy: str = "separate") -> dict | None:
        """Eligible over time under ``protocol`` and ``policy`` (:func:`over_time_figures`); None without visits.

        Screened at every visit from the visit frame built once, reusing every criterion already evaluated
        there. The figures follow from the per-visit statuses alone (the turning table, the one table of
        the series that reads more, is tied to no other count and never narrowed), so a setting that
        places every visit as one already drawn, reordered criteria or a setting seen before, is not
        tabulated and protected again.
        """
        from screening.engine.over_time import EligibilityOverTime

        if not self.extract.has_visits:
            return None
        seen = self._statuses.get((protocol.fingerprint(), policy))
        if seen in self._lines:
            return dict(self._lines[seen])
        if self._visits is None:
            self._visits = EligibilityOverTime(self.extract, protocol, policy=policy)
            over = self._visits
        else:
            over = self._visits.under(protocol, policy)
        key = _keep(self._statuses, (protocol.fingerprint(), policy), over.status_key())
        if key not in self._lines:
            _keep(self._lines, key, over_time_figures(over, self.rule))
        return dict(self._lines[key])

    def variant_yaml(self, settings: Settings, name: str) -> str:
        """``settings`` as a protocol file that ``extends`` the shipped one (``set``, ``drop``, ``order``)."""
        base = self.shipped.id if self.shipped.id in shipped_protocols() else self.shipped.path
        doc: dict = {"id": name, "title": f"{self.shipped.title}, what-if {name}", "extends": base}
        if settings.dropped:
            doc["drop"] = list(settings.dropped)
        kept = {k: v for k, v in settings.set.items() if k.split(".", 1)[0] not in settings.dropped}
        if kept:
            doc["set"] = kept
        order = [cid for cid in settings.order if cid not in settings.dropped]
        if order and order != [c.id for c in self.protocol(Settings(dropped=settings.dropped)).counted]:
            doc["order"] = order
        head = f"# What-if variant of {self.shipped.id}, saved from the what-if panel.\n"
        if settings.policy != "separate":
            head += f"# Screened with missing-data policy '{settings.policy}' (pass --policy {settings.policy}).\n"
        return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    @staticmethod
    def variant_path(name: str, folder: str | Path) -> Path:
        """Where a variant called ``name`` is saved; a name that is not a plain file name is refused."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ProtocolError("variant", name, "a file name of letters, digits, '-', '_' or '.'")
        return Path(folder) / f"{name}.yaml"

    def save_variant(self, settings: Settings, name: str, folder: str | Path) -> Path:
        """Write :meth:`variant_yaml` to ``folder/name.yaml`` and check that it reads back as the same protocol."""
        path = self.variant_path(name, folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.variant_yaml(settings, name), encoding="utf-8")
        if load_protocol(path).fingerprint() != self.protocol(settings).fingerprint():  # pragma: no cover
            raise ScreeningError(f"{path}: the saved variant does not screen as the panel does; please report this.")
        return path

    def report_protocol(self, settings: Settings, path: str | Path) -> Protocol:
        """The protocol a report of ``settings`` screens: the variant saved at ``path``, its changed parameters
        kept as overrides of the shipped protocol, so the report's provenance lists them."""
        saved = load_protocol(path)
        p = self.protocol(settings)
        if p.fingerprint() != saved.fingerprint():  # pragma: no cover
            raise ScreeningError(f"{path}: the saved variant does not screen as the panel does; please report this.")
        return replace(p, id=saved.id, title=saved.title, path=saved.path, items=saved.items)


#: Views, lines and statuses kept for settings seen before: a view is a few small tables, and an investigator
#: goes back and forth between a handful of settings.
KEPT = 256


def _keep(cache: dict, key, value):
    """``cache[key] = value``, forgetting the oldest entry beyond :data:`KEPT`; returns ``value``."""
    if len(cache) >= KEPT:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def over_time_figures(over, rule: SmallCellRule) -> dict:
    """The panel's over-time figures: eligible at the last visit and at any visit in the 12 months before it,
    newly eligible in the last 12 months of the series (settled and at most) and per month.

    Counts as the panel shows every count (rounded in shareable mode). The 12-month counts and the rate a
    month are the report's: its over-time tables protected as a report protects them, and the rate what
    the report's sentence gives (:func:`~screening.views.over_time_charts.per_month`).
    """
    from screening.disclosure.over_time import network_year, over_time_tables
    from screening.views.over_time_charts import per_month

    counts = {"last_visit": int(over.at_last_visit["patients"].iloc[0]),
              "any_visit_12_months": int(over.any_visit(12)["patients"].iloc[0])}
    shown = {k: str(v) for k, v in counts.items()} if rule.internal else \
        round_counts(pd.DataFrame([counts]), list(counts), rule).iloc[0].to_dict()
    tables = over_time_tables(over, rule)
    network = tables["over_time_by_site_12_months"].set_index("site").loc["network"]
    year, months = network_year(tables, rule), max(min(12, len(tables["over_time_monthly"])), 1)
    for pool, key in (("newly_eligible", "newly"), ("newly_eligible_max", "newly_max")):
        shown[f"{key}_12_months"] = str(network[pool])
        shown[f"{key}_per_month"] = per_month(year[pool], months)
    shown["months"] = months
    return shown
