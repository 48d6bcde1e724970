"""What produced a report: extract hash, protocol, every parameter, policy, disclosure rule, package version.

:func:`provenance` is written to ``tables/provenance.json`` (and into every JSON
table); :func:`provenance_markdown` is the block at the top of every notebook
and HTML. Both state the disclosure rule in the words of
:meth:`~screening.disclosure.rule.SmallCellRule.text`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from screening import __version__
from screening.disclosure.bundle import check_site_label
from screening.disclosure.rule import SHAREABLE, WATERMARK, SmallCellRule
from screening.engine.funnel import Screening
from screening.rules.protocol import Protocol
from screening.rules.trace import coverage
from screening.views.text import markdown_code, markdown_text, settings_markdown

__all__ = ["provenance", "provenance_markdown", "changes_from", "compared_with_text", "comparison_shown",
           "parameters_table", "coverage_headline", "not_computed_table", "TOOL"]

#: Marks provenance.json as written by this tool: only such a folder is ever replaced.
TOOL = "screening"


def provenance(screening: Screening, rule: SmallCellRule = SHAREABLE, site_label: str | None = None,
               compared_with: Protocol | None = None) -> dict:
    """What produced a result: extract hash, protocol, every parameter, policy, disclosure rule, package version.

    The patient count follows the disclosure rule like every other count. ``compared_with``: the protocol
    the what-if section compares with, named with what this protocol changes in it (see :func:`changes_from`).
    """
    p = screening.protocol
    site = {"site_label": check_site_label(site_label)} if site_label is not None else {}
    meta = site | {
        "tool": TOOL,
        "extract_sha256": screening.extract.hash,
        "extract_format": screening.extract.format,
        "patients": rule.label(screening.extract.n_patients),
        "protocol_id": p.id,
        "protocol_title": p.title,
        "protocol_fingerprint": p.fingerprint(),
        "overrides": {k: v for k, v in p.overrides.items()},
        "parameters": p.parameters(),
        "criteria": [{"id": c.id, "label": c.display_label, "kind": c.kind} for c in p.criteria],
        "coverage": coverage(p),
        "unknown_policy": screening.policy,
        "disclosure": rule.as_dict(),
        "disclosure_text": rule.text(),
        "small_cell_threshold": rule.threshold,
        "package_version": __version__,
    }
    if compared_with is not None:
        meta["compared_with"] = changes_from(compared_with, p)
    if rule.internal:
        meta["internal"] = WATERMARK
    return meta


def changes_from(other: Protocol, p: Protocol) -> dict:
    """``other`` by id and fingerprint, and how ``p`` differs from it: parameters set (and their value in
    ``other``), criteria dropped or added, order changed.

    >>> from screening import load_protocol
    >>> changed = changes_from(load_protocol("misle-phase2"), load_protocol("misle-phase2", {"sledai.min": 4}))
    >>> changed["set"], changed["was"]
    ({'sledai.min': 4}, {'sledai.min': 6})
    """
    mine, theirs = p.parameters(), other.parameters()
    ids, their_ids = {c.id for c in p.criteria}, {c.id for c in other.criteria}
    folder = Path(str(resources.files("screening.rules") / "protocols"))
    set_ = {k: v for k, v in mine.items() if k in theirs and theirs[k] != v}
    return {"protocol_id": other.id, "protocol_fingerprint": other.fingerprint(),
            "shipped": bool(other.path) and Path(other.path).resolve() == (folder / f"{other.id}.yaml").resolve(),
            "set": set_, "was": {k: theirs[k] for k in set_},
            "dropped": [c.id for c in other.criteria if c.id not in ids],
            "added": [c.id for c in p.criteria if c.id not in their_ids],
            "reordered": [c.id for c in p.counted if c.id in their_ids] !=
                         [c.id for c in other.counted if c.id in ids]}


def compared_with_text(meta: dict) -> str:
    """The protocol the what-if section compares with, and how this report's protocol differs, in words (markdown).

    >>> meta = {"compared_with": {"protocol_id": "misle-phase2", "shipped": True, "set": {"belimumab.months": 3},
    ...         "was": {"belimumab.months": 2}, "dropped": ["bilag"], "added": [], "reordered": False}}
    >>> compared_with_text(meta)
    '`misle-phase2` as shipped; here `belimumab.months` = 3 (there 2); not applied here: `bilag`'
    """
    other = meta["compared_with"]
    name = markdown_code(other["protocol_id"]) + (" as shipped" if other.get("shipped") else "")
    parts = [f"here {settings_markdown(other['set'], other['was'])}"] if other["set"] else []
    if other["dropped"]:
        parts.append("not applied here: " + ", ".join(map(markdown_code, other["dropped"])))
    if other["added"]:
        parts.append("added here: " + ", ".join(map(markdown_code, other["added"])))
    if other["reordered"]:
        parts.append("criteria in another order")
    return "; ".join([name, *parts])


def provenance_markdown(meta: dict) -> str:
    """The provenance block shown at the top of every notebook and report."""
    # A protocol's title and values come from a file someone may have written to harm: shown as text.
    changed = settings_markdown(meta["overrides"]) or "none (protocol defaults)"
    return "\n".join([
        "| | |", "| --- | --- |",
        f"| extract SHA-256 | `{meta['extract_sha256']}` |",
        f"| patients in extract | {meta['patients']} |",  # as every table shows a count: no separators
        f"| protocol | {markdown_text(meta['protocol_title'])} ({markdown_code(meta['protocol_id'])}, "
        f"fingerprint `{meta['protocol_fingerprint']}`) |",
        f"| parameter overrides | {changed} |",
        *([f"| compared with (what-if section) | {compared_with_text(meta)} |"] if "compared_with" in meta else []),
        *([f"| trial's eligibility text | {coverage_headline(meta)} |"] if "coverage" in meta else []),
        f"| missing data policy | {meta['unknown_policy']} |",
        f"| disclosure control | {meta['disclosure_text']} |",
        f"| package | screening {meta['package_version']} |",
    ])


def coverage_headline(meta: dict) -> str:
    """How much of the trial's text the protocol applies, as the headline says it ("The protocol applies 19 of ...")."""
    return f"The protocol {meta['coverage']['sentence']}."


