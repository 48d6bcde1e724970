"""How a :class:`~screening.engine.funnel.Screening` shows itself: one summary for the terminal and the notebook.

Like tableone's ``TableOne``, the object prints as what it holds: the headline
(eligible, excluded, not assessable, and the range the not-assessable patients
leave open), the protocol with its fingerprint, the missing-data policy and the
extract's SHA-256. The counts are exact: a screening is internal, its shareable
tables come from :mod:`screening.disclosure.shareable`.

Example
-------
>>> from screening import load_extract, screen
>>> print(summary_text(screen(load_extract("data/synthetic"))))  # doctest: +ELLIPSIS
Screening of 5,000 patients against misle-phase2 (fingerprint ...)
  eligible           90
  excluded        4,535
  not assessable    375
  range           90 to 465 (if every not-assessable patient qualified)
  policy          separate (count apart as not assessable)
  extract         sha256 ...
"""

from __future__ import annotations

import html

from screening.engine.status import POLICIES

__all__ = ["summary_rows", "summary_text", "summary_html"]


def summary_rows(s) -> list[tuple[str, str]]:
    """(what, value) pairs of the summary, in the order shown."""
    eligible, excluded, unknown = (int(v) for v in s.counts.status)
    return [("eligible", f"{eligible:,}"), ("excluded", f"{excluded:,}"), ("not assessable", f"{unknown:,}"),
            ("range", f"{eligible:,} to {eligible + unknown:,} (if every not-assessable patient qualified)"),
            ("policy", f"{s.policy} ({POLICIES[s.policy]})"), ("extract", f"sha256 {s.extract.hash}")]


def _title(s) -> str:
    return (f"Screening of {int(s.counts.total):,} patients against {s.protocol.id} "
            f"(fingerprint {s.protocol.fingerprint()})")


def summary_text(s) -> str:
    """The summary as plain text (``repr``), the three counts right-aligned under each other."""
    rows = summary_rows(s)
    width = max(len(v) for _, v in rows[:3])
    lines = [f"  {k:<16}{v.rjust(width) if i < 3 else v}" for i, (k, v) in enumerate(rows)]
    return "\n".join([_title(s), *lines])


def summary_html(s) -> str:
    """The summary as an HTML table (``_repr_html_``), for notebooks."""
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                   f"<td style='text-align:{'right' if i < 3 else 'left'}'>{html.escape(v)}</td></tr>"
                   for i, (k, v) in enumerate(summary_rows(s)))
    return (f"<div class='screening-summary'><b>{html.escape(_title(s))}</b>"
            f"<p><i>{html.escape(s.protocol.title)}</i></p><table>{body}</table></div>")
