"""An outsider's linear- and integer-programming attacks on published counts, independent of the library's audit.

:func:`narrowed`: linear programs over hand-written relations. :func:`pinned`: whole numbers over every label and
relation of one report. :func:`differences_pinned`: two releases of extracts one patient apart, each pair of
counts tied to differ by at most one, attacked together.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array


def _matrix(rows: list[dict[int, float]], width: int) -> np.ndarray:
    out = np.zeros((len(rows), width))
    for r, coefs in enumerate(rows):
        for j, c in coefs.items():
            out[r, j] += c
    return out


def narrowed(names: list[tuple], bounds: list[tuple], equalities: list[dict[int, float]],
             inequalities: list[dict[int, float]], small: str, fewest: int) -> list[tuple]:
    """Counts shown as ``small`` that the relations narrow to fewer than ``fewest`` values: (key, lowest, highest).

    ``names`` holds (key, label) per variable; ``equalities`` say sum = 0, ``inequalities`` sum ≤ 0.
    """
    kw = dict(A_eq=_matrix(equalities, len(names)), b_eq=np.zeros(len(equalities)), bounds=bounds, method="highs")
    if inequalities:
        kw.update(A_ub=_matrix(inequalities, len(names)), b_ub=np.zeros(len(inequalities)))
    leaks = []
    for j, (key, label) in enumerate(names):
        if label != small:
            continue
        c = np.zeros(len(names))
        c[j] = 1
        lo, hi = linprog(c, **kw).fun, -linprog(-c, **kw).fun
        if np.floor(hi + 1e-6) - np.ceil(lo - 1e-6) + 1 < fewest:
            leaks.append((key, lo, hi))
    return leaks


class _Program:
    """Whole-number counts within ``bounds`` under ``lo ≤ A x ≤ hi``; the truth is one solution."""

    def __init__(self, bounds: np.ndarray, rows: list[tuple[dict[int, float], float, float]], truth) -> None:
        n = len(bounds)
        self.n, self.bounds = n, bounds
        self.truth = np.asarray(truth, dtype=float)
        r, c, v = zip(*[(k, j, x) for k, (coefs, _, _) in enumerate(rows) for j, x in coefs.items()], strict=True)
        a = csr_array((v, (r, c)), shape=(len(rows), n))
        self.constraints = [LinearConstraint(a, [lo for _, lo, _ in rows], [hi for _, _, hi in rows])]
        # Every solution found so far, kept as each count's lowest and highest value among them.
        self.low, self.high = self.truth.copy(), self.truth.copy()
        self.solves = 0

    def solve(self, cost: np.ndarray, bounds: np.ndarray | None = None) -> bool:
        """One integer program (within ``bounds``, default the labels'); its solution widens low and high."""
        box = self.bounds if bounds is None else bounds
        res = milp(cost, constraints=self.constraints, integrality=np.ones(self.n),
                   bounds=Bounds(box[:, 0], box[:, 1]))
        self.solves += 1
        if res.status == 2 and bounds is not None:  # no whole-number solution within the narrowed bounds
            return False
        assert res.status == 0, res.message  # the truth is feasible: the relations hold for the true counts
        x = np.round(res.x)
        np.minimum(self.low, x, out=self.low)
        np.maximum(self.high, x, out=self.high)
        return True

    def pinned(self, candidates, seed: int = 0) -> list[int]:
        """Those of ``candidates`` (variable positions) every whole-number solution gives one value.

        A count two solutions give different values is not pinned, so solutions that move many counts at
        once come first: every count not yet moved is pushed away from the end of its range it sits at, in
        one program, until a round moves none. What is left is asked twice: is there any solution with this
        count above its true value, any below? (A search for one solution, not for the best.)
        """
        rng = np.random.default_rng(seed)
        still = np.asarray(sorted(candidates), dtype=np.int64)
        still = still[self.low[still] == self.high[still]]
        while len(still):
            at_floor, at_top = self.low[still] <= self.bounds[still, 0], self.high[still] >= self.bounds[still, 1]
            way = np.where(at_floor, -1.0, np.where(at_top, 1.0, rng.choice([-1.0, 1.0], size=len(still))))
            cost = np.zeros(self.n)
            cost[still] = way * rng.uniform(0.5, 1.5, size=len(still))
            before = len(still)
            self.solve(cost)
            still = still[self.low[still] == self.high[still]]
            if len(still) == before:
                break
        out = []
        for i in still:
            for side in (1, 0):  # a solution above the true value (raise the lower bound), then below
                value = self.truth[i] + (1 if side else -1)
                if self.low[i] < self.high[i] or not self.bounds[i, 0] <= value <= self.bounds[i, 1]:
                    continue
                box = self.bounds.copy()
                box[i, 1 - side] = value
                self.solve(np.zeros(self.n), box)
            if self.low[i] == self.high[i]:
                out.append(int(i))
        return out


def _rows(cells, offset: int = 0) -> list[tuple[dict[int, float], float, float]]:
    """A report's relations as rows ``lo ≤ sum ≤ hi`` over variables starting at ``offset``."""
    shift = lambda r: {offset + i: c for i, c in r.items()}  # noqa: E731
    return [(shift(r), 0.0, 0.0) for r in cells.equalities] + \
        [(shift(r), -np.inf, 0.0) for r in cells.inequalities]


def _attacked(cells) -> list[int]:
    """Counts a reader does not know already (a zero the protocol forces) and that are shown, not withheld."""
    bounds = cells.bounds()
    return [i for i in range(len(cells.values))
            if i not in cells.known and cells.state[i] == 0 and bounds[i, 0] < bounds[i, 1]]


def pinned(cells, extra: list[tuple[dict[int, float], float, float]] = (), seed: int = 0) -> list[tuple]:
    """Data-dependent counts an integer program over every label and relation pins to one value: (name, value).

    ``cells``: a :class:`~screening.disclosure.audit.Cells` with its labels' states set as published; every cell
    the reader does not already know (a structural zero) and that is shown (not withheld) is attacked.
    ``extra``: further relations the attacker knows, ``lo ≤ sum(coefficient × count) ≤ hi``. Counts are whole
    numbers (``scipy.optimize.milp``), a stronger attack than the library's own linear program.
    """
    program = _Program(cells.bounds(), _rows(cells) + list(extra), cells.values)
    return [(cells.names[i], int(program.low[i])) for i in program.pinned(_attacked(cells), seed)]


def _row_keys(pub) -> dict[str, list[tuple]]:
    """What names each row to a reader: its columns other than counts (a row's position may differ between
    releases)."""
    return {table: list(frame.drop(columns=pub.columns[table]).astype(str).itertuples(index=False, name=None))
            for table, frame in pub.tables.items()}


def differences_pinned(a, b, untied: tuple[str, ...] = ("shapley",)) -> dict[str, list]:
    """Two releases of extracts one patient apart (one patient out, one in), attacked as one integer program.

    ``a``, ``b``: each a :class:`~screening.disclosure.relations.Published` with its states set as published.
    Every count of patients moves by at most one between them, so each pair of counts (the same table, row
    and column) is tied: ``-1 ≤ b − a ≤ 1``; not ``untied`` tables (Shapley shares are apportioned, not counted).
    Returns the counts pinned in either release (``"a"``, ``"b"``: ``(name, value)``) and the differences
    pinned (``"moved"``: ``(name in a, b − a)``); a difference pinned to ±1 says which group the patient who
    left or came is in.
    """
    na = len(a.cells.values)
    width = na + len(b.cells.values)
    where = {}
    for tag, pub, offset in (("a", a, 0), ("b", b, na)):
        keys = _row_keys(pub)
        for name, i in pub.cells._index.items():
            table, row, col = name
            where[(tag, table, keys[table][row], col)] = offset + i
    pairs = [(where[("a", *key[1:])], ib) for key, ib in where.items()
             if key[0] == "b" and ("a", *key[1:]) in where and key[1] not in untied]
    # Each difference is a variable of its own, d = b − a, so the attack pins it as it pins a count.
    rows = _rows(a.cells) + _rows(b.cells, na) + [({width + k: 1.0, ib: -1.0, ia: 1.0}, 0.0, 0.0)
                                                  for k, (ia, ib) in enumerate(pairs)]
    bounds = np.vstack([a.cells.bounds(), b.cells.bounds(), np.tile([-1.0, 1.0], (len(pairs), 1))])
    truth = list(a.cells.values) + list(b.cells.values)
    truth += [truth[ib] - truth[ia] for ia, ib in pairs]
    program = _Program(bounds, rows, truth)
    attacked = _attacked(a.cells) + [na + i for i in _attacked(b.cells)]
    either = set(attacked)
    moved = [width + k for k, (ia, ib) in enumerate(pairs) if ia in either or ib in either]
    found = sorted(program.pinned(attacked + moved))
    return {"a": [(a.cells.names[i], int(program.low[i])) for i in found if i < na],
            "b": [(b.cells.names[i - na], int(program.low[i])) for i in found if na <= i < width],
            "moved": [(a.cells.names[pairs[i - width][0]], int(program.low[i])) for i in found if i >= width]}
