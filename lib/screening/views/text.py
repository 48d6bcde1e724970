"""Text from a file someone else wrote (a protocol's title, a bundle's site label), put into Markdown as text.

Jupyter renders a notebook's Markdown output to HTML and lets raw HTML through:
a protocol titled ``<img src=x onerror=...>`` would be live markup in every
report. :func:`markdown_text` escapes HTML and Markdown syntax, so the title
reads as itself; :func:`markdown_code` keeps a value in a code span when it can.

Example
-------
>>> markdown_text("<img src=x onerror=alert(1)> | *S1*")
'&lt;img src=x onerror=alert(1)&gt; &#124; \\\\*S1\\\\*'
>>> markdown_code("sledai.min=4")
'`sledai.min=4`'
"""

from __future__ import annotations

import html
import re

__all__ = ["markdown_text", "markdown_code", "setting_text", "settings_markdown"]


def markdown_text(value) -> str:
    """``value`` as Markdown that renders as itself, on one line (a newline would end a table row)."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return re.sub(r"([\\`*_\[\]~$])", r"\\\1", text).replace("|", "&#124;")


def markdown_code(value) -> str:
    """``value`` in a code span (shown as is, so nothing in it is markup), or as escaped text if it holds a
    backtick or a table's ``|``."""
    text = " ".join(str(value).split())
    return f"`{text}`" if "`" not in text and "|" not in text else markdown_text(text)


def setting_text(value) -> str:
    """A parameter's value as a reader would say it: ``none`` (no limit), ``yes`` / ``no``, 16 not 16.0, lists joined.

    >>> [setting_text(v) for v in (None, True, 16.0, 0.5, ["ana", "anti_sm"])]
    ['none', 'yes', '16', '0.5', 'ana, anti_sm']
    """
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(setting_text, value))
    return str(value)


def settings_markdown(settings: dict, was: dict | None = None) -> str:
    """Parameter settings as Markdown, each ``name`` = value (with ``was``: and the value it replaces).

    >>> settings_markdown({"sledai.max": None, "classification.accept_slicc": False},
    ...                   {"sledai.max": 12, "classification.accept_slicc": True})
    '`sledai.max` = none (there 12), `classification.accept_slicc` = no (there yes)'
    """
    return ", ".join(f"{markdown_code(k)} = {markdown_text(setting_text(v))}"
                     + (f" (there {markdown_text(setting_text(was[k]))})" if was is not None else "")
                     for k, v in settings.items())
