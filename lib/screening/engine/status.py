"""The funnel's vocabulary: a criterion's state for a patient, where a patient ends, what missing data mean.

Example
-------
>>> Status.NOT_ASSESSABLE.label, STATUSES
('not_assessable', ('eligible', 'excluded', 'not_assessable'))
>>> int(Status.EXCLUDED), list(POLICIES)
(1, ['separate', 'exclude', 'include'])
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["PASS", "FAIL", "UNKNOWN", "Status", "STATUSES", "POLICIES"]

#: A criterion's state for one patient, as stored in a patients × criteria int8 matrix.
PASS, FAIL, UNKNOWN = 1, 0, -1


class Status(IntEnum):
    """Where a patient ends, as the code stored per patient; every patient ends in exactly one."""

    ELIGIBLE = 0
    EXCLUDED = 1
    NOT_ASSESSABLE = 2

    @property
    def label(self) -> str:
        """The status as tables name it (``not_assessable``)."""
        return self.name.lower()


#: The statuses in code order, as tables name them.
STATUSES = tuple(s.label for s in Status)

#: What missing data mean (``policy``), and how each choice reads to a user.
POLICIES = {"separate": "count apart as not assessable", "exclude": "treat as failing",
            "include": "treat as passing"}
