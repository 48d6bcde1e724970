"""The small-cell rule every shareable count follows, and the one sentence that describes it.

The rule follows OpenSAFELY's output-checking guidance: redact small counts,
then round all counts. With the default ``SmallCellRule(threshold=10, base=5)``:

* a count from 0 to 10 is shown as ``≤10`` (zero too: an exact zero would let a
  chain of small steps between two rounded counts pin each step);
* any other count is rounded to the nearest 5, and never shown below 15, so a
  shown number always means "more than 10".

A reader knows the rule, so each label is an interval (:meth:`SmallCellRule.intervals`).
:meth:`SmallCellRule.text` is the rule in words: the command line, the report's
provenance block, ``provenance.json`` and the what-if panel all print it.

Example
-------
>>> rule = SmallCellRule(threshold=10, base=5)
>>> rule.text()
'counts from 0 to 10 shown as ≤10, every other count rounded to the nearest 5 (never below 15)'
>>> rule.labels([0, 3, 11, 12, 13, 116])
['≤10', '≤10', '15', '15', '15', '115']
>>> rule.intervals(["115", "15", "≤10"]).tolist()
[[113, 117], [11, 17], [0, 10]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.errors import ScreeningError

__all__ = ["SmallCellRule", "SHAREABLE", "INTERNAL", "HIDDEN", "WATERMARK", "MIN_VALUES", "round_counts"]

#: A count hidden besides rounding, so that a small one cannot be derived by subtraction.
HIDDEN = "*"
#: The fewest values any small count may be left with by any attack (:mod:`screening.disclosure.audit`).
MIN_VALUES = 3
#: Marks every file of a report written without disclosure control.
WATERMARK = "internal: not for sharing"


@dataclass(frozen=True)
class SmallCellRule:
    """Show counts from 0 to ``threshold`` as ``≤threshold``, round every other count to the nearest ``base``.

    ``threshold=0`` is internal use: every count exact (:data:`INTERNAL`).
    """

    threshold: int = 10
    base: int = 5

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ScreeningError(f"the small-cell threshold cannot be negative ({self.threshold}): "
                                 "use 0 for internal, or more.")
        if 0 < self.threshold < MIN_VALUES:
            raise ScreeningError(f"a small-cell threshold of {self.threshold} would show '≤{self.threshold}' for "
                                 f"fewer than {MIN_VALUES} possible counts: use 0 (internal) or at least {MIN_VALUES}.")
        if self.base < 1:
            raise ScreeningError(f"the rounding base must be 1 or more, not {self.base}.")

    @classmethod
    def of(cls, rule: SmallCellRule | int) -> SmallCellRule:
        """The rule itself, or the rule for a small-cell threshold (0: internal, exact counts).

        >>> SmallCellRule.of(0).internal, SmallCellRule.of(10) == SmallCellRule()
        (True, True)
        """
        return rule if isinstance(rule, SmallCellRule) else cls(int(rule), 5 if int(rule) else 1)

    @property
    def internal(self) -> bool:
        return self.threshold == 0

    @property
    def small(self) -> str:
        return f"≤{self.threshold}"

    @property
    def floor(self) -> int:
        """The smallest number shown for a count above the threshold."""
        return self.base * math.ceil((self.threshold + 1) / self.base)

    def text(self) -> str:
        """The rule in words: the one sentence every report, table and view prints."""
        if self.internal:
            return f"none: every count exact ({WATERMARK})"
        return (f"counts from 0 to {self.threshold} shown as {self.small}, every other count rounded to the "
                f"nearest {self.base} (never below {self.floor})")

    def rounded(self, value: int) -> int | None:
        """The number shown for ``value``; None for a redacted small count."""
        value = int(value)
        if self.internal:
            return value
        if value <= self.threshold:
            return None
        return max(self.base * math.floor(value / self.base + 0.5), self.floor)

    def label(self, value: int) -> str:
        shown = self.rounded(value)
        return self.small if shown is None else str(shown)

    def labels(self, values) -> list[str]:
        return [self.label(v) for v in values]

    def intervals(self, shown: Sequence[str], cap: int | None = None) -> np.ndarray:
        """Every true count a reader can infer from each label alone: an ``(n, 2)`` array of lowest, highest.

        ``"115"`` is 113 to 117 (half up); the smallest number shown (15) also stands
        for 11 and 12; ``≤10`` is 0 to 10; ``"0"`` is a zero no patient could fill;
        ``*`` (hidden besides rounding) and ``""`` (withheld) are anything up to
        ``cap``. Raises ``ValueError`` naming the first labels this rule cannot produce.
        """
        top = _HUGE if cap is None else int(cap)
        text, n, exact = parse_labels(shown)
        lo = np.full(len(text), -1, dtype=np.int64)
        hi = np.full(len(text), -1, dtype=np.int64)
        if self.internal:
            lo[exact], hi[exact] = n[exact], n[exact]
        else:
            # Half up: r stands for r − base/2 (rounded up) to r + base/2 (exclusive).
            lo[exact], hi[exact] = -((self.base - 2 * n[exact]) // 2), (2 * n[exact] + self.base - 1) // 2
            lo[exact & (n == self.floor)] = self.threshold + 1  # no count above the threshold shows below the floor
            zero = exact & (n == 0)  # never a rounded count (small ones show as ≤threshold): a structural zero
            lo[zero], hi[zero] = 0, 0
            small = text == self.small
            lo[small], hi[small] = 0, self.threshold
            hidden = text == HIDDEN
            lo[hidden], hi[hidden] = 0, top
        return bounded(text, lo, hi, top, self.text())

    def as_dict(self) -> dict:
        """Machine-readable, for provenance.json."""
        if self.internal:
            return {"rule": "none", "threshold": 0, "base": 1}
        return {"rule": "round", "threshold": self.threshold, "base": self.base}

    @classmethod
    def from_dict(cls, d: dict) -> SmallCellRule:
        return cls(0, 1) if d.get("rule", "none") == "none" else cls(int(d["threshold"]), int(d["base"]))


#: The rule of every shareable report unless ``--small-cell`` says otherwise.
SHAREABLE = SmallCellRule(10, 5)
#: No disclosure control: every count exact (reports marked "internal: not for sharing").
INTERNAL = SmallCellRule(0, 1)


def round_counts(table: pd.DataFrame, columns: list[str], rule: SmallCellRule, as_text: bool = True) -> pd.DataFrame:
    """``columns`` shown under ``rule`` (``≤10``, others rounded): for live views such as the what-if panel,
    which are not themselves shared. ``as_text=False`` gives numbers for charts (redacted counts as 0).

    >>> round_counts(pd.DataFrame({"n": [0, 7, 12, 116]}), ["n"], SmallCellRule())["n"].tolist()
    ['≤10', '≤10', '15', '115']
    """
    out = table.copy()
    if rule.internal:
        return out
    for col in columns:
        if as_text:
            out[col] = np.array(rule.labels(out[col]), dtype=object)
        else:
            out[col] = [rule.rounded(v) or 0 for v in out[col]]
    return out


#: Larger than any count, small enough to add up in int64.
_HUGE = np.iinfo(np.int64).max // 4


def parse_labels(shown) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shown labels as stripped text (missing ones ``""``), each one's number, and whether it is one (digits only).

    Parsed in plain Python: a table's labels are tens to thousands, where pandas' string machinery costs
    more than the parsing (the what-if panel reads labels at every change).

    >>> [a.tolist() for a in parse_labels([" 115", "≤10", None, 7])]
    [['115', '≤10', '', '7'], [115, 0, 0, 7], [True, False, False, True]]
    """
    text = np.array(["" if not isinstance(v, str) and pd.isna(v) else str(v).strip() for v in shown], dtype=object)
    exact = np.array([t.isascii() and t.isdigit() for t in text], dtype=bool)
    number = np.array([min(int(t), _HUGE) if e else 0 for t, e in zip(text, exact, strict=True)], dtype=np.int64)
    return text, number, exact


def bounded(text: np.ndarray, lo: np.ndarray, hi: np.ndarray, top: int, rule_text: str) -> np.ndarray:
    """Finish a rule's ``intervals``: a withheld cell (``""``) is anything up to ``top``; a label no branch of the
    rule read (its bounds left at −1) is an error naming it; the rest clamped to ``[0, top]``."""
    text = np.asarray(text, dtype=object)
    withheld = text == ""
    lo[withheld], hi[withheld] = 0, top
    bad = hi < 0
    if bad.any():
        raise ValueError(f"{', '.join(repr(t) for t in pd.unique(text[bad])[:3])} cannot come from the "
                         f"disclosure rule: {rule_text}")
    return np.stack([np.maximum(lo, 0), np.minimum(hi, top)], axis=1)
