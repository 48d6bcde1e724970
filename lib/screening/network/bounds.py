"""The tightest interval a site's published tables allow for its headline counts: one integer program per count.

A site publishes each count rounded or as ``≤10``, so each shown cell stands for
an interval (:mod:`screening.disclosure.published`). Summing those intervals over
the sites treats every cell as unrelated to the others, but a site's tables are
tied by what they mean. :func:`site_program` reads every table of the bundle with
the relations the library declares for its own audit, one source for both
(:mod:`screening.disclosure.relations`, :mod:`screening.disclosure.makeup`,
:mod:`screening.engine.relax_counts`; :class:`Shown` registers the shown text
where the audit registers true counts):

* the funnel and the criteria: each step's entering = excluded + not assessable +
  remaining, the headline's totals, each criterion's unique ≤ its step's
  exclusions ≤ its alone, gains if dropped against both;
* ``overlap``: the listed combinations and the rest add up to the excluded, and
  bound each criterion's alone and unique exclusions; ``not_assessable``: each
  criterion's missing data among the not assessable, between its step's and its
  alone count, together at least the not assessable;
* ``outcome_by_site``, ``composition`` and ``missingness`` add up to the headline;
* ``makeup``: a step's groups add up to its remaining (at most, when a group was
  withheld), and no group grows from one step to the next; ``differential_*`` and
  ``leave_one_out_*``: per criterion the groups' removals add up to its alone and
  its step's exclusions, the groups' gains to its gain if dropped;
* ``comparison``, ``transitions`` and ``by_criterion``: each row of moves adds up
  to its reference status, each column to the variant's;
* ``sweeps``: each row adds up to the extract, the protocol's own value is the
  headline, and (known to any reader, beyond the audit's list) as a threshold
  loosens (:func:`~screening.engine.frontier.looser`) eligibility never falls and
  exclusion never rises;
* ``relaxations``, ``leave_one_out``, ``shapley`` and ``near_misses``: one criterion
  dropped gives eligible + its gain, dropping criteria never shrinks the pool, the
  Shapley shares add up to the excluded, near misses are among the unique exclusions.

Sites hold different patients and nothing published ties one site's counts to
another's, so the network's tightest interval is the sum of each site's tightest
(:func:`tightest`, HiGHS through :func:`scipy.optimize.milp`, integer counts).
Every relation holds for the true counts, so the interval always holds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from screening.disclosure.bundle import Bundle
from screening.disclosure.makeup import declare_makeup
from screening.disclosure.published import read_rule, tighten
from screening.disclosure.relations import (
    Published,
    add_comparison,
    add_composition,
    add_missingness,
    add_not_assessable,
    add_outcome_by,
    add_sweeps,
    declare_criteria,
    declare_funnel,
    declare_leave_one_out,
    declare_overlap,
)
from screening.engine.frontier import looser
from screening.engine.relax_counts import declare_near_misses, declare_relaxations, declare_shapley
from screening.engine.status import STATUSES
from screening.errors import BundleError

__all__ = ["site_program", "tightest", "solve", "narrow_headline", "funnel_relations", "Program", "Shown", "METHOD",
           "HEADLINE", "STEP_COLUMNS", "CRITERIA_COLUMNS"]

#: How the network's intervals were found, in words (the network report's provenance).
METHOD = ("each site's headline counts are the smallest and largest integers consistent with every cell that site "
          "published (each an interval under its disclosure rule) and with every relation its tables' definitions "
          "imply (funnel sums, criteria, overlap combinations, not-assessable reasons, site, composition, "
          "missingness and make-up totals, exclusions and gains by group, comparison and transitions, sweeps, "
          "relaxations, Shapley shares, near misses), found by integer programming (HiGHS); the network's interval "
          "is the sum of the sites', since no published count ties one site's patients to another's")
HEADLINE = ("patients in extract", "eligible on registry data", "not assessable (data missing)",
            "eligible if every not-assessable patient qualified", "excluded")
STEP_COLUMNS = ["entering", "excluded", "not_assessable", "remaining"]
CRITERIA_COLUMNS = ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"]


class Program:
    """Cells (each shown as text) and linear relations between them: ``equalities`` say sum = 0,
    ``inequalities`` ≤ 0.

    It reads what :class:`~screening.disclosure.relations.Published` declares for the audit
    (:class:`Shown`): the same ``add``, ``equal``, ``at_most`` and ``target``, over shown text, not true counts.
    """

    def __init__(self) -> None:
        self.names: list[tuple] = []
        self.shown: list[str] = []
        self.at: dict[tuple, int] = {}
        self.equalities: list[dict[int, float]] = []
        self.inequalities: list[dict[int, float]] = []

    def add(self, name, shown, locked: bool = False, present: bool = False) -> int:
        # ``present`` (a row listed only when it holds someone) is left out: a weaker program still holds the truth.
        if name not in self.at:
            self.at[name] = len(self.names)
            self.names.append(name)
            self.shown.append("" if pd.isna(shown) else str(shown))
        return self.at[name]

    def __getitem__(self, name) -> int:
        return self.at[name]

    def __contains__(self, name) -> bool:
        return name in self.at

    def _ids(self, coefficients: dict) -> dict[int, float]:
        return {(k if isinstance(k, int) else self.at[k]): c for k, c in coefficients.items()}

    def equal(self, coefficients: dict) -> None:
        """sum(coefficient × cell) = 0; keys are cell ids or names."""
        self.equalities.append(self._ids(coefficients))

    def at_most(self, coefficients: dict) -> None:
        """sum(coefficient × cell) ≤ 0."""
        self.inequalities.append(self._ids(coefficients))

    def target(self, coefficients: dict, name: str) -> None:
        """A count the audit protects; nothing a reader of the tables learns from."""

    def same(self, a: int, b: int) -> None:
        if a != b:
            self.equal({a: 1, b: -1})

    def total(self, whole: int, parts: list[int]) -> None:
        rel: dict[int, int] = {whole: 1}
        for p in parts:
            rel[p] = rel.get(p, 0) - 1
        self.equal(rel)

    def le(self, small: list[int], large: list[int]) -> None:
        rel: dict[int, int] = {}
        for p in small:
            rel[p] = rel.get(p, 0) + 1
        for p in large:
            rel[p] = rel.get(p, 0) - 1
        self.at_most(rel)


class Shown(Published):
    """Published tables as a site shows them: each cell its text, declared with the audit's own relations."""

    def _count(self, value):
        return value

    def _agrees(self, first: tuple, value, name: tuple) -> None:
        """One count shown in two places: each place's text bounds it (a site may hide one and show the other)."""
        self.cells.same(self.cells.add(name, value), self.cells[first])


