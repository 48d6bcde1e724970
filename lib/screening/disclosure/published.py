"""What a published count can be: each shown cell as an interval, under the disclosure rule that made it.

A shareable table shows each count exactly, rounded or hidden. Knowing the
rule (recorded in ``provenance.json`` under ``disclosure``), a reader can say
which true counts could have been shown that way:

* ``{"rule": "none"}``: ``"116"`` is exactly 116;
* ``{"rule": "suppress", "threshold": 10}``: ``"<11"`` is 1 to 10, ``"*"`` (hidden
  to protect another count) is above 10, a number is exact;
* ``{"rule": "round", "threshold": 10, "base": 5}``: ``"≤10"`` is 0 to 10; a number is
  the counts that round half up to it, ``"115"`` 113 to 117; the smallest number
  shown (15) also stands for 11 and 12, which are never shown as less;
  ``"0"`` is a zero no patient could fill; ``"*"`` (hidden besides rounding) is anything;
* ``""`` (a withheld cell): anything.

:func:`tighten` then narrows the intervals by the sums that tie a report's
tables (a step's entering = excluded + not assessable + remaining, ...). The
true counts satisfy those sums, so the narrowed intervals still hold them.

Example
-------
>>> rule = {"rule": "round", "threshold": 10, "base": 5}
>>> intervals(["115", "15", "≤10"], rule).tolist()
[[113, 117], [11, 17], [0, 10]]
>>> intervals(["116", "<11", "*"], {"rule": "suppress", "threshold": 10}, cap=500).tolist()
[[116, 116], [1, 10], [11, 500]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["intervals", "tighten", "interval_text", "rule_text", "RULES"]

#: Disclosure rules this module can read: nothing hidden, hiding (``<11``, ``*``), rounding (``≤10``).
RULES = ("none", "suppress", "round")


def intervals(shown: Sequence[str], rule: dict, cap: int | None = None) -> np.ndarray:
    """The smallest and largest true count behind each shown cell, as an ``(n, 2)`` integer array.

    ``cap`` bounds cells whose label alone sets no upper limit (``*``, withheld):
    no count exceeds the patients in the report. Raises ``ValueError`` naming
    the first labels the rule cannot produce.
    """
    kind = rule.get("rule", "none")
    if kind not in RULES:
        raise ValueError(f"unknown disclosure rule '{kind}' (this version reads {', '.join(RULES)})")
    threshold = int(rule.get("threshold", 0)) if kind != "none" else 0
    base = int(rule.get("base", 1)) if kind == "round" else 1
    top = np.iinfo(np.int64).max // 4 if cap is None else int(cap)
    text = pd.Series(list(shown), dtype=object).fillna("").astype(str).str.strip()
    number = pd.to_numeric(text.where(text.str.fullmatch(r"\d+")), errors="coerce")
    n = number.fillna(0).to_numpy(dtype=np.int64)
    lo = np.full(len(text), -1, dtype=np.int64)
    hi = np.full(len(text), -1, dtype=np.int64)

    exact = number.notna().to_numpy()
    if kind == "round" and threshold > 0:
        # Half up: r stands for r − base/2 (rounded up) to r + base/2 (exclusive).
        lo[exact], hi[exact] = -((base - 2 * n[exact]) // 2), (2 * n[exact] + base - 1) // 2
        floor = base * -(-(threshold + 1) // base)  # no count above the threshold is shown below this
        lo[exact & (n == floor)] = threshold + 1
        zero = exact & (n == 0)  # never a rounded count (small ones show as ≤threshold): a structural zero
        lo[zero], hi[zero] = 0, 0
    else:
        lo[exact], hi[exact] = n[exact], n[exact]
    if kind == "suppress":
        small = (text == f"<{threshold + 1}").to_numpy()
        lo[small], hi[small] = 1, threshold
    if kind == "round":
        small = (text == f"≤{threshold}").to_numpy()
        lo[small], hi[small] = 0, threshold
    hidden = (text == "*").to_numpy() if kind != "none" else np.zeros(len(text), dtype=bool)
    lo[hidden], hi[hidden] = (threshold + 1 if kind == "suppress" else 0), top
    withheld = (text == "").to_numpy()
    lo[withheld], hi[withheld] = 0, top

    bad = hi < 0
    if bad.any():
        raise ValueError(f"{', '.join(repr(t) for t in text[bad].unique()[:3])} cannot come from the "
                         f"disclosure rule: {rule_text(rule)}")
    return np.stack([np.maximum(lo, 0), np.minimum(hi, top)], axis=1)


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
    """``"116"`` where an interval is one value, ``"101–131"`` otherwise (thousands separated)."""
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    low, high = pd.Series(lo).map("{:,}".format), pd.Series(hi).map("{:,}".format)
    return low.where(lo == hi, low + "–" + high)


def rule_text(rule: dict) -> str:
    """The disclosure rule in words, for tables and error messages.

    >>> rule_text({"rule": "round", "threshold": 10, "base": 5})
    'counts from 0 to 10 shown as ≤10, others rounded to the nearest 5'
    """
    kind, t = rule.get("rule", "none"), rule.get("threshold", 0)
    if kind == "suppress":
        return f"counts from 1 to {t} shown as <{t + 1}, others hidden to protect them as *"
    if kind == "round":
        return f"counts from 0 to {t} shown as ≤{t}, others rounded to the nearest {rule.get('base', 1)}"
    return "none: every count exact (internal)"
