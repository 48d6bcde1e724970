"""Parameter values in protocols: checked against their rule's declaration, parsed from text, written back.

Also the safe YAML reader every protocol file goes through (aliases bounded, so no alias bombs).

Example
-------
>>> format_value(30.0), format_value(["A", "B"]), parse_override("4"), parse_override("A, B")
('30', 'A, B', 4, ['A', 'B'])
"""

from __future__ import annotations

import difflib
import math

import yaml

from screening.errors import ProtocolError
from screening.rules.registry import RULES, Param

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_VALUES", "as_overrides", "check_label", "check_relations", "check_value",
           "format_value", "params_text", "parse_override", "safe_yaml", "suggest"]

#: Values a protocol file may hold once its YAML aliases are expanded; a shipped protocol has a few hundred.
MAX_YAML_VALUES = 10_000
_NON_NEGATIVE = ("months", "days", "years", "min", "max", "limit", "multiple", "titre", "mg_per_kg", "age")


def check_value(src: str, key: str, spec: Param, value):
    """Coerce a value to the parameter's declared type; reject impossible values, naming ``key``."""
    default = spec.default
    if isinstance(value, str) and not isinstance(default, str):
        value = parse_override(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(src, key, "a finite number", hint=f"Got {value!r}.")
    if default is None:  # an optional parameter (e.g. sledai.max) or a free value (column rules)
        if spec.kind == "number or none" and value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ProtocolError(src, key, "a number, or nothing for no limit", hint=f"Got {value!r}.")
        if spec.kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ProtocolError(src, key, "a number", hint=f"Got {value!r}.")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_non_negative(src, key, value)
        if isinstance(value, list) and any(isinstance(v, float) and not math.isfinite(v) for v in value):
            raise ProtocolError(src, key, "finite numbers", hint=f"Got {value!r}.")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ProtocolError(src, key, "true or false", hint=f"Got {value!r}.")
    elif isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(src, key, "a number", hint=f"Got {value!r}.")
        _check_non_negative(src, key, value)
    elif isinstance(default, list):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ProtocolError(src, key, "a list", hint=f"Got {value!r}.")
    if spec.choices:
        given = value if isinstance(value, list) else [value]
        wrong = [v for v in given if v not in spec.choices]
        if wrong:
            raise ProtocolError(src, key, ("values" if isinstance(value, list) else "a value") + " from "
                                + ", ".join(map(str, spec.choices)),
                                hint=f"Got {', '.join(map(repr, wrong))}."
                                     + (f" {suggest(str(wrong[0]), spec.choices)}"
                                        if suggest(str(wrong[0]), spec.choices) else ""))
    return value


def check_label(src: str, key: str, label: str, params: dict) -> None:
    """A label may name its criterion's parameters in braces, and nothing else."""
    try:
        label.format(**{k: format_value(v) for k, v in params.items()})
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise ProtocolError(src, key, "a label naming only this criterion's parameters in braces, e.g. "
                            "'SLEDAI-2K ≥ {min}'", hint=f"Parameters: {', '.join(params) or 'none'}; "
                            f"the label says {label!r} ({type(exc).__name__}: {exc}). Write {{{{ }}}} "
                            "for a literal brace.") from None


def _check_non_negative(src: str, key: str, value: float) -> None:
    """Months, days, ages, limits and the like cannot be negative."""
    if key.rsplit(".", 1)[-1].endswith(_NON_NEGATIVE) and value < 0:
        raise ProtocolError(src, key, "a number of at least 0", hint=f"Got {value!r}.")


def check_relations(src: str, c) -> None:
    """Values of one criterion that cannot work together (a minimum above its maximum, the rule's own checks)."""
    p = c.params
    for lo, hi in (("min_age", "max_age"), ("min", "max")):
        if p.get(lo) is not None and p.get(hi) is not None and p[lo] > p[hi]:
            raise ProtocolError(src, f"{c.id}.{lo}", f"a value not above {c.id}.{hi} ({p[hi]})",
                                hint=f"Got {lo}={p[lo]}.")
    check = RULES[c.rule].check
    for param, expected in (check(p) if check else ()):
        raise ProtocolError(src, f"{c.id}.{param}", expected)


def parse_override(text: str):
    """Read a ``--set`` value: numbers, true/false, none, or a comma-separated list."""
    try:
        value = safe_yaml(text) if text.strip() else None
    except (yaml.YAMLError, TooLarge):
        return text  # not YAML: the type check then names what was expected
    if isinstance(value, str) and "," in value:
        return [v.strip() for v in value.split(",")]
    return value


def as_overrides(value: dict | str | None) -> dict:
    """Overrides as a mapping, from a mapping or its YAML/JSON text (papermill's ``-p overrides '{...}'``).

    Example
    -------
    >>> as_overrides('{"sledai.min": 4}'), as_overrides("sledai.min: 4"), as_overrides(None)
    ({'sledai.min': 4}, {'sledai.min': 4}, {})
    """
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = safe_yaml(value) if value.strip() else {}
        except (yaml.YAMLError, TooLarge) as exc:
            raise ProtocolError("overrides", "text", "a YAML or JSON mapping such as {\"sledai.min\": 4}",
                                hint=str(exc).splitlines()[0]) from None
    if not isinstance(value, dict):
        raise ProtocolError("overrides", "value", "a mapping of criterion.param: value such as {\"sledai.min\": 4}",
                            hint=f"Got {value!r}.")
    return {str(k): v for k, v in value.items()}


#: Deeper YAML is refused: a protocol nests a handful of levels, and composing recurses once per level.
MAX_YAML_DEPTH = 64


class TooLarge(Exception):
    """YAML whose aliases expand past :data:`MAX_YAML_VALUES` (an alias bomb)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents whose aliases would expand too far.

    PyYAML shares one object per anchor, but everything that walks the result
    (hashing, copying, printing) sees the expanded tree: count it before building.
    """

    def compose_document(self):
        node = super().compose_document()
        _expanded_size(node, {}, set())
        return node

    def compose_node(self, parent, index):
        # Composing recurses once per level: bound the depth before Python's own limit is reached.
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(f"it nests values more than {MAX_YAML_DEPTH} levels deep; a protocol needs a few")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(node, sizes: dict, active: set) -> int:
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in active:
        raise TooLarge("An alias refers to the value that contains it.")
    active.add(key)
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, sizes, active) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes, active) + _expanded_size(v, sizes, active) for k, v in node.value)
    else:
        size = 1
    active.discard(key)
    if size > MAX_YAML_VALUES:
        raise TooLarge(f"Its aliases expand to more than {MAX_YAML_VALUES:,} values.")
    sizes[key] = size
    return size


def safe_yaml(text: str):
    r"""Parse YAML with the safe loader and a bound on alias expansion (no alias bombs).

    Example
    -------
    >>> safe_yaml("a: &x [1, 2]\nb: *x")
    {'a': [1, 2], 'b': [1, 2]}
    """
    return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass


def suggest(word: str, choices) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=3)
    return f"Did you mean {', '.join(close)}?" if close else None


def format_value(value) -> str:
    """A parameter value as people write it: 30 not 30.0, true not True, lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def params_text(params: dict) -> str:
    return "; ".join(f"{k}={format_value(v)}" for k, v in params.items())
