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
from screening.io.schema import BILAG_DOMAINS, LAB_DATES, TABLES, VISIT_FIELDS, fields_of
from screening.io.sources.as_of import INDEX_KINDS, AsOf, index_dates

__all__ = ["EventModel", "baselines", "build_extract", "check_index", "load_concepts", "NOT_DERIVABLE"]

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
    # libyaml's parser where PyYAML has it: the same objects, in a tenth of the time
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


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
    #: observation periods (person_id, start, end), for the cohort entry at each index date
    periods: pd.DataFrame | None = None
    #: by person_id, the earliest index date the source allows (None: the first SLE diagnosis)
    index_from: pd.Series | None = None


def check_index(source: str, index: str | None) -> None:
    """``index`` must name a way to choose index dates (or be None: the baseline only)."""
    if index is not None and index not in INDEX_KINDS:
        raise ExtractError(source, "index", " or ".join(INDEX_KINDS),
                           hint=f"Got {index!r}: 'visits' screens at each visit, 'monthly' on a monthly grid.")


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
    if part.index.equals(ids):  # already on every person, in order (a source's own per-person columns)
        out = part.copy()
        out.index = ids
        return out
    pos = ids.get_indexer(part.index)
    order = np.full(len(ids), -1, dtype=np.int64)
    order[pos[pos >= 0]] = np.flatnonzero(pos >= 0)
    out = part.reset_index(drop=True).reindex(order)
    out.index = ids
    return out


#: Lab fields read as the latest measurement (with its date where the extract dates it).
_LABS = ("weight_kg", "egfr", "proteinuria_g_per_g", "wbc", "haemoglobin", "platelets", "ast", "alt", "sledai_2k")


def _as_of(model: EventModel, at: AsOf, birth: np.ndarray, lab_months: float | None) -> dict[str, np.ndarray]:
    """Every time-varying extract field at each index row of ``at``: what the records said by that date."""
    out: dict[str, object] = {}
    age = np.floor((at.date - birth) / np.timedelta64(1, "D")) / 365.25  # whole days lived, then years
    out["age_years"] = pd.array(np.minimum(np.floor(age.astype(float)), 90), dtype="Float64")
    meas = model.measurements
    for name in _LABS:
        latest = at.latest(meas[meas["field"] == name], lab_months)
        out[name] = latest["value"].array
        if name in LAB_DATES:  # dated, so that a protocol's recency limit applies
            out[LAB_DATES[name]] = latest["date"].to_numpy()
        if name in ("ast", "alt"):
            out[f"{name}_uln"] = latest["range_high"].to_numpy()
    ana = at.latest(meas[meas["field"] == "ana_titre"], lab_months)
    out["ana_titre"], out["ana_date"] = ana["value"].array, ana["date"].to_numpy()
    ds = at.latest(meas[meas["field"] == "anti_dsdna"], lab_months)
    out["anti_dsdna_positive"], out["anti_dsdna_date"] = ds["positive"].array, ds["date"].to_numpy()

    cond = model.conditions
    unknown = ~at.known

    def flag(set_names, days=None) -> pd.arrays.BooleanArray:  # unknown where the row has no date
        return pd.arrays.BooleanArray(at.any_within(cond[cond["set"].isin(set_names)], days), unknown.copy())

    ln = cond[cond["set"] == "lupus_nephritis"]
    out["lupus_nephritis"] = np.where(at.any_within(ln, ACTIVE_NEPHRITIS_DAYS), "active",
                                      np.where(at.any_within(ln), "remission", "never"))
    out["nephritis_onset_date"] = at.first(ln)
    out["sle_diagnosis_date"] = at.first(cond[cond["set"] == "sle"])
    out["cns_lupus_active"] = flag(["cns_lupus"], ACTIVE_CNS_DAYS)
    out["dialysis"] = flag(["dialysis"], DIALYSIS_DAYS)
    out["hiv_positive"] = flag(["hiv"])
    out["hepatitis_b_positive"] = flag(["hepatitis_b"])
    out["hepatitis_c_positive"] = flag(["hepatitis_c"])
    out["tb_positive"] = flag(["tuberculosis"])
    out["pregnant"] = flag(["pregnancy"], PREGNANCY_DAYS)
    out["organ_transplant"] = flag(["organ_transplant"])
    return out


