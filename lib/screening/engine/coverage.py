"""What a protocol reads that an extract lacks, and the warnings that say so before anything is counted.

A criterion that reads an absent column (or a whole absent table) cannot assess
anyone: :func:`lacking` names those columns, and :func:`warn_absent` says which
criteria they leave not assessable. :func:`warn_lab_window` says when a
criterion would look further back at labs than the source was read.
"""

from __future__ import annotations

import warnings

from screening.errors import ExtractWarning
from screening.io.extract import Extract
from screening.io.schema import LAB_DATES, TABLES
from screening.rules.protocol import Criterion

__all__ = ["lacking", "warn_absent", "warn_lab_window"]


def lacking(extract: Extract, c: Criterion) -> list[tuple[str, str]]:
    """(table, column) pairs criterion ``c`` reads that ``extract`` does not hold (``*``: the whole table)."""
    out = []
    for table, cols in c.columns().items():
        # An absent lab date leaves the value undated, used as it is: nothing is lacking.
        gone = set(extract.absent.get(table, ())) - set(LAB_DATES.values())
        out += [(table, "*")] if "*" in gone else [(table, col) for col in sorted(cols) if col in gone]
    return out


def warn_lab_window(extract: Extract, criteria: list[Criterion], stacklevel: int = 2) -> None:
    """Say when a criterion looks further back at labs than the source was read (older values are not there)."""
    read = extract.labs_read_months
    if read is None:
        return
    wider = [c.id for c in criteria if (m := c.lab_months()) is not False and (m is None or m > read)]
    if wider:
        warnings.warn(ExtractWarning(
            f"{extract.path}: lab values and weight were read from the {read:g} months before baseline; "
            f"{', '.join(wider)} would accept older ones, which are unknown here. Read the source with this "
            "protocol (load_source(..., protocol=...); the command line and reports do) to use them."),
            stacklevel=stacklevel + 1)


def warn_absent(extract: Extract, protocol_id: str, criteria: list[Criterion], stacklevel: int = 2) -> None:
    """Name each absent column the protocol reads, one per line, with the criteria it leaves unassessable."""
    needed: dict[tuple[str, str], list[str]] = {}
    for c in criteria:
        for pair in lacking(extract, c):
            needed.setdefault(pair, []).append(c.id)
    if not needed:
        return
    described = {(t, f.name): f.description for t, fields in TABLES.items() for f in fields}
    described |= {(t, "*"): f"The whole {t} table (no {t} file in the extract)." for t in TABLES}
    lines = "\n".join(f"  {table}{'' if col == '*' else '.' + col}: {described[(table, col)]} "
                      f"Not assessable: {', '.join(ids)}."
                      for (table, col), ids in needed.items())
    n = len(needed)
    noun = ("column" if all(col != "*" for _, col in needed) else "column or table") + ("s" if n > 1 else "")
    warnings.warn(ExtractWarning(f"{extract.path}: {n} {noun} the protocol "
                                 f"{protocol_id} reads {'are' if n > 1 else 'is'} absent; every patient "
                                 f"is not assessable on the criteria that need {'them' if n > 1 else 'it'}:"
                                 f"\n{lines}"), stacklevel=stacklevel + 1)
