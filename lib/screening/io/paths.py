"""Paths typed by a user, checked before any folder is made: control characters, overlong names, what is there.

A newline in ``--out`` makes a folder no one can name in a shell, and a name
longer than the file system allows fails half-way with ``OSError``. Both are
refused at once, with the rule that was broken. :func:`check_out_folder` adds
what every command writing a folder needs: the folder is not a file, is empty
or new (unless the command may overwrite), and can be written in.

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
from pathlib import Path

from screening.errors import ScreeningError

__all__ = ["check_path_text", "check_out_folder", "writable_ancestor", "NAME_MAX", "PATH_MAX"]

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


def writable_ancestor(path: Path, option: str, text: str) -> Path:
    """The nearest existing folder above ``path``, checked to be a folder this user can write in."""
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ScreeningError(f"{option} {text}: {ancestor} is a file, not a folder.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ScreeningError(f"{option} {text}: cannot write in {ancestor}.")
    return ancestor


def check_out_folder(text: str | os.PathLike, option: str = "--out", overwrite: bool = False,
                     what: str = "the files") -> Path:
    """The folder ``text`` names, if files can be written into it; a :class:`ScreeningError` saying why not.

    An existing folder must be empty unless ``overwrite`` (the command then replaces its own files).

    >>> import tempfile
    >>> check_out_folder(Path(tempfile.mkdtemp()) / "new").name
    'new'
    """
    text = os.fspath(text)
    if not text.strip():
        raise ScreeningError(f"{option} is empty: name a new folder for {what}.")
    check_path_text(text, option, room=0)
    path = Path(text).expanduser()
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise ScreeningError(f"{option} {text} is a file or a link, not a folder: choose another {option}.")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ScreeningError(f"{option} {text}: cannot write in this folder.")
        if not overwrite and any(path.iterdir()):
            raise ScreeningError(f"{option} {text} already exists and holds files: choose a new or empty "
                                 "folder (nothing is overwritten).")
        return path
    writable_ancestor(path, option, text)
    return path
