"""Small-cell suppression for shareable tables.

Counts from 1 to ``threshold`` are shown as ``"<{threshold+1}"`` (primary
suppression). In a funnel, a hidden count could be recovered by subtraction
(entering − excluded − not assessable = remaining), so suppression works in
*blocks* of consecutive steps. From the first step with a small count, every
non-zero removal count and every "remaining" count in the block is hidden,
until the block holds at least two hidden counts whose sum exceeds the
threshold. Only that sum can then be derived, never a single small count. A
block still open at the end of the funnel is merged backwards.

The first step's exclusions equal that criterion's "excluded alone" count,
which the per-criterion table publishes, so that cell never counts as hidden.

Example
-------
>>> import pandas as pd
>>> t = pd.DataFrame({"entering": [100, 100, 90, 60], "excluded": [0, 10, 27, 20],
...                   "not_assessable": [0, 0, 3, 0], "remaining": [100, 90, 60, 40]})
>>> suppress_attrition(t, 10)[["excluded", "not_assessable", "remaining"]].values.tolist()
[['0', '0', '100'], ['<11', '0', '*'], ['*', '<11', '60'], ['20', '0', '40']]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["suppress_attrition", "suppress_counts", "HIDDEN", "small_label"]

#: Shown for a count hidden only so that a small count cannot be derived.
HIDDEN = "*"


def small_label(threshold: int) -> str:
    return f"<{threshold + 1}"


def _is_small(value, threshold: int) -> bool:
    return 1 <= value <= threshold


def suppress_counts(table: pd.DataFrame, columns: list[str], threshold: int) -> pd.DataFrame:
    """Primary suppression only: for tables whose counts are not tied by sums to other published counts."""
    out = table.copy()
    for col in columns:
        values = out[col].to_numpy()
        small = (values >= 1) & (values <= threshold)
        out[col] = np.where(small, small_label(threshold), values.astype(int).astype(str)).astype(object)
    pct = [c for c in out.columns if c.startswith("pct") or c == "percent"]
    if pct and columns:
        hidden = np.zeros(len(out), dtype=bool)
        for col in columns:
            hidden |= out[col].astype(str) == small_label(threshold)
        for col in pct:
            out[col] = np.where(hidden, HIDDEN, out[col].astype(str)).astype(object)
    return out


def _safe(cells: list[int], threshold: int) -> bool:
    """Hidden counts whose only derivable fact is their sum: safe when two or more sum past the threshold."""
    return len(cells) >= 2 and sum(cells) > threshold


def _blocks(excluded: np.ndarray, unknown: np.ndarray, remaining: np.ndarray, threshold: int,
            public: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per step: whether its removal counts are hidden (in a block), and whether its remaining count is.

    ``public[i]`` marks an excluded count published elsewhere: it cannot protect anything.
    """
    k = len(excluded)
    in_block = np.zeros(k, dtype=bool)
    hide_rem = np.zeros(k, dtype=bool)
    start = None
    cells: list[int] = []
    for i in range(k):  # one pass over funnel steps (tens), never over patients
        if start is None and (_is_small(excluded[i], threshold) or _is_small(unknown[i], threshold)):
            start, cells = i, []
        if start is None:
            continue
        in_block[i] = True
        cells += [int(v) for v, pub in ((excluded[i], public[i]), (unknown[i], False)) if v > 0 and not pub]
        if _safe(cells, threshold):
            start = None  # this step's remaining can be shown: only the block's sum is derivable
        else:
            hide_rem[i] = True
    if start is not None:
        # Still open at the end: merge earlier steps into the block until it is safe.
        j = start
        while not _safe(cells, threshold) and j > 0:
            j -= 1
            in_block[j] = True
            hide_rem[j] = j > 0 or hide_rem[j]
            cells += [int(v) for v, pub in ((excluded[j], public[j]), (unknown[j], False)) if v > 0 and not pub]
        hide_rem[k - 1] = not _safe(cells, threshold)
    return in_block, hide_rem


def suppress_attrition(table: pd.DataFrame, threshold: int = 10) -> pd.DataFrame:
    """Suppress an attrition table (as from :meth:`Screening.attrition`) so no small count can be derived.

    Returns the same columns with counts as text: a number, ``"<11"`` for a small
    count, or ``"*"`` for a count hidden to protect one.
    """
    out = table.copy()
    excluded = table["excluded"].to_numpy()
    unknown = table["not_assessable"].to_numpy()
    remaining = table["remaining"].to_numpy()
    # The first criterion's exclusions equal its "excluded alone" count, which the
    # per-criterion table publishes: that cell is public and cannot hide another.
    public = np.zeros(len(table), dtype=bool)
    public[min(1, len(table) - 1)] = True
    if threshold > 0:
        in_block, hide_rem = _blocks(excluded, unknown, remaining, threshold, public)
    else:
        in_block = hide_rem = np.zeros(len(table), dtype=bool)
    if threshold > 0 and _is_small(remaining[-1], threshold):
        hide_rem[-1] = True
    label = small_label(threshold)

    def show(values: np.ndarray, hide: np.ndarray) -> np.ndarray:
        text = values.astype(int).astype(str).astype(object)
        small = (values >= 1) & (values <= threshold) if threshold > 0 else np.zeros(len(values), bool)
        text[hide & (values > 0)] = HIDDEN
        text[small] = label
        return text

    out["excluded"] = show(excluded, in_block & ~public)
    out["not_assessable"] = show(unknown, in_block)
    out["remaining"] = show(remaining, hide_rem)
    entering = table["entering"].to_numpy()
    hide_ent = np.concatenate([[False], hide_rem[:-1]])
    out["entering"] = show(entering, hide_ent)
    for col in ("pct_of_previous", "pct_of_total"):
        if col in out:
            hidden = (out["remaining"] == HIDDEN) | (out["remaining"] == label) | (out["entering"] == HIDDEN)
            out[col] = np.where(hidden, HIDDEN, out[col].astype(str)).astype(object)
    return out
