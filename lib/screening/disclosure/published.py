"""What a published count can be: each shown cell as an interval, under the disclosure rule that made it.

A shareable table shows each count exactly, rounded or hidden. Knowing the
rule (recorded in ``provenance.json`` under ``disclosure``), a reader can say
which true counts could have been shown that way. :func:`read_rule` reads the
record back as a rule object, whose ``intervals`` and ``text`` say so:

* ``{"rule": "none"}`` and ``{"rule": "round", "threshold": 10, "base": 5}``:
  :class:`~screening.disclosure.rule.SmallCellRule`, the rule this version writes;
* ``{"rule": "suppress", "threshold": 10}``: :class:`SuppressionRule`, written by
  earlier versions: ``"<11"`` is 1 to 10, ``"*"`` (hidden to protect another
  count) is above 10, a number is exact;
* ``""`` (a withheld cell), under any rule: anything.

:func:`tighten` then narrows the intervals by the sums that tie a report's
tables (a step's entering = excluded + not assessable + remaining, ...). The
true counts satisfy those sums, so the narrowed intervals still hold them.

Example
-------
>>> read_rule({"rule": "round", "threshold": 10, "base": 5}).intervals(["115", "15", "≤10"]).tolist()
[[113, 117], [11, 17], [0, 10]]
>>> read_rule({"rule": "suppress", "threshold": 10}).intervals(["116", "<11", "*"], cap=500).tolist()
[[116, 116], [1, 10], [11, 500]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.disclosure.rule import HIDDEN, SmallCellRule, bounded, parse_labels
from screening.errors import ScreeningError

__all__ = ["read_rule", "rule_text", "SuppressionRule", "READABLE_RULES", "tighten", "interval_text"]


@dataclass(frozen=True)
class SuppressionRule:
    """The rule of earlier versions: counts from 1 to ``threshold`` shown as ``<threshold+1``, others exact or ``*``.

    Read only: bundles written by those versions still merge.
    """

    threshold: int = 10

    def text(self) -> str:
        t = self.threshold
        return f"counts from 1 to {t} shown as <{t + 1}, others hidden to protect them as {HIDDEN}"

    def intervals(self, shown: Sequence[str], cap: int | None = None) -> np.ndarray:
        """The smallest and largest true count behind each shown cell, as an ``(n, 2)`` integer array."""
        top = np.iinfo(np.int64).max // 4 if cap is None else int(cap)
        text, number, exact = parse_labels(shown)
        lo = np.where(exact, number, -1)
        hi = lo.copy()
        small = text == f"<{self.threshold + 1}"
        lo[small], hi[small] = 1, self.threshold
        hidden = text == HIDDEN
        lo[hidden], hi[hidden] = self.threshold + 1, top
        return bounded(text, lo, hi, top, self.text())


#: The disclosure rules this version reads from a report's ``provenance.json``, by their recorded name.
READABLE_RULES = {"none": SmallCellRule, "round": SmallCellRule, "suppress": SuppressionRule}


def read_rule(record: dict) -> SmallCellRule | SuppressionRule:
    """The rule a report recorded under ``disclosure``; ``ValueError`` for one this version cannot read.

    >>> read_rule({"rule": "round", "threshold": 10, "base": 5}) == SmallCellRule(10, 5)
    True
    """
    kind = record.get("rule", "none")
    if kind not in READABLE_RULES:
        raise ValueError(f"unknown disclosure rule '{kind}' (this version reads {', '.join(READABLE_RULES)})")
    try:
        if kind == "suppress":
            return SuppressionRule(int(record.get("threshold", 10)))
        return SmallCellRule.from_dict(record)
    except (KeyError, TypeError, ScreeningError) as exc:  # a threshold no report of this tool records
        raise ValueError(f"disclosure rule {record} cannot be read: {exc}") from None


def rule_text(record: dict) -> str:
    """A recorded rule in words (its own ``text()``), or the record itself when this version cannot read it.

    >>> rule_text({"rule": "noise", "scale": 2})
    "unknown disclosure rule {'rule': 'noise', 'scale': 2}"
    """
    try:
        return read_rule(record).text()
    except ValueError:
        return f"unknown disclosure rule {record}"


def tighten(bounds: np.ndarray, relations: list[dict[int, int]], rounds: int = 50) -> np.ndarray:
    """Narrow ``(n, 2)`` integer intervals by relations ``sum(coefficient × cell) = 0`` until nothing changes.

    Each relation bounds each of its cells by what the other cells allow. Raises
    ``ValueError`` when the intervals cannot all hold (the tables contradict
    the rule they claim). Relations hold tens of cells: looping over them is cheap.

    >>> tighten(np.array([[43, 43], [1, 10], [11, 100]]), [{0: 1, 1: -1, 2: -1}]).tolist()
    [[43, 43], [1, 10], [33, 42]]
    """
    lo, hi = bounds[:, 0].astype(np.int64), bounds[:, 1].astype(np.int64)
    parts = [(np.fromiter(r.keys(), dtype=np.int64), np.fromiter(r.values(), dtype=np.int64)) for r in relations]
    for _ in range(rounds):
        changed = False
        for idx, coef in parts:
            low_part = np.where(coef > 0, coef * lo[idx], coef * hi[idx])
            high_part = np.where(coef > 0, coef * hi[idx], coef * lo[idx])
            # coef_j × x_j = −(sum of the others), so x_j lies within what the others leave.
            rest_low, rest_high = low_part.sum() - low_part, high_part.sum() - high_part
            a, b = -rest_high, -rest_low
            new_lo = np.where(coef > 0, -(-a // coef), -(-b // coef))  # ceiling division
            new_hi = np.where(coef > 0, b // coef, a // coef)
            new_lo, new_hi = np.maximum(lo[idx], new_lo), np.minimum(hi[idx], new_hi)
            if (new_lo != lo[idx]).any() or (new_hi != hi[idx]).any():
                changed = True
                lo[idx], hi[idx] = new_lo, new_hi
        if (lo > hi).any():
            raise ValueError("the published counts do not add up under their disclosure rule")
        if not changed:
            break
    return np.stack([lo, hi], axis=1)


def interval_text(lo, hi) -> pd.Series:
    """``"116"`` where an interval is one value, ``"4991–5017"`` otherwise (no separators, as every count in a
    report)."""
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    low, high = pd.Series(lo).map(str), pd.Series(hi).map(str)
    return low.where(lo == hi, low + "–" + high)
