"""What an extract's absent columns and tables mean for a criterion, the same for every engine.

A column left out of an extract file is read as blank in every row, so a criterion
that reads it answers as it would for a blank column: unknown unless other fields
settle it. Two absences leave a criterion unable to assess anyone instead: a whole
event table (no rows would read as "no events") and a column whose blank has a
meaning of its own (a blank ``stop_date`` is an ongoing course). ``absent`` is an
extract's :attr:`~screening.io.extract.Extract.absent` (table -> columns, ``"*"`` for
the whole table).

>>> from screening.rules.protocol import Criterion
>>> c = Criterion("bio", "bio", "exclusion", "drug_exposure", {"drugs": ["belimumab"], "months": 6})
>>> lacking({"medications": ("dose",)}, c), lacking({"medications": ("stop_date",)}, c)
([], [('medications', 'stop_date')])
"""

from __future__ import annotations

from screening.io.schema import LAB_DATES, TABLES
from screening.rules.protocol import Criterion

__all__ = ["BLANK_MEANS", "absent_read", "lacking"]

#: (table, column) -> what a blank in it means, for the columns whose blank is a value, not "not recorded"
BLANK_MEANS = {(t, f.name): f.blank_means for t, fields in TABLES.items() for f in fields if f.blank_means}


def absent_read(absent: dict, c: Criterion) -> list[tuple[str, str]]:
    """(table, column) pairs criterion ``c`` reads that the extract's files left out (``*``: the whole table)."""
    out = []
    for table, cols in c.columns().items():
        # An absent lab date leaves the value undated, used as it is: nothing is absent.
        gone = set(absent.get(table, ())) - set(LAB_DATES.values())
        out += [(table, "*")] if "*" in gone else [(table, col) for col in sorted(cols) if col in gone]
    return out


def lacking(absent: dict, c: Criterion) -> list[tuple[str, str]]:
    """The absences that leave criterion ``c`` unable to assess anyone: a whole table, or a column whose
    blank would mean something (read as blank, it would be a value, not "not recorded")."""
    return [(t, col) for t, col in absent_read(absent, c) if col == "*" or (t, col) in BLANK_MEANS]
