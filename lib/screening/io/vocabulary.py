"""Coded values as registries write them, mapped to the data dictionary's canonical values.

A registry writes ``Benlysta``, ``BELIMUMAB`` or ``belimumab `` for the same
ingredient, and ``Female``, ``f`` or ``F`` for the same sex. Every coded column
(drug names, and every column the data dictionary gives a fixed list of values:
:data:`MAPPED_COLUMNS`) is normalised (Unicode NFKC, case folded, runs of white
space made one space, trimmed) and looked up in the shipped synonym table
``lib/screening/vocabulary.csv`` (column, value, canonical, drug class of an
ingredient, RxNorm ingredient code, note). A dictionary column's own allowed
values always map to themselves, so only other spellings need a row. Add a row
there to teach it a local spelling. Only the distinct values are mapped, never
row by row.

A value the table does not know is never dropped silently: it is reported with
its column, count and file (an :class:`~screening.errors.ExtractWarning` and
``Extract.unrecognised``), and its rows hold a missing value, which the rules
read as unknown (a drug name: "could be any ingredient of the row's drug class"; a drug
class: the class of the row's drug where the vocabulary knows it, else "any class").
With ``strict=True`` it is an :class:`~screening.errors.ExtractError` instead.

Example
-------
>>> from screening.io.vocabulary import normalise, canonical
>>> normalise(["  Benlysta", "CELLCEPT ", "mycophenolate\\u00a0mofetil", "\\uff26emale"])
['benlysta', 'cellcept', 'mycophenolate mofetil', 'female']
>>> canonical("drug")["saphnelo"], canonical("sex")["woman"], canonical("sex")["f"]
('anifrolumab', 'F', 'F')
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ExtractError, ExtractWarning
from screening.io.schema import OPTIONAL_TABLES, TABLES

__all__ = ["VOCABULARY_FILE", "MAPPED_COLUMNS", "normalise", "canonical", "ingredients", "classes_of", "recognise"]

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.csv")
#: table -> columns whose values go through the synonym table: drug names and every fixed-list column
MAPPED_COLUMNS = {table: (("drug",) if table == "medications" else ())
                  + tuple(f.name for f in fields if f.kind == "category")
                  for table, fields in (TABLES | OPTIONAL_TABLES).items()}
_FIELDS = {f.name: f for fields in TABLES.values() for f in fields}
_SPACE = re.compile(r"\s+")
_CLASS_NOTE = " (a recognised drug name's class is taken from the vocabulary)"


def normalise(values) -> list[str]:
    """Values as compared: NFKC, case folded, white space collapsed and trimmed."""
    return [_SPACE.sub(" ", unicodedata.normalize("NFKC", str(v))).strip().casefold() for v in values]


@cache
def _table() -> pd.DataFrame:
    return pd.read_csv(VOCABULARY_FILE, dtype=str, keep_default_na=False)


def canonical(column: str) -> dict[str, str]:
    """Normalised value -> canonical value, for one column: its allowed values, then the synonym table's rows."""
    return dict(_canonical(column))


@cache
def _canonical(column: str) -> dict[str, str]:
    # Built once per column and process: every load (each partition of a Dask extract) maps a dozen columns.
    rows = _table()[_table()["column"] == column]
    allowed = _FIELDS[column].allowed if column in _FIELDS else ()
    return dict(zip(normalise(allowed), allowed, strict=True)) \
        | dict(zip(normalise(rows["value"]), rows["canonical"], strict=True))


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
    return list(_classes_of(frozenset(drugs)))


@cache
def _classes_of(drugs: frozenset) -> tuple[str, ...]:
    # The row-by-row engine asks this for every medication row with an unknown name.
    table = ingredients()
    return tuple(sorted(set(table.loc[table["drug"].isin(list(drugs)), "drug_class"])))


