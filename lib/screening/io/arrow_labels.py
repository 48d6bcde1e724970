"""Dictionary-encoded text on the fast path: each decision once per distinct word, not once per row.

Arrow reads a text column as chunks (CSV blocks, Parquet row groups), each with
a dictionary of its own. These helpers lay the dictionaries end to end, trim
and rank the distinct words, and turn a label column into pandas categorical
codes without building a per-row array of text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.io.checks import Suspect
from screening.io.schema import Field

__all__ = ["categorical_of", "chunk_dictionaries", "code_type", "distinct_ids", "distinct_words", "identity_of",
           "ids_in_order", "in_order", "indices_of", "is_canonical", "label_codes", "labels_from_codes",
           "stacked_words", "through", "trimmed_words"]


def distinct_words(values: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Distinct values and each row's index into them (-1 where missing), whatever the chunking.

    Each chunk (row group, CSV block) has a dictionary of its own. Their entries
    are encoded together once, and each row's index goes through its chunk's
    offset: cheaper than Arrow's ``unify_dictionaries`` on a million ids.
    """
    stacked, local = stacked_words(values)
    together = pc.dictionary_encode(stacked)
    return together.dictionary, through(indices_of(together.indices), local)


def stacked_words(values: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Every chunk's dictionary laid end to end (a value may repeat), and each row's index into them."""
    stacked, pieces = chunk_dictionaries(values)
    local, at = np.empty(sum(len(c) for c, _ in pieces), np.int32), 0
    for c, start in pieces:
        part = local[at:at + len(c)]
        part[:] = indices_of(c.indices)
        np.add(part, start, out=part, where=part >= 0)  # into the dictionaries laid end to end
        at += len(c)
    return stacked, local


def chunk_dictionaries(values: pa.ChunkedArray) -> tuple[pa.Array, list[tuple[pa.DictionaryArray, int]]]:
    """Every chunk's dictionary laid end to end, and each chunk with where its dictionary starts there."""
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values)
    start, dictionaries, pieces, size = {}, [], [], 0
    for c in values.chunks:
        if not len(c):
            continue
        # Batches of one Parquet row group share its dictionary: each distinct dictionary is laid down once.
        key = identity_of(c.dictionary)
        if key not in start:
            start[key] = size
            dictionaries.append(c.dictionary.cast(pa.string()))
            size += len(c.dictionary)
        pieces.append((c, start[key]))
    return (pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.string())), pieces


def label_codes(values: pa.ChunkedArray, f: Field, from_csv: bool) -> pd.Series:
    """A label column straight to its categorical: every decision is taken once per distinct word.

    Each chunk's indices are read twice (which words are used, then through a
    small per-chunk table to the final code, written in place): no per-row array
    is built on the way, which matters at ten million rows.
    """
    stacked, pieces = chunk_dictionaries(values)
    values = None
    words = trimmed_words(stacked, from_csv)
    found = pc.dictionary_encode(words)
    order = pc.array_sort_indices(found.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1
    entry = rank[indices_of(found.indices)]  # per stacked word: its rank among the distinct words, -1 if missing
    used = np.zeros(len(order) + 1, np.bool_)
    for c, start in pieces:  # only the words some row holds (a Parquet dictionary may hold others)
        held = np.bincount(indices_of(c.indices) + 1, minlength=len(c.dictionary) + 1)[1:] > 0
        used[entry[start:start + len(c.dictionary)][held]] = True
    used = used[:-1]
    categories = found.dictionary.take(pa.array(order)).filter(pa.array(used))
    known = entry >= 0
    entry[known] = (np.cumsum(used) - 1)[entry[known]]  # rank -> code among the words used
    kind = code_type(len(categories))
    codes, at = np.empty(sum(len(c) for c, _ in pieces), kind), 0
    for c, start in pieces:
        table = np.append(entry[start:start + len(c.dictionary)], -1).astype(kind)
        codes[at:at + len(c)] = table[indices_of(c.indices)]
        at += len(c)
    return labels_from_codes(codes, categories, f)


def trimmed_words(words: pa.Array, from_csv: bool) -> pa.Array:
    """Distinct words as the slow path reads them: blanks trimmed, empty as missing."""
    if from_csv and pc.any(pc.match_substring(words, '"')).as_py():
        raise Suspect("a quote inside a value")  # the slow reader may read it differently
    words = pc.utf8_trim_whitespace(words)
    return pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)


