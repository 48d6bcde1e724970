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
from screening.io.schema import FALSE_WORDS, TRUE_WORDS, Field, dtype_of, fields_of

__all__ = ["check_table", "warn_empty_columns"]

_BOOL_WORDS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}



def check_table(raw: pd.DataFrame, file: Path, name: str, columns: list[str] | None = None,
                 explained: frozenset = frozenset()) -> pd.DataFrame:
    """Parse and check one raw table; ``file`` only names it in errors.

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
    parsed = {}
    for f in fields:
        column = raw[f.name] if f.name not in absent else pd.Series(pd.NA, index=raw.index, dtype="string")
        parsed[f.name] = _parse_column(column, f, file, row_word)
    table = pd.DataFrame(parsed, index=raw.index)
    extras = [c for c in raw.columns if c not in parsed]
    for col in extras:  # kept for protocol column rules; not part of the dictionary
        table[col] = raw[col]
    _validate(table, fields, file, name, row_word)
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



def _row_numbers(index: pd.Index, row_word: str) -> list[int]:
    # CSV line 1 is the header, so data row i (0-based) sits on line i + 2.
    offset = 2 if row_word == "line" else 1
    return [int(i) + offset for i in index]



def _fail(file: Path, f: Field, bad: pd.Series, values: pd.Series, row_word: str,
          expected: str | None = None, hint: str | None = None) -> None:
    idx = bad[bad].index
    raise ExtractError(str(file), f.name, expected or f.expected, rows=_row_numbers(idx[:5], row_word),
                       values=list(values.loc[idx[:5]]), n_rows=len(idx), hint=hint, row_word=row_word)



def _parse_column(col: pd.Series, f: Field, file: Path, row_word: str) -> pd.Series:
    """Turn a raw column into its dictionary dtype; unparsable cells are errors, blanks stay missing."""
    target = dtype_of(f)
    if f.kind == "date" and pd.api.types.is_datetime64_any_dtype(col):
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_localize(None)  # a time-zoned timestamp counts on its own local calendar date
        return col.astype("datetime64[s]")
    if f.kind in ("int", "float") and pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        out = col.astype("Float64")
        if f.kind == "int":
            bad = out.notna() & (out != out.round())
            if bad.any():
                _fail(file, f, bad.fillna(False), col, row_word)
            return out.astype("Int32")
        return out
    if f.kind == "bool" and pd.api.types.is_bool_dtype(col):
        return col.astype("boolean")
    if f.kind in ("id", "str", "category") and isinstance(col.dtype, pd.CategoricalDtype):
        # Clean the categories, not every row: blank means missing, as in a CSV; ' F' and 'F' become one.
        stripped = [str(c).strip() for c in col.cat.categories]
        kept = sorted(set(stripped) - {""})
        position = {c: i for i, c in enumerate(kept)}
        recode = np.array([position.get(c, -1) for c in stripped] + [-1])
        return pd.Series(pd.Categorical.from_codes(recode[col.cat.codes.to_numpy()], categories=kept),
                         index=col.index)
    text = col.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna()
    if f.kind in ("id", "str", "category"):
        return text
    if f.kind == "date":
        out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        bad = present & out.isna()
        if bad.any():
            _fail(file, f, bad, text, row_word, hint="Write every date as YYYY-MM-DD (e.g. 2024-03-09).")
        return out.astype("datetime64[s]")
    if f.kind in ("int", "float"):
        num = pd.to_numeric(text, errors="coerce").astype("Float64")
        bad = present & num.isna()
        if f.kind == "int":
            bad = bad | (num.notna() & (num != num.round())).fillna(False)
        if bad.any():
            _fail(file, f, bad, text, row_word)
        return num.astype(target)
    if f.kind == "bool":
        out = text.str.lower().map(_BOOL_WORDS).astype("boolean")
        bad = present & out.isna()
        if bad.any():
            _fail(file, f, bad, text, row_word)
        return out
    raise AssertionError(f"unknown field kind {f.kind}")  # pragma: no cover - schema is static



def _schema(fields: list[Field], name: str):
    import pandera.pandas as pa  # only on the slow path: importing pandera costs a third of a second

    columns = {}
    for f in fields:
        checks = []  # allowed values are the vocabulary step's to check: it knows their other spellings
        if f.min is not None or f.max is not None:
            lo = -np.inf if f.min is None else f.min
            hi = np.inf if f.max is None else f.max
            checks.append(pa.Check.in_range(lo, hi, name="range"))
        unique = name == "patients" and f.name == "patient_id"
        columns[f.name] = pa.Column(checks=checks, nullable=not f.required, unique=unique,
                                    report_duplicates="all")
    frame_checks = []
    present = {f.name for f in fields}
    for f in fields:
        other, before = (f.not_after, True) if f.not_after else (f.not_before, False)
        if other is None or other not in present:
            continue
        def order_ok(df, a=f.name, b=other, before=before):
            wrong = df[a] > df[b] if before else df[a] < df[b]
            return ~wrong.fillna(False)
        frame_checks.append(pa.Check(order_ok, name=f"{f.name}|{other}|{'after' if before else 'before'}"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False)



def _validate(table: pd.DataFrame, fields: list[Field], file: Path, name: str, row_word: str) -> None:
    """Check values with pandera; report the first failing check as one ExtractError."""
    import pandera.pandas as pa

    try:
        _schema(fields, name).validate(table, lazy=True)
        return
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    first = cases.iloc[0]
    check = str(first["check"])
    by_name = {f.name: f for f in fields}
    if first["schema_context"] == "DataFrameSchema" and "|" in check:
        col, other, how = check.split("|")
        wrong = table[col] > table[other] if how == "after" else table[col] < table[other]
        _fail(file, by_name[col], wrong.fillna(False), table[col].astype("string"), row_word,
              expected=f"a date not {how} {other} in the same row")
    col = str(first["column"])
    f = by_name[col]
    rows = cases[(cases["column"] == col) & (cases["check"] == first["check"])]
    bad = pd.Series(table.index.isin(rows["index"].dropna().astype(int)), index=table.index)
    if check == "not_nullable":
        _fail(file, f, bad, table[col].astype("string"), row_word, expected="a value in every row",
              hint="This column may not be empty.")
    if check == "field_uniqueness":
        _fail(file, f, bad, table[col], row_word, expected="each patient_id once",
              hint="Duplicate patient ids: merge or remove the repeated rows.")
    _fail(file, f, bad, table[col], row_word)

