"""An outsider's linear-programming attack on published counts, independent of the library's own audit."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog


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


def pinned(cells, extra: list[tuple[dict[int, float], float, float]] = (), witnesses: int = 6,
           seed: int = 0) -> list[tuple]:
    """Data-dependent counts an integer program over every label and relation pins to one value: (name, value).

    ``cells``: a :class:`~screening.disclosure.audit.Cells` with its labels' states set as published; every cell
    the reader does not already know (a structural zero) and that is shown (not withheld) is attacked.
    ``extra``: further relations the attacker knows, ``lo ≤ sum(coefficient × count) ≤ hi``. Counts are whole
    numbers (``scipy.optimize.milp``), a stronger attack than the library's own linear program.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = len(cells.values)
    bounds = cells.bounds()
    constraints = []
    if cells.equalities:
        constraints.append(LinearConstraint(_matrix(cells.equalities, n), 0, 0))
    if cells.inequalities:
        constraints.append(LinearConstraint(_matrix(cells.inequalities, n), -np.inf, 0))
    if extra:
        constraints.append(LinearConstraint(_matrix([e for e, _, _ in extra], n), [lo for _, lo, _ in extra],
                                            [hi for _, _, hi in extra]))
    box, whole = Bounds(bounds[:, 0], bounds[:, 1]), np.ones(n)
    candidates = [i for i in range(n) if i not in cells.known and cells.state[i] == 0 and bounds[i, 0] < bounds[i, 1]]
    # Feasible points besides the truth: a count that differs between two of them is not pinned.
    seen = [np.asarray(cells.values, dtype=float)]
    rng = np.random.default_rng(seed)
    for _ in range(witnesses):
        res = milp(rng.normal(size=n), constraints=constraints, integrality=whole, bounds=box)
        assert res.status == 0, res.message  # the truth is feasible: the relations hold for the true counts
        seen.append(np.round(res.x))
    spread = np.ptp(np.stack(seen), axis=0)
    out = []
    for i in candidates:
        if spread[i] > 0:
            continue
        ends = []
        for sense in (1, -1):
            c = np.zeros(n)
            c[i] = sense
            ends.append(sense * milp(c, constraints=constraints, integrality=whole, bounds=box).fun)
        if round(ends[0]) == round(ends[1]):
            out.append((cells.names[i], int(round(ends[0]))))
    return out
