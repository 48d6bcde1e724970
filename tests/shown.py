"""What a reader sees for each published cell: the label in the shared table, found by the row's identity.

Shared tables put some rows in order of their shown counts (an order by exact counts would tell close counts
apart), so a cell's row in the shared file is not its row in the published counts: it is found by the columns
that name the row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Tables written in order of the shown counts, and the columns that name a row in them.
REORDERED = {"missingness": ["table", "column"], "not_assessable": ["criterion"]}


def _keys(table: str, frame: pd.DataFrame) -> list[str]:
    if table == "overlap":  # a combination is named by which criteria exclude its patients
        return ["combination"] + [c for c in frame.columns if frame[c].dtype == bool]
    return REORDERED.get(table, [])


def label(pub, tables: dict[str, pd.DataFrame], table: str, row: int, col: str) -> str:
    """The label shown for published cell ``(table, row, col)``; ``""`` when its table was withheld."""
    if table not in tables or not len(tables[table]):
        return ""
    shared = tables[table]
    keys = _keys(table, pub.tables[table])  # the published frame keeps the dtypes a CSV loses
    if keys:
        want = pub.tables[table].iloc[row][keys].astype(str).to_numpy()
        hits = np.flatnonzero((shared[keys].astype(str).to_numpy() == want).all(axis=1))
        assert len(hits) == 1, f"{table}: row {row} is not named uniquely by {keys}"
        row = int(hits[0])
    return str(shared[col].iloc[row])


def states(pub, tables: dict[str, pd.DataFrame]) -> None:
    """Set each cell's audit state from what is shown: published (0), suppressed ``*`` (2), withheld (3)."""
    for (table, row, col), i in pub.cells._index.items():
        pub.cells.state[i] = {"*": 2, "": 3}.get(label(pub, tables, table, row, col), 0)
