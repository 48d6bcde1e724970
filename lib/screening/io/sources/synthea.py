"""Read a Synthea CSV export and build the screening extract from it.

Synthea writes ``patients.csv``, ``encounters.csv``, ``conditions.csv``,
``medications.csv``, ``observations.csv`` and ``procedures.csv``. Conditions and
procedures carry SNOMED codes and observations LOINC codes, matched against the
codes of the concept-set file. Medications carry RxNorm clinical-drug codes, so
the ingredient is matched by name in ``DESCRIPTION``; the strength comes from
the description too (``prednisone 5 MG Oral Tablet``). Synthea records no daily
frequency, so daily doses stay missing (not assessable), as the README says.

Example
-------
>>> from screening.io.sources.synthea import read_synthea, SYNTHEA_FILES
>>> SYNTHEA_FILES[:2]
('patients', 'encounters')
>>> ex = read_synthea("output/csv", baseline="2024-06-15")    # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ExtractError
from screening.io.extract import Extract, extract_hash
from screening.io.sources.common import EventModel, baselines, build_extract, check_index, load_concepts

__all__ = ["read_synthea", "SYNTHEA_FILES"]

SYNTHEA_FILES = ("patients", "encounters", "conditions", "medications", "observations", "procedures")
#: The columns read from each Synthea file (upper case, as Synthea writes them).
_NEEDS = {"patients": ("ID", "BIRTHDATE"), "encounters": ("PATIENT", "START"),
          "conditions": ("PATIENT", "CODE", "START"), "medications": ("PATIENT", "DESCRIPTION", "START", "STOP"),
          "observations": ("PATIENT", "CODE", "VALUE", "DATE"), "procedures": ("PATIENT", "CODE", "START")}
_RACE = {"white": "White", "black": "Black", "asian": "Asian"}
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*MG\b(?!\s*/\s*ML)", re.IGNORECASE)


def _read(folder: Path, name: str, files: list[Path]) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    if not path.is_file():
        if name == "patients":
            raise ExtractError(str(path), None, "the Synthea patients.csv of a CSV export")
        return pd.DataFrame()
    files.append(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:
        raise ExtractError(str(path), None, "a readable Synthea CSV file", hint=str(exc)) from None
    frame.columns = [c.strip().upper() for c in frame.columns]
    absent = [c for c in _NEEDS[name] if c not in frame.columns]
    if absent:
        native = "PATIENT_ID" in frame.columns
        raise ExtractError(str(path), ", ".join(absent), f"the columns of a Synthea {name}.csv "
                           f"({', '.join(_NEEDS[name])})",
                           hint="This looks like an extract in this package's own format: pass the folder "
                                "without 'synthea:'." if native else "Is this folder a Synthea CSV export?")
    return frame


def _dates(series: pd.Series) -> pd.Series:
    # Synthea writes dates (2019-02-17) or ISO timestamps (2019-02-17T08:35:03Z): keep the day.
    return pd.to_datetime(series.str.slice(0, 10), format="%Y-%m-%d", errors="coerce").astype("datetime64[s]")


def _code_sets(concepts: dict, section: str, vocabulary: str) -> dict[str, set[str]]:
    return {name: {str(i["code"]) for i in spec["items"] if i.get("vocabulary") == vocabulary}
            for name, spec in concepts[section].items()}


def _records(frame: pd.DataFrame, date_col: str, sets: dict[str, set[str]]) -> pd.DataFrame:
    if not len(frame):
        return pd.DataFrame({"person_id": pd.Series(dtype=str), "set": pd.Series(dtype=str),
                             "date": pd.Series(dtype="datetime64[s]")})
    lookup = pd.DataFrame([(code, name) for name, codes in sets.items() for code in codes], columns=["CODE", "set"])
    joined = frame[["PATIENT", "CODE", date_col]].merge(lookup, on="CODE")
    return pd.DataFrame({"person_id": joined["PATIENT"], "set": joined["set"], "date": _dates(joined[date_col])})


def read_synthea(folder: str | Path, baseline: str = "last_visit", before: str | None = None,
                 concepts: str | Path | None = None, index: str | None = None,
                 index_months: int | None = None) -> Extract:
    """Build the screening extract from a Synthea CSV export folder.

    ``baseline`` is a date or ``"last_visit"`` (each patient's last encounter on or before ``before``).
    ``index`` (``"visits"``: each encounter; ``"monthly"``) adds a visits table of index dates, as
    :func:`~screening.io.sources.omop.read_omop` does.
    """
    check_index(f"synthea:{folder}", index)
    folder = Path(folder)
    if not folder.is_dir():
        raise ExtractError(str(folder), None, "a Synthea CSV export folder (patients.csv, conditions.csv, ...)")
    files: list[Path] = []
    t = {name: _read(folder, name, files) for name in SYNTHEA_FILES}
    sets = load_concepts(concepts)
    p = t["patients"]
    race = p.get("RACE", pd.Series(index=p.index, dtype=object)).str.lower().map(_RACE)
    race = race.where(race.notna() | p.get("RACE", pd.Series(index=p.index, dtype=object)).isna(), "Other")
    hispanic = p.get("ETHNICITY", pd.Series("", index=p.index)).str.lower().eq("hispanic")
    persons = pd.DataFrame({
        "person_id": p["ID"],
        "site": p.get("COUNTY", pd.Series("Synthea", index=p.index)).fillna("Synthea"),
        "sex": p.get("GENDER", pd.Series(index=p.index, dtype=object)).map({"F": "F", "M": "M"}),
        "race_ethnicity": np.where(hispanic, "Hispanic", race.astype(object)),
        "birth_date": _dates(p["BIRTHDATE"]),
    })
    condition_sets = _code_sets(sets, "conditions", "SNOMED")
    procedure_sets = _code_sets(sets, "procedures", "SNOMED")
    conditions = pd.concat([_records(t["conditions"], "START", {**condition_sets, **procedure_sets}),
                            _records(t["procedures"], "START", {**condition_sets, **procedure_sets})],
                           ignore_index=True)
    measurements = _measurements(t["observations"], sets)
    drugs = _drugs(t["medications"], sets)
    enc = t["encounters"]
    visits = pd.DataFrame({"person_id": enc["PATIENT"], "date": _dates(enc["START"])}) if len(enc) else \
        pd.DataFrame({"person_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[s]")})
    model = EventModel(persons, conditions, measurements, drugs, visits, source=f"synthea:{folder}",
                       content_hash=extract_hash(files), entry=_entry(p, conditions, visits, baseline, before))
    model.notes["dose"] = "Synthea records no daily frequency: daily doses are not derivable"
    for name in ("ast_uln", "alt_uln"):
        model.notes[name] = "Synthea observations carry no reference range"
    if index is not None:  # observed from the first encounter to the last, as the cohort entry reads it
        span = visits.groupby("person_id")["date"].agg(["min", "max"])
        model.periods = pd.DataFrame({"person_id": span.index, "start": span["min"].to_numpy(),
                                      "end": span["max"].to_numpy()})
    return build_extract(model, baseline, before, index=index, index_months=index_months)


def _entry(patients: pd.DataFrame, conditions: pd.DataFrame, visits: pd.DataFrame, baseline: str,
           before: str | None) -> pd.DataFrame:
    """Cohort-entry columns: SLE diagnosis days by baseline, death date, and observation from the first encounter.

    Synthea simulates whole lives but writes no observation period: a person is
    taken as observed from their first encounter to their last.
    """
    ids = patients["ID"]
    model = EventModel(pd.DataFrame({"person_id": ids}), conditions, pd.DataFrame(), pd.DataFrame(), visits, "", "")
    base = baselines(model, baseline, before).reindex(ids.to_numpy())
    sle = conditions[conditions["set"] == "sle"]
    sle = sle[sle["date"].to_numpy() <= base.reindex(sle["person_id"]).to_numpy()]
    count = sle.groupby("person_id")["date"].nunique().reindex(ids.to_numpy()).fillna(0)
    span = visits.groupby("person_id")["date"].agg(["min", "max"]).reindex(ids.to_numpy())
    inside = pd.array((span["min"] <= base) & (span["max"] >= base), dtype="boolean")
    inside[base.isna().to_numpy()] = pd.NA
    death = _dates(patients.get("DEATHDATE", pd.Series("", index=patients.index)).fillna(""))
    return pd.DataFrame({"sle_diagnoses": pd.array(count.to_numpy(), dtype="Int32"), "death_date": death.to_numpy(),
                         "observation_start": span["min"].where(inside.fillna(False)).to_numpy(),
                         "in_observation": inside}, index=ids.to_numpy())


def _measurements(obs: pd.DataFrame, concepts: dict) -> pd.DataFrame:
    cols = ["person_id", "field", "date", "value", "range_high", "positive"]
    if not len(obs):
        return pd.DataFrame(columns=cols)
    words = {w.lower() for w in concepts.get("positive_words", [])}
    parts = []
    for name, spec in concepts["measurements"].items():
        codes = {str(i["code"]) for i in spec["items"] if i.get("vocabulary") == "LOINC"}
        rows = obs[obs["CODE"].isin(codes)]
        if not len(rows):
            continue
        units = {str(k): float(v) for k, v in spec.get("units", {}).items()}
        value = pd.to_numeric(rows["VALUE"], errors="coerce")
        if "any" not in units:
            value = value * pd.to_numeric(rows.get("UNITS", pd.Series(index=rows.index, dtype=object)).map(units),
                                          errors="coerce")
        text = rows["VALUE"].astype(str).str.strip().str.lower()
        positive = pd.Series(np.where(text.isin(words), True, np.where(text.isin({"negative", "neg", "not detected"}),
                                                                       False, None)), index=rows.index)
        parts.append(pd.DataFrame({"person_id": rows["PATIENT"], "field": name, "date": _dates(rows["DATE"]),
                                   "value": value.astype("Float64"), "range_high": np.nan,
                                   "positive": positive.astype("boolean")}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def _drugs(meds: pd.DataFrame, concepts: dict) -> pd.DataFrame:
    cols = ["person_id", "drug", "drug_class", "start_date", "stop_date", "dose", "dose_unit"]
    if not len(meds):
        return pd.DataFrame(columns=cols)
    description = meds["DESCRIPTION"].fillna("").str.lower()
    parts = []
    for drug, spec in concepts["drugs"].items():
        names = [drug, str(spec.get("name", drug)), *(str(a["name"]) for a in spec.get("also", []))]
        rows = meds[description.str.contains("|".join(rf"\b{re.escape(n.lower())}" for n in names), regex=True)]
        if not len(rows):
            continue
        biologic = spec["class"] == "biologic"
        # An administration's mg is the product's strength; a daily dose needs a frequency Synthea lacks.
        strength = rows["DESCRIPTION"].str.extract(_STRENGTH)[0].astype(float)
        dose = strength * pd.to_numeric(rows.get("DISPENSES", pd.Series(1, index=rows.index)), errors="coerce") \
            if biologic else pd.Series(np.nan, index=rows.index)
        parts.append(pd.DataFrame({"person_id": rows["PATIENT"], "drug": drug, "drug_class": spec["class"],
                                   "start_date": _dates(rows["START"]), "stop_date": _dates(rows["STOP"].fillna("")),
                                   "dose": pd.array(dose.to_numpy(), dtype="Float64"),
                                   "dose_unit": "mg" if biologic else "mg/day"}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
