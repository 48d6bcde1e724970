"""What every stage of the synthetic registry draws with: seeds, sites, groups and small random helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_PATIENTS", "DEFAULT_SEED", "RACES", "SITES", "YEAR", "as_days", "day_between", "proportions",
           "sigmoid", "with_missing"]

DEFAULT_SEED = 20261125
DEFAULT_PATIENTS = 5000

#: The registry's sites, S01 to S08.
SITES = np.array([f"S{i:02d}" for i in range(1, 9)])
#: The race/ethnicity groups, in the order the stages index them.
RACES = np.array(["White", "Black", "Hispanic", "Asian", "Other"], dtype=object)
#: Days in a year, for durations drawn in years.
YEAR = 365.25


def proportions(weights) -> np.ndarray:
    """Weights scaled to sum to one: the probabilities of a choice."""
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def as_days(values) -> np.ndarray:
    """Numbers of days, rounded, as a timedelta array to add to dates."""
    return np.asarray(np.round(values), dtype="int64").astype("timedelta64[D]")


def with_missing(rng, values, share) -> pd.api.extensions.ExtensionArray:
    """The values as a nullable array with a share of them (a scalar or one per row) not recorded."""
    out = pd.array(values)
    out[rng.random(len(out)) < share] = pd.NA
    return out


def day_between(rng, lo, hi) -> np.ndarray:
    """A day uniformly between two day arrays (inclusive); ``hi`` before ``lo`` gives ``lo``."""
    span = np.maximum((hi - lo).astype("int64"), 0)
    return lo + np.floor(rng.random(len(lo)) * (span + 1)).astype("int64").astype("timedelta64[D]")

