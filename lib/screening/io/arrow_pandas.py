"""Fast-path columns to pandas in the data dictionary's dtypes, written chunk by chunk into one array.

pandas' own conversion builds each chunk's arrays and then joins them: a second
copy of the column. These write straight into the final numpy buffers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from screening.io.arrow_labels import categorical_of, distinct_ids, identity_of, ids_in_order
from screening.io.schema import Field

__all__ = ["to_series"]


def to_series(values: pa.ChunkedArray, f: Field | None, table: str, from_csv: bool) -> pd.Series:
    if f is None:
        if from_csv:
            return pd.Series(values.to_pandas(), dtype="str")
        return values.to_pandas()
    if f.kind == "id" and table == "patients":  # distinct ids as a categorical over themselves, as the fast path
        if _in_order(values):  # as the cache stores checked ids: categories known distinct, not hashed again
            return ids_in_order(values.chunks[0].dictionary)
        text = values.cast(pa.string()).combine_chunks()
        ids = distinct_ids(text)
        return ids if ids is not None else pd.Series(pd.array(text, dtype=pd.StringDtype("pyarrow")), copy=False)
    if f.kind in ("id", "str", "category"):
        return categorical_of(values, f)
    if f.kind == "date":
        return _dates(values)
    if f.kind == "int":
        return pd.Series(pd.arrays.IntegerArray(*_masked(values.cast(pa.int32()), np.int32)), copy=False)
    if f.kind == "bool":
        return pd.Series(pd.arrays.BooleanArray(*_masked(values, np.bool_)), copy=False)
    return pd.Series(pd.arrays.FloatingArray(*_masked(values.cast(pa.float64()), np.float64)), copy=False)



def _in_order(values: pa.ChunkedArray) -> bool:
    """Dictionary-encoded over one dictionary that holds row i's value at i (a pandas categorical in order)."""
    chunks = [c for c in values.chunks if len(c)]
    if not pa.types.is_dictionary(values.type) or not chunks or len(chunks[0].dictionary) != len(values):
        return False
    if len({identity_of(c.dictionary) for c in chunks}) != 1 or any(c.null_count for c in chunks):
        return False
    codes = np.concatenate([c.indices.to_numpy() for c in chunks])
    return bool(np.array_equal(codes, np.arange(len(codes))))


def _dates(values: pa.ChunkedArray) -> pd.Series:
    """Dates or timestamps as datetime64[s] (NaT where missing), converted chunk by chunk into one array:
    a whole-column cast would hold a third copy of ten million dates at once."""
    out, at = np.empty(len(values), "datetime64[s]"), 0
    for chunk in values.chunks:
        out[at:at + len(chunk)] = chunk.cast(pa.timestamp("s"), safe=False).to_numpy(zero_copy_only=False)
        at += len(chunk)
    return pd.Series(out, copy=False)



def _masked(values: pa.ChunkedArray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Values (0 where missing) and the missing mask, written chunk by chunk into one array each.

    pandas' own conversion builds each chunk's arrays and then joins them: a second copy of the column.
    """
    data, mask, at = np.empty(len(values), dtype), np.zeros(len(values), np.bool_), 0
    for chunk in values.chunks:
        end = at + len(chunk)
        if chunk.null_count:
            mask[at:end] = chunk.is_null().to_numpy(zero_copy_only=False)
            chunk = chunk.fill_null(pa.scalar(0 if dtype is not np.bool_ else False, chunk.type))
        data[at:end] = chunk.to_numpy(zero_copy_only=False)
        at = end
    return data, mask

