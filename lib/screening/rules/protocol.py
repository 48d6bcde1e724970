"""Protocols as data: an ordered list of criteria read from YAML, with overrides.

A criterion has an id, a label, a kind (``inclusion``, ``exclusion`` or
``screening_visit``), a rule from :mod:`screening.rules.criteria` and that rule's
parameters. A variant protocol ``extends`` another and lists what it ``set``\\ s,
``drop``\\ s or ``add``\\ s.

Example
-------
>>> from screening.rules.protocol import load_protocol
>>> p = load_protocol("misle-phase2")
>>> p.criterion("sledai").params["min"]
6
>>> p.with_overrides({"sledai.min": 4}).criterion("sledai").display_label
'SLEDAI-2K ≥ 4'
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import yaml

from screening.errors import ProtocolError
from screening.rules.library import RULES
from screening.rules.registry import Param

__all__ = ["Criterion", "Issue", "Protocol", "as_overrides", "lint", "load_protocol", "parse_override",
           "rules_table", "shipped_protocols"]

KINDS = ("inclusion", "exclusion", "screening_visit")
#: Values a protocol file may hold once its YAML aliases are expanded; a shipped protocol has a few hundred.
MAX_YAML_VALUES = 10_000
_NON_NEGATIVE = ("months", "days", "years", "min", "max", "limit", "multiple", "titre", "mg_per_kg", "age")


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion: what it checks, and whether meeting it keeps or removes a patient."""

    id: str
    label: str
    kind: str
    rule: str
    params: dict = field(default_factory=dict)
    source: str = ""

    @property
    def display_label(self) -> str:
        """The label with parameter values filled in (``"Age {min_age}–{max_age}"`` → ``"Age 18–65"``)."""
        try:
            return self.label.format(**{k: format_value(v) for k, v in self.params.items()})
        except (KeyError, IndexError, ValueError):
            return self.label

    @property
    def counted(self) -> bool:
        """Whether the criterion takes part in the funnel (screening-visit checks do not)."""
        return self.kind != "screening_visit"

    def columns(self) -> dict[str, set[str]]:
        """Table → the columns this criterion reads: its rule's ``reads`` and its column parameters.

        Naming an event table in ``reads`` asks for all its columns.
        """
        from screening.io.schema import TABLES

        reads = set()
        for item in RULES[self.rule].reads:
            if "{" in item:  # one column per value of a list parameter, e.g. bilag_{domains}
                name = item[item.index("{") + 1:item.index("}")]
                reads |= {item.replace("{" + name + "}", str(v)) for v in self.params.get(name, [])}
            else:
                reads.add(item)
        reads |= set(RULES[self.rule].named_columns(self.params))
        if self.recency is not None:  # the optional dates of the values it limits (absent: undated, used as is)
            from screening.io.schema import LAB_DATES

            reads |= {LAB_DATES[c] for c in reads if c in LAB_DATES}
        out: dict[str, set[str]] = {}
        for item in reads:
            if item in TABLES:
                out.setdefault(item, set()).update(f.name for f in TABLES[item])
            else:
                out.setdefault("patients", set()).add(item)
        return out


    @property
    def recency(self) -> float | None:
        """How recent (months before baseline) the lab values and weight it reads must be; None: no limit."""
        return next((self.params[k] for k in RECENCY_PARAMS if self.params.get(k) is not None), None)

    def lab_months(self) -> float | None | bool:
        """How far back it looks at lab values: months, None for no limit, False when it reads none."""
        from screening.io.schema import LAB_DATES

        if RULES[self.rule].lab_months:
            return self.params[RULES[self.rule].lab_months]
        if not set(LAB_DATES) & self.columns().get("patients", set()):
            return False
        return self.recency


#: Rule parameters limiting how old a lab value or weight may be (see ``criteria._recent``).
RECENCY_PARAMS = ("within_months", "weight_months")


