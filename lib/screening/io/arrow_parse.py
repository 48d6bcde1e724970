"""Parse and check one column on the fast path: typed values from Arrow text or Parquet types.

Anything the thorough path might read differently (a date not written
YYYY-MM-DD, a quote in a value, an unexpected Parquet type) raises
:class:`~screening.io.checks.Suspect`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.io.arrow_labels import (
    distinct_ids,
    distinct_words,
    indices_of,
    label_codes,
    stacked_words,
    through,
    trimmed_words,
)
from screening.io.arrow_pandas import to_series
from screening.io.checks import Check, Suspect, failing
from screening.io.schema import FALSE_WORDS, TRUE_WORDS, Field

__all__ = ["extra_text", "parse_column", "patient_positions"]


_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def parse_column(values: pa.ChunkedArray, f: Field, table: str, from_csv: bool,
                 checks: list[Check] = ()) -> tuple[pd.Series, list[tuple[Check, np.ndarray]]]:
    """One column parsed and in its pandas dtype, with the ``checks`` it fails and their failing rows.

    Text is parsed once per distinct value.
    """
    kind = values.type
    if f.kind == "id" and table == "patients" and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        out = trimmed_words(values.combine_chunks().cast(pa.string()), from_csv)  # each id distinct: nothing to share
        ids = distinct_ids(out)
        if ids is not None:  # the usual case: checked by one hash, and the events' categories already
            return ids, failing(checks, ids)
    elif f.kind in ("id", "str", "category") and not (f.kind == "id" and table == "patients") and (
            pa.types.is_dictionary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        labels = label_codes(values, f, from_csv)
        return labels, failing(checks, labels)
    elif pa.types.is_dictionary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        words, rows = distinct_words(values)
        values = None
        words = trimmed_words(words, from_csv)
        parsed = words if f.kind == "id" else _parse_words(words, f)
        if pc.any(pc.and_(pc.is_null(parsed), pc.is_valid(words))).as_py():
            raise Suspect("a value that does not parse")
        out = parsed.take(pa.array(rows, mask=rows < 0))  # per row, from per distinct value
    else:
        out = _parse_typed(values, f)
    values = None
    if f.kind in ("int", "float") and pc.any(pc.is_nan(out)).as_py():
        raise Suspect("NaN is not a number a registry records")
    found = failing(checks, out)
    return to_series(out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out]), f, table, from_csv), found


def patient_positions(values: pa.ChunkedArray, patients: pd.CategoricalDtype, f: Field,
                       from_csv: bool) -> pd.Series:
    """An event table's patient ids as a categorical over every patient's id: its codes are positions."""
    words, rows = stacked_words(values)  # a word repeated across chunks is looked up twice: cheaper than merging
    values = None
    words = trimmed_words(words, from_csv)
    ids = pa.array(patients.categories, pa.string())
    if 4 * len(words) < len(ids):  # few patients: hash their ids, then look every patient up among them
        distinct = pc.dictionary_encode(words)  # a word may repeat, once per chunk
        found = indices_of(pc.index_in(ids, value_set=distinct.dictionary))
        per_word = np.full(len(distinct.dictionary), -1, np.int32)
        hit = np.flatnonzero(found >= 0)
        per_word[found[hit]] = hit
        entry = through(per_word, indices_of(distinct.indices))
    else:  # most of them: hash the patients' ids, look each word up
        entry = indices_of(pc.index_in(words, value_set=ids))
    if np.any((entry < 0) & pc.is_valid(words).to_numpy(zero_copy_only=False)):
        raise Suspect("an event of an unknown patient, or a missing patient_id")
    position = through(entry, rows)  # -1: a missing id, which the required check names
    return pd.Series(pd.Categorical.from_codes(position, dtype=patients, validate=False), copy=False)


def _parse_words(words: pa.Array, f: Field) -> pa.Array:
    """Parse trimmed distinct values; a value that does not parse becomes null (and is flagged)."""
    present = pc.is_valid(words)
    if f.kind == "date":
        if not pc.all(pc.or_kleene(pc.invert(present), pc.match_substring_regex(words, _ISO_DATE))).as_py():
            raise Suspect("a date not written YYYY-MM-DD")
        try:
            return pc.cast(pc.cast(words, pa.date32()), pa.timestamp("s"))
        except pa.ArrowInvalid as exc:  # an impossible date such as 2024-02-30
            raise Suspect(str(exc)) from exc
    if f.kind in ("int", "float"):
        try:
            number = pc.cast(words, pa.float64())
        except pa.ArrowInvalid as exc:
            raise Suspect(str(exc)) from exc
        if f.kind == "int":
            if pc.any(pc.not_equal(number, pc.floor(number))).as_py():
                raise Suspect("a fraction in a whole-number column")
        return number
    if f.kind == "bool":
        lower = pc.utf8_lower(words)
        yes, no = pc.is_in(lower, pa.array(TRUE_WORDS)), pc.is_in(lower, pa.array(FALSE_WORDS))
        return pc.if_else(pc.or_(yes, no), yes, pa.scalar(None, pa.bool_()))
    raise AssertionError(f"{f.kind} is not parsed word by word")  # pragma: no cover - labels go to _label_codes


def _parse_typed(values: pa.ChunkedArray, f: Field) -> pa.ChunkedArray:
    """A column Parquet already holds typed: check it has the kind the dictionary asks for.

    Chunks stay as read (one per row group): joining them would copy the column once more.
    """
    kind = values.type
    if f.kind == "date" and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            raise Suspect("a date with a time zone")
        return values  # to seconds chunk by chunk, on the way to pandas (:func:`_dates`)
    if f.kind in ("int", "float") and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        number = values.cast(pa.float64())
        if f.kind == "int" and pc.any(pc.not_equal(number, pc.floor(number))).as_py():
            raise Suspect("a fraction in a whole-number column")
        return number
    if f.kind == "bool" and pa.types.is_boolean(kind):
        return values
    raise Suspect(f"a {kind} column where the dictionary asks for {f.kind}")


def extra_text(values: pa.ChunkedArray) -> pa.Array:
    """A CSV column outside the dictionary: text, leading blanks dropped, empty as missing."""
    words, rows = distinct_words(values)
    words = pc.utf8_ltrim(words, characters=" ")
    return pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words).take(pa.array(rows, mask=rows < 0))

