"""Funnel counts: everything the funnel tables need, as sums over patients.

Counts of disjoint groups of patients add up (``a + b``), so a partitioned
extract can be screened part by part (see :mod:`screening.dask_funnel`) and the
same table builders give the same tables as one in-memory screening.

Example
-------
>>> import numpy as np
>>> c = count_states(np.array([[1, 1], [0, 1], [1, -1]], dtype=np.int8))
>>> c.status.tolist(), c.excluded_at.tolist(), c.unknown_at.tolist()
([1, 1, 1], [1, 0], [0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Counts", "count_states", "placement", "attrition_table", "criteria_table", "overlap_table",
           "summary_table", "PASS", "FAIL", "UNKNOWN", "STATUSES"]

PASS, FAIL, UNKNOWN = 1, 0, -1
STATUSES = ("eligible", "excluded", "not_assessable")


def placement(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: status code (0 eligible, 1 excluded, 2 not assessable) and the deciding column.

    Excluded at the first failing column; otherwise not assessable at the first unknown one.
    """
    fail, unknown = states == FAIL, states == UNKNOWN
    any_fail, any_unknown = fail.any(axis=1), unknown.any(axis=1)
    status = np.where(any_fail, 1, np.where(any_unknown, 2, 0))
    where = np.where(any_fail, fail.argmax(axis=1), np.where(any_unknown, unknown.argmax(axis=1), -1))
    return status, where


@dataclass
class Counts:
    """Sums over patients for one funnel order. All arrays have one entry per criterion."""

    total: int
    status: np.ndarray  # eligible, excluded, not assessable
    excluded_at: np.ndarray
    unknown_at: np.ndarray
    fail_alone: np.ndarray
    unknown_alone: np.ndarray
    fail_unique: np.ndarray
    eligible_without: np.ndarray
    patterns: pd.Series  # failure bit pattern -> patients

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.total + other.total, self.status + other.status, self.excluded_at + other.excluded_at,
            self.unknown_at + other.unknown_at, self.fail_alone + other.fail_alone,
            self.unknown_alone + other.unknown_alone, self.fail_unique + other.fail_unique,
            self.eligible_without + other.eligible_without,
            self.patterns.add(other.patterns, fill_value=0).astype(np.int64))


def count_states(states: np.ndarray) -> Counts:
    """Count a patients × criteria matrix of states (1 pass, 0 fail, -1 unknown)."""
    n, k = states.shape
    status, where = placement(states)
    fail, unknown, passes = states == FAIL, states == UNKNOWN, states == PASS
    n_fail = fail.sum(axis=1)
    n_pass = passes.sum(axis=1)
    # Eligible once criterion i is dropped: every other criterion passes. Patients passing all
    # count for every i; those short of one pass count only for that one criterion.
    short_one = n_pass == k - 1
    eligible_without = np.bincount((~passes[short_one]).argmax(axis=1), minlength=k) + int((n_pass == k).sum())
    single_fail = n_fail == 1
    fail_unique = np.bincount(fail[single_fail].argmax(axis=1), minlength=k)
    rows = fail[n_fail > 0]
    bits = np.left_shift(np.int64(1), np.arange(k, dtype=np.int64))
    # One bit per criterion: counting int64 codes is far cheaper than sorting boolean rows.
    patterns = pd.Series(rows.astype(np.int64) @ bits).value_counts(sort=False).astype(np.int64)
    return Counts(
        total=n,
        status=np.bincount(status, minlength=3).astype(np.int64),
        excluded_at=np.bincount(where[status == 1], minlength=k).astype(np.int64),
        unknown_at=np.bincount(where[status == 2], minlength=k).astype(np.int64),
        fail_alone=fail.sum(axis=0).astype(np.int64),
        unknown_alone=unknown.sum(axis=0).astype(np.int64),
        fail_unique=fail_unique.astype(np.int64),
        eligible_without=eligible_without.astype(np.int64),
        patterns=patterns,
    )


def summary_table(c: Counts) -> pd.DataFrame:
    total = max(int(c.total), 1)
    return pd.DataFrame({"status": list(STATUSES), "patients": c.status.astype(int),
                         "percent": np.round(100 * c.status / total, 1)})


def attrition_table(c: Counts, crits) -> pd.DataFrame:
    """Sequential attrition from counts taken in the order of ``crits``."""
    total = int(c.total)
    remaining = total - np.cumsum(c.excluded_at + c.unknown_at)
    entering = np.concatenate([[total], remaining[:-1]])
    table = pd.DataFrame({
        "step": np.arange(0, len(crits) + 1),
        "criterion": ["extract"] + [x.id for x in crits],
        "label": ["Patients in extract"] + [x.display_label for x in crits],
        "kind": ["start"] + [x.kind for x in crits],
        "entering": np.concatenate([[total], entering]).astype(int),
        "excluded": np.concatenate([[0], c.excluded_at]).astype(int),
        "not_assessable": np.concatenate([[0], c.unknown_at]).astype(int),
        "remaining": np.concatenate([[total], remaining]).astype(int),
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        table["pct_of_previous"] = np.round(100 * table["remaining"] / table["entering"].replace(0, np.nan), 1)
        table["pct_of_total"] = np.round(100 * table["remaining"] / (total or np.nan), 1)
    return table


def criteria_table(c: Counts, crits) -> pd.DataFrame:
    return pd.DataFrame({
        "criterion": [x.id for x in crits],
        "label": [x.display_label for x in crits],
        "kind": [x.kind for x in crits],
        "excluded_alone": c.fail_alone.astype(int),
        "not_assessable_alone": c.unknown_alone.astype(int),
        "excluded_uniquely": c.fail_unique.astype(int),
        "excluded_in_sequence": c.excluded_at.astype(int),
        "not_assessable_in_sequence": c.unknown_at.astype(int),
        "gain_if_dropped": (c.eligible_without - c.status[0]).astype(int),
    })


def overlap_table(c: Counts, ids: list[str], min_patients: int = 1) -> pd.DataFrame:
    """Patients per combination of failed criteria, largest first; one boolean column per criterion."""
    if c.patterns.empty:
        return pd.DataFrame(columns=ids + ["patients", "criteria"])
    bits = np.left_shift(np.int64(1), np.arange(len(ids), dtype=np.int64))
    codes = c.patterns.index.to_numpy(dtype=np.int64)
    patterns = (codes[:, None] & bits) > 0
    table = pd.DataFrame(patterns, columns=ids)
    table["patients"] = c.patterns.to_numpy().astype(int)
    table["criteria"] = patterns.sum(axis=1).astype(int)
    table["_code"] = codes
    table = table[table["patients"] >= min_patients]
    table = table.sort_values(["patients", "criteria", "_code"], ascending=[False, True, True], kind="stable")
    return table.drop(columns="_code").reset_index(drop=True)
