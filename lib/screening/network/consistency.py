"""A bundle checked against itself before it is merged: its files must tell one story.

A site's tables are tied by sums (the sites' rows of ``outcome_by_site`` add up
to the headline, each composition block to its population, ...). A table edited
after the fact and sealed again with a recomputed manifest passes the checksum,
but not these sums, read as intervals under the bundle's disclosure rule
(:mod:`screening.disclosure.published`). Provenance must also describe these
tables: the same patient count and the same criteria, in order.

Example
-------
>>> import pandas as pd
>>> measures = ["patients in extract", "eligible on registry data", "not assessable (data missing)", "excluded"]
>>> cells = pd.DataFrame({"table": "headline", "row": measures, "column": "patients",
...                       "shown": ["45", "15", "0", "30"]})
>>> outcome = pd.DataFrame({"site": ["A"], "eligible": ["400"], "excluded": ["30"], "not_assessable": ["0"],
...                         "total": ["45"]})
>>> every, relations = extra_cells(cells, {"outcome_by_site": outcome})
>>> every["shown"].tolist()[4:], relations["outcome_by_site"][0]
(['400', '30', '0', '45'], {7: 1, 4: -1, 5: -1, 6: -1})
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.disclosure.bundle import Bundle
from screening.disclosure.published import tighten
from screening.errors import BundleError

__all__ = ["check_described", "check_tables", "extra_cells"]

HEADLINE_OF = {"eligible": "eligible on registry data", "excluded": "excluded",
               "not_assessable": "not assessable (data missing)", "total": "patients in extract",
               "extract": "patients in extract"}
OUTCOME_COLUMNS = ["eligible", "excluded", "not_assessable", "total"]


def check_described(bundle: Bundle) -> None:
    """Provenance describes these tables: the same patient count, the same counted criteria in the same order."""
    t, meta, where = bundle.tables, bundle.provenance, bundle.path
    head = t["headline"].set_index("measure")["patients"] if {"measure", "patients"} <= set(t["headline"]) else None
    if head is None or HEADLINE_OF["total"] not in head.index:
        raise BundleError(f"{where}: tables/headline.csv lacks the row 'patients in extract'")
    if str(meta["patients"]) != str(head[HEADLINE_OF["total"]]):
        raise BundleError(f"{where}: tables/provenance.json says {meta['patients']} patients but tables/headline.csv "
                          f"{head[HEADLINE_OF['total']]}: the files come from different reports")
    counted = [(c["id"], c["label"]) for c in meta["criteria"] if c["kind"] != "screening_visit"]
    for name, table in (("attrition", t["attrition"].iloc[1:]), ("criteria", t["criteria"])):
        if not {"criterion", "label"} <= set(table.columns):
            raise BundleError(f"{where}: tables/{name}.csv has no criterion and label columns")
        listed = list(zip(table["criterion"], table["label"], strict=True))
        if listed != counted:
            raise BundleError(f"{where}: tables/{name}.csv does not list the criteria tables/provenance.json "
                              "names, in its order: the files come from different reports")


def extra_cells(cells: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, list]]:
    """``cells`` with the checked tables' counts appended, and per table the sums that tie them to the headline."""
    at = {(tb, row): i for i, (tb, row, col) in enumerate(zip(cells["table"], cells["row"], cells["column"],
                                                                strict=True)) if tb == "headline"}
    head = {key: at[("headline", measure)] for key, measure in HEADLINE_OF.items()}
    parts, relations, start = [cells], {}, len(cells)
    outcome = tables.get("outcome_by_site")
    if outcome is not None and len(outcome) and set(OUTCOME_COLUMNS) <= set(outcome.columns):
        frame = outcome[OUTCOME_COLUMNS].reset_index(drop=True)
        pos = start + np.arange(frame.size).reshape(frame.shape)  # row-major, as melted below
        rels = [{int(r[3]): 1, int(r[0]): -1, int(r[1]): -1, int(r[2]): -1} for r in pos]
        for j, col in enumerate(OUTCOME_COLUMNS):
            rels.append({head[col]: 1, **{int(p): -1 for p in pos[:, j]}})
        parts.append(pd.DataFrame({"table": "outcome_by_site", "row": np.repeat(frame.index, 4),
                                   "column": OUTCOME_COLUMNS * len(frame), "shown": frame.to_numpy().ravel()}))
        relations["outcome_by_site"], start = rels, start + frame.size
    comp = tables.get("composition")
    if comp is not None and len(comp) and {"column", "population", "patients"} <= set(comp.columns):
        comp = comp.reset_index(drop=True)
        rels = []
        for (_, population), block in comp.groupby(["column", "population"], sort=False):
            if population in head:
                rels.append({head[population]: 1, **{start + int(i): -1 for i in block.index}})
        parts.append(pd.DataFrame({"table": "composition", "row": comp.index, "column": "patients",
                                   "shown": comp["patients"].to_numpy()}))
        relations["composition"] = rels
    return pd.concat(parts, ignore_index=True), relations


def check_tables(bundle: Bundle, cells: pd.DataFrame, base: list[dict[int, int]], rule, total: int) -> None:
    """Each checked table's sums against the headline, attrition and criteria; an error names the file.

    ``rule``: the bundle's disclosure rule as read (:func:`~screening.disclosure.published.read_rule`).
    """
    every, relations = extra_cells(cells, bundle.tables)
    try:
        bounds = rule.intervals(every["shown"], cap=total)
    except ValueError as exc:
        raise BundleError(f"{bundle.path}: tables/outcome_by_site.csv or tables/composition.csv: {exc}") from None
    for name, rels in relations.items():
        mine = np.zeros(len(every), dtype=bool)
        mine[:len(cells)] = True
        mine[(every["table"] == name).to_numpy()] = True
        try:  # each table alone against the funnel's tables, so the error names the table at fault
            tighten(np.where(mine[:, None], bounds, [0, total]), base + rels)
        except ValueError:
            raise BundleError(f"{bundle.path}: tables/{name}.csv does not add up with tables/headline.csv under "
                              "the bundle's disclosure rule: it was changed after the report was written; ask the "
                              "site to send the bundle again") from None
