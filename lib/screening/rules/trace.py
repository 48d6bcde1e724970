"""Every criterion traced to the trial's text: eligibility items, their status, and what a report covers.

A protocol file may carry its trial's eligibility text split into numbered items
(section ``eligibility``). Each item quotes the text, cites where it was read,
and says how the protocol treats it:

- ``computed``: the criteria it names apply it exactly;
- ``approximated``: the criteria it names apply it, differently (``how`` says how and why);
- ``at_screening_visit``: only a visit can assess it (consent, a physician's global assessment);
- ``not_in_extract``: the registry lacks the data (``field`` names what it would need).

``needs`` names a rule the library does not have yet (``dose_cap``, ``drug_stability``):
an item waiting for it is ``approximated`` or ``not_in_extract`` until that rule exists.
Items change neither the funnel nor the protocol fingerprint: two protocols with equal
criteria screen alike whatever text they quote.

Example
-------
>>> from screening.rules.protocol import load_protocol
>>> p = load_protocol("misle-phase2")
>>> coverage_sentence(p)
'applies 13 of 19 items exactly, 5 approximately, 1 only at the screening visit'
>>> p.item("I6").status, p.item("I6").criteria
('at_screening_visit', ('consent',))
"""

from __future__ import annotations

from dataclasses import dataclass

from screening.errors import ProtocolError

__all__ = ["Item", "STATUSES", "coverage", "coverage_sentence", "check_items", "item_issues", "items_table",
           "items_text", "read_eligibility"]

#: Rules that say who is in an EHR database at all (OHDSI-style cohort entry), not what a trial asks:
#: their criteria trace to no item of the trial's text.
COHORT_RULES = ("diagnosis_recorded", "alive_at_baseline", "observed_before_baseline")
STATUSES = ("computed", "approximated", "at_screening_visit", "not_in_extract")
ITEM_KINDS = ("inclusion", "exclusion")
_KEYS = ("id", "kind", "text", "source", "status", "criteria", "how", "field", "needs", "note")
#: How each status reads in the coverage sentence.
_PHRASES = {"approximated": "approximately", "at_screening_visit": "only at the screening visit",
            "not_in_extract": "not at all (the extract lacks the data)", "": "unaccounted for (no status)"}


@dataclass(frozen=True)
class Item:
    """One numbered item of the trial's eligibility text, and how the protocol applies it."""

    id: str
    kind: str
    text: str
    source: str
    status: str = ""
    criteria: tuple[str, ...] = ()
    how: str = ""
    field: str = ""
    #: rules the library lacks that would apply the item (exactly), by name
    needs: tuple[str, ...] = ()
    note: str = ""

    def describe(self) -> str:
        """What stands between this item and an exact answer: how it is approximated, or the field it needs."""
        parts = [self.how if self.status == "approximated" else "",
                 f"needs the field: {self.field}" if self.field else "",
                 f"needs the rule: {', '.join(self.needs)}" if self.needs else "", self.note]
        return "; ".join(p for p in parts if p)


