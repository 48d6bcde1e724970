"""Threshold sweeps: eligible, excluded and not assessable for each value of one parameter.

Only the criterion that owns the parameter changes across a sweep, so what the
other criteria decide is taken once (:func:`sweep_counts`).

Example
-------
>>> import numpy as np
>>> states = np.array([[1, 1], [1, 0], [-1, 1]], dtype=np.int8)   # patients × criteria
>>> sweep_counts(states, 1, "b.min", [4, 5], [np.array([1, 1, 1]), np.array([0, 0, 1])])
  parameter  value  eligible  excluded  not_assessable
0     b.min      4         2         0               1
1     b.min      5         0         2               1
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.engine.status import FAIL, UNKNOWN

__all__ = ["KEY_SWEEPS", "key_sweeps", "sweep_counts"]

#: Threshold sweeps worth drawing, when the protocol has the parameter (in drawing order).
KEY_SWEEPS = {
    "sle_diagnosis.min_records": range(1, 4),
    "observed.months": range(0, 37, 6),
    "sledai.min": range(0, 13),
    "age.min_age": range(16, 27),
    "age.max_age": range(55, 76, 2),
    "glucocorticoid.max_mg_per_kg": [0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0],
    "belimumab.months": range(0, 7),
    "other_biologic.months": range(0, 13, 2),
    "immunosuppressant_change.months": range(0, 7),
}


def key_sweeps(parameters) -> dict[str, list]:
    """The key sweeps among a protocol's ``parameters``: parameter → values to try."""
    known = set(parameters)
    return {name: list(values) for name, values in KEY_SWEEPS.items() if name in known}


def sweep_counts(states: np.ndarray, col: int, parameter: str, values, swept: list[np.ndarray]) -> pd.DataFrame:
    """Totals for each value, given ``swept``, the states of column ``col`` under each value (policy applied)."""
    # What the other criteria decide is fixed across the sweep: compute it once.
    others = np.delete(states, col, axis=1)
    fail_other = (others == FAIL).any(axis=1)
    unknown_other = (others == UNKNOWN).any(axis=1)
    rows = []
    for value, state in zip(values, swept, strict=True):
        excluded = fail_other | (state == FAIL)
        unknown = ~excluded & (unknown_other | (state == UNKNOWN))
        n_excluded, n_unknown = int(excluded.sum()), int(unknown.sum())
        rows.append({"parameter": parameter, "value": value, "eligible": len(state) - n_excluded - n_unknown,
                     "excluded": n_excluded, "not_assessable": n_unknown})
    return pd.DataFrame(rows)
