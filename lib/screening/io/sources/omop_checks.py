"""What an OMOP CDM lacks, said plainly: empty vocabulary tables, missing tables, an empty SLE cohort.

Each check returns what the reader needs (the table giving descendants, the
notes that explain an empty column) and warns once, naming the table or concept
set and what to do about it, instead of letting a later check say a column is
"empty in every row" of an export that does hold it.
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa

from screening.errors import ExtractWarning
from screening.io.schema import LAB_DATES
from screening.io.sources.omop_connect import VOCABULARY

__all__ = ["drop_empty_vocabulary", "descendant_edges", "missing_table_notes", "empty_cohort_notes"]

#: Extract fields read from the measurement table (for the SLE cohort only).
MEASURED = ("weight_kg", "egfr", "proteinuria_g_per_g", "wbc", "haemoglobin", "platelets", "ast", "ast_uln", "alt",
            "alt_uln", "ana_titre", "ana_date", "anti_dsdna_positive", "anti_dsdna_date", "sledai_2k",
            *LAB_DATES.values())
#: Extract fields read from condition records (for the SLE cohort only).
DIAGNOSED = ("nephritis_onset_date", "sle_diagnosis_date")


def drop_empty_vocabulary(cdm, cat) -> list[str]:
    """Forget vocabulary tables that hold a header and no rows (as Eunomia ships them); return their names.

    An empty ``concept_ancestor`` taken as usable would give no descendants while
    ``drug_strength`` could have matched clinical drugs to their ingredient.
    """
    empty = []
    for name in VOCABULARY:
        if name in cdm.found and cdm.is_empty(sa.select(sa.literal(1)).select_from(cat.table(name)).limit(1)):
            empty.append(name)
            del cdm.found[name]
    return empty


def _state(name: str, empty: list[str]) -> str:
    return f"{name} is empty" if name in empty else f"no {name} table"


def descendant_edges(cdm, empty: list[str]) -> str | None:
    """Which table gives descendants; warn, saying why, when ``concept_ancestor`` cannot."""
    database = hasattr(cdm, "engine")  # a folder or DuckDB file has no other schema to look in
    hint = " If the vocabulary is in another schema, name it with --vocab-schema." if database else ""
    if "concept_ancestor" in cdm.found:
        return "concept_ancestor"
    if "drug_strength" in cdm.found:
        warnings.warn(ExtractWarning(
            f"{cdm.source}: {_state('concept_ancestor', empty)}: drug exposures recorded as clinical drugs are "
            "matched to their ingredient through drug_strength, and condition and measurement sets match only "
            f"the listed concepts.{hint}"), stacklevel=3)
        return "drug_strength"
    warnings.warn(ExtractWarning(
        f"{cdm.source}: {_state('concept_ancestor', empty)} and {_state('drug_strength', empty)}: only exposures "
        "and records coded with a listed concept match (clinical drugs are missed) and no dose can be derived."
        f"{hint}"), stacklevel=3)
    return None


def missing_table_notes(source: str, found: dict) -> dict:
    """Notes (and one warning each) for the event tables a CDM lacks."""
    notes = {}
    if "death" not in found:
        notes["death_date"] = "the CDM has no death table: whether a person was alive at baseline is unknown"
    if "observation_period" not in found:
        notes["in_observation"] = "the CDM has no observation_period table: observed time is unknown"
    if "measurement" not in found:
        notes |= {f: "the CDM has no measurement table: labs and weight are unknown" for f in MEASURED}
        warnings.warn(ExtractWarning(f"{source}: no measurement table: labs, weight and autoantibodies are unknown "
                                     "for everyone, so the criteria that need them are not assessable."),
                      stacklevel=3)
    for table, what in (("condition_occurrence", "SLE diagnoses and other conditions"),
                        ("drug_exposure", "medications")):
        if table not in found:
            warnings.warn(ExtractWarning(f"{source}: no {table} table: no {what} can be read."), stacklevel=3)
    return notes


def empty_cohort_notes(source: str, persons: int, codes: int, sets: dict) -> dict:
    """When nobody has SLE: one warning naming the concept set, and notes for the fields read only for the cohort."""
    listed = "; ".join(f"{i.get('vocabulary', '')} {i.get('code', '')}".strip() + (
        f" (concept {i['concept_id']})" if i.get("concept_id") else "") for i in sets["conditions"]["sle"]["items"])
    warnings.warn(ExtractWarning(
        f"{source}: 0 of {persons} persons have an SLE diagnosis on or before baseline (concept set 'sle': "
        f"{listed}, with descendants; {codes} concept{'s' if codes != 1 else ''} found in this CDM). Labs, weight "
        "and drugs are read for the SLE cohort only, so they are empty here. Check the concept set in "
        "concepts.yaml against the CDM's condition codes."), stacklevel=3)
    return {f: "read for the SLE cohort only, and no person has SLE" for f in (*MEASURED, *DIAGNOSED)}
