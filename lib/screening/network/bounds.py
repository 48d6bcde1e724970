"""The tightest interval a site's published tables allow for its headline counts: one integer program per count.

A site publishes each count rounded or as ``≤10``, so each shown cell stands for
an interval (:mod:`screening.disclosure.published`). Summing those intervals over
the sites treats every cell as unrelated to the others, but a site's tables are
tied by what they mean. :func:`site_program` writes every relation this module
reads from the published tables as one integer program over the site's cells:

* the funnel: each step's entering = excluded + not assessable + remaining, the
  next step enters with what the last one kept, the headline's totals
  (:func:`funnel_relations`);
* ``outcome_by_site`` and each ``composition`` block add up to the headline;
* ``makeup``: a step's groups add up to its remaining (at most, when a group was
  withheld), and no group grows from one step to the next;
* ``comparison`` and ``transitions``: the reference column is the headline, each
  row of moves adds up to its reference status, each column to the variant's;
* ``sweeps``: each row adds up to the extract, the protocol's own value gives the
  headline, and as a threshold loosens (:func:`~screening.engine.frontier.looser`)
  eligibility never falls and exclusion never rises;
* ``relaxations``: one criterion dropped gives eligible + its gain if dropped;
  dropping criteria never shrinks the eligible pool, nor its upper end, and never
  exceeds the extract; ``leave_one_out``'s gain is the criteria table's;
* ``shapley``: the shares add up to the excluded, each between its criterion's
  unique and alone exclusions.

Sites hold different patients and nothing published ties one site's counts to
another's, so the network's tightest interval is the sum of each site's tightest
(:func:`tightest`, HiGHS through :func:`scipy.optimize.milp`, integer counts).
Every relation holds for the true counts, so the interval always holds them.
Tables not read here (``differential_*``, ``near_misses``, ``overlap``, ...) might
narrow it further: the interval is the tightest these relations allow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from screening.disclosure.bundle import Bundle
from screening.disclosure.published import read_rule
from screening.engine.frontier import looser
from screening.engine.status import STATUSES
from screening.errors import BundleError

__all__ = ["site_program", "tightest", "solve", "narrow_headline", "funnel_relations", "Program", "METHOD", "HEADLINE",
           "STEP_COLUMNS", "CRITERIA_COLUMNS"]

#: How the network's intervals were found, in words (the network report's provenance).
METHOD = ("each site's headline counts are the smallest and largest integers consistent with every cell that site "
          "published (each an interval under its disclosure rule) and with every relation its tables' definitions "
          "imply (funnel sums, site, composition and make-up totals, comparison and transitions, sweeps, "
          "relaxations, Shapley shares), found by integer programming (HiGHS); the network's interval is the sum "
          "of the sites', since no published count ties one site's patients to another's")
HEADLINE = ("patients in extract", "eligible on registry data", "not assessable (data missing)",
            "eligible if every not-assessable patient qualified", "excluded")
STEP_COLUMNS = ["entering", "excluded", "not_assessable", "remaining"]
CRITERIA_COLUMNS = ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"]
HEAD = {"eligible": "eligible on registry data", "excluded": "excluded",
        "not_assessable": "not assessable (data missing)"}


class Program:
    """Cells (each shown as text) and linear relations between them: ``equal`` says sum = 0, ``at_most`` ≤ 0."""

    def __init__(self) -> None:
        self.names: list[tuple] = []
        self.shown: list[str] = []
        self.at: dict[tuple, int] = {}
        self.equal: list[dict[int, int]] = []
        self.at_most: list[dict[int, int]] = []

    def add(self, name: tuple, shown) -> int:
        if name not in self.at:
            self.at[name] = len(self.names)
            self.names.append(name)
            self.shown.append("" if pd.isna(shown) else str(shown))
        return self.at[name]

    def same(self, a: int, b: int) -> None:
        self.equal.append({a: 1, b: -1} if a != b else {})

    def total(self, whole: int, parts: list[int]) -> None:
        rel: dict[int, int] = {whole: 1}
        for p in parts:
            rel[p] = rel.get(p, 0) - 1
        self.equal.append(rel)

    def le(self, small: list[int], large: list[int]) -> None:
        rel: dict[int, int] = {}
        for p in small:
            rel[p] = rel.get(p, 0) + 1
        for p in large:
            rel[p] = rel.get(p, 0) - 1
        self.at_most.append(rel)


def _frame(bundle: Bundle, name: str, columns: list[str]) -> pd.DataFrame | None:
    """A table of the bundle holding ``columns``, or None (an older bundle, or a table withheld whole)."""
    table = bundle.tables.get(name)
    if table is None or not len(table) or not set(columns) <= set(table.columns):
        return None
    return table.reset_index(drop=True)


def funnel_relations(cells: pd.DataFrame, steps: list[str], criteria: pd.Series) -> list[dict[int, int]]:
    """The sums every report's tables satisfy, over positions in ``cells``."""
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
    """Every cell of ``bundle`` this module reads, with every relation between them (see the module's docstring)."""
    t, p = bundle.tables, Program()
    for m, v in zip(t["headline"]["measure"], t["headline"]["patients"], strict=True):
        p.add(("headline", m, "patients"), v)
    steps = t["attrition"]["step"].tolist()
    for _, r in t["attrition"].iterrows():
        for col in STEP_COLUMNS:
            p.add(("attrition", r["step"], col), r[col])
    ids = t["criteria"]["criterion"]
    for _, r in t["criteria"].iterrows():
        for col in CRITERIA_COLUMNS:
            p.add(("criteria", r["criterion"], col), r[col])
    cells = pd.DataFrame(p.names, columns=["table", "row", "column"])
    p.equal += funnel_relations(cells, steps, ids)
    head = {k: p.at[("headline", m, "patients")] for k, m in HEAD.items()}
    n = p.at[("headline", HEADLINE[0], "patients")]
    _outcome_and_composition(bundle, p, head, n)
    _makeup(bundle, p, steps)
    _comparison(bundle, p, head, n)
    _sweeps(bundle, p, head, n)
    _relaxations(bundle, p, head, n, ids)
    return p


