"""Build the native extract from a source's events (shared by the OMOP and Synthea readers).

A reader turns its source into an :class:`EventModel`: people, classified
condition and procedure records, measurements converted to the extract's units,
drug rows with the ingredient named, and visits. :func:`build_extract` derives
every extract field from those events relative to each person's baseline, and
leaves missing what the source cannot give (listed in ``Extract.notes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from screening.errors import ExtractError
from screening.io.extract import Extract, extract_from_tables
from screening.io.schema import BILAG_DOMAINS, LAB_DATES, TABLES

__all__ = ["EventModel", "baselines", "build_extract", "load_concepts", "NOT_DERIVABLE"]

#: Extract fields no OMOP or Synthea record carries; they stay missing.
NOT_DERIVABLE = {
    "acr_criteria_count": "the count of ACR 1997 criteria is not coded in OMOP or Synthea",
    "slicc_classified": "SLICC classification is not coded in OMOP or Synthea",
    **{f"bilag_{d}": "BILAG-2004 grades are not coded in OMOP or Synthea" for d in BILAG_DOMAINS},
    "chest_xray": "chest X-ray findings are free text, not coded",
    "breastfeeding": "no standard concept set for breastfeeding is shipped",
    "childbearing_potential": "child-bearing potential is not coded",
    "contraception": "contraception is not reliably coded",
    "unstable_condition": "an investigator's judgement, not coded",
    "anti_sm_positive": "anti-Sm is not in the shipped concept sets",
    "anti_sm_date": "anti-Sm is not in the shipped concept sets",
}

#: Look-back windows (days) used to turn coded records into baseline flags.
ACTIVE_NEPHRITIS_DAYS = 365
ACTIVE_CNS_DAYS = 365
DIALYSIS_DAYS = 90
PREGNANCY_DAYS = 280


def load_concepts(path: str | Path | None = None) -> dict:
    """The concept-set file (the shipped one unless ``path`` is given)."""
    if path is None:
        text = (resources.files("screening.io.sources") / "concepts.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass
class EventModel:
    """A source's records in the shape :func:`build_extract` reads. Dates are datetime64."""

    persons: pd.DataFrame  # person_id, site, sex (F/M/NA), race_ethnicity, birth_date
    conditions: pd.DataFrame  # person_id, set (concept-set name), date
    measurements: pd.DataFrame  # person_id, field, date, value, range_high, positive
    drugs: pd.DataFrame  # person_id, drug, drug_class, start_date, stop_date, dose, dose_unit
    visits: pd.DataFrame  # person_id, date
    source: str
    content_hash: str
    notes: dict = field(default_factory=dict)
    #: cohort-entry columns by person_id (sle_diagnoses, death_date, in_observation, observation_start)
    entry: pd.DataFrame | None = None


def baselines(model: EventModel, baseline: str, before: str | None) -> pd.Series:
    """Each person's baseline: a fixed date, or their last visit on or before ``before``."""
    persons = model.persons["person_id"]
    if baseline != "last_visit":
        try:
            day = pd.to_datetime(baseline, format="%Y-%m-%d")  # strict: "June" must not parse
        except ValueError:
            raise ExtractError(model.source, "baseline", "a date YYYY-MM-DD or 'last_visit'",
                               hint=f"Got {baseline!r}.") from None
        return pd.Series(day, index=persons.to_numpy()).astype("datetime64[s]")
    try:
        cutoff = pd.to_datetime(before, format="%Y-%m-%d") if before else pd.Timestamp.today().normalize()
    except ValueError:
        raise ExtractError(model.source, "before", "a date YYYY-MM-DD", hint=f"Got {before!r}.") from None
    visits = model.visits[model.visits["date"] <= cutoff]
    last = visits.groupby("person_id")["date"].max()
    return last.reindex(persons.to_numpy()).astype("datetime64[s]")


def _aligned(part: pd.Series | pd.DataFrame, ids: pd.Index):
    """``part`` (indexed by some persons) on every person of ``ids``, missing where absent.

    Looked up through ``ids``' own cached hash table: ``part.reindex(ids)`` would hash every one
    of a large CDM's person ids again for each field.
    """
    pos = ids.get_indexer(part.index)
    order = np.full(len(ids), -1, dtype=np.int64)
    order[pos[pos >= 0]] = np.flatnonzero(pos >= 0)
    out = part.reset_index(drop=True).reindex(order)
    out.index = ids
    return out