def build_extract(model: EventModel, baseline: str = "last_visit", before: str | None = None,
                  index: str | None = None, lab_months: float | None = None,
                  index_months: int | None = None) -> Extract:
    """The native extract (four tables, checked by the loader's rules) from a source's events.

    ``index`` (``visits`` or ``monthly``) adds a visits table: each SLE person's index dates before the
    baseline (:func:`~screening.io.sources.as_of.index_dates`, at most ``index_months`` back), with every
    time-varying field read as of that date, as the patients row is read as of the baseline. ``lab_months``:
    a measurement older than that many months before the date asked is not used.
    """
    p = model.persons.set_index("person_id")
    ids = p.index
    base = baselines(model, baseline, before)
    birth = p["birth_date"].to_numpy(dtype="datetime64[s]")
    # the arrays themselves (by position): a million Python strings each would be made and read back as text
    patients = pd.DataFrame({"patient_id": ids.astype(str), "site": p["site"].astype(str).array,
                             "sex": p["sex"].array, "race_ethnicity": p["race_ethnicity"].array})
    at = AsOf(ids, ids, _aligned(base, ids).to_numpy(dtype="datetime64[s]"))
    fields = _as_of(model, at, birth, lab_months)
    patients["age_years"] = fields.pop("age_years")
    patients["baseline_date"] = at.date
    for name, column in fields.items():
        patients[name] = column
    for name in NOT_DERIVABLE:
        patients[name] = None
    for f in TABLES["patients"]:  # optional fields no concept set maps yet: not recorded
        if f.optional and f.name not in patients:
            patients[f.name] = None
    patients = patients[[f.name for f in TABLES["patients"]]]
    if model.entry is not None:  # not in the registry dictionary: kept as extra columns for the entry rules
        for name, column in model.entry.items():
            patients[name] = _aligned(column, ids).to_numpy()
    visits = None
    if index is not None:
        visits = _visits(model, index, ids, patients, birth, lab_months, index_months)

    cond = model.conditions
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
              "infections": infections} | ({} if visits is None else {"visits": visits})
    notes = {**NOT_DERIVABLE, **model.notes}
    implausible = _implausible_to_unknown(tables, notes)
    if model.measurements[model.measurements["field"] == "sledai_2k"].empty:
        notes["sledai_2k"] = "no SLEDAI-2K measurement found: add the site's concept to the sledai_2k concept set"
    extract = extract_from_tables(tables, model.source, model.content_hash, notes)
    extract.implausible = implausible
    return extract

def _visits(model: EventModel, index: str, ids: pd.Index, patients: pd.DataFrame, birth: np.ndarray,
            lab_months: float | None, index_months: int | None) -> pd.DataFrame:
    """The visits table: each SLE person's index dates, every per-visit field read as of the date."""
    base = pd.Series(patients["baseline_date"].to_numpy(), index=ids)
    first = pd.Series(patients["sle_diagnosis_date"].to_numpy(dtype="datetime64[s]"), index=ids)
    if model.index_from is not None:  # a source may know a later start (the database's first SLE diagnosis)
        first = np.maximum(first, _aligned(model.index_from, ids).astype("datetime64[s]"))
    rows = index_dates(index, base, first, model.visits, index_months)
    at = AsOf(ids, rows["person_id"], rows["date"])
    fields = _as_of(model, at, birth[at.code], lab_months)
    out = pd.DataFrame({"patient_id": rows["person_id"].astype(str).to_numpy(),
                        "visit_date": rows["date"].to_numpy(dtype="datetime64[s]")})
    for name in VISIT_FIELDS:
        if name in fields:
            out[name] = fields[name]
    if model.entry is not None and "sle_diagnoses" in model.entry:  # the cohort entry as of each date
        cond = model.conditions
        out["sle_diagnoses"] = pd.array(at.count_days(cond[cond["set"] == "sle"]), dtype="Int32")
    if model.periods is not None:
        out["observation_start"], out["in_observation"] = _observed(at, model.periods)
    return out


def _observed(at: AsOf, periods: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per index row: the earliest start of an observation period holding the date, and whether one does."""
    code = at.ids.get_indexer(pd.Index(periods["person_id"]))
    frame = pd.DataFrame({"row": np.arange(len(at)), "code": at.code, "date": at.date})
    spans = pd.DataFrame({"code": code, "start": np.asarray(periods["start"], dtype="datetime64[s]"),
                          "end": np.asarray(periods["end"], dtype="datetime64[s]")})
    both = frame.merge(spans[spans["code"] >= 0], on="code")  # a person has few periods
    both = both[(both["start"] <= both["date"]) & (both["end"] >= both["date"])]
    start = both.groupby("row")["start"].min().reindex(np.arange(len(at)))
    inside = pd.array(start.notna().to_numpy(), dtype="boolean")
    return start.to_numpy(dtype="datetime64[s]"), inside


def _implausible_to_unknown(tables: dict[str, pd.DataFrame], notes: dict) -> pd.DataFrame:
    """Numbers outside the dictionary's range become unknown for that person, listed rather than fatal.

    An EHR holds a child's 11 kg or a mistyped 1200 g/dL; one such value must not stop
    a whole CDM's screening. Whole-number fields are rounded. Returns the values set
    aside (table, column, patient_id, value); ``notes`` says how many per column.
    """
    found = []
    for name, table in tables.items():
        for f in fields_of(name):
            if f.kind not in ("int", "float") or f.name not in table:
                continue
            column = table[f.name]
            if column.dtype == object and not column.notna().any():  # a field no source gives: no number to read
                table[f.name] = np.full(len(column), np.nan)
                continue
            value = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if f.kind == "int":
                value = np.round(value)
            bad = (value < (f.min if f.min is not None else -np.inf)) | (value > (f.max if f.max is not None
                                                                                  else np.inf))
            table[f.name] = np.where(bad, np.nan, value)
            if bad.any():
                who = table["patient_id"][bad]
                found.append(pd.DataFrame({"table": name, "column": f.name, "patient_id": who.astype(str).to_numpy(),
                                           "value": value[bad]}))
                notes[f.name] = (f"{int(bad.sum())} implausible value{'s' if bad.sum() > 1 else ''} (outside "
                                 f"{f.expected.split(' from ')[-1]}) set to unknown; listed by patient in "
                                 "extract.implausible")
    columns = {"table": str, "column": str, "patient_id": str, "value": float}
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=list(columns)).astype(columns)
