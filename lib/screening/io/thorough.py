"""The loader's thorough path: parse a table read as text with pandas, check it, and name every problem.

The fast path (:mod:`screening.io.columnar`) only says "fine" or "doubtful";
a doubtful table is read again as text (:func:`screening.io.files.read_raw`)
and checked here, which names the file, column, lines and values at fault.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ExtractError, ExtractWarning
from screening.io.checks import THOROUGH, checks_of, failure, shown
from screening.io.schema import FALSE_WORDS, TRUE_WORDS, Field, dtype_of, fields_of

__all__ = ["check_table", "warn_empty_columns"]

_BOOL_WORDS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}


def check_table(raw: pd.DataFrame, file: Path, name: str, columns: list[str] | None = None,
                explained: frozenset = frozenset(), failures: list[ExtractError] | None = None) -> pd.DataFrame:
    """Parse and check one raw table; ``file`` only names it in errors.

    Every failing check is an :class:`~screening.errors.ExtractError`, added to ``failures`` (a cell
    that does not parse is then held missing), or raised all together when ``failures`` is None.
    ``explained`` columns are known to be empty (a converted source cannot give them): no warning.
    """
    # Lab dates left out: undated values, no date columns (as the fast path reads them).
    fields = [f for f in fields_of(name, columns) if f.name in raw.columns or "dates" not in f.extra]
    row_word = "line" if file.suffix == ".csv" else "row"
    missing = [f.name for f in fields if f.name not in raw.columns and not f.optional]
    if missing:
        sep_hint = ""
        if len(raw.columns) == 1 and any(c in str(raw.columns[0]) for c in ";\t|"):
            sep_hint = " The header looks delimited by ';', tab or '|': save the file with commas."
        raise ExtractError(str(file), ", ".join(missing), f"the column{'s' if len(missing) > 1 else ''} "
                           f"named in the data dictionary (data/README.md)",
                           hint=f"Columns found: {', '.join(map(str, raw.columns[:12]))}.{sep_hint}")
    absent = {f.name for f in fields if f.name not in raw.columns}
    parsed, unparsed = {}, {}
    for f in fields:
        column = raw[f.name] if f.name not in absent else pd.Series(pd.NA, index=raw.index, dtype="string")
        parsed[f.name], bad, shown_values = _parse_column(column, f)
        if bad is not None:
            unparsed[f.name] = bad, shown_values
    table = pd.DataFrame(parsed, index=raw.index)
    extras = [c for c in raw.columns if c not in parsed]
    for col in extras:  # kept for protocol column rules; not part of the dictionary
        table[col] = raw[col]
    found = _failures(table, fields, unparsed, file, name, row_word)
    if found and failures is None:
        raise ExtractError.every(found)
    if found:
        failures.extend(found)
    warn_empty_columns(table, [f for f in fields if f.name not in explained], file)
    for f in fields:
        if f.kind in ("category", "str"):
            # Labels repeat across millions of rows: categoricals are smaller and compare by code. Fixed-list
            # columns keep their spellings here; the vocabulary step maps them (screening.io.vocabulary).
            table[f.name] = table[f.name].astype("category")
        elif f.kind == "id" and name != "patients":
            table[f.name] = table[f.name].astype("category")  # each patient's id repeats per event
        elif f.kind == "id":
            table[f.name] = table[f.name].astype("string")  # the patients index: unique strings
    return table.reset_index(drop=True)


def warn_empty_columns(table: pd.DataFrame, fields: list[Field], file: Path) -> None:
    """A column empty in every row is allowed (not recorded) but usually an export mistake: warn."""
    if table.empty:
        return
    empty = [f.name for f in fields if not (f.required or f.optional) and table[f.name].isna().all()]
    if empty:
        warnings.warn(ExtractWarning(f"{file}: column{'s' if len(empty) > 1 else ''} {', '.join(empty)} "
                                     "empty in every row: criteria that need them will find every patient "
                                     "not assessable. Check the export if the registry records them."),
                      stacklevel=4)


def _parse_column(col: pd.Series, f: Field) -> tuple[pd.Series, np.ndarray | None, pd.Series]:
    """A raw column in its dictionary dtype, the cells that do not parse (held missing) or None, and the
    values an error about them shows. Blanks stay missing."""
    target = dtype_of(f)
    if f.kind == "date" and pd.api.types.is_datetime64_any_dtype(col):
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_localize(None)  # a time-zoned timestamp counts on its own local calendar date
        return col.astype("datetime64[s]"), None, col
    if f.kind in ("int", "float") and pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        out = col.astype("Float64")
        if f.kind == "int":
            bad = (out.notna() & (out != out.round())).fillna(False).to_numpy(dtype=bool)
            return out.mask(bad).astype("Int32"), bad if bad.any() else None, col
        return out, None, col
    if f.kind == "bool" and pd.api.types.is_bool_dtype(col):
        return col.astype("boolean"), None, col
    if f.kind in ("id", "str", "category") and isinstance(col.dtype, pd.CategoricalDtype):
        # Clean the categories, not every row: blank means missing, as in a CSV; ' F' and 'F' become one.
        stripped = [str(c).strip() for c in col.cat.categories]
        kept = sorted(set(stripped) - {""})
        position = {c: i for i, c in enumerate(kept)}
        recode = np.array([position.get(c, -1) for c in stripped] + [-1])
        return pd.Series(pd.Categorical.from_codes(recode[col.cat.codes.to_numpy()], categories=kept),
                         index=col.index), None, col
    text = col.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna()
    if f.kind in ("id", "str", "category"):
        return text, None, text
    if f.kind == "date":
        out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")
    elif f.kind in ("int", "float"):
        out = pd.to_numeric(text, errors="coerce").astype("Float64")
    elif f.kind == "bool":
        out = text.str.lower().map(_BOOL_WORDS).astype("boolean")
    else:  # pragma: no cover - the schema is static
        raise AssertionError(f"unknown field kind {f.kind}")
    bad = (present & out.isna()).to_numpy(dtype=bool)
    if f.kind == "int":
        bad = bad | (out.notna() & (out != out.round())).fillna(False).to_numpy(dtype=bool)
        out = out.mask(bad).astype(target)
    return out, bad if bad.any() else None, text


def _failures(table: pd.DataFrame, fields: list[Field], unparsed: dict[str, tuple[np.ndarray, pd.Series]],
              file: Path, name: str, row_word: str) -> list[ExtractError]:
    """Every check of the table that some row fails, in the declared order (:func:`screening.io.checks.checks_of`)."""
    found = []
    for check in checks_of(fields, name):
        if check.name == "format":
            if check.column in unparsed:
                bad, text = unparsed[check.column]
                found.append(failure(check, file, bad, text, row_word))
            continue
        rows = THOROUGH[check.name](check, table)
        if check.name == "required" and check.column in unparsed:
            rows = rows & ~unparsed[check.column][0]  # named already: the value does not parse
        if rows.any():
            found.append(failure(check, file, rows, shown(check, table), row_word))
    return found