def recognise(tables: dict[str, pd.DataFrame], files: dict[str, Path], strict: bool = False,
              failures: list[ExtractError] | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Map every vocabulary column to canonical values; report what the vocabulary does not know.

    Returns the tables (mapped columns as categoricals: a fixed-list column in the dictionary's
    categories, drug names in the canonical names found; unknown values missing) and one row per
    unrecognised value: file, column, value, rows. With ``strict``, each column holding an unknown
    value is an :class:`~screening.errors.ExtractError` (check ``allowed``), added to ``failures``
    or, when that is None, raised.
    """
    found = []
    out = dict(tables)
    for table, columns in MAPPED_COLUMNS.items():
        frame = tables.get(table)
        if frame is None:
            continue
        mapped_columns = {}
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
                part = [{"file": str(files.get(table, table)), "column": column, "value": str(v),
                         "rows": int(counts[v])} for v in unknown if counts[v]]
                if strict and part:
                    refused = _refused(pd.DataFrame(part), col, unknown, Path(files.get(table, table)))
                    if failures is None:
                        raise refused
                    failures.append(refused)
                else:
                    found += part
            allowed = _FIELDS[column].allowed
            kept = list(allowed) if allowed else sorted({m for m in mapped if m is not None})
            # Old category code -> new code (-1, missing, for unknown values and for missing ones), in the
            # codes' own small integer type: millions of rows are recoded in one cheap gather.
            position = {m: i for i, m in enumerate(kept)}
            codes = col.cat.codes.to_numpy()
            recode = np.array([position[m] if m is not None else -1 for m in mapped] + [-1],
                              dtype=np.result_type(codes.dtype, np.min_scalar_type(-len(kept))))
            new = pd.Categorical.from_codes(recode[codes], dtype=_dtype(tuple(kept)), validate=False)
            mapped_columns[column] = pd.Series(new, index=frame.index, copy=False)
        frame = frame.assign(**mapped_columns)  # once per table: assign copies the frame
        if table == "medications" and {"drug", "drug_class"} <= set(frame.columns):
            frame = _class_from_drug(frame)
        out[table] = frame
    report = pd.DataFrame(found, columns=["file", "column", "value", "rows"])
    if len(report):
        report = report.sort_values(["file", "column", "rows", "value"], ascending=[True, True, False, True],
                                    kind="stable").reset_index(drop=True)
        _complain(report)
    return out, report


def _class_from_drug(meds: pd.DataFrame) -> pd.DataFrame:
    """A drug class the vocabulary did not know, taken from the row's drug where that is a known ingredient.

    Left unknown only when the drug name is unknown too: the rules then read the row as any drug.
    """
    klass, drug = meds["drug_class"], meds["drug"]
    gap = klass.isna().to_numpy() & drug.notna().to_numpy()
    if not gap.any():
        return meds
    of = _class_of_drug()
    position = {c: i for i, c in enumerate(klass.cat.categories)}
    per_drug = np.array([position.get(of.get(d), -1) for d in drug.cat.categories] + [-1])
    codes = klass.cat.codes.to_numpy().copy()
    codes[gap] = per_drug[drug.cat.codes.to_numpy()[gap]]
    return meds.assign(drug_class=pd.Series(pd.Categorical.from_codes(codes, dtype=klass.dtype), index=meds.index))


@cache
def _dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    # Checked once per set of categories and process, not once per column of every load.
    return pd.CategoricalDtype(list(categories))


@cache
def _class_of_drug() -> dict[str, str]:
    return dict(zip(ingredients()["drug"], ingredients()["drug_class"], strict=True))


def _listed(part: pd.DataFrame) -> str:
    return ", ".join(f"'{v}' ({n} row{'s' if n > 1 else ''})" for v, n in zip(part["value"], part["rows"], strict=True))


def _canon(column: str) -> str:
    return "the ingredient" if column == "drug" else "one of " + ", ".join(_FIELDS[column].allowed)


def _refused(part: pd.DataFrame, col: pd.Series, unknown: list, file: Path) -> ExtractError:
    """Strict: a column's unrecognised values as an error naming their first lines (or rows)."""
    column = part["column"].iloc[0]
    codes = np.flatnonzero(col.cat.categories.isin(unknown))
    at = np.flatnonzero(np.isin(col.cat.codes.to_numpy(), codes))
    row_word = "line" if file.suffix == ".csv" else "row"
    first = at[:5]
    part = part.sort_values(["rows", "value"], ascending=[False, True], kind="stable")
    expected = (f"{_canon(column)}, or a spelling the vocabulary names ({VOCABULARY_FILE.name})"
                if column != "drug" else f"drug names named in the vocabulary ({VOCABULARY_FILE.name})")
    return ExtractError(str(file), column, expected,
                        rows=[int(i) + (2 if row_word == "line" else 1) for i in first],
                        values=[str(v) for v in col.iloc[first]], n_rows=len(at), row_word=row_word, check="allowed",
                        hint=f"Not recognised: {_listed(part)}. Add a row for each to {VOCABULARY_FILE} "
                             f"(column: {column}, value: as written, canonical: {_canon(column)}) "
                             "or correct the extract.")


def _complain(report: pd.DataFrame) -> None:
    for (file, column), part in report.groupby(["file", "column"], sort=False):
        warnings.warn(ExtractWarning(
            f"{file}, column '{column}': {len(part)} value{'s' if len(part) > 1 else ''} not in the vocabulary "
            f"({VOCABULARY_FILE.name}), {int(part['rows'].sum())} rows read as an unknown {column}"
            f"{_CLASS_NOTE if column == 'drug_class' else ''}: {_listed(part)}. "
            f"Add a row for each to {VOCABULARY_FILE} (canonical: {_canon(column)}) or pass strict to stop."),
            stacklevel=3)
