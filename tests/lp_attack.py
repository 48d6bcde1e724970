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
