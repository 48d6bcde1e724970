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

__all__ = ["markdown_text", "markdown_code"]


def markdown_text(value) -> str:
    """``value`` as Markdown that renders as itself, on one line (a newline would end a table row)."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return re.sub(r"([\\`*_\[\]~$])", r"\\\1", text).replace("|", "&#124;")


def markdown_code(value) -> str:
    """``value`` in a code span (shown as is, so nothing in it is markup), or as escaped text if it holds a
    backtick or a table's ``|``."""
    text = " ".join(str(value).split())
    return f"`{text}`" if "`" not in text and "|" not in text else markdown_text(text)
