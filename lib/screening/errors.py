"""The project's error types: one hierarchy, so callers can catch ``ScreeningError``.

Every message names where the problem is (file, column, rows or protocol key)
and what was expected, so an investigator can fix the input without reading code.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ScreeningError", "ExtractError", "ProtocolError", "DisclosureError", "BundleError", "ExtractWarning"]

#: How many offending rows an error message lists before summarising.
ROWS_SHOWN = 5


class ScreeningError(Exception):
    """Base class of every error this package raises on purpose."""


class ExtractError(ScreeningError):
    """A registry extract could not be read or does not match the data dictionary.

    Attributes keep the parts of the message so tests and tools can inspect them.

    Example
    -------
    >>> err = ExtractError("patients.csv", "age_years", "an age from 0 to 90",
    ...                    rows=[3, 8], values=[-1, 140])
    >>> print(err)  # doctest: +NORMALIZE_WHITESPACE
    patients.csv, column 'age_years': 2 rows do not match: expected an age from 0 to 90.
      Rows 3, 8 (values -1, 140).
    """

    def __init__(
        self,
        file: str,
        column: str | None,
        expected: str,
        rows: Sequence[int] = (),
        values: Sequence[object] = (),
        n_rows: int | None = None,
        hint: str | None = None,
        row_word: str = "row",
        check: str | None = None,
    ) -> None:
        self.file = file
        self.row_word = row_word
        self.column = column
        self.expected = expected
        self.rows = list(rows)
        self.values = list(values)
        self.n_rows = len(self.rows) if n_rows is None else n_rows
        self.hint = hint
        #: the failing check (:mod:`screening.io.checks`), None where the file itself cannot be read
        self.check = check
        #: the other checks that fail in the same load, in the order the loader found them
        self.others: list[ExtractError] = []
        super().__init__(self._message())

    @classmethod
    def every(cls, failures: Sequence[ExtractError]) -> ExtractError:
        """One error for every failing check: the first one's message, then each other's.

        Example
        -------
        >>> err = ExtractError.every([ExtractError("patients.csv", "age_years", "an age from 0 to 90", rows=[3]),
        ...                           ExtractError("medications.csv", "dose", "a dose", rows=[7])])
        >>> print(err)  # doctest: +NORMALIZE_WHITESPACE
        patients.csv, column 'age_years': 1 row does not match: expected an age from 0 to 90.
          Row 3.
        1 more check fails:
        - medications.csv, column 'dose': 1 row does not match: expected a dose.
            Row 7.
        """
        first = failures[0]
        first.others = list(failures[1:])
        first.args = (first._message(),)
        return first

    @property
    def failure_cases(self):
        """Every failing check as a tidy table (a DataFrame): file, column, check, rows (how many), examples.

        Example
        -------
        >>> err = ExtractError("patients.csv", "age_years", "an age from 0 to 90", rows=[3, 8], values=[-1, 140],
        ...                    check="in_range")
        >>> err.failure_cases.iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
        {'file': 'patients.csv', 'column': 'age_years', 'check': 'in_range', 'rows': 2,
         'examples': 'row 3: -1, row 8: 140'}
        """
        import pandas as pd  # only when asked: the error module imports nothing heavy

        return pd.DataFrame([e._case() for e in (self, *self.others)],
                            columns=["file", "column", "check", "rows", "examples"])

    def _case(self) -> dict:
        shown = self.rows[:ROWS_SHOWN]
        if self.values:
            examples = [f"{self.row_word} {r}: {repr_value(v)}" for r, v in zip(shown, self.values, strict=False)]
        else:
            examples = [f"{self.row_word} {r}" for r in shown]
        return {"file": self.file, "column": self.column, "check": self.check, "rows": self.n_rows,
                "examples": ", ".join(examples)}

    def _message(self) -> str:
        text = self._own_message()
        if self.others:
            n = len(self.others)
            text += f"\n{n} more check{'s fail' if n > 1 else ' fails'}:"
            for other in self.others:
                text += "\n- " + other._own_message().replace("\n", "\n  ")
        return text

    def _own_message(self) -> str:
        where = self.file if self.column is None else f"{self.file}, column '{self.column}'"
        if not self.rows:
            text = f"{where}: expected {self.expected}."
        else:
            noun = f"{self.row_word} does" if self.n_rows == 1 else f"{self.row_word}s do"
            text = f"{where}: {self.n_rows} {noun} not match: expected {self.expected}."
            shown = ", ".join(str(r) for r in self.rows[:ROWS_SHOWN])
            more = f" and {self.n_rows - ROWS_SHOWN} more" if self.n_rows > ROWS_SHOWN else ""
            vals = ""
            if self.values:
                vals = " (values " + ", ".join(repr_value(v) for v in self.values[:ROWS_SHOWN]) + ")"
            plural = "s" if self.n_rows > 1 else ""
            text += f"\n  {self.row_word.capitalize()}{plural} {shown}{more}{vals}."
        if self.hint:
            text += f"\n  {self.hint}"
        return text


class ProtocolError(ScreeningError):
    """A protocol file or a parameter override is not valid.

    Example
    -------
    >>> print(ProtocolError("misle.yaml", "criteria[2].params.min_age", "a number"))
    misle.yaml, criteria[2].params.min_age: expected a number.
    """

    def __init__(self, source: str, key: str, expected: str, hint: str | None = None) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        self.hint = hint
        text = f"{source}, {key}: expected {expected}."
        if hint:
            text += f"\n  {hint}"
        super().__init__(text)


def repr_value(value: object) -> str:
    """Short, readable form of a cell value for an error message."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class DisclosureError(ScreeningError):
    """Shareable tables cannot be produced without revealing a small count (the extract is too small).

    ``cells`` names the counts that could not be protected: (table, row, column).
    """

    def __init__(self, message: str, cells: list[tuple] | None = None) -> None:
        super().__init__(message)
        self.cells = list(cells or [])


class BundleError(ScreeningError):
    """A site bundle cannot be merged: not a bundle, changed since written, or unlike the other bundles."""


class ExtractWarning(UserWarning):
    """Input that loads but is probably not what the registry meant (a column empty in every row)."""