def _outcome_and_composition(bundle: Bundle, p: Program, head: dict, n: int) -> None:
    every = dict(head, total=n, extract=n)
    outcome = _frame(bundle, "outcome_by_site", [*HEAD, "total"])
    if outcome is not None:
        cols = [*HEAD, "total"]
        cells = [[p.add(("outcome_by_site", i, c), outcome[c].iloc[i]) for c in cols] for i in range(len(outcome))]
        for row in cells:
            p.total(row[3], row[:3])
        for j, c in enumerate(cols):
            p.total(every[c], [row[j] for row in cells])
    comp = _frame(bundle, "composition", ["column", "group", "population", "patients"])
    if comp is not None:
        for (_, population), block in comp.groupby(["column", "population"], sort=False):
            parts = [p.add(("composition", i, "patients"), block["patients"][i]) for i in block.index]
            if population in every:
                p.total(every[population], parts)


def _makeup(bundle: Bundle, p: Program, steps: list) -> None:
    m = _frame(bundle, "makeup", ["step", "characteristic", "group", "patients"])
    if m is None:
        return
    remaining = {str(s): p.at[("attrition", s, "remaining")] for s in steps}
    # A characteristic whose small groups were withheld lists fewer groups than its step holds: provenance says which.
    notes = [str(n) for n in bundle.provenance.get("withheld_breakdowns") or [] if isinstance(n, str)]
    partial = {c for c in m["characteristic"].unique() if any(n.startswith(f"makeup / {c}: ") and "withheld" in n
                                                               for n in notes)}
    previous: dict[tuple, int] = {}
    for (char, step), block in m.groupby(["characteristic", "step"], sort=False):
        parts = [p.add(("makeup", i, "patients"), block["patients"][i]) for i in block.index]
        if str(step) not in remaining:
            continue
        if char in partial or (block["patients"].astype(str).str.strip() == "").any():
            p.le(parts, [remaining[str(step)]])
        else:
            p.total(remaining[str(step)], parts)
        for i, cell in zip(block.index, parts, strict=True):
            key = (char, block["group"][i])
            if key in previous:
                p.le([cell], [previous[key]])  # a group only loses patients along the funnel
            previous[key] = cell


def _comparison(bundle: Bundle, p: Program, head: dict, n: int) -> None:
    comp = _frame(bundle, "comparison", ["status", "reference", "variant"])
    moves = _frame(bundle, "transitions", ["reference", *STATUSES])
    if comp is None or moves is None or comp["status"].tolist() != list(STATUSES) \
            or moves["reference"].tolist() != list(STATUSES):
        return
    ref = [p.add(("comparison", s, "reference"), comp["reference"][i]) for i, s in enumerate(STATUSES)]
    var = [p.add(("comparison", s, "variant"), comp["variant"][i]) for i, s in enumerate(STATUSES)]
    for s, cell in zip(STATUSES, ref, strict=True):
        p.same(cell, head[s])
    p.total(n, var)
    grid = [[p.add(("transitions", a, b), moves[b][i]) for b in STATUSES] for i, a in enumerate(STATUSES)]
    for i in range(3):
        p.total(ref[i], grid[i])
        p.total(var[i], [grid[a][i] for a in range(3)])


