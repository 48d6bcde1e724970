"""The reader's attack on published counts as one linear program: every label a bound, every relation a row.

:class:`Attack` holds the model (HiGHS) over the counts that take part in a relation; only the
objective changes between solves, and :meth:`Attack.rebound` moves the bounds when a label
changes (a count hidden), keeping the feasible points found so far that still fit. The audit
(:mod:`screening.disclosure.audit`) decides from it which counts are narrowed too far.

Example
-------
>>> from screening.disclosure.audit import Cells
>>> cells = Cells()
>>> a, b, total = cells.add("a", 3), cells.add("b", 40), cells.add("total", 43)
>>> cells.equal({total: 1, a: -1, b: -1})
>>> ranges(cells, [{a: 1}])  # 45 − 40 as shown (43 to 47, 38 to 42): a is anything from 1 to 9
[(1.0, 9.0)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from screening.disclosure.audit import Cells

__all__ = ["Attack", "ranges", "shape_of"]


class Attack:
    """One linear program over every published count; only the objective changes between solves."""

    def __init__(self, cells: Cells) -> None:
        import highspy
        from scipy.sparse import csc_matrix

        rows = cells.equalities + cells.inequalities
        self.used = sorted({i for r in rows for i in r} | {i for t, _ in cells.targets for i in t})
        self.pos = {c: j for j, c in enumerate(self.used)}
        n = len(self.used)
        r_idx, c_idx, data = [], [], []
        for k, r in enumerate(rows):
            for i, coef in r.items():
                r_idx.append(k)
                c_idx.append(self.pos[i])
                data.append(coef)
        a = csc_matrix((data, (r_idx, c_idx)), shape=(len(rows), n))
        bounds = cells.bounds()[self.used] if n else np.zeros((0, 2))
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(rows)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_, lp.col_upper_ = bounds[:, 0].copy(), bounds[:, 1].copy()
        lp.row_lower_ = np.array([0.0] * len(cells.equalities) + [-inf] * len(cells.inequalities))
        lp.row_upper_ = np.zeros(len(rows))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        # Between solves only the objective changes, so the last optimal basis stays feasible: primal simplex
        # starts from it (a tenth of a millisecond a solve here, dual simplex and presolve three times that).
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("simplex_strategy", 4)
        self.h.passModel(lp)
        self._sense = highspy.ObjSense
        self._optimal = highspy.HighsModelStatus.kOptimal
        self.shape = shape_of(cells)
        self.bounds = bounds
        #: the counts at risk the audit last looked at, and their weights over the columns
        self.weights: tuple = ((), None)
        #: feasible points found so far (one row each), the truth first
        self.points = np.array(cells.values, dtype=float)[self.used][None, :]

    def rebound(self, cells: Cells) -> None:
        """The same relations under the labels as they are now (a count hidden since): new column bounds,
        and only the points found so far that lie within them."""
        bounds = cells.bounds()[self.used] if self.used else np.zeros((0, 2))
        changed = np.flatnonzero((bounds != self.bounds).any(axis=1)).astype(np.int32)
        if len(changed):
            self.h.changeColsBounds(len(changed), changed, bounds[changed, 0].copy(), bounds[changed, 1].copy())
            self.bounds = bounds
            inside = ((self.points >= bounds[:, 0] - 1e-6) & (self.points <= bounds[:, 1] + 1e-6)).all(axis=1)
            self.points = self.points[inside]

    def optimum(self, expression: dict[int, float], maximize: bool = False) -> tuple[float, np.ndarray]:
        """The lowest (or highest) value of ``expression`` every label and relation allow, and a point reaching it."""
        return self._solve(expression, self._sense.kMaximize if maximize else self._sense.kMinimize)

    def range(self, expression: dict[int, float]) -> tuple[float, float]:
        return self._solve(expression, self._sense.kMinimize)[0], self._solve(expression, self._sense.kMaximize)[0]

    def _solve(self, expression: dict[int, float], sense) -> tuple[float, np.ndarray]:
        cols = np.array([self.pos[i] for i in expression], dtype=np.int32)
        self.h.changeColsCost(len(cols), cols, np.array(list(expression.values()), dtype=float))
        self.h.changeObjectiveSense(sense)
        self.h.run()
        if self.h.getModelStatus() != self._optimal:
            raise RuntimeError("disclosure audit: the published counts admit no solution")
        value = self.h.getInfo().objective_function_value
        point = np.asarray(self.h.getSolution().col_value)
        self.h.changeColsCost(len(cols), cols, np.zeros(len(cols)))
        return value, point

    def witnesses(self, truth: np.ndarray, count: int = 4) -> np.ndarray:
        """Feasible points: the truth and the optima of random objectives, pushing many counts at once."""
        rng = np.random.default_rng(0)
        points = [truth]
        everything = list(range(len(self.used)))
        for _ in range(count):
            signs = rng.choice([-1.0, 1.0], size=len(everything))
            _, point = self._solve({self.used[j]: signs[j] for j in everything}, self._sense.kMinimize)
            points.append(point)
        return np.array(points)


def ranges(cells: Cells, expressions: list[dict[int, float]]) -> list[tuple[float, float]]:
    """Smallest and largest value of each expression given every label and relation (one LP model, re-solved)."""
    if not expressions:
        return []
    attack = Attack(cells)
    return [attack.range(e) for e in expressions]


def shape_of(cells: Cells) -> tuple[int, int, int, int]:
    """What an attack is built for: how many counts, equalities, inequalities and derived counts."""
    return len(cells.values), len(cells.equalities), len(cells.inequalities), len(cells.targets)
