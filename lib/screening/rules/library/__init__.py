"""The rule library: every rule, one module per family, each rule written once with all its forms.

Importing this package registers every rule in :data:`RULES` (the order below is the order
``python -m screening rules`` lists them). To add a rule, see ``lib/screening/rules/README.md``.

>>> from screening.rules.library import RULES
>>> RULES["age"].defaults
{'min_age': 18, 'max_age': 65}
"""

from importlib import import_module

from screening.rules.registry import RULES, Param, Rule, rule

#: the families, in the order their rules are listed (a protocol's usual order: entry, inclusion, exclusion)
FAMILIES = ("entry", "demographics", "diagnosis", "activity", "nephritis", "renal", "labs", "pregnancy",
            "history", "medications", "glucocorticoids", "therapy", "stability", "visit")
for _family in FAMILIES:
    import_module(f"screening.rules.library.{_family}")

__all__ = ["FAMILIES", "RULES", "Param", "Rule", "rule"]
