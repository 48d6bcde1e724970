"""Data quality of an extract: how much of each field is missing.

Example
-------
>>> from screening import load_extract
>>> from screening.engine.quality import missingness
>>> top = missingness(load_extract("data/synthetic")).iloc[0]
>>> top["column"], float(top["percent"])
('latent_tb_treated', 97.9)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import TABLES

__all__ = ["missingness", "unrecognised"]


def missingness(extract: Extract, table: str = "patients") -> pd.DataFrame:
    """Per column of ``table``: rows missing a value and the share, most missing first.

    Columns that are required (never missing) are left out, and so are optional ones the extract
    does not hold (left out of the file, or blank in every row). ``note`` says why a
    converted source (OMOP, Synthea) cannot give a column.
    """
    frame = extract.table(table)
    rows = []
    for f in TABLES[table]:
        if f.required or f.name not in frame.columns:
            continue
        missing = int(frame[f.name].isna().sum())
        if f.optional and missing == len(frame) and len(frame):  # a field this extract does not hold at all
            continue
        rows.append({"table": table, "column": f.name, "description": f.description, "missing": missing,
                     "percent": round(100 * missing / max(len(frame), 1), 1),
                     "note": extract.notes.get(f.name, "")})
    out = pd.DataFrame(rows)
    return out.sort_values(["missing", "column"], ascending=[False, True], kind="stable").reset_index(drop=True) \
        if len(out) else out.assign(missing=np.zeros(0, dtype=int))


def unrecognised(extract: Extract) -> pd.DataFrame:
    """Coded values the vocabulary did not know, read as unknown: file, column, value, rows (most rows first).

    >>> from screening import load_extract
    >>> unrecognised(load_extract("data/synthetic")).empty
    True
    """
    table = extract.unrecognised
    if table.empty:
        return pd.DataFrame(columns=["file", "column", "value", "rows"])
    return table.sort_values(["rows", "value"], ascending=[False, True], kind="stable").reset_index(drop=True)
