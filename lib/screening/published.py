"""What a published count can be: each shown cell as an interval, under the disclosure rule that made it.

A shareable table shows each count exactly, rounded or hidden. Knowing the
rule (recorded in ``provenance.json`` under ``disclosure``), a reader can say
which true counts could have been shown that way:

* ``"116"`` with no rounding: exactly 116;
* ``"<11"``: 1 to 10; ``"≤10"``: 0 to 10;
* ``"*"``: hidden to protect another count, so above the small-cell threshold;
* ``"115"`` rounded to 5, with counts up to 10 shown as ``≤10``: 113 to 117;
  ``"10"`` under that rule: 11 or 12 (10 itself would have been shown as ``≤10``);
* ``""`` (a withheld cell): anything.

:func:`tighten` then narrows the intervals by the sums that tie a report's
tables (a step's entering = excluded + not assessable + remaining, ...). The
true counts satisfy those sums, so the narrowed intervals still hold them.

Example
-------
>>> rule = {"method": "rounding", "threshold": 10, "base": 5}
>>> intervals(["115", "10", "≤10", "0"], rule).tolist()
[[113, 117], [11, 12], [0, 10], [0, 0]]
>>> intervals(["116", "<11", "*"], {"method": "suppression", "threshold": 10}, cap=500).tolist()
[[116, 116], [1, 10], [11, 500]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["intervals", "tighten", "interval_text", "rule_text", "METHODS"]

#: Disclosure methods this module can read: nothing hidden, hiding (``<11``, ``*``), rounding (``≤10``).
METHODS = ("none", "suppression", "rounding")


def intervals(shown: Sequence[str], rule: dict, cap: int | None = None) -> np.ndarray:
    """The smallest and largest true count behind each shown cell, as an ``(n, 2)`` integer array.

    ``cap`` bounds cells whose label alone sets no upper limit (``*``, withheld):
    no count exceeds the patients in the report. Raises ``ValueError`` naming
    the first labels the rule cannot produce.
    """
    method = rule.get("method", "none")
    if method not in METHODS:
        raise ValueError(f"unknown disclosure method '{method}' (this version reads {', '.join(METHODS)})")
    threshold = int(rule.get("threshold", 0))
    top = np.iinfo(np.int64).max // 4 if cap is None else int(cap)
    text = pd.Series(list(shown), dtype=object).fillna("").astype(str).str.strip()
    number = pd.to_numeric(text.where(text.str.fullmatch(r"\d+")), errors="coerce")
    bound = pd.to_numeric(text.str.extract(r"^(?:<|≤|<=)(\d+)$")[0], errors="coerce")
    lo = np.full(len(text), -1, dtype=np.int64)
    hi = np.full(len(text), -1, dtype=np.int64)

    exact = number.notna().to_numpy()
    n = number.fillna(0).to_numpy(dtype=np.int64)
    base = int(rule.get("base", 1)) if method == "rounding" else 1
    lo[exact], hi[exact] = _unrounded(n[exact], base, threshold if method != "none" else 0)

    below = text.str.startswith("<").to_numpy() & ~text.str.startswith("<=").to_numpy() & bound.notna().to_numpy()
    lo[below], hi[below] = 1, bound.to_numpy()[below] - 1  # "<11" hides 1 to 10; a zero is shown as 0
    at_most = bound.notna().to_numpy() & ~below
    lo[at_most], hi[at_most] = 0, bound.to_numpy()[at_most]
    hidden = (text == "*").to_numpy()
    lo[hidden], hi[hidden] = threshold + 1, top
    withheld = (text == "").to_numpy()
    lo[withheld], hi[withheld] = 0, top

    bad = (lo < 0) | (lo > hi)
    if method == "none":
        bad |= ~exact
    if bad.any():
        raise ValueError(f"{', '.join(repr(t) for t in text[bad].unique()[:3])} cannot come from the "
                         f"disclosure rule {rule_text(rule)}")
    return np.stack([lo, np.minimum(hi, top)], axis=1)


def _unrounded(n: np.ndarray, base: int, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts that round to ``n`` (nearest multiple of ``base``) and are shown as numbers at all.

    Halves may round either way (up, or to even), so an even base keeps both ends. Counts
    from 1 to ``threshold`` are never shown as numbers, so they drop out of the range.
    """
    lo = np.maximum(n - base // 2, 0)
    hi = n + base // 2
    only_zero = (lo == 0) & (hi <= threshold)
    lo = np.where(~only_zero & (lo >= 1) & (lo <= threshold), threshold + 1, lo)
    hi = np.where(only_zero, 0, hi)
    return lo, hi


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

    >>> rule_text({"method": "rounding", "threshold": 10, "base": 5})
    'counts from 1 to 10 shown as ≤10, others rounded to the nearest 5'
    """
    method, t = rule.get("method", "none"), rule.get("threshold", 0)
    if method == "suppression":
        return f"counts from 1 to {t} shown as <{t + 1}, others hidden to protect them as *"
    if method == "rounding":
        small = f"counts from 1 to {t} shown as ≤{t}, others " if t else ""
        return f"{small}rounded to the nearest {rule.get('base', 1)}"
    return "none: every count exact (internal)"
