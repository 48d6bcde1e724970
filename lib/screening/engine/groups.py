"""How patients are grouped for breakdowns, and the funnel's outcome within each group.

A group is a column's value, a numeric field cut into bands; a missing value
is a group of its own, :data:`MISSING`, never dropped.

Example
-------
>>> import pandas as pd
>>> patients = pd.DataFrame({"age_years": [17, 18, 45, None], "sex": ["F", "M", None, "F"]})
>>> group_of(patients, "age_years", AGE_BINS).tolist()
['[0, 18)', '[18, 30)', '[40, 50)', '(missing)']
>>> group_of(patients, "sex").tolist()
['F', 'M', '(missing)', 'F']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.engine.counts import attrition_table, count_states, placement
from screening.engine.status import STATUSES, Status
from screening.errors import ProtocolError

__all__ = ["MISSING", "AGE_BINS", "CHARACTERISTICS", "CLINICAL_BANDS", "SMALL_GROUPS", "group_of",
           "merge_small_groups", "declared_levels", "band_labels", "outcome_by", "attrition_by", "composition"]

#: The group of patients whose value is missing.
MISSING = "(missing)"

#: Age bands of every breakdown: under 18, 18–29, 30–39, 40–49, 50–65, 66 and over.
AGE_BINS = [0, 18, 30, 40, 50, 66, 91]

#: What the report describes by default, and the bands a numeric field is cut into.
CHARACTERISTICS: dict[str, list | None] = {
    "sex": None, "race_ethnicity": None, "age_years": AGE_BINS, "site": None,
}

#: Bands for clinical fields a user may name; anything else numeric must come with its bins.
CLINICAL_BANDS: dict[str, list] = {
    "sledai_2k": [0, 4, 6, 10, 106],
    "egfr": [0, 30, 60, 90, 201],
}

#: The group small groups are merged into in a shareable breakdown.
SMALL_GROUPS = "(small groups merged)"


def band_labels(bins) -> list[str]:
    """``[a, b)`` for each band of ``bins``, written from the bins alone (pandas' own labels change with the data:
    ``[18.0, 30.0)`` once one value is missing), so a table's rows never tell what the data hold.

    >>> band_labels([0, 18, 30.5])
    ['[0, 18)', '[18, 30.5)']
    """
    return [f"[{lo:g}, {hi:g})" for lo, hi in zip(bins[:-1], bins[1:], strict=True)]


def group_of(patients: pd.DataFrame, column: str, bins=None) -> pd.Series:
    """Each patient's group for ``column`` as text; ``bins`` cut a numeric field into left-closed bands."""
    if column not in patients.columns:
        raise ProtocolError("subgroup", column, "a column of the patients table",
                            hint="For example site, sex, race_ethnicity or age_years.")
    values = patients[column]
    if bins is not None:
        values = pd.cut(values.astype("Float64"), bins=bins, right=False, labels=band_labels(bins))
    return values.astype("string").fillna(MISSING)


def declared_levels(column: str, bins=None) -> list[str] | None:
    """Every group of ``column`` the data dictionary declares (the bands of a banded one), without
    :data:`MISSING`; None when it declares none (site).

    >>> declared_levels("sex"), declared_levels("age_years", [0, 18, 91]), declared_levels("site")
    (['F', 'M'], ['[0, 18)', '[18, 91)'], None)
    """
    from screening.io.schema import TABLES

    if bins is not None:
        return band_labels(bins)
    field = next((f for f in TABLES["patients"] if f.name == column), None)
    allowed = getattr(field, "allowed", None)
    return [str(v) for v in allowed] if allowed else None


def merge_small_groups(groups: pd.Series, min_patients: int, declared: list[str] | None = None
                       ) -> tuple[pd.Series, list[str]]:
    """Groups with fewer than ``min_patients`` merged into one; missing values stay apart.

    ``declared``: every group there may be; one the data do not hold is small too (merged, not left out: a
    group left out of a table whose groups add up would read as zero). Returns the relabelled groups and
    the merged names (listed in provenance).
    """
    sizes = groups.value_counts()
    if declared is not None:
        sizes = sizes.reindex(list(dict.fromkeys([*declared, *sizes.index])), fill_value=0)
    small = sorted(str(g) for g, n in sizes.items() if n < min_patients and g != MISSING)
    if not small:
        return groups, []
    return groups.where(~groups.isin(small), SMALL_GROUPS), small


def outcome_by(states: np.ndarray, groups: pd.Series, column: str) -> pd.DataFrame:
    """Patients by final status in each group (rows: groups named under ``column``), with each group's total."""
    status, _ = placement(states)
    table = pd.crosstab(groups.to_numpy(), pd.Categorical.from_codes(status, STATUSES), dropna=False)
    table = table.reindex(columns=list(STATUSES), fill_value=0)
    table.index.name, table.columns.name = column, None
    table["total"] = table.sum(axis=1)
    return table.reset_index()


def attrition_by(states: np.ndarray, groups: pd.Series, column: str, criteria) -> pd.DataFrame:
    """The sequential attrition table within each group, stacked (tidy); ``criteria`` are the states' columns."""
    values = groups.to_numpy()
    parts = []
    for value in sorted(set(values)):  # one pass per group, not per patient
        table = attrition_table(count_states(states[values == value]), criteria)
        table.insert(0, column, value)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def composition(states: np.ndarray, groups: pd.Series, column: str) -> pd.DataFrame:
    """Share of each group in the extract, the eligible pool and the not-assessable."""
    status, _ = placement(states)
    parts = []
    for name, mask in (("extract", np.ones(len(status), bool)), ("eligible", status == Status.ELIGIBLE),
                       ("not_assessable", status == Status.NOT_ASSESSABLE)):
        counts = groups[mask].value_counts()
        total = max(int(counts.sum()), 1)
        parts.append(pd.DataFrame({column: counts.index.astype(str), "population": name,
                                   "patients": counts.to_numpy().astype(int),
                                   "percent": np.round(100 * counts.to_numpy() / total, 1)}))
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["population", column], kind="stable").reset_index(drop=True)