@dataclass(frozen=True)
class Protocol:
    """An ordered set of criteria with a name and provenance."""

    id: str
    title: str
    criteria: tuple[Criterion, ...]
    source: str = ""
    overrides: dict = field(default_factory=dict)
    #: the file it was read from (empty when built in code)
    path: str = ""
    #: the trial's eligibility text, item by item, with how each is applied (:mod:`screening.rules.trace`)
    items: tuple = ()

    def item(self, iid: str):
        """The eligibility item with this id."""
        for i in self.items:
            if i.id == iid:
                return i
        raise ProtocolError(self.id, iid, "the id of an eligibility item in this protocol",
                            hint=_suggest(iid, [i.id for i in self.items]))

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise ProtocolError(self.id, cid, "the id of a criterion in this protocol", hint=_suggest(cid, self.ids))

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.criteria]

    @property
    def counted(self) -> list[Criterion]:
        return [c for c in self.criteria if c.counted]

    def parameters(self) -> dict[str, object]:
        """Every parameter as ``criterion.param`` → value, in protocol order."""
        return {f"{c.id}.{k}": v for c in self.criteria for k, v in c.params.items()}

    def resolve(self, name: str) -> tuple[str, str]:
        """``criterion.param`` or a bare parameter name that only one criterion has."""
        if "." in name:
            cid, param = name.split(".", 1)
            crit = self.criterion(cid)
            if param not in crit.params:
                raise ProtocolError(self.id, name, f"a parameter of criterion '{cid}' "
                                    f"({', '.join(crit.params) or 'it has none'})", hint=_suggest(param, crit.params))
            return cid, param
        owners = [c.id for c in self.criteria if name in c.params]
        if len(owners) == 1:
            return owners[0], name
        if owners:
            raise ProtocolError(self.id, name, "a parameter name that only one criterion has",
                                hint=f"Several criteria have '{name}': write one of "
                                     + ", ".join(f"{o}.{name}" for o in owners) + ".")
        raise ProtocolError(self.id, name, "a parameter written criterion.param",
                            hint=_suggest(name, list(self.parameters())))

    def with_overrides(self, overrides: dict[str, object], source: str = "overrides") -> Protocol:
        """A copy with parameter values changed; each name checked, each value type-checked."""
        by_id = {c.id: c for c in self.criteria}
        applied = dict(self.overrides)
        for name, value in overrides.items():
            cid, param = self.resolve(name)
            crit = by_id[cid]
            value = _check_value(source, f"{cid}.{param}", _spec(crit, param), value)
            by_id[cid] = replace(crit, params={**crit.params, param: value})
            applied[f"{cid}.{param}"] = value
        new = replace(self, criteria=tuple(by_id[c.id] for c in self.criteria), overrides=applied)
        for c in new.criteria:
            _check_relations(source, c)
        return new

    def without(self, *ids: str) -> Protocol:
        """A copy with the named criteria removed."""
        for cid in ids:
            self.criterion(cid)
        return replace(self, criteria=tuple(c for c in self.criteria if c.id not in ids))

    def reordered(self, order: list[str]) -> Protocol:
        """A copy with counted criteria in ``order`` (every counted id exactly once)."""
        counted = [c.id for c in self.counted]
        if sorted(order) != sorted(counted):
            raise ProtocolError(self.id, "order", "every counted criterion exactly once: " + ", ".join(counted))
        rest = [c for c in self.criteria if not c.counted]
        return replace(self, criteria=tuple(self.criterion(i) for i in order) + tuple(rest))

    def columns(self) -> dict[str, list[str]]:
        """The columns each table must provide for this protocol (for reading only those).

        Patient columns come from each rule's ``reads`` and its column parameters;
        naming an event table in ``reads`` asks for all its columns.
        """
        from screening.io.schema import TABLES

        wanted: dict[str, set[str]] = {name: {"patient_id"} for name in TABLES}
        wanted["patients"].add("baseline_date")
        for c in self.counted:
            for table, cols in c.columns().items():
                wanted[table] |= cols
        order = {name: [f.name for f in fields] for name, fields in TABLES.items()}
        return {name: sorted(cols, key=lambda col: order[name].index(col) if col in order[name] else 10**6)
                for name, cols in wanted.items()}

    def lab_months(self, default: float = 12) -> float | None:
        """How far before baseline a source must read lab values and weight: the longest limit.

        None when a criterion reads them with no limit; ``default`` when none reads them.
        What an OMOP database is asked for (:func:`screening.io.sources.load_source`).

        >>> p = load_protocol("misle-phase2")
        >>> p.lab_months(), p.with_overrides({"egfr.within_months": 24}).lab_months()
        (12, 24)
        """
        limits = [c.lab_months() for c in self.counted]
        limits = [m for m in limits if m is not False]
        if any(m is None for m in limits):
            return None
        return max(limits, default=default)

    def fingerprint(self) -> str:
        """Short hash of the criteria and parameters: two protocols with equal fingerprints screen alike."""
        data = [[c.id, c.kind, c.rule, c.params] for c in self.criteria]
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def table(self):
        """The criteria as a tidy DataFrame (one row per criterion)."""
        import pandas as pd

        return pd.DataFrame([{"criterion": c.id, "label": c.display_label, "kind": c.kind, "rule": c.rule,
                              "parameters": _params_text(c.params), "source": c.source} for c in self.criteria])


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