def _frame(bundle: Bundle, name: str, columns: list[str]) -> pd.DataFrame | None:
    """A table of the bundle holding ``columns``, or None (an older bundle, or a table withheld whole)."""
    table = bundle.tables.get(name)
    if table is None or not len(table) or not set(columns) <= set(table.columns):
        return None
    return table.reset_index(drop=True)


def funnel_relations(cells: pd.DataFrame, steps: list[str], criteria: pd.Series) -> list[dict[int, int]]:
    """The sums every report's tables satisfy, over positions in ``cells`` (each cell's own interval narrowed
    by propagation, :func:`~screening.disclosure.published.tighten`)."""
    at = {key: i for i, key in enumerate(zip(cells["table"], cells["row"], cells["column"], strict=True))}
    n, elig, na, upper, excl = (at[("headline", m, "patients")] for m in HEADLINE)

    def a(i, col):
        return at[("attrition", steps[i], col)]

    last = len(steps) - 1
    rels = [{n: 1, elig: -1, excl: -1, na: -1}, {upper: 1, elig: -1, na: -1},
            {a(0, "entering"): 1, n: -1}, {a(0, "remaining"): 1, n: -1}, {a(last, "remaining"): 1, elig: -1},
            {excl: 1, **{a(i, "excluded"): -1 for i in range(1, last + 1)}},
            {na: 1, **{a(i, "not_assessable"): -1 for i in range(1, last + 1)}},
            # The first step removes whom its criterion removes alone; the last, whom only it removes.
            {at[("criteria", criteria.iloc[0], "excluded_alone")]: 1, a(1, "excluded"): -1},
            {at[("criteria", criteria.iloc[-1], "excluded_uniquely")]: 1, a(last, "excluded"): -1}]
    for i in range(1, last + 1):
        rels.append({a(i, "entering"): 1, a(i, "excluded"): -1, a(i, "not_assessable"): -1, a(i, "remaining"): -1})
        rels.append({a(i, "entering"): 1, a(i - 1, "remaining"): -1})
    return rels


