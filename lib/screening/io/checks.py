"""The loader's checks.

:class:`Suspect` is how the fast path (:mod:`screening.io.columnar`) says it
doubts a table: the thorough path (:mod:`screening.io.thorough`) then reads it
again and names the problem.
"""

from __future__ import annotations

__all__ = ["Suspect"]


class Suspect(Exception):
    """The fast path met something it does not accept: the slow path will find and name it."""