def shipped_protocols() -> list[str]:
    """Names of the protocols that ship with the package."""
    folder = resources.files("screening.rules") / "protocols"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _locate(name: str | Path, relative_to: Path | None = None) -> Path:
    path = Path(name)
    candidates = [path]
    if relative_to is not None:
        candidates.append(relative_to / path)
    shipped = Path(str(resources.files("screening.rules") / "protocols"))
    candidates += [shipped / path, shipped / f"{path}.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    raise ProtocolError(str(name), "file", "a protocol YAML file or a shipped protocol name",
                        hint="Shipped protocols: " + ", ".join(shipped_protocols()) + ".")


def load_protocol(name: str | Path, overrides: dict[str, object] | str | None = None) -> Protocol:
    """Read a protocol by path or shipped name, follow ``extends``, apply ``overrides``.

    Example
    -------
    >>> load_protocol("misle-phase1-pilot").criterion("malignancy").params["lookback_years"]
    3
    """
    protocol = _read(_locate(name), seen=())
    overrides = as_overrides(overrides)
    return protocol.with_overrides(overrides) if overrides else protocol


def _read(path: Path, seen: tuple[Path, ...]) -> Protocol:
    src = str(path)
    if path.resolve() in seen:
        raise ProtocolError(src, "extends", "a chain of protocols without a cycle")
    try:
        doc = safe_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProtocolError(src, "file", "valid YAML", hint=str(exc).splitlines()[0]) from None
    except _TooLarge as exc:
        raise ProtocolError(src, "file", f"YAML of at most {MAX_YAML_VALUES:,} values once aliases are expanded",
                            hint=f"{exc} Write the values out instead of repeating anchors (&name, *name).") from None
    if not isinstance(doc, dict):
        raise ProtocolError(src, "file", "a mapping with id, title and criteria")
    unknown = set(doc) - {"id", "title", "source", "extends", "criteria", "set", "drop", "add", "order",
                        "labels", "eligibility"}
    if unknown:
        raise ProtocolError(src, ", ".join(sorted(unknown)), "only the keys id, title, source, extends, criteria, "
                            "set, drop, add, order, labels, eligibility")
    if "extends" in doc:
        if not isinstance(doc["extends"], str) or not doc["extends"].strip():
            raise ProtocolError(src, "extends", "the name or path of one protocol to extend",
                                hint=f"Got {doc['extends']!r}. Shipped protocols: {', '.join(shipped_protocols())}.")
        base = _read(_locate(doc["extends"], path.parent), seen + (path.resolve(),))
        if "criteria" in doc:
            raise ProtocolError(src, "criteria", "no criteria list in a protocol that extends another",
                                hint="Use set / drop / add to change the base protocol.")
        protocol = base
        if doc.get("drop"):
            from screening.rules.trace import forget

            dropped = _as_list(src, "drop", doc["drop"])
            protocol = protocol.without(*dropped)
            protocol = replace(protocol, items=forget(protocol, dropped))
        if doc.get("add"):
            added = tuple(_criterion(src, f"add[{i}]", c) for i, c in enumerate(_as_list(src, "add", doc["add"])))
            protocol = replace(protocol, criteria=protocol.criteria + added)
        if doc.get("set"):
            if not isinstance(doc["set"], dict):
                raise ProtocolError(src, "set", "a mapping of criterion.param: value")
            protocol = protocol.with_overrides(doc["set"], source=src)
        if doc.get("labels"):
            if not isinstance(doc["labels"], dict):
                raise ProtocolError(src, "labels", "a mapping of criterion id: label")
            relabelled = {protocol.criterion(str(k)).id: str(v) for k, v in doc["labels"].items()}
            for cid, label in relabelled.items():
                _check_label(src, f"labels.{cid}", label, protocol.criterion(cid).params)
            protocol = replace(protocol, criteria=tuple(replace(c, label=relabelled.get(c.id, c.label))
                                                        for c in protocol.criteria))
        protocol = replace(protocol, overrides={})
    else:
        items = _as_list(src, "criteria", doc.get("criteria"))
        if not items:
            raise ProtocolError(src, "criteria", "a non-empty list of criteria")
        protocol = Protocol(id=str(doc.get("id", path.stem)), title=str(doc.get("title", path.stem)),
                            criteria=tuple(_criterion(src, f"criteria[{i}]", c) for i, c in enumerate(items)),
                            source=str(doc.get("source", "")))
    protocol = replace(protocol, id=str(doc.get("id", protocol.id)), title=str(doc.get("title", protocol.title)),
                       source=str(doc.get("source", protocol.source)), path=str(path.resolve()))
    if doc.get("order"):
        protocol = protocol.reordered(_as_list(src, "order", doc["order"]))
    ids = protocol.ids
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ProtocolError(src, "criteria", "each criterion id once", hint="Repeated: " + ", ".join(dupes))
    from screening.rules.trace import check_items, read_eligibility

    protocol = replace(protocol, items=read_eligibility(src, doc.get("eligibility"), protocol.items))
    check_items(src, protocol)
    return protocol