def not_computed_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The trial's items the registry cannot settle exactly: approximated, left to the visit, or not in the extract."""
    items = tables["items"]
    return items[items["status"] != "computed"].set_index("item")[["kind", "status", "how / what is missing", "text"]]


def parameters_table(meta: dict) -> pd.DataFrame:
    """Every criterion parameter and its value, for the report's appendix."""
    rows = [{"criterion": k.split(".", 1)[0], "parameter": k.split(".", 1)[1], "value": _text(v)}
            for k, v in meta["parameters"].items()]
    return pd.DataFrame(rows)


def _text(value) -> str:
    # Unlike a label, the appendix keeps each value as it is stored (2.0 stays 2.0).
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def comparison_shown(tables: dict[str, pd.DataFrame], meta: dict) -> dict[str, pd.DataFrame]:
    """The what-if tables with each protocol named in the headers: ``comparison``, ``transitions``, ``by_criterion``.

    The files keep ``reference`` (this report's protocol) and ``variant`` (the one compared with); a reader
    sees the names.
    """
    a = f"{meta['protocol_id']} (this report)"
    other = meta.get("compared_with", {})
    b = other.get("protocol_id", "variant") + (" as shipped" if other.get("shipped") else "")
    comparison = tables["comparison"].rename(columns={"reference": a, "variant": b,
                                                      "difference": "difference (second − first)"})
    transitions = tables["transitions"].rename(columns={"reference": f"{a} ↓   {b} →"})
    by = tables["by_criterion"].rename(columns=lambda c: c[:-2].replace("_", " ") + f" in {b}" if c.endswith("_b")
                                       else c[:-2].replace("_", " ") + " in this" if c.endswith("_a") else c)
    return {"comparison": comparison, "transitions": transitions, "by_criterion": by}
