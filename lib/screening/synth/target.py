"""A calibration target: a quantity measured on an extract, the figure it should match, and its source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.io.extract import Extract

__all__ = ["Target", "share"]


@dataclass(frozen=True)
class Target:
    """One calibration row: what is measured, what it should be, where that comes from."""

    quantity: str
    figure: str
    source: str
    measure: Callable[[Extract], float]
    lo: float
    hi: float
    #: "%" prints a share as a percentage, "n" a count, "" a plain number
    unit: str = "%"

    def shown(self, value: float) -> str:
        if self.unit == "%":
            return f"{100 * value:.1f}%"
        return f"{value:.0f}" if self.unit == "n" else f"{value:.2f}"

    def tolerance(self) -> str:
        lo, hi = (self.shown(v) if np.isfinite(v) else None for v in (self.lo, self.hi))
        if lo is None:
            return f"≤ {hi}"
        if hi is None:
            return f"≥ {lo}"
        return f"{lo} to {hi}"


def share(mask: pd.Series, among: pd.Series | None = None) -> float:
    """Share of True among the rows where ``mask`` is known (and ``among`` holds)."""
    mask = mask.astype("boolean")
    if among is not None:
        mask = mask[among.fillna(False).to_numpy(dtype=bool)]
    known = mask.dropna()
    return float(known.mean()) if len(known) else float("nan")
