"""Tables for a terminal: fitted to a width, headers over two lines, numbers right-aligned.

``python -m screening funnel`` prints its tables here. A line that wraps in the
terminal breaks every column under it, so the widest text columns (labels) are
cut with ``…`` until the table fits; CSV and JSON keep every character.

Example
-------
>>> import pandas as pd
>>> t = pd.DataFrame({"label": ["Age 18–65 years", "SLEDAI-2K ≥ 6"], "not_assessable": ["≤10", "85"]})
>>> print(fit_table(t, width=24))
                     not
label         assessable
Age 18–65 ye…        ≤10
SLEDAI-2K ≥ 6         85
"""

from __future__ import annotations

import re

import pandas as pd

from screening.disclosure.rule import SmallCellRule

__all__ = ["fit_table", "funnel_text", "headline_line", "json_records", "WIDTH"]

#: Lines the terminal commands print fit this many columns.
WIDTH = 100
_NUMBER = re.compile(r"^(≤\d+|\*|–|-?\d+(\.\d+)?)$")


def _header(name: str) -> tuple[str, str]:
    """A column name over two lines, split at the underscore nearest its middle."""
    words = str(name).split("_")
    if len(words) == 1:
        return "", words[0]
    cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return " ".join(words[:cut]), " ".join(words[cut:])


def _is_number(column: pd.Series) -> bool:
    text = column.astype(object).where(column.notna(), "–").astype(str)
    return bool(len(text)) and text.str.match(_NUMBER).all()


def fit_table(table: pd.DataFrame, width: int = WIDTH) -> str:
    """``table`` as text no wider than ``width``: text columns cut with ``…``, widest first, until it fits."""
    cells = {c: ["–" if pd.isna(v) else str(v) for v in table[c]] for c in table.columns}  # – : not applicable
    heads = {c: _header(c) for c in table.columns}
    right = {c: _is_number(table[c]) for c in table.columns}
    widths = {c: max([len(h) for h in heads[c]] + [len(v) for v in cells[c]]) for c in table.columns}
    while sum(widths.values()) + len(widths) - 1 > width:
        text = [c for c in table.columns if not right[c] and widths[c] > max(len(h) for h in heads[c]) + 1]
        if not text:
            break  # nothing left to cut: the table is as narrow as its numbers and headers
        widest = max(text, key=lambda c: widths[c])
        widths[widest] -= 1

    def cut(value: str, w: int) -> str:
        return value if len(value) <= w else value[:w - 1] + "…"

    def line(values: dict) -> str:
        return " ".join(cut(values[c], widths[c]).rjust(widths[c]) if right[c] else
                        cut(values[c], widths[c]).ljust(widths[c]) for c in table.columns).rstrip()

    lines = [line({c: heads[c][0] for c in table.columns}), line({c: heads[c][1] for c in table.columns})]
    if not lines[0]:
        lines = lines[1:]
    lines += [line({c: cells[c][i] for c in table.columns}) for i in range(len(table))]
    return "\n".join(lines)


def json_records(table: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects, counts and percentages as numbers; ``≤10`` and ``*`` stay text.

    >>> json_records(pd.DataFrame({"group": ["F", "M"], "patients": ["85", "≤10"], "percent": ["88.2", "*"]}))
    [{'group': 'F', 'patients': 85, 'percent': 88.2}, {'group': 'M', 'patients': '≤10', 'percent': '*'}]
    """
    def value(v):
        if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
            return int(v)
        if isinstance(v, str) and re.fullmatch(r"-?\d+\.\d+", v):
            return float(v)
        v = v.item() if hasattr(v, "item") else v
        return None if isinstance(v, float) and v != v else v  # NaN is not JSON: null, as pandas writes it

    return [{k: value(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def headline_line(headline: pd.DataFrame, rule: SmallCellRule) -> str:
    """The headline table in one line: eligible, not assessable, the range, and how counts are shown.

    >>> h = pd.DataFrame({"patients": ["5000", "85", "370", "455", "4545"]})
    >>> headline_line(h, SmallCellRule())
    'eligible 85 of 5000 · not assessable 370 · range 85 to 455 · counts 0–10 as ≤10, others to nearest 5'
    """
    n = headline["patients"].astype(str).tolist()
    shown = "counts exact" if rule.internal else \
        f"counts 0–{rule.threshold} as {rule.small}, others to nearest {rule.base}"
    return f"eligible {n[1]} of {n[0]} · not assessable {n[2]} · range {n[1]} to {n[3]} · {shown}"


def funnel_text(table: pd.DataFrame, headline: pd.DataFrame, rule: SmallCellRule, name: str = "attrition") -> str:
    """What ``funnel`` prints: the table ``name`` fitted to :data:`WIDTH`, then :func:`headline_line`."""
    # Ids are for --set and scripts; a reader at a terminal reads labels (CSV and JSON keep both).
    narrow = table.drop(columns=["criterion", "kind"]) if name == "attrition" else \
        table.drop(columns=["label"], errors="ignore")
    return fit_table(narrow) + "\n" + headline_line(headline, rule)