def _sweeps(bundle: Bundle, p: Program, head: dict, n: int) -> None:
    sweeps = _frame(bundle, "sweeps", ["parameter", "value", *STATUSES])
    if sweeps is None:
        return
    current = bundle.provenance.get("parameters") or {}
    rows: dict[str, list] = {}
    for i, (name, value) in enumerate(zip(sweeps["parameter"], sweeps["value"], strict=True)):
        cells = {s: p.add(("sweeps", i, s), sweeps[s][i]) for s in STATUSES}
        p.total(n, list(cells.values()))
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if name in current and isinstance(current[name], int | float) and float(current[name]) == value:
            for s in STATUSES:
                p.same(cells[s], head[s])
        rows.setdefault(str(name), []).append((value, cells))
    for name, values in rows.items():
        param = name.rsplit(".", 1)[-1]
        for (v1, c1), (v2, c2) in zip(values, values[1:], strict=False):
            loose, strict = (c1, c2) if looser(param, v1, v2) else (c2, c1) if looser(param, v2, v1) else (None, None)
            if loose is not None:  # a looser threshold admits everyone a stricter one does, and excludes fewer
                p.le([strict["eligible"]], [loose["eligible"]])
                p.le([loose["excluded"]], [strict["excluded"]])


def _relaxations(bundle: Bundle, p: Program, head: dict, n: int, ids: pd.Series) -> None:
    known = set(ids)
    gain = {c: p.at[("criteria", c, "gain_if_dropped")] for c in known}
    loo = _frame(bundle, "leave_one_out", ["criterion", "gain"])
    if loo is not None:
        for i, c in enumerate(loo["criterion"]):
            if c in known:
                p.same(p.add(("leave_one_out", i, "gain"), loo["gain"][i]), gain[c])
    relax = _frame(bundle, "relaxations", ["relaxation", "eligible", "not_assessable"])
    if relax is not None:
        for i, name in enumerate(relax["relaxation"]):
            e = p.add(("relaxations", i, "eligible"), relax["eligible"][i])
            u = p.add(("relaxations", i, "not_assessable"), relax["not_assessable"][i])
            p.le([head["eligible"]], [e])
            p.le([head["eligible"], head["not_assessable"]], [e, u])
            p.le([e, u], [n])
            dropped = [c.strip() for c in str(name).split("+")]
            if len(dropped) == 1 and dropped[0] in known:
                p.total(e, [head["eligible"], gain[dropped[0]]])
    shapley = _frame(bundle, "shapley", ["criterion", "shapley"])
    if shapley is not None and set(shapley["criterion"]) <= known and len(shapley) == len(known):
        cells = [p.add(("shapley", c, "shapley"), shapley["shapley"][i]) for i, c in enumerate(shapley["criterion"])]
        p.total(head["excluded"], cells)
        for c, cell in zip(shapley["criterion"], cells, strict=True):
            p.le([p.at[("criteria", c, "excluded_uniquely")]], [cell])
            p.le([cell], [p.at[("criteria", c, "excluded_alone")]])


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
    same = {("headline", m, "patients"): m for m in HEADLINE}
    same |= {("attrition", steps[0], "entering"): HEADLINE[0], ("attrition", steps[0], "remaining"): HEADLINE[0],
             ("attrition", steps[-1], "remaining"): HEADLINE[1]}
    keys = list(zip(cells["table"], cells["row"], cells["column"], strict=True))
    low, high = cells["low"].to_numpy().copy(), cells["high"].to_numpy().copy()
    for i, key in enumerate(keys):
        if key in same:
            lo, hi = ends[same[key]]
            low[i], high[i] = max(low[i], lo), min(high[i], hi)  # never wider than the sums alone gave
    return cells.assign(low=low, high=high)


def tightest(bundle: Bundle, measures: list[str]) -> dict[str, tuple[int, int]]:
    """The smallest and largest value of each headline ``measure`` the bundle's published tables allow."""
    key = (bundle.checksum, tuple(measures))  # the checksum covers every file: the same bundle, the same answer
    if key not in _SOLVED:
        try:
            _SOLVED[key] = solve(site_program(bundle), read_rule(bundle.provenance.get("disclosure") or {}),
                                 {m: ("headline", m, "patients") for m in measures})
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
    constraints = [LinearConstraint(_matrix(p.equal, width), 0, 0)] if p.equal else []
    if p.at_most:
        constraints.append(LinearConstraint(_matrix(p.at_most, width), -np.inf, 0))
    box = Bounds(bounds[:, 0], bounds[:, 1])
    out = {}
    for label, name in targets.items():
        ends = []
        for sense in (1, -1):
            c = np.zeros(width)
            c[p.at[name]] = sense
            res = milp(c, constraints=constraints, integrality=np.ones(width), bounds=box)
            if res.status != 0:
                raise ValueError(res.message)
            ends.append(int(round(sense * res.fun)))
        out[label] = (ends[0], ends[1])
    return out
