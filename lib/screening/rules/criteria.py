"""The rule library under its first name: ``RULES``, ``Rule``, ``Param`` and ``rule``.

A rule returns a nullable boolean array aligned with ``extract.patients``:
``True`` (the condition holds), ``False`` (it does not) or ``<NA>`` (not
assessable from the data). Whether holding it keeps or removes a patient is the
criterion's *kind* (inclusion or exclusion), set in the protocol file.

Rules are registered with their default parameters (the MiSLE protocol's values),
so a protocol file only names a rule and the parameters it changes. The rules
themselves live in :mod:`screening.rules.library`, one module per family, each
with its pandas, naive and SQL forms side by side (``lib/screening/rules/README.md``).

Example
-------
>>> from screening.rules.criteria import RULES
>>> RULES["age"].defaults
{'min_age': 18, 'max_age': 65}
"""

from __future__ import annotations

from screening.rules.library import RULES
from screening.rules.registry import Param, Rule, rule

__all__ = ["Param", "Rule", "RULES", "rule"]
