"""Protocols as data: an ordered list of criteria read from YAML, with overrides.

A criterion has an id, a label, a kind (``inclusion``, ``exclusion`` or
``screening_visit``), a rule from :mod:`screening.rules.criteria` and that rule's
parameters. A variant protocol ``extends`` another and lists what it ``set``\\ s,
``drop``\\ s or ``add``\\ s. Reading and checking parameter values lives in
:mod:`screening.rules.values`, the lint in :mod:`screening.rules.lint`; both are
re-exported here.

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

import hashlib
import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import yaml

from screening.errors import ProtocolError
from screening.rules.implied import IMPLIED
from screening.rules.library import RULES
from screening.rules.lint import SEVERITIES, Issue, lint, rules_table
from screening.rules.registry import Param
from screening.rules.values import (
    MAX_YAML_DEPTH,
    MAX_YAML_VALUES,
    TooLarge,
    as_overrides,
    check_label,
    check_relations,
    check_value,
    format_value,
    params_text,
    parse_override,
    safe_yaml,
    suggest,
)

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_VALUES", "Criterion", "Issue", "Protocol", "SEVERITIES", "as_overrides",
           "format_value", "lint", "load_protocol", "parse_override", "rules_table", "safe_yaml", "shipped_protocols"]

KINDS = ("inclusion", "exclusion", "screening_visit")


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
            if " if " in item:  # read only when that parameter is set (not none, not false)
                item, param = item.split(" if ")
                if self.params.get(param) is None or self.params.get(param) is False:
                    continue
            if "{" in item:  # one column per value of a list parameter, e.g. bilag_{domains}
                name = item[item.index("{") + 1:item.index("}")]
                reads |= {item.replace("{" + name + "}", str(v)) for v in self.params.get(name, [])}
            else:
                reads.add(item)
        reads |= set(RULES[self.rule].named_columns(self.params))
        reads |= {IMPLIED[c][0] for c in reads if c in IMPLIED}  # a blank read from its partner field
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


#: Rule parameters limiting how old a lab value or weight may be (see ``screening.rules.masks.recent``).
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
                            hint=suggest(iid, [i.id for i in self.items]))

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise ProtocolError(self.id, cid, "the id of a criterion in this protocol", hint=suggest(cid, self.ids))

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
                                    f"({', '.join(crit.params) or 'it has none'})", hint=suggest(param, crit.params))
            return cid, param
        owners = [c.id for c in self.criteria if name in c.params]
        if len(owners) == 1:
            return owners[0], name
        if owners:
            raise ProtocolError(self.id, name, "a parameter name that only one criterion has",
                                hint=f"Several criteria have '{name}': write one of "
                                     + ", ".join(f"{o}.{name}" for o in owners) + ".")
        raise ProtocolError(self.id, name, "a parameter written criterion.param",
                            hint=suggest(name, list(self.parameters())))

    def with_overrides(self, overrides: dict[str, object], source: str = "overrides") -> Protocol:
        """A copy with parameter values changed; each name checked, each value type-checked."""
        by_id = {c.id: c for c in self.criteria}
        applied = dict(self.overrides)
        for name, value in overrides.items():
            cid, param = self.resolve(name)
            crit = by_id[cid]
            value = check_value(source, f"{cid}.{param}", _spec(crit, param), value)
            by_id[cid] = replace(crit, params={**crit.params, param: value})
            applied[f"{cid}.{param}"] = value
        new = replace(self, criteria=tuple(by_id[c.id] for c in self.criteria), overrides=applied)
        for c in new.criteria:
            check_relations(source, c)
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
                              "parameters": params_text(c.params), "source": c.source} for c in self.criteria])


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
    except TooLarge as exc:
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
                check_label(src, f"labels.{cid}", label, protocol.criterion(cid).params)
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
        raise ProtocolError(src, f"{key}.kind", "one of " + ", ".join(KINDS), hint=suggest(str(item["kind"]), KINDS))
    rule_name = str(item["rule"])
    if rule_name not in RULES:
        raise ProtocolError(src, f"{key}.rule", "the name of a rule in screening.rules.criteria",
                            hint=suggest(rule_name, list(RULES)))
    specs = RULES[rule_name].params
    defaults = RULES[rule_name].defaults
    given = item.get("params") or {}
    if not isinstance(given, dict):
        raise ProtocolError(src, f"{key}.params", "a mapping of parameter: value")
    params = dict(defaults)
    for pname, value in given.items():
        if pname not in defaults:
            raise ProtocolError(src, f"{key}.params.{pname}", f"a parameter of rule '{rule_name}' "
                                f"({', '.join(defaults) or 'it has none'})", hint=suggest(pname, defaults))
        params[pname] = check_value(src, f"{key}.params.{pname}", specs[pname], value)
    label = str(item.get("label", cid))
    check_label(src, f"{key}.label", label, params)
    crit = Criterion(id=cid, label=label, kind=item["kind"], rule=rule_name, params=params,
                     source=str(item.get("source", "")))
    check_relations(src, crit)
    return crit


def _spec(c: Criterion, param: str) -> Param:
    """What a criterion's parameter may hold: declared by its rule."""
    return RULES[c.rule].params[param]