def _per_person(index: pd.Index, events: pd.DataFrame, base: pd.Series, days: int | None) -> pd.Series:
    """Whether each person has an event on or before baseline (within ``days`` when given)."""
    b = base.reindex(events["person_id"]).to_numpy()
    keep = events["date"].to_numpy() <= b
    if days is not None:
        keep &= events["date"].to_numpy() >= b - np.timedelta64(days, "D")
    hit = pd.Index(events["person_id"][keep].unique())
    return pd.Series(index.isin(hit), index=index)


def _first(events: pd.DataFrame, base: pd.Series) -> pd.Series:
    """Each person's first event date on or before baseline."""
    on_time = events[events["date"].to_numpy() <= base.reindex(events["person_id"]).to_numpy()]
    return on_time.groupby("person_id")["date"].min()


def _latest(model: EventModel, field_name: str, base: pd.Series) -> pd.DataFrame:
    """Latest measurement of ``field_name`` on or before baseline: value, date, range_high, positive."""
    m = model.measurements[model.measurements["field"] == field_name]
    m = m[m["date"].to_numpy() <= base.reindex(m["person_id"]).to_numpy()]
    # Two results on the same day: the higher known value, so the choice never depends on the order a
    # database returned the rows in (PostgreSQL, DuckDB and a folder then agree).
    m = m.sort_values(["person_id", "date", "value", "range_high", "positive"], kind="stable", na_position="first")
    return m.groupby("person_id").tail(1).set_index("person_id")


