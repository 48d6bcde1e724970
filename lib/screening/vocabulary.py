"""Coded values as registries write them, mapped to the data dictionary's canonical values.

A registry writes ``Benlysta``, ``BELIMUMAB`` or ``belimumab `` for the same
ingredient. Each value of a vocabulary-mapped column is normalised (Unicode NFKC,
case folded, runs of white space made one space, trimmed) and looked up in the
shipped synonym table ``lib/screening/vocabulary.csv`` (column, value,
canonical, drug class of an ingredient, RxNorm ingredient code, note). Add a row there to teach it a local
name. Only the distinct values are mapped, never row by row.

A value the table does not know is never dropped silently: it is reported with
its count and file (an :class:`~screening.errors.ExtractWarning` and
``Extract.unrecognised``), and its rows hold a missing value, which the rules
read as "could be any ingredient of the row's drug class". With ``strict=True``
it is an :class:`~screening.errors.ExtractError` instead.

Example
-------
>>> from screening.vocabulary import normalise, canonical
>>> normalise(["  Benlysta", "CELLCEPT ", "mycophenolate\\u00a0mofetil"])
['benlysta', 'cellcept', 'mycophenolate mofetil']
>>> canonical("drug")["saphnelo"]
'anifrolumab'
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ExtractError, ExtractWarning

__all__ = ["VOCABULARY_FILE", "MAPPED_COLUMNS", "normalise", "canonical", "ingredients", "classes_of", "recognise"]

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.csv")
#: table -> columns whose values go through the synonym table
MAPPED_COLUMNS = {"medications": ("drug",)}
_SPACE = re.compile(r"\s+")


def normalise(values) -> list[str]:
    """Values as compared: NFKC, case folded, white space collapsed and trimmed."""
    return [_SPACE.sub(" ", unicodedata.normalize("NFKC", str(v))).strip().casefold() for v in values]


@cache
def _table() -> pd.DataFrame:
    return pd.read_csv(VOCABULARY_FILE, dtype=str, keep_default_na=False)


def canonical(column: str) -> dict[str, str]:
    """Normalised value -> canonical value, for one column of the synonym table."""
    rows = _table()[_table()["column"] == column]
    return dict(zip(normalise(rows["value"]), rows["canonical"], strict=True))


def ingredients() -> pd.DataFrame:
    """The canonical drug ingredients with their class and RxNorm code (where known)."""
    rows = _table()
    return rows[(rows["column"] == "drug") & (rows["value"] == rows["canonical"])] \
        [["canonical", "drug_class", "rxnorm"]].rename(columns={"canonical": "drug"}).reset_index(drop=True)


def classes_of(drugs) -> list[str]:
    """The drug classes that hold any of ``drugs``: where an unrecognised drug name might be one of them.

    >>> classes_of(["belimumab", "rituximab"])
    ['biologic']
    """
    table = ingredients()
    return sorted(set(table.loc[table["drug"].isin(list(drugs)), "drug_class"]))


def recognise(tables: dict[str, pd.DataFrame], files: dict[str, Path], strict: bool = False
              ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Map every vocabulary column to canonical values; report what the vocabulary does not know.

    Returns the tables (mapped columns as categoricals, unknown values missing) and one row per
    unrecognised value: file, column, value, rows.
    """
    found = []
    out = dict(tables)
    for table, columns in MAPPED_COLUMNS.items():
        frame = tables.get(table)
        if frame is None:
            continue
        for column in columns:
            if column not in frame:
                continue
            col = frame[column]
            if not isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype("category")
            lookup = canonical(column)
            mapped = [lookup.get(v) for v in normalise(col.cat.categories)]
            unknown = [c for c, m in zip(col.cat.categories, mapped, strict=True) if m is None]
            if unknown:
                counts = col.value_counts(sort=False)
                found += [{"file": str(files.get(table, table)), "column": column, "value": str(v),
                           "rows": int(counts[v])}
                          for v in unknown]
            kept = sorted({m for m in mapped if m is not None})
            # Old category code -> new code (-1, missing, for unknown values and for missing ones).
            recode = np.array([kept.index(m) if m is not None else -1 for m in mapped] + [-1])
            new = pd.Categorical.from_codes(recode[col.cat.codes.to_numpy()], categories=kept)
            frame = frame.assign(**{column: pd.Series(new, index=frame.index)})
        out[table] = frame
    report = pd.DataFrame(found, columns=["file", "column", "value", "rows"])
    if len(report):
        _complain(report.sort_values(["file", "column", "rows", "value"], ascending=[True, True, False, True]),
                  strict)
    return out, report


def _complain(report: pd.DataFrame, strict: bool) -> None:
    for (file, column), part in report.groupby(["file", "column"], sort=False):
        listed = ", ".join(f"'{v}' ({n} row{'s' if n > 1 else ''})"
                           for v, n in zip(part["value"], part["rows"], strict=True))
        if strict:
            raise ExtractError(file, column, f"values named in the vocabulary ({VOCABULARY_FILE.name})",
                               hint=f"Not recognised: {listed}. Add each to {VOCABULARY_FILE} "
                                    "(value, canonical ingredient) or correct the extract.")
        warnings.warn(ExtractWarning(
            f"{file}, column '{column}': {len(part)} value{'s' if len(part) > 1 else ''} not in the vocabulary "
            f"({VOCABULARY_FILE.name}), {int(part['rows'].sum())} rows read as an unknown {column}: {listed}. "
            f"Add them to {VOCABULARY_FILE} or pass strict to stop."), stacklevel=3)
