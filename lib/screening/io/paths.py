"""Paths typed by a user, checked as text before any folder is made: control characters and overlong names.

A newline in ``--out`` makes a folder no one can name in a shell, and a name
longer than the file system allows fails half-way with ``OSError``. Both are
refused at once, with the rule that was broken.

Example
-------
>>> check_path_text("reports/mine", "--out")
'reports/mine'
>>> check_path_text("reports/a\\nb", "--out")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
screening.errors.ScreeningError: --out 'reports/a\\nb': holds a control character (\\n); name the folder ...
"""

from __future__ import annotations

import os
import unicodedata

from screening.errors import ScreeningError

__all__ = ["check_path_text", "NAME_MAX", "PATH_MAX"]

#: The longest file name (bytes, UTF-8) and path the common file systems accept.
NAME_MAX, PATH_MAX = 255, 4096


def check_path_text(text: str, option: str, room: int = 16) -> str:
    """``text`` unchanged if it can name a file or folder; a :class:`ScreeningError` naming ``option`` otherwise.

    ``room``: bytes the last name must leave free, for the hidden folder a report is first written to
    (``.NAME.new-XXXXXXXX``).
    """
    bad = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
    if bad:
        shown = ", ".join(repr(c).strip("'") for c in bad)
        raise ScreeningError(f"{option} {text!r}: holds a control character ({shown}); name the folder with "
                             "printable characters.")
    encoded = os.fsencode(text)
    if len(encoded) > PATH_MAX:
        raise ScreeningError(f"{option} {text[:40]!r}...: {len(encoded):,} bytes long, more than the {PATH_MAX:,} a "
                             "path may have; choose a shorter one.")
    parts = text.rstrip("/").split("/")
    for k, part in enumerate(parts):
        limit = NAME_MAX - (room if k == len(parts) - 1 else 0)
        if len(os.fsencode(part)) > limit:
            raise ScreeningError(f"{option}: the name {part[:40]!r}... is {len(os.fsencode(part)):,} bytes long, "
                                 f"more than the {limit} it may have here; choose a shorter name.")
    return text
