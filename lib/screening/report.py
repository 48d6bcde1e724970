"""The shareable screening report: suppressed tables (CSV, JSON), executed notebooks and HTML.

A report folder is built in a temporary folder beside the target and renamed
into place at the end, so an interrupted run leaves no half-written report. An
existing report is only replaced when ``overwrite=True``. Tables carry no
patient identifiers or dates, and every count from 1 to ``small_cell`` is
suppressed.

Example
-------
>>> from screening.report import build_report
>>> build_report("data/synthetic", "misle-phase2", out="reports/demo")   # doctest: +SKIP
PosixPath('reports/demo')
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from . import __version__
from .errors import ScreeningError
from .funnel import Screening
from .privacy import suppress_attrition, suppress_counts
from .protocol import Protocol, load_protocol
from .sources import load_source

__all__ = ["build_report", "report_tables", "provenance", "NOTEBOOKS"]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("01-eligible-pool.ipynb", "02-screening-funnel.ipynb", "03-changing-criteria.ipynb")


def provenance(screening: Screening, small_cell: int) -> dict:
    """What produced a result: extract hash, protocol, every parameter, policy and package version."""
    p = screening.protocol
    return {
        "extract_sha256": screening.extract.hash,
        "extract_format": screening.extract.format,
        "patients": int(screening.extract.n_patients),
        "protocol_id": p.id,
        "protocol_title": p.title,
        "protocol_fingerprint": p.fingerprint(),
        "overrides": {k: v for k, v in p.overrides.items()},
        "parameters": p.parameters(),
        "criteria": [{"id": c.id, "label": c.display_label, "kind": c.kind} for c in p.criteria],
        "unknown_policy": screening.policy,
        "small_cell_threshold": small_cell,
        "package_version": __version__,
    }


def report_tables(screening: Screening, small_cell: int = 10, subgroup: str = "site") -> dict[str, pd.DataFrame]:
    """The shareable tables, suppressed. Keys are file stems."""
    counts = ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"]
    crit = screening.criteria_table().drop(columns=["excluded_in_sequence", "not_assessable_in_sequence"])
    overlap = screening.overlap(min_patients=small_cell + 1)
    outcome = screening.outcome_by(subgroup)
    return {
        "attrition": suppress_attrition(screening.attrition(), small_cell),
        "criteria": suppress_counts(crit, counts, small_cell),
        "overlap": overlap,
        f"outcome_by_{subgroup}": suppress_counts(outcome, ["eligible", "excluded", "not_assessable", "total"],
                                                  small_cell),
    }


def _write_tables(tables: dict[str, pd.DataFrame], meta: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, table in tables.items():
        table.to_csv(folder / f"{stem}.csv", index=False, lineterminator="\n")
        payload = {"provenance": meta, "table": json.loads(table.to_json(orient="records", force_ascii=False))}
        (folder / f"{stem}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                             encoding="utf-8")
    (folder / "provenance.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                            encoding="utf-8")


def _run_notebooks(folder: Path, params: dict, progress: bool) -> None:
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    for name in NOTEBOOKS:
        source = ROOT / "notebooks" / name
        if not source.exists():
            continue
        target = folder / name
        if progress:
            print(f"running {name} ...", file=sys.stderr, flush=True)
        pm.execute_notebook(str(source), str(target), parameters=params, kernel_name="python3",
                            cwd=str(ROOT / "notebooks"), progress_bar=False, log_output=False)
        body, _ = exporter.from_notebook_node(nbformat.read(target, as_version=4))
        target.with_suffix(".html").write_text(body, encoding="utf-8")


def build_report(data: str | Path, protocol: Protocol | str = "misle-phase2", *, out: str | Path,
                 policy: str = "separate", overwrite: bool = False, small_cell: int = 10, subgroup: str = "site",
                 notebooks: bool = True, progress: bool = False) -> Path:
    """Screen ``data`` and write the report folder ``out``; returns its path."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise ScreeningError(f"{out} already exists: pass --overwrite (overwrite=True) or choose another --out.")
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol)
    if progress:
        print(f"loading {data} ...", file=sys.stderr, flush=True)
    extract = load_source(data)
    screening = Screening(extract, protocol, policy)
    meta = provenance(screening, small_cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_tables(report_tables(screening, small_cell, subgroup), meta, tmp / "tables")
        if notebooks:
            protocol_arg = protocol.path or protocol.id
            params = {"extract_path": str(Path(str(data)).resolve()) if ":" not in str(data) else str(data),
                      "protocol": protocol_arg, "overrides": dict(protocol.overrides), "policy": policy,
                      "subgroup": subgroup, "small_cell": small_cell}
            _run_notebooks(tmp, params, progress)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