def _as_list(src: str, key: str, value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(src, key, "a list")
    return value


def _criterion(src: str, key: str, item) -> Criterion:
    if not isinstance(item, dict):
        raise ProtocolError(src, key, "a mapping with id, label, kind, rule and params")
    for required in ("id", "kind", "rule"):
        if required not in item:
            raise ProtocolError(src, f"{key}.{required}", f"a {required} for every criterion")
    cid = str(item["id"])
    key = f"{key} ({cid})"
    unknown = set(item) - {"id", "label", "kind", "rule", "params", "source"}
    if unknown:
        raise ProtocolError(src, f"{key}: {', '.join(sorted(unknown))}", "only id, label, kind, rule, params, source")
    if item["kind"] not in KINDS:
        raise ProtocolError(src, f"{key}.kind", "one of " + ", ".join(KINDS), hint=_suggest(str(item["kind"]), KINDS))
    rule_name = str(item["rule"])
    if rule_name not in RULES:
        raise ProtocolError(src, f"{key}.rule", "the name of a rule in screening.rules.criteria",
                            hint=_suggest(rule_name, list(RULES)))
    specs = RULES[rule_name].params
    defaults = RULES[rule_name].defaults
    given = item.get("params") or {}
    if not isinstance(given, dict):
        raise ProtocolError(src, f"{key}.params", "a mapping of parameter: value")
    params = dict(defaults)
    for pname, value in given.items():
        if pname not in defaults:
            raise ProtocolError(src, f"{key}.params.{pname}", f"a parameter of rule '{rule_name}' "
                                f"({', '.join(defaults) or 'it has none'})", hint=_suggest(pname, defaults))
        params[pname] = _check_value(src, f"{key}.params.{pname}", specs[pname], value)
    label = str(item.get("label", cid))
    _check_label(src, f"{key}.label", label, params)
    crit = Criterion(id=cid, label=label, kind=item["kind"], rule=rule_name, params=params,
                     source=str(item.get("source", "")))
    _check_relations(src, crit)
    return crit


def _spec(c: Criterion, param: str) -> Param:
    """What a criterion's parameter may hold: declared by its rule."""
    return RULES[c.rule].params[param]


def _check_value(src: str, key: str, spec: Param, value):
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
                                     + (f" {_suggest(str(wrong[0]), spec.choices)}"
                                        if _suggest(str(wrong[0]), spec.choices) else ""))
    return value


def _check_label(src: str, key: str, label: str, params: dict) -> None:
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


def _check_relations(src: str, c: Criterion) -> None:
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
    except (yaml.YAMLError, _TooLarge):
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
        except (yaml.YAMLError, _TooLarge) as exc:
            raise ProtocolError("overrides", "text", "a YAML or JSON mapping such as {\"sledai.min\": 4}",
                                hint=str(exc).splitlines()[0]) from None
    if not isinstance(value, dict):
        raise ProtocolError("overrides", "value", "a mapping of criterion.param: value such as {\"sledai.min\": 4}",
                            hint=f"Got {value!r}.")
    return {str(k): v for k, v in value.items()}


#: Deeper YAML is refused: a protocol nests a handful of levels, and composing recurses once per level.
MAX_YAML_DEPTH = 64


class _TooLarge(Exception):
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
        raise _TooLarge("An alias refers to the value that contains it.")
    active.add(key)
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, sizes, active) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes, active) + _expanded_size(v, sizes, active) for k, v in node.value)
    else:
        size = 1
    active.discard(key)
    if size > MAX_YAML_VALUES:
        raise _TooLarge(f"Its aliases expand to more than {MAX_YAML_VALUES:,} values.")
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


def _suggest(word: str, choices) -> str | None:
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


def _params_text(params: dict) -> str:
    return "; ".join(f"{k}={format_value(v)}" for k, v in params.items())
