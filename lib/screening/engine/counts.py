"""Funnel counts and the tables built from them.

Counts of disjoint groups of patients add up (``a + b``), so a partitioned
extract can be screened part by part (see :mod:`screening.engine.dask_funnel`) and the
same table builders give the same tables as one in-memory screening.

The relations these tables' definitions imply between published counts (a
step's entering = excluded + not assessable + remaining, ...) are declared
beside disclosure control, in :mod:`screening.disclosure.relations`.

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

from screening.engine.status import FAIL, PASS, STATUSES, UNKNOWN, Status

__all__ = ["Counts", "count_states", "placement", "attrition_table", "criteria_table", "overlap_table",
           "combination_table", "summary_table", "headline_table", "leave_one_out_table", "percent_of", "HEADLINE",
           "PASS", "FAIL",
           "UNKNOWN", "STATUSES"]


#: a protocol's criteria as bits of one int64 per patient (the sign bit left alone)
MAX_CRITERIA = 62


def _bits(mask: np.ndarray) -> np.ndarray:
    """Each row of a patients × criteria boolean matrix as one int64: bit i set when column i is."""
    n, k = mask.shape
    if k > MAX_CRITERIA:
        raise ValueError(f"{k} criteria: a funnel counts at most {MAX_CRITERIA}")
    packed = np.packbits(mask, axis=1, bitorder="little")
    wide = np.zeros((n, 8), np.uint8)
    wide[:, :packed.shape[1]] = packed
    return wide.view("<i8").ravel()


def _lowest(bits: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each code (meaningless where the code is 0)."""
    return np.bitwise_count((bits & -bits) - 1).astype(np.int64)


def placement(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: status code (:class:`~screening.engine.status.Status`) and the deciding column.

    Excluded at the first failing column; otherwise not assessable at the first unknown one.
    """
    return _placed(_bits(states == FAIL), _bits(states == UNKNOWN))


def _placed(fail: np.ndarray, unknown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    any_fail, any_unknown = fail != 0, unknown != 0
    status = np.where(any_fail, Status.EXCLUDED, np.where(any_unknown, Status.NOT_ASSESSABLE, Status.ELIGIBLE))
    where = np.where(any_fail, _lowest(fail), np.where(any_unknown, _lowest(unknown), -1))
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
    """Count a patients × criteria matrix of states (1 pass, 0 fail, -1 unknown).

    Each patient's fails, unknowns and passes are packed into one int64 apiece, so
    every count after the first pass over the matrix is a pass over one number per patient.
    """
    n, k = states.shape
    fail, unknown = states == FAIL, states == UNKNOWN
    fail_bits, unknown_bits, pass_bits = _bits(fail), _bits(unknown), _bits(states == PASS)
    status, where = _placed(fail_bits, unknown_bits)
    n_fail, n_pass = np.bitwise_count(fail_bits), np.bitwise_count(pass_bits)
    # Eligible once criterion i is dropped: every other criterion passes. Patients passing all
    # count for every i; those short of one pass count only for that one criterion.
    every = np.int64((1 << k) - 1)
    short_one = n_pass == k - 1
    eligible_without = np.bincount(_lowest(every & ~pass_bits[short_one]), minlength=k) + int((n_pass == k).sum())
    fail_unique = np.bincount(_lowest(fail_bits[n_fail == 1]), minlength=k)
    # One bit per criterion: counting int64 codes is far cheaper than sorting boolean rows.
    patterns = pd.Series(fail_bits[n_fail > 0]).value_counts(sort=False).astype(np.int64)
    return Counts(
        total=n,
        status=np.bincount(status, minlength=len(Status)).astype(np.int64),
        excluded_at=np.bincount(where[status == Status.EXCLUDED], minlength=k).astype(np.int64),
        unknown_at=np.bincount(where[status == Status.NOT_ASSESSABLE], minlength=k).astype(np.int64),
        fail_alone=np.count_nonzero(fail, axis=0).astype(np.int64),
        unknown_alone=np.count_nonzero(unknown, axis=0).astype(np.int64),
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
    return combination_table(c.patterns, ids, min_patients)


def combination_table(patterns: pd.Series, ids: list[str], min_patients: int = 1,
                      size: str = "criteria") -> pd.DataFrame:
    """Patients per combination (a bit pattern over ``ids`` → patients), largest first; one boolean column per id.

    ``size`` names the column counting the members of each combination.

    >>> combination_table(pd.Series({0b01: 4, 0b11: 2}), ["a", "b"], size="trials").values.tolist()
    [[True, False, 4, 1], [True, True, 2, 2]]
    """
    if patterns.empty:
        return pd.DataFrame(columns=ids + ["patients", size])
    bits = np.left_shift(np.int64(1), np.arange(len(ids), dtype=np.int64))
    codes = patterns.index.to_numpy(dtype=np.int64)
    members = (codes[:, None] & bits) > 0
    table = pd.DataFrame(members, columns=ids)
    table["patients"] = patterns.to_numpy().astype(int)
    table[size] = members.sum(axis=1).astype(int)
    table["_code"] = codes
    table = table[table["patients"] >= min_patients]
    table = table.sort_values(["patients", size, "_code"], ascending=[False, True, True], kind="stable")
    return table.drop(columns="_code").reset_index(drop=True)


HEADLINE = ("patients in extract", "eligible on registry data", "not assessable (data missing)",
            "eligible if every not-assessable patient qualified", "excluded")


def headline_table(c: Counts) -> pd.DataFrame:
    """The eligible pool and the range the not-assessable patients leave open."""
    eligible, excluded, unknown = (int(v) for v in c.status)
    return pd.DataFrame({"measure": list(HEADLINE),
                         "patients": [int(c.total), eligible, unknown, eligible + unknown, excluded]})


def leave_one_out_table(c: Counts, crits) -> pd.DataFrame:
    """Eligible patients if each criterion in turn were dropped, and the gain, in protocol order."""
    return pd.DataFrame({"criterion": [x.id for x in crits], "label": [x.display_label for x in crits],
                         "eligible_without": c.eligible_without.astype(int),
                         "gain": (c.eligible_without - c.status[0]).astype(int)})


def percent_of(part, whole) -> np.ndarray:
    """``100 × part / whole`` to one decimal, halves rounded up: what a reader gets from the two counts shown.

    ``np.round(100 * 115 / 400, 1)`` gives 28.7 (28.75 is stored just below); one division of
    whole numbers holds a half exactly, so the rounding agrees with a calculator. NaN where either is missing.

    >>> percent_of(np.array([115, 1]), 400).tolist()
    [28.8, 0.3]
    """
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.floor(1000 * part / np.where(whole == 0, np.nan, whole) + 0.5) / 10 + 0.0
