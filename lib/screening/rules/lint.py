"""Protocol lint: everything questionable in a protocol that still loads, and the table of every rule.

The checks every rule gets are here; a rule's own findings are declared beside it (``Rule.lint``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from screening.rules.library import RULES
from screening.rules.values import format_value

if TYPE_CHECKING:
    from screening.rules.protocol import Protocol

__all__ = ["Issue", "SEVERITIES", "lint", "rules_table"]


@dataclass(frozen=True)
class Issue:
    """A finding of :func:`lint`: ``error`` (the criterion cannot work as written), ``warning`` or ``note``."""

    severity: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.key}: {self.message}"


SEVERITIES = ("error", "warning", "note")


def lint(protocol: Protocol) -> list[Issue]:
    """Everything questionable in a protocol that still loads, most severe first.

    The checks every rule gets are here; a rule's own (``Rule.lint``) are declared beside it.

    Example
    -------
    >>> from screening.rules.protocol import load_protocol
    >>> p = load_protocol("misle-phase2", {"belimumab.months": 0})
    >>> [str(i) for i in lint(p)]
    ['warning: belimumab.months: a look-back of 0 counts only the baseline day']
    """
    from screening.io.schema import TABLES

    dictionary = {f.name: f for f in TABLES["patients"]}
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    for c in protocol.counted:
        p, r = c.params, RULES[c.rule]
        for name in ("columns", "domains", "grades"):
            if name in p and isinstance(p[name], list) and not p[name]:
                issues.append(Issue("error", f"{c.id}.{name}", "is empty: the criterion is never met"))
        if c.kind == "exclusion" and r.lookback:
            for name, value in p.items():
                if name.endswith(("months", "days", "years")) and value == 0:
                    issues.append(Issue("warning", f"{c.id}.{name}", "a look-back of 0 counts only the baseline day"))
        for param in r.column_params(free=True):
            for col in r.named_columns({param: p.get(param)}):
                if col not in dictionary:
                    issues.append(Issue("warning", f"{c.id}.{param}", f"'{col}' is not in the data "
                                        "dictionary: the extract must carry it as an extra patients column"))
        if r.lint is not None:
            issues += [Issue(severity, f"{c.id}.{param}", text) for severity, param, text in r.lint(p, dictionary)]
        same = c.kind + ":" + c.rule + json.dumps(p, sort_keys=True, default=str)
        if same in seen:
            issues.append(Issue("warning", c.id, f"checks exactly what '{seen[same]}' checks"))
        seen.setdefault(same, c.id)
        if not c.source:
            issues.append(Issue("note", c.id, "no source: say which protocol item it encodes"))
    from screening.rules.trace import item_issues

    issues += [Issue(*finding) for finding in item_issues(protocol)]
    return sorted(issues, key=lambda i: SEVERITIES.index(i.severity))


def rules_table():
    """Every rule's parameters as a tidy DataFrame: rule, meaning, parameter, type, default, unit, meaning.

    Example
    -------
    >>> t = rules_table()
    >>> t[t["rule"] == "age"][["parameter", "type", "default"]].values.tolist()
    [['min_age', 'whole number', '18'], ['max_age', 'whole number', '65']]
    """
    import pandas as pd

    rows = []
    for r in RULES.values():
        for name, spec in (r.params.items() or [(None, None)]):
            rows.append({"rule": r.name, "rule_meaning": r.doc, "reads": ", ".join(r.reads),
                         "parameter": name or "", "type": spec.type if spec else "",
                         "default": format_value(spec.default) if spec else "",
                         "unit": spec.unit if spec else "",
                         "choices": ", ".join(map(str, spec.choices)) if spec else "",
                         "meaning": spec.meaning if spec else ""})
    return pd.DataFrame(rows)