def indices_of(indices: pa.Array) -> np.ndarray:
    """Dictionary indices as numpy, -1 where missing (without nulls, a view of Arrow's buffer)."""
    if indices.null_count:
        return pc.fill_null(indices, -1).to_numpy()
    return indices.to_numpy()


def identity_of(array: pa.Array) -> tuple:
    """Where an array's memory is: chunks that share one dictionary give the same identity."""
    return (array.offset, len(array), *(b.address if b is not None else 0 for b in array.buffers()))


def through(entry: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``entry[rows]``, -1 where ``rows`` is -1: one pass, one new array."""
    return np.append(entry.astype(np.int32, copy=False), np.int32(-1))[rows]


def categorical_of(values: pa.ChunkedArray, f: Field) -> pd.Series:
    chunks = [c for c in values.chunks if len(c)]
    if len({identity_of(c.dictionary) for c in chunks}) == 1 and is_canonical(chunks[0].dictionary, f):
        # as the cache holds it: codes into the final categories already
        return labels_from_codes(np.concatenate([indices_of(c.indices) for c in chunks]),
                       chunks[0].dictionary, f)
    return label_codes(values, f, False)


def labels_from_codes(codes: np.ndarray, categories: pa.Array, f: Field) -> pd.Series:
    """A categorical from codes into the text's sorted values."""
    dtype = pd.CategoricalDtype(pd.Index(pd.array(categories, dtype=pd.StringDtype("pyarrow"))))
    return pd.Series(pd.Categorical.from_codes(codes.astype(code_type(len(dtype.categories)), copy=False),
                                               dtype=dtype, validate=False), copy=False)


def is_canonical(categories: pa.Array, f: Field) -> bool:
    """Already the final categories: distinct values sorted."""
    if categories.null_count or not (pa.types.is_string(categories.type) or pa.types.is_large_string(categories.type)):
        return False
    return len(categories) < 2 or pc.all(pc.less(categories[:-1], categories[1:])).as_py()


def distinct_ids(words: pa.Array) -> pd.Series | None:
    """Ids each present and distinct, as a categorical over themselves (code i on row i), or None.

    One hash of the ids, Arrow's dictionary encoding, both checks them and gives
    the categories: pandas would hash them again, as a million Python strings,
    to check categories it is handed (and the event tables' ids are looked up
    with Arrow, not through a pandas index).

    >>> distinct_ids(pa.array(["P2", "P1"])).cat.codes.tolist(), distinct_ids(pa.array(["P1", "P1"]))
    ([0, 1], None)
    """
    encoded = pc.dictionary_encode(words)
    if len(encoded.dictionary) != len(words):  # a missing or repeated id: the checks name them
        return None
    return ids_in_order(encoded.dictionary)


def ids_in_order(ids: pa.Array) -> pd.Series:
    """Distinct ids (the caller vouches for it) as a categorical over themselves, code i on row i."""
    categories = pd.Index(pd.array(ids.cast(pa.string()), dtype=pd.StringDtype("pyarrow")), name="patient_id")
    dtype = pd.CategoricalDtype._from_fastpath(categories)  # pandas' public constructor hashes them again
    codes = np.arange(len(categories), dtype=np.int32)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False), copy=False)


def in_order(series: pd.Series) -> bool:
    """Whether a categorical holds category i on row i (so every row's value is distinct and present)."""
    if not isinstance(series.dtype, pd.CategoricalDtype) or len(series.cat.categories) != len(series):
        return False
    return bool(np.array_equal(series.cat.codes.to_numpy(), np.arange(len(series))))


def code_type(n: int):
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32

