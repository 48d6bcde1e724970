"""What a protocol reads that an extract lacks, and the warnings that say so before anything is counted.

A column left out of an extract file is read as blank in every row (the loader adds
it); :func:`~screening.rules.absence.lacking` names the absences that leave a criterion
unable to assess anyone (a whole event table, ``stop_date``), and :func:`warn_absent`
names every absent column the protocol reads with the criteria it touches.
:func:`warn_lab_window` says when a criterion would look further back at labs than
the source was read.
"""

from __future__ import annotations

import warnings

from screening.errors import ExtractWarning
from screening.io.extract import Extract
from screening.io.schema import TABLES
from screening.rules.absence import BLANK_MEANS, absent_read, lacking
from screening.rules.protocol import Criterion

__all__ = ["absent_read", "lacking", "warn_absent", "warn_lab_window"]


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


def _consequence(table: str, col: str) -> str:
    if col == "*":
        return "Not assessable"
    if (table, col) in BLANK_MEANS:
        return f"Not assessable (a blank would mean {BLANK_MEANS[(table, col)]})"
    return "Read as blank in every row, unknown unless other fields settle it"


def warn_absent(extract: Extract, protocol_id: str, criteria: list[Criterion], stacklevel: int = 2) -> None:
    """Name each absent column the protocol reads, one per line, with the criteria it touches and how."""
    needed: dict[tuple[str, str], list[str]] = {}
    for c in criteria:
        for pair in absent_read(extract.absent, c):
            needed.setdefault(pair, []).append(c.id)
    if not needed:
        return
    described = {(t, f.name): f.description for t, fields in TABLES.items() for f in fields}
    described |= {(t, "*"): f"The whole {t} table (no {t} file in the extract)." for t in TABLES}
    lines = "\n".join(f"  {table}{'' if col == '*' else '.' + col}: {described[(table, col)]} "
                      f"{_consequence(table, col)}: {', '.join(ids)}."
                      for (table, col), ids in needed.items())
    n = len(needed)
    noun = ("column" if all(col != "*" for _, col in needed) else "column or table") + ("s" if n > 1 else "")
    warnings.warn(ExtractWarning(f"{extract.path}: {n} {noun} the protocol "
                                 f"{protocol_id} reads {'are' if n > 1 else 'is'} absent:\n{lines}"),
                  stacklevel=stacklevel + 1)
