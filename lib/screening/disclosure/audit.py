"""The attack on shareable counts: every label and every relation in one linear program.

Counts follow the small-cell rule (:class:`~screening.disclosure.rule.SmallCellRule`),
so a reader knows each label as an interval. Counts in different tables are tied
by relations that follow from how the tables are defined (a funnel step's
entering = excluded + not assessable + remaining, the last step's excluded = the
last criterion's "excluded uniquely", ...; :mod:`screening.disclosure.relations`
declares them). :func:`audit` is that reader's best
attack: for every small count it solves two linear programs (smallest and
largest value consistent with every label and every relation). A small count is
protected when the attack leaves it at least :data:`MIN_VALUES` possible values.
:func:`protect` hides a further count (``*``) only when rounding alone does not
protect; on real extracts that is rare.

Example
-------
>>> cells = Cells(SmallCellRule(threshold=10, base=5))
>>> a, b, total = cells.add(("t", 0, "a"), 3), cells.add(("t", 0, "b"), 40), cells.add(("t", 0, "total"), 43)
>>> cells.equal({total: 1, a: -1, b: -1})
>>> protect(cells)  # counts hidden besides rounding: 40 − 45 no longer pins 3
0
>>> cells.label(a), cells.label(b), cells.label(total)
('≤10', '40', '45')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from screening.disclosure.attack import Attack, ranges, shape_of
from screening.disclosure.rule import HIDDEN, MIN_VALUES, SmallCellRule
from screening.errors import DisclosureError

__all__ = ["Cells", "audit", "ranges", "protect"]


SHOWN, COMPLEMENT, WITHHELD = 0, 2, 3


@dataclass
class Cells:
    """Counts to publish under one rule, and the relations between them that readers know.

    ``equal`` relations say sum(coefficient × count) = 0, ``at_most`` ones say it is ≤ 0.
    ``targets`` are derived counts (a difference of two cells, say) that must be protected like cells.
    """

    rule: SmallCellRule = field(default_factory=SmallCellRule)
    values: list[int] = field(default_factory=list)
    names: list = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    locked: set[int] = field(default_factory=set)
    #: Counts a reader knows are at least 1 (a row listed only when it has patients).
    present: set[int] = field(default_factory=set)
    #: Counts a reader knows are at least so many (a site named only when it has more than the threshold).
    floors: dict[int, int] = field(default_factory=dict)
    #: Counts a reader knows exactly without being told (zero by definition): shown as they are.
    known: set[int] = field(default_factory=set)
    equalities: list[dict[int, float]] = field(default_factory=list)
    inequalities: list[dict[int, float]] = field(default_factory=list)
    targets: list[tuple[dict[int, float], str]] = field(default_factory=list)
    _index: dict = field(default_factory=dict)
    #: the attack of the last audit, kept while the relations stay (:func:`_attack_on`)
    _attack: Attack | None = field(default=None, repr=False, compare=False)
    #: each count's bounds from its rounded label alone, worked out once (:meth:`bounds`)
    _labelled: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_attack": None}  # a solver is not pickled: the next audit builds it again

    def add(self, name, value: int, locked: bool = False, present: bool = False) -> int:
        """Register a count under ``name`` (registering a name twice returns the first cell).

        ``present``: the reader knows the count is at least 1 (its row is only listed when it is).
        """
        if name in self._index:
            return self._index[name]
        idx = len(self.values)
        self._index[name] = idx
        self.values.append(int(value))
        self.names.append(name)
        self.state.append(SHOWN)
        if locked:
            self.locked.add(idx)
        if present:
            self.present.add(idx)
        return idx

    def __getitem__(self, name) -> int:
        return self._index[name]

    def __contains__(self, name) -> bool:
        return name in self._index

    def _checked(self, coefficients: dict, equal: bool) -> dict[int, float]:
        coefficients = {(k if isinstance(k, int) else self._index[k]): c for k, c in coefficients.items()}
        total = sum(c * self.values[i] for i, c in coefficients.items())
        assert (abs(total) < 1e-9) if equal else total <= 1e-9, ([self.names[i] for i in coefficients], total)
        return coefficients

    def equal(self, coefficients: dict) -> None:
        """Publish sum(coefficient × count) = 0 (true of the values; keys are cell ids or names)."""
        self.equalities.append(self._checked(coefficients, True))

    def at_most(self, coefficients: dict) -> None:
        """Publish sum(coefficient × count) ≤ 0."""
        self.inequalities.append(self._checked(coefficients, False))

    def target(self, coefficients: dict, name: str) -> None:
        """A derived count readers may try to learn (e.g. patients gained by a change): protected when small."""
        coefficients = {(k if isinstance(k, int) else self._index[k]): c for k, c in coefficients.items()}
        self.targets.append((coefficients, name))

    def withhold(self, match) -> None:
        """Stop publishing every count whose name ``match(name)`` accepts."""
        for i, name in enumerate(self.names):
            if match(name):
                self.state[i] = WITHHELD

    def label(self, idx) -> str:
        idx = idx if isinstance(idx, int) else self._index[idx]
        if self.state[idx] == WITHHELD:
            return ""
        if self.state[idx] == COMPLEMENT:
            return HIDDEN
        if idx in self.known:
            return str(self.values[idx])
        return self.rule.label(self.values[idx])

    def bounds(self) -> np.ndarray:
        """What a reader knows of each count from its label alone: (n, 2) lowest and highest."""
        top = max(self.values, default=0) * 4 + self.rule.threshold + self.rule.base + 1  # keeps the LPs bounded
        if self._labelled is None or len(self._labelled) != len(self.values):  # counts are only ever added
            self._labelled = self.rule.intervals(self.rule.labels(self.values), cap=top).astype(float)
        out = self._labelled.copy()
        state = np.array(self.state, dtype=np.int64)
        out[state == WITHHELD] = (0, top)
        out[state == COMPLEMENT] = (self.rule.threshold + 1, top)
        for i in self.known:
            if self.state[i] == SHOWN:
                out[i] = (self.values[i], self.values[i])
        for i in self.present:
            out[i, 0] = max(out[i, 0], 1)
        for i, least in self.floors.items():
            out[i, 0] = max(out[i, 0], least)
        return out

    def value(self, expression: dict[int, float]) -> float:
        return sum(c * self.values[i] for i, c in expression.items())


def _narrow(lo: float, hi: float, fewest: int = MIN_VALUES) -> bool:
    return math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) + 1 < fewest


def _at_risk(cells: Cells) -> list[tuple[dict[int, float], object, int]]:
    """Counts the attack must leave enough values: (expression, name, fewest values allowed).

    A small count (shown ``≤N``) and a small derived count (``targets``) keep at least
    :data:`MIN_VALUES` values. A larger count is never pinned exactly: known to within
    two values in each of two reports, their difference still has three.
    """
    t = cells.rule.threshold
    related = {i for r in cells.equalities + cells.inequalities for i in r}
    out = [({i: 1.0}, i, MIN_VALUES if cells.values[i] <= t else 2) for i in sorted(related)
           if cells.values[i] >= 1 and cells.state[i] != WITHHELD and i not in cells.known]
    for expression, name in cells.targets:
        if 1 <= abs(cells.value(expression)) <= t:
            out.append((expression, name, MIN_VALUES))
    return out


def audit(cells: Cells, only: set | None = None) -> list[tuple[object, float, float]]:
    """Counts the attack narrows too far (see :func:`_at_risk`): (cell id or target name, lowest, highest).

    ``only``: look at these counts (cell ids or target names) alone.

    Feasible points found cheaply clear most counts at once, for each point shows a value the count can
    take: the truth, the optima of random objectives, then of objectives pushing every count still
    uncleared the way it has room to go. Only the rest get exact linear programs, the side with more
    room first (the other only when that one alone does not clear the count); each optimum found joins
    the points. Which counts leak, and their ranges, are exactly those of two exact programs per count.
    """
    if cells.rule.internal:
        return []
    risky = [r for r in _at_risk(cells) if only is None or r[1] in only]
    if not risky:
        return []
    attack = _attack_on(cells)
    points = attack.points if len(attack.points) > 1 else attack.witnesses(attack.points[0])
    key = tuple(name for _, name, _ in risky)
    if attack.weights[0] != key:  # the same counts at risk round after round: their weights built once
        attack.weights = key, _weights(risky, attack)
    weights = attack.weights[1]
    fewest = np.array([f for _, _, f in risky])
    room = attack.bounds  # lowest and highest each count's label allows
    plus, minus = weights.maximum(0), weights.minimum(0)
    low, high = plus @ room[:, 0] + minus @ room[:, 1], plus @ room[:, 1] + minus @ room[:, 0]

    def seen(among) -> tuple[np.ndarray, np.ndarray]:  # each count's lowest and highest over the points
        values = weights[among] @ points.T
        return values.min(axis=1), values.max(axis=1)

    def narrow(lo, hi, k) -> np.ndarray:
        return np.floor(hi + 1e-6) - np.ceil(lo - 1e-6) + 1 < fewest[k]

    left = np.arange(len(risky))
    left = left[narrow(*seen(left), left)]
    for _ in range(3):  # push the uncleared counts all at once, each toward the side with more room
        if len(left) < 2:
            break
        lo, hi = seen(left)
        push = weights[left].T @ np.where(high[left] - hi >= lo - low[left], 1.0, -1.0)
        points = np.vstack([points, attack.optimum({attack.used[j]: push[j] for j in np.flatnonzero(push)},
                                                   maximize=True)[1]])
        still = left[narrow(*seen(left), left)]
        if len(still) == len(left):
            break
        left = still
    leaks = []
    for k in left:
        expression, name, _ = risky[k]
        (lo,), (hi,) = seen([k])
        if not narrow(lo, hi, k):  # cleared by a point an earlier count's program found
            continue
        up = high[k] - hi >= lo - low[k]
        value, point = attack.optimum(expression, maximize=up)
        points = np.vstack([points, point])
        if narrow(lo if up else value, value if up else hi, k):
            lo, hi = attack.range(expression)
            if narrow(lo, hi, k):
                leaks.append((name, lo, hi))
    attack.points = points[:_POINTS_KEPT]
    return leaks


#: Feasible points an attack keeps for the next audit of the same counts (the truth and the first found).
_POINTS_KEPT = 64


def _weights(risky: list, attack: Attack):
    """Each count at risk as a sparse row of weights over the model's columns: its values at many points in
    one product."""
    from scipy.sparse import csr_matrix

    entries = [(k, attack.pos[i], c) for k, (expression, _, _) in enumerate(risky) for i, c in expression.items()]
    row, col, weight = (np.array(v) for v in zip(*entries, strict=True))
    return csr_matrix((weight.astype(float), (row, col)), shape=(len(risky), len(attack.used)))


def _attack_on(cells: Cells) -> Attack:
    """The attack on ``cells``, built once while no count or relation is added: protection audits again after
    each count it hides, which only widens that count's bounds, so the model is kept, its bounds moved, and
    every point found so far that still lies within them is a feasible point again."""
    attack = cells._attack
    if attack is None or attack.shape != shape_of(cells):
        attack = cells._attack = Attack(cells)
    else:
        attack.rebound(cells)
    return attack


#: Rounds in a row the same leak may survive both ways of closing it before protection gives up on it.
STUCK_ROUNDS = 3


def protect(cells: Cells, max_rounds: int = 50) -> int:
    """Hide more counts until :func:`audit` narrows no small count; returns how many are hidden besides rounding."""
    if cells.rule.internal:
        return 0
    before, stuck = None, 0
    for _ in range(max_rounds):
        leaks = audit(cells)
        if not leaks:
            return sum(1 for s in cells.state if s == COMPLEMENT)
        # The nearest counts hidden last round left the same leak: try the counts it is summed with first.
        same = [n for n, _, _ in leaks] == before
        pick = _closing_neighbour(cells, leaks) if same else None
        stuck = stuck + 1 if same and pick is None else 0
        if stuck > STUCK_ROUNDS:
            break  # hiding ever farther counts rarely closes it: let the caller withhold the block instead
        chosen = {pick} if pick is not None else \
            {j for j in (_complement_for(cells, _members(cells, n)) for n, _, _ in leaks) if j is not None}
        before = [n for n, _, _ in leaks]
        if not chosen:
            where = ", ".join(str(cells.names[n]) if isinstance(n, int) else str(n) for n, _, _ in leaks[:3])
            raise DisclosureError(
                f"Counts this small cannot be shared at a small-cell threshold of {cells.rule.threshold}: "
                f"the tables' own sums narrow them (e.g. {where}). Share a larger extract, or use --internal "
                "for a report kept internal.",
                cells=_leak_cells(cells, leaks))
        for j in chosen:
            cells.state[j] = COMPLEMENT
    # Hiding more counts kept failing to close a leak (a difference between published counts, say):
    # name the counts it runs through, so the caller can withhold the tables that hold them.
    raise DisclosureError(f"Small-cell protection did not converge at a threshold of {cells.rule.threshold}.",
                          cells=_leak_cells(cells, audit(cells)))


def _members(cells: Cells, name) -> list[int]:
    """The counts a leak is about: the count itself, or every count of a derived one."""
    return [name] if isinstance(name, int) else next(list(e) for e, n in cells.targets if n == name)


def _closing_neighbour(cells: Cells, leaks) -> int | None:
    """A shown count, above the threshold, in a sum with a leaked count, whose hiding alone closes that leak.

    Tried smallest first: a reader loses least when a small count is hidden. Each try is one audit, and this
    runs only when hiding the nearest counts made no progress (eligible pinned by the headline's own sums).
    """
    for name, _, _ in leaks:
        members = set(_members(cells, name))
        near = {j for eq in cells.equalities if members & eq.keys() for j in eq}
        for j in sorted(near - members, key=lambda j: (cells.values[j], j)):
            if cells.state[j] != SHOWN or j in cells.known or cells.values[j] <= cells.rule.threshold:
                continue
            cells.state[j] = COMPLEMENT
            closed = not audit(cells, only={name})
            cells.state[j] = SHOWN
            if closed:
                return j
    return None


def _leak_cells(cells: Cells, leaks) -> list:
    """The names of the counts each leak runs through: the count itself, or every count of a derived one."""
    out = []
    for n, _, _ in leaks:
        out += [cells.names[i] for i in _members(cells, n) if cells.names[i] not in out]
    return out


def _complement_for(cells: Cells, start: list[int]) -> int | None:
    """A count to hide for a leak at ``start``: the nearest one in the web of relations, above the threshold.

    Nearest first, because a count in the leak's own relations breaks the attack most directly;
    a locked count (the funnel's) only when no other is as near.
    """
    by_cell: dict[int, list[dict]] = {}
    for r in cells.equalities + cells.inequalities:
        for j in r:
            by_cell.setdefault(j, []).append(r)
    frontier, seen = list(start), set(start)
    while frontier:
        free, locked, nxt = [], [], []
        for c in frontier:
            for r in by_cell.get(c, []):
                for j in r:
                    if j in seen:
                        continue
                    seen.add(j)
                    nxt.append(j)
                    if cells.state[j] == SHOWN and cells.values[j] > cells.rule.threshold:
                        (locked if j in cells.locked else free).append(j)
        candidates = free or locked
        if candidates:
            # Fewest relations first (hiding a well-connected count forces more hiding), then smallest.
            return min(candidates, key=lambda j: (len(by_cell.get(j, [])), cells.values[j]))
        frontier = nxt
    return None