def read_eligibility(src: str, section, base: tuple[Item, ...] = ()) -> tuple[Item, ...]:
    """The items of an ``eligibility`` section; a variant's ``update`` changes its base's items by id.

    Structure is checked here, each problem named by file and item; whether the
    criteria an item names exist is checked once the protocol is complete
    (:func:`check_items`).
    """
    if section is None:
        return base
    if not isinstance(section, dict):
        raise ProtocolError(src, "eligibility", "a mapping with source and items (or, in a variant, update)")
    unknown = set(section) - {"source", "items", "update"}
    if unknown:
        raise ProtocolError(src, "eligibility: " + ", ".join(sorted(map(str, unknown))),
                            "only the keys source, items, update")
    default_source = str(section.get("source") or "")
    if "items" in section and "update" in section:
        raise ProtocolError(src, "eligibility", "either items (the whole list) or update (changes to the base's items)")
    if "update" in section:
        if not base:
            raise ProtocolError(src, "eligibility.update", "a base protocol with eligibility items to update",
                                hint="Write eligibility.items instead.")
        by_id = {i.id: i for i in base}
        for n, change in enumerate(_list(src, "eligibility.update", section["update"])):
            key = f"eligibility.update[{n}]"
            if not isinstance(change, dict) or "id" not in change:
                raise ProtocolError(src, key, "a mapping with the id of a base item and the fields that change")
            iid = str(change["id"])
            if iid not in by_id:
                raise ProtocolError(src, f"{key} ({iid})", "the id of an item of the base protocol",
                                    hint="Items: " + ", ".join(by_id) + ".")
            old = by_id[iid]
            merged = {k: getattr(old, k) for k in _KEYS} | {"criteria": list(old.criteria),
                                                             "needs": list(old.needs)} | change
            by_id[iid] = _item(src, f"{key} ({iid})", merged, default_source or old.source)
        return tuple(by_id.values())
    items = _list(src, "eligibility.items", section.get("items"))
    if not items:
        raise ProtocolError(src, "eligibility.items", "a non-empty list of the trial's eligibility items")
    out = tuple(_item(src, f"eligibility.items[{n}]", raw, default_source) for n, raw in enumerate(items))
    ids = [i.id for i in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ProtocolError(src, "eligibility.items", "each item id once", hint="Repeated: " + ", ".join(dupes))
    return out


def _list(src: str, key: str, value) -> list:
    if not isinstance(value, list):
        raise ProtocolError(src, key, "a list")
    return value


def _item(src: str, key: str, raw, default_source: str) -> Item:
    if not isinstance(raw, dict):
        raise ProtocolError(src, key, "a mapping with id, kind, text, status and criteria")
    if "id" not in raw:
        raise ProtocolError(src, f"{key}.id", "an id for every item (the trial's numbering, e.g. I1, E3)")
    key = f"{key} ({raw['id']})"
    unknown = set(raw) - set(_KEYS)
    if unknown:
        raise ProtocolError(src, f"{key}: {', '.join(sorted(map(str, unknown)))}", "only " + ", ".join(_KEYS))
    for required in ("kind", "text"):
        if not isinstance(raw.get(required), str) or not raw[required].strip():
            raise ProtocolError(src, f"{key}.{required}", "the item's kind (inclusion or exclusion)"
                                if required == "kind" else "the trial's text of the item, quoted")
    if raw["kind"] not in ITEM_KINDS:
        raise ProtocolError(src, f"{key}.kind", "inclusion or exclusion", hint=f"Got {raw['kind']!r}.")
    status = raw.get("status") or ""
    if status and status not in STATUSES:
        raise ProtocolError(src, f"{key}.status", "one of " + ", ".join(STATUSES), hint=f"Got {status!r}.")
    criteria = raw.get("criteria") or []
    if isinstance(criteria, str):
        criteria = [criteria]
    if not isinstance(criteria, list) or not all(isinstance(c, str) for c in criteria):
        raise ProtocolError(src, f"{key}.criteria", "a list of criterion ids")
    needs = raw.get("needs") or []
    needs = [needs] if isinstance(needs, str) else needs
    if not isinstance(needs, list) or not all(isinstance(n, str) and n.isidentifier() for n in needs):
        raise ProtocolError(src, f"{key}.needs", "the name of a rule (or a list of names), e.g. dose_cap",
                            hint=f"Got {raw.get('needs')!r}.")
    item = Item(id=str(raw["id"]), kind=raw["kind"], text=" ".join(raw["text"].split()),
                source=str(raw.get("source") or default_source), status=status, criteria=tuple(criteria),
                how=str(raw.get("how") or ""), field=str(raw.get("field") or ""), needs=tuple(needs),
                note=str(raw.get("note") or ""))
    if not item.source:
        raise ProtocolError(src, f"{key}.source", "where the text was read (record URL and date, or a citation)",
                            hint="Give it on the item or once as eligibility.source.")
    if status in ("computed", "approximated") and not item.criteria:
        raise ProtocolError(src, f"{key}.criteria", f"the criteria that apply a {status} item")
    if status == "approximated" and not item.how:
        raise ProtocolError(src, f"{key}.how", "how the criteria differ from the text, and why")
    if status == "not_in_extract" and not item.field:
        raise ProtocolError(src, f"{key}.field", "the field the registry would need to check this item")
    return item


def forget(protocol, dropped) -> tuple[Item, ...]:
    """A variant's items once it drops criteria: an item left without a counted criterion loses its status.

    The variant still loads and screens; :func:`item_issues` then asks its author to restate the item.
    """
    counted = {c.id for c in protocol.counted}
    out = []
    for i in protocol.items:
        kept = tuple(c for c in i.criteria if c not in dropped)
        if kept != i.criteria:
            lost = i.status in ("computed", "approximated") and not set(kept) & counted
            i = Item(**{**i.__dict__, "criteria": kept, "status": "" if lost else i.status})
        out.append(i)
    return tuple(out)


def check_items(src: str, protocol) -> None:
    """Every criterion an item names exists, and its kind fits the item's status."""
    kinds = {c.id: c.kind for c in protocol.criteria}
    for item in protocol.items:
        key = f"eligibility item {item.id}"
        if item.status in ("computed", "approximated") and all(kinds.get(c) == "screening_visit"
                                                               for c in item.criteria):
            raise ProtocolError(src, f"{key}.criteria", f"at least one counted criterion for a {item.status} item",
                                hint="Its criteria are all assessed at the screening visit: give the item status "
                                     "at_screening_visit.")
        for cid in item.criteria:
            if cid not in kinds:
                raise ProtocolError(src, f"{key}.criteria", "ids of criteria in this protocol",
                                    hint=f"{cid!r} is not one. Criteria: {', '.join(kinds)}.")
            visit = kinds[cid] == "screening_visit"
            if item.status in ("at_screening_visit", "not_in_extract") and not visit:
                raise ProtocolError(src, f"{key}.criteria",
                                    f"no counted criterion for an item with status {item.status}",
                                    hint=f"{cid!r} is counted in the funnel: the item is computed or approximated.")


def coverage(protocol) -> dict:
    """How many of the trial's items the protocol applies: per status, with the sentence reports show.

    Items whose criteria an override changed are listed (``changed_by_overrides``).
    """
    counts = {s: sum(i.status == s for i in protocol.items) for s in STATUSES}
    counts["unaccounted"] = sum(not i.status for i in protocol.items)
    return {"items": len(protocol.items), **counts, "changed_by_overrides": _overridden(protocol),
            "sentence": coverage_sentence(protocol)}


def _overridden(protocol) -> list[str]:
    """The items whose criteria an override changed: the text may no longer hold for them."""
    changed = {k.split(".", 1)[0] for k in protocol.overrides}
    return [i.id for i in protocol.items if changed & set(i.criteria)]


def coverage_sentence(protocol) -> str:
    """``applies 19 of 27 items exactly, 4 approximately, 4 only at the screening visit``."""
    items = protocol.items
    if not items:
        return "quotes no eligibility text: how much of the trial it applies is not stated"
    by = {s: sum(i.status == s for i in items) for s in (*STATUSES, "")}
    parts = [f"applies {by['computed']} of {len(items)} items exactly"]
    parts += [f"{by[s]} {_PHRASES[s]}" for s in ("approximated", "at_screening_visit", "not_in_extract", "") if by[s]]
    moved = _overridden(protocol)
    tail = f" (overrides change the criteria of {', '.join(moved)})" if moved else ""
    return ", ".join(parts) + tail


def items_table(protocol, only_not_computed: bool = False):
    """The items as a tidy DataFrame: id, kind, status, criteria, what stands in the way, text, source."""
    import pandas as pd

    rows = [{"item": i.id, "kind": i.kind, "status": i.status or "unaccounted", "criteria": ", ".join(i.criteria),
             "how / what is missing": i.describe(), "text": i.text, "source": i.source}
            for i in protocol.items if not (only_not_computed and i.status == "computed")]
    return pd.DataFrame(rows, columns=["item", "kind", "status", "criteria", "how / what is missing", "text",
                                       "source"])


def item_issues(protocol) -> list[tuple[str, str, str]]:
    """Lint findings about the items, as (severity, key, message): every item and criterion accounted for."""
    if not protocol.items:
        return [("warning", "eligibility", "quotes no eligibility text: reports cannot say how much of the trial "
                 "the protocol applies (add an eligibility section with the trial's items)")]
    out = [("error", f"eligibility.{i.id}", "has no status: say whether it is computed, approximated, assessed "
            "at the screening visit or not in the extract") for i in protocol.items if not i.status]
    named = {cid for i in protocol.items for cid in i.criteria}
    out += [("error", c.id, "applies no eligibility item: name it in the criteria of the item it encodes")
            for c in protocol.criteria if c.id not in named and c.rule not in COHORT_RULES]
    return out


def items_text(protocol) -> str:
    """The items as ``screening rules --protocol`` prints them: status, criteria, text, how."""
    sources = [i.source for i in protocol.items]
    common = max(sources, key=sources.count) if sources else ""
    lines = [f"{protocol.id}: {protocol.title}", f"coverage: {coverage_sentence(protocol)}"]
    lines += [f"source (unless an item names its own): {common}"] if common else []
    lines.append("")
    for i in protocol.items:
        lines.append(f"{i.id:<4} {i.kind:<9} {i.status or 'UNACCOUNTED':<19} {', '.join(i.criteria) or '-'}")
        lines.append(f"     \"{i.text}\"")
        if i.describe():
            lines.append(f"     {i.describe()}")
        if i.source != common:
            lines.append(f"     source: {i.source}")
    named = {cid for i in protocol.items for cid in i.criteria}
    entry = [c.id for c in protocol.criteria if c.id not in named and c.rule in COHORT_RULES]
    loose = [c.id for c in protocol.criteria if c.id not in named and c.rule not in COHORT_RULES]
    waiting: dict[str, list[str]] = {}
    for i in protocol.items:
        for rule in i.needs:
            waiting.setdefault(rule, []).append(i.id)
    if waiting:
        lines += ["", "rules these items wait for: " + "; ".join(f"{rule} ({', '.join(ids)})"
                                                               for rule, ids in waiting.items())]
    if entry:
        lines += ["", "cohort entry for the data source (not an item of the trial's text): " + ", ".join(entry)]
    if loose and protocol.items:
        lines += ["", "criteria tracing to no item (lint fails): " + ", ".join(loose)]
    return "\n".join(lines)
