"""Header-only extract templates: exactly the tables and columns a protocol reads.

A registry writing an extract by hand starts from these files: one header row
per table the protocol needs, and a README giving each column's type, unit and
meaning from the data dictionary (:mod:`screening.io.schema`).

Example
-------
>>> import tempfile
>>> from screening import load_protocol
>>> folder = write_template(load_protocol("misle-phase2"), tempfile.mkdtemp())
>>> sorted(p.name for p in folder.iterdir())
['README.md', 'infections.csv', 'malignancies.csv', 'medications.csv', 'patients.csv']
"""

from __future__ import annotations

from pathlib import Path

from screening.errors import ScreeningError
from screening.io.schema import OPTIONAL_TABLES, TABLES, Field
from screening.rules.protocol import Protocol

__all__ = ["needed_tables", "write_template"]


def needed_tables(protocol: Protocol) -> dict[str, list[Field]]:
    """Table → the dictionary fields the protocol reads, for every table it reads (patients always).

    Example
    -------
    >>> from screening import load_protocol
    >>> [f.name for f in needed_tables(load_protocol("misle-phase2"))["patients"]][:4]
    ['patient_id', 'sex', 'age_years', 'weight_kg']
    """
    by_name = {name: {f.name: f for f in fields} for name, fields in TABLES.items()}
    out = {}
    for table, columns in protocol.columns().items():
        if table != "patients" and columns == ["patient_id"]:
            continue  # an event table the protocol never looks at
        out[table] = [by_name[table][c] if c in by_name[table] else Field(c, "str", "Named by the protocol; "
                      "not in the data dictionary.") for c in columns]
    return out


def _type_text(f: Field) -> str:
    text = {"id": "identifier (text)", "str": "text", "category": "code", "int": "whole number", "float": "number",
            "bool": "true/false", "date": "date YYYY-MM-DD"}[f.kind]
    if f.allowed:
        text += ": " + ", ".join(f.allowed)
    elif f.kind in ("int", "float") and f.min is not None and f.max is not None:
        text += f", {f.min:g} to {f.max:g}"
    return text


def write_template(protocol: Protocol, out: str | Path) -> Path:
    """Write ``<table>.csv`` header files and ``README.md`` for ``protocol`` into the folder ``out``."""
    folder = Path(out)
    tables = needed_tables(protocol)
    existing = [path for path in [folder / f"{t}.csv" for t in tables] + [folder / "README.md"] if path.exists()]
    if existing:
        raise ScreeningError(f"{existing[0]} already exists: choose an empty --out folder (nothing is overwritten).")
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"# Extract template for {protocol.title} (`{protocol.id}`)", "",
             "One CSV file per table, comma-separated, UTF-8, a header row then one row per record. "
             "Leave a cell empty when the registry did not record it: the patient is then *not assessable* "
             "on the criteria that need it, never silently eligible. Columns not listed are not needed by this "
             "protocol; a report also uses `site`, `sex`, `race_ethnicity` when present.", "",
             "A code may be written in any case, with stray spaces, or as a spelling the editable synonym table "
             "`lib/screening/vocabulary.csv` names (`Female` for `F`, `Benlysta` for `belimumab`); a value it "
             "does not know is reported and read as unknown.", ""]
    for table, fields in tables.items():
        (folder / f"{table}.csv").write_text(",".join(f.name for f in fields) + "\n", encoding="utf-8")
        lines += [f"## {table}.csv", "", "| column | type | unit | meaning |", "| --- | --- | --- | --- |"]
        lines += [f"| `{f.name}` | {_type_text(f)}{' (required)' if f.required else ''} | {f.unit} | "
                  f"{f.description} |" for f in fields]
        lines.append("")
    read = {f.name for f in tables.get("patients", [])}
    per_visit = [f for f in OPTIONAL_TABLES["visits"] if f.required or f.name in read]
    if len(per_visit) > 2:  # the protocol reads something that changes from visit to visit
        lines += ["## visits.csv (optional)", "",
                  "To screen at every visit (eligible over time), add one row per patient-visit with the fields "
                  "below as recorded at that visit. The patients row is the latest visit: no visit may come after "
                  "its `baseline_date` or before its `sle_diagnosis_date`. A column left out is read from the "
                  "patients row at every visit; without this file the baseline is the only visit.", "",
                  "| column | type | unit | meaning |", "| --- | --- | --- | --- |"]
        lines += [f"| `{f.name}` | {_type_text(f)}{' (required)' if f.required else ''} | {f.unit} | "
                  f"{f.description} |" for f in per_visit]
        lines.append("")
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")
    return folder