def site_program(bundle: Bundle) -> Program:
    """Every cell of ``bundle`` this module reads, with every relation between them (see the module's docstring).

    The relations are the ones the library declares for its own audit (:mod:`screening.disclosure.relations`,
    :mod:`screening.disclosure.makeup`, :mod:`screening.engine.relax_counts`), here over the shown text.
    """
    t = bundle.tables
    pub = Shown(read_rule(bundle.provenance.get("disclosure") or {}), cells=Program())
    ids = t["criteria"]["criterion"].tolist()
    if len(t["attrition"]) != len(ids) + 1:
        raise BundleError(f"{bundle.path}: tables/attrition.csv has {len(t['attrition'])} steps for "
                          f"{len(ids)} criteria in criteria.csv (one step per criterion after the extract)")
    declare_funnel(pub, t["headline"], t["attrition"])
    declare_criteria(pub, t["criteria"])
    known = set(ids)
    loo = _frame(bundle, "leave_one_out", ["criterion", "gain"])
    if loo is not None and set(loo["criterion"]) <= known:
        declare_leave_one_out(pub, loo)
    overlap = _frame(bundle, "overlap", [*ids, "patients"])
    if overlap is not None:
        declare_overlap(pub, overlap.assign(**{c: overlap[c].astype(str).str.strip().eq("True") for c in ids}))
    reasons = _frame(bundle, "not_assessable", ["criterion", "missing_any"])
    if reasons is not None and set(reasons["criterion"]) <= known:
        add_not_assessable(pub, reasons, ids)
    _breakdowns(bundle, pub, ids)
    _comparison(bundle, pub)
    _sweeps(bundle, pub)
    _relaxations(bundle, pub, ids)
    return pub.cells


def _breakdowns(bundle: Bundle, pub: Shown, ids: list[str]) -> None:
    """Outcome by site, composition, missingness, and the make-up with exclusions and gains by group."""
    outcome = _frame(bundle, "outcome_by_site", ["site", "eligible", "excluded", "not_assessable", "total"])
    if outcome is not None:
        add_outcome_by(pub, "outcome_by_site", outcome)
    comp = _frame(bundle, "composition", ["column", "group", "population", "patients"])
    if comp is not None:
        comp = comp[comp["population"].isin(["extract", "eligible", "not_assessable"])].reset_index(drop=True)
        add_composition(pub, comp, "outcome_by_site" if outcome is not None else None, "site")
    missing = _frame(bundle, "missingness", ["column", "missing"])
    if missing is not None:
        add_missingness(pub, missing, {})
    m = _frame(bundle, "makeup", ["step", "characteristic", "group", "patients"])
    if m is None:
        return
    m = m.assign(step=pd.to_numeric(m["step"]).astype(int))
    # A characteristic whose small groups were withheld lists fewer groups than its step holds: provenance says which.
    notes = [str(n) for n in bundle.provenance.get("withheld_breakdowns") or [] if isinstance(n, str)]
    complete = {c: not any(n.startswith(f"makeup / {c}: ") and "withheld" in n for n in notes)
                for c in m["characteristic"].unique()}
    differential, gains = {}, {}
    for column in [c for c in complete if complete[c]]:
        d = _frame(bundle, f"differential_{column}", ["criterion", column, "removed_alone", "removed_in_sequence"])
        g = _frame(bundle, f"leave_one_out_{column}", ["criterion", column, "gain"])
        if d is not None and g is not None and set(d["criterion"]) | set(g["criterion"]) <= set(ids):
            differential[column], gains[column] = d.assign(label=""), g.assign(label="")
    declare_makeup(pub, m, complete, differential, gains, ids,
                   ("outcome_by_site", "site") if outcome is not None else None)


