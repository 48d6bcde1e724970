"""What produced a report: extract hash, protocol, every parameter, policy, disclosure rule, package version.

:func:`provenance` is written to ``tables/provenance.json`` (and into every JSON
table); :func:`provenance_markdown` is the block at the top of every notebook
and HTML. Both state the disclosure rule in the words of
:meth:`~screening.disclosure.rule.SmallCellRule.text`.
"""

from __future__ import annotations

import pandas as pd

from screening import __version__
from screening.disclosure.bundle import check_site_label
from screening.disclosure.rule import SHAREABLE, WATERMARK, SmallCellRule
from screening.engine.funnel import Screening
from screening.rules.trace import coverage
from screening.views.text import markdown_code, markdown_text

__all__ = ["provenance", "provenance_markdown", "parameters_table", "coverage_headline", "not_computed_table", "TOOL"]

#: Marks provenance.json as written by this tool: only such a folder is ever replaced.
TOOL = "screening"


def provenance(screening: Screening, rule: SmallCellRule = SHAREABLE, site_label: str | None = None) -> dict:
    """What produced a result: extract hash, protocol, every parameter, policy, disclosure rule, package version.

    The patient count follows the disclosure rule like every other count.
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
    if rule.internal:
        meta["internal"] = WATERMARK
    return meta


def provenance_markdown(meta: dict) -> str:
    """The provenance block shown at the top of every notebook and report."""
    # A protocol's title and values come from a file someone may have written to harm: shown as text.
    changed = ", ".join(markdown_code(f"{k}={v}") for k, v in meta["overrides"].items()) or "none (protocol defaults)"
    return "\n".join([
        "| | |", "| --- | --- |",
        f"| extract SHA-256 | `{meta['extract_sha256']}` |",
        f"| patients in extract | {meta['patients']} |",  # as every table shows a count: no separators
        f"| protocol | {markdown_text(meta['protocol_title'])} ({markdown_code(meta['protocol_id'])}, "
        f"fingerprint `{meta['protocol_fingerprint']}`) |",
        f"| parameter overrides | {changed} |",
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