def build_extract(model: EventModel, baseline: str = "last_visit", before: str | None = None) -> Extract:
    """The native extract (four tables, checked by the loader's rules) from a source's events."""
    p = model.persons.set_index("person_id")
    ids = p.index
    base = baselines(model, baseline, before)
    patients = pd.DataFrame({"patient_id": ids.astype(str), "site": p["site"].astype(str).to_numpy(),
                             "sex": p["sex"].to_numpy(), "race_ethnicity": p["race_ethnicity"].to_numpy()})
    birth = p["birth_date"]
    age = (base - birth).dt.days / 365.25
    patients["age_years"] = pd.array(np.minimum(np.floor(age.to_numpy(dtype=float)), 90), dtype="Float64")
    patients["baseline_date"] = base.to_numpy()

    for name in ("weight_kg", "egfr", "proteinuria_g_per_g", "wbc", "haemoglobin", "platelets", "ast", "alt",
                 "sledai_2k"):
        latest = _aligned(_latest(model, name, base), ids)
        patients[name] = latest["value"].to_numpy()
        if name in LAB_DATES:  # dated, so that a protocol's recency limit applies
            patients[LAB_DATES[name]] = latest["date"].to_numpy()
        if name in ("ast", "alt"):
            patients[f"{name}_uln"] = latest["range_high"].to_numpy()
    ana = _aligned(_latest(model, "ana_titre", base), ids)
    patients["ana_titre"], patients["ana_date"] = ana["value"].to_numpy(), ana["date"].to_numpy()
    ds = _aligned(_latest(model, "anti_dsdna", base), ids)
    patients["anti_dsdna_positive"] = ds["positive"].to_numpy()
    patients["anti_dsdna_date"] = ds["date"].to_numpy()

    cond = model.conditions

    def flag(set_names, days=None) -> np.ndarray:
        events = cond[cond["set"].isin(set_names)]
        out = _per_person(ids, events, base, days).to_numpy()
        return np.where(no_base, None, out)

    no_base = _aligned(base, ids).isna().to_numpy()
    ln = cond[cond["set"] == "lupus_nephritis"]
    ln_any = _per_person(ids, ln, base, None)
    ln_recent = _per_person(ids, ln, base, ACTIVE_NEPHRITIS_DAYS)
    patients["lupus_nephritis"] = np.where(ln_recent, "active", np.where(ln_any, "remission", "never"))
    patients["nephritis_onset_date"] = _aligned(_first(ln, base), ids).to_numpy()
    patients["sle_diagnosis_date"] = _aligned(_first(cond[cond["set"] == "sle"], base), ids).to_numpy()
    patients["cns_lupus_active"] = flag(["cns_lupus"], ACTIVE_CNS_DAYS)
    patients["dialysis"] = flag(["dialysis"], DIALYSIS_DAYS)
    patients["hiv_positive"] = flag(["hiv"])
    patients["hepatitis_b_positive"] = flag(["hepatitis_b"])
    patients["hepatitis_c_positive"] = flag(["hepatitis_c"])
    patients["tb_positive"] = flag(["tuberculosis"])
    patients["pregnant"] = flag(["pregnancy"], PREGNANCY_DAYS)
    patients["organ_transplant"] = flag(["organ_transplant"])
    for name in NOT_DERIVABLE:
        patients[name] = None
    for f in TABLES["patients"]:  # optional fields no concept set maps yet: not recorded
        if f.optional and f.name not in patients:
            patients[f.name] = None
    patients = patients[[f.name for f in TABLES["patients"]]]
    if model.entry is not None:  # not in the registry dictionary: kept as extra columns for the entry rules
        for name, column in model.entry.items():
            patients[name] = _aligned(column, ids).to_numpy()

    mal_sets = {"basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ"}
    mal = cond[cond["set"].isin(mal_sets | {"malignancy"})]
    # A specific (excepted) code wins over the generic malignancy set for the same record.
    mal = mal.assign(rank=np.where(mal["set"] == "malignancy", 1, 0)).sort_values(["person_id", "date", "rank", "set"])
    mal = mal.drop_duplicates(["person_id", "date"])
    malignancies = pd.DataFrame({"patient_id": mal["person_id"].astype(str),
                                 "malignancy_type": np.where(mal["set"] == "malignancy", "other", mal["set"]),
                                 "diagnosis_date": mal["date"].to_numpy()})
    inf = cond[cond["set"].isin(["herpes_zoster", "serious_infection"])]
    infections = pd.DataFrame({"patient_id": inf["person_id"].astype(str), "infection_type": inf["set"].to_numpy(),
                               "onset_date": inf["date"].to_numpy()})
    d = model.drugs
    medications = pd.DataFrame({"patient_id": d["person_id"].astype(str), "drug": d["drug"].to_numpy(),
                                "drug_class": d["drug_class"].to_numpy(), "start_date": d["start_date"].to_numpy(),
                                "stop_date": d["stop_date"].to_numpy(), "dose": d["dose"].to_numpy(),
                                "dose_unit": d["dose_unit"].to_numpy()})
    tables = {"patients": patients, "medications": medications, "malignancies": malignancies,
              "infections": infections}
    notes = {**NOT_DERIVABLE, **model.notes}
    implausible = _implausible_to_unknown(tables, notes)
    if model.measurements[model.measurements["field"] == "sledai_2k"].empty:
        notes["sledai_2k"] = "no SLEDAI-2K measurement found: add the site's concept to the sledai_2k concept set"
    extract = extract_from_tables(tables, model.source, model.content_hash, notes)
    extract.implausible = implausible
    return extract


def _implausible_to_unknown(tables: dict[str, pd.DataFrame], notes: dict) -> pd.DataFrame:
    """Numbers outside the dictionary's range become unknown for that person, listed rather than fatal.

    An EHR holds a child's 11 kg or a mistyped 1200 g/dL; one such value must not stop
    a whole CDM's screening. Whole-number fields are rounded. Returns the values set
    aside (table, column, patient_id, value); ``notes`` says how many per column.
    """
    found = []
    for name, table in tables.items():
        for f in TABLES[name]:
            if f.kind not in ("int", "float") or f.name not in table:
                continue
            value = pd.to_numeric(table[f.name], errors="coerce").astype(float)
            if f.kind == "int":
                value = value.round()
            bad = (value < (f.min if f.min is not None else -np.inf)) | (value > (f.max if f.max is not None
                                                                                  else np.inf))
            table[f.name] = value.where(~bad)
            if bad.any():
                who = table["patient_id"][bad]
                found.append(pd.DataFrame({"table": name, "column": f.name, "patient_id": who.astype(str).to_numpy(),
                                           "value": value[bad].to_numpy()}))
                notes[f.name] = (f"{int(bad.sum())} implausible value{'s' if bad.sum() > 1 else ''} (outside "
                                 f"{f.expected.split(' from ')[-1]}) set to unknown; listed by patient in "
                                 "extract.implausible")
    columns = {"table": str, "column": str, "patient_id": str, "value": float}
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=list(columns)).astype(columns)