def _comparison(bundle: Bundle, pub: Shown) -> None:
    comp = _frame(bundle, "comparison", ["status", "variant"])
    moves = _frame(bundle, "transitions", ["reference", *STATUSES])
    by = _frame(bundle, "by_criterion", ["criterion", "excluded_alone_a", "excluded_alone_b",
                                         "not_assessable_alone_a", "not_assessable_alone_b"])
    if comp is None or moves is None or comp["status"].tolist() != list(STATUSES) \
            or moves["reference"].tolist() != list(STATUSES):
        return
    add_comparison(pub, comp.set_index("status")["variant"], moves.set_index("reference")[list(STATUSES)],
                   by if by is not None else pd.DataFrame(columns=["criterion", "excluded_alone_a", "excluded_alone_b",
                                                                   "not_assessable_alone_a",
                                                                   "not_assessable_alone_b"]))


def _sweeps(bundle: Bundle, pub: Shown) -> None:
    """The library's sweep relations; and, known to any reader, a looser threshold never admits fewer."""
    sweeps = _frame(bundle, "sweeps", ["parameter", "value", *STATUSES])
    if sweeps is None:
        return
    parameters = bundle.provenance.get("parameters") or {}
    values = pd.to_numeric(sweeps["value"], errors="coerce")
    # The row at the protocol's own value, named as the table writes it (a float's text, say).
    current = {name: text for name, text, v in zip(sweeps["parameter"], sweeps["value"], values, strict=True)
               if isinstance(parameters.get(name), int | float) and not isinstance(parameters.get(name), bool)
               and v == float(parameters[name])}
    add_sweeps(pub, sweeps, current)
    rows: dict[str, list] = {}
    for i, (name, value) in enumerate(zip(sweeps["parameter"], values, strict=True)):
        if not np.isnan(value):
            rows.setdefault(str(name), []).append((float(value), i))
    for name, found in rows.items():
        param = name.rsplit(".", 1)[-1]
        for (v1, i1), (v2, i2) in zip(found, found[1:], strict=False):
            loose, strict = (i1, i2) if looser(param, v1, v2) else (i2, i1) if looser(param, v2, v1) else (None, None)
            if loose is not None:  # a looser threshold admits everyone a stricter one does, and excludes fewer
                pub.le(("sweeps", strict, "eligible"), ("sweeps", loose, "eligible"))
                pub.le(("sweeps", loose, "excluded"), ("sweeps", strict, "excluded"))


def _relaxations(bundle: Bundle, pub: Shown, ids: list[str]) -> None:
    known = set(ids)
    shapley = _frame(bundle, "shapley", ["criterion", "shapley"])
    if shapley is not None and set(shapley["criterion"]) == known and len(shapley) == len(known):
        declare_shapley(pub, shapley)
    relax = _frame(bundle, "relaxations", ["relaxation", "eligible", "not_assessable"])
    if relax is not None and all({c.strip() for c in str(r).split("+")} <= known for r in relax["relaxation"]):
        declare_relaxations(pub, relax, ids)
    near = _frame(bundle, "near_misses", ["criterion", "patients"])
    if near is not None and set(near["criterion"]) <= known:
        declare_near_misses(pub, near, ids)


def _matrix(rows: list[dict[int, int]], width: int):
    r = [i for i, rel in enumerate(rows) for _ in rel]
    c = [j for rel in rows for j in rel]
    v = [x for rel in rows for x in rel.values()]
    return coo_array((v, (r, c)), shape=(len(rows), width)).tocsr()


def narrow_headline(bundle: Bundle, cells: pd.DataFrame) -> pd.DataFrame:
    """A site's headline counts, and the funnel cells equal to them, narrowed to the tightest interval every
    published table allows (:func:`tightest`)."""
    ends = tightest(bundle, list(HEADLINE))
    steps = bundle.tables["attrition"]["step"].tolist()
    same = {("headline", m, "patients"): m for m in HEADLINE}  # the network's cells are named by row
    same |= {("attrition", steps[0], "entering"): HEADLINE[0], ("attrition", steps[0], "remaining"): HEADLINE[0],
             ("attrition", steps[-1], "remaining"): HEADLINE[1]}
    keys = list(zip(cells["table"], cells["row"], cells["column"], strict=True))
    low, high = cells["low"].to_numpy().copy(), cells["high"].to_numpy().copy()
    for i, key in enumerate(keys):
        if key in same:
            lo, hi = ends[same[key]]
            low[i], high[i] = max(low[i], lo), min(high[i], hi)  # never wider than the sums alone gave
    # Carry the narrowing along the funnel's sums: step 1 enters what step 0 leaves, in the same interval.
    bounds = tighten(np.stack([low, high], axis=1),
                     funnel_relations(cells, steps, bundle.tables["criteria"]["criterion"]))
    return cells.assign(low=bounds[:, 0], high=bounds[:, 1])


def tightest(bundle: Bundle, measures: list[str]) -> dict[str, tuple[int, int]]:
    """The smallest and largest value of each headline ``measure`` the bundle's published tables allow."""
    key = (bundle.checksum, tuple(measures))  # the checksum covers every file: the same bundle, the same answer
    if key not in _SOLVED:
        try:
            _SOLVED[key] = solve(site_program(bundle), read_rule(bundle.provenance.get("disclosure") or {}),
                                 {m: ("headline", HEADLINE.index(m), "patients") for m in measures})
        except ValueError as exc:
            raise BundleError(f"{bundle.path}: the published tables do not add up under their disclosure rule "
                              f"({exc}); ask the site to send the bundle again") from None
    return _SOLVED[key]


_SOLVED: dict[tuple, dict[str, tuple[int, int]]] = {}


def solve(p: Program, rule, targets: dict[str, tuple]) -> dict[str, tuple[int, int]]:
    """The smallest and largest integer each target cell can take, every cell within what ``rule`` lets its text
    stand for (the first cell, the extract's size, caps them all) and every relation of ``p`` holding.

    >>> p = Program()
    >>> total, a, b = p.add("total", "45"), p.add("a", "≤10"), p.add("b", "35")
    >>> p.total(total, [a, b])
    >>> solve(p, read_rule({"rule": "round", "threshold": 10, "base": 5}), {"a": "a"})
    {'a': (6, 10)}
    """
    top = int(rule.intervals(p.shown[:1])[0, 1])
    bounds = rule.intervals(p.shown, cap=top)
    width = len(p.names)
    equal, at_most = _matrix(p.equalities, width), _matrix(p.inequalities, width)
    constraints = [LinearConstraint(equal, 0, 0), LinearConstraint(at_most, -np.inf, 0)]
    box = Bounds(bounds[:, 0], bounds[:, 1])

    def integral(x: np.ndarray) -> bool:  # a point every relation and interval holds exactly, in whole numbers
        return ((bounds[:, 0] <= x) & (x <= bounds[:, 1])).all() and not (equal @ x).any() and (at_most @ x <= 0).all()

    out = {}
    for label, name in targets.items():
        ends = []
        for sense in (1, -1):
            c = np.zeros(width)
            c[p.at[name]] = sense
            # The linear relaxation first (a third of the time): when its optimum, rounded, is a whole-number
            # point of the program at the relaxation's bound, no integer point does better. Else branch and bound.
            res = milp(c, constraints=constraints, bounds=box)
            x = np.round(res.x) if res.status == 0 else None
            if x is None or not integral(x) or c @ x > np.ceil(res.fun - 1e-6):
                res = milp(c, constraints=constraints, integrality=np.ones(width), bounds=box)
                if res.status != 0:
                    raise ValueError(res.message)
                x = np.round(res.x)
            ends.append(int(round(sense * (c @ x))))
        out[label] = (ends[0], ends[1])
    return out
