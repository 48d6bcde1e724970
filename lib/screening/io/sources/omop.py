"""Read an OMOP CDM (v5.3 or v5.4) where it lives and build the screening extract of its SLE cohort.

The CDM can be a folder of tables (``person.csv``, ``PERSON.csv`` or
``person.parquet``, ...), a DuckDB database file, or any database SQLAlchemy
reaches (``postgresql://user:password@host/db``), with the CDM tables in one
schema and the vocabulary in another. Folders and DuckDB files are queried by
DuckDB in place; nothing is read whole into memory.

The concept sets of ``concepts.yaml`` are resolved in the database (listed ids,
codes looked up in ``concept``, descendants through ``concept_ancestor``), and
the queries of :mod:`screening.io.sources.omop_sql` bring back one short row per
person and, for the SLE cohort only, the records that fall in a concept set and
in a look-back. pandas then derives each extract field as for any source.

Example
-------
>>> from screening.io.sources.omop import read_omop, OMOP_TABLES
>>> OMOP_TABLES[:3]
('person', 'observation_period', 'visit_occurrence')
>>> ex = read_omop("postgresql://me@db/cdm", baseline="2024-06-15", cdm_schema="cdm",
...                vocab_schema="vocab")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from screening.errors import ExtractError
from screening.io.dates import months_before
from screening.io.extract import Extract
from screening.io.sources import omop_checks as checks
from screening.io.sources import omop_sql as q
from screening.io.sources.common import EventModel, build_extract, check_index, load_concepts
from screening.io.sources.omop_connect import OMOP_TABLES, PASSWORD_ENV, VOCABULARY, connect, split_url

__all__ = ["read_omop", "OMOP_TABLES", "PASSWORD_ENV", "VOCABULARY", "split_url"]

FEMALE, MALE = 8532, 8507
RACE = {8527: "White", 8516: "Black", 8515: "Asian"}
HISPANIC = 38003563
MG = 8576  # UCUM milligram, the amount unit drug_strength uses for mg
#: How far back drug rows are read: the longest drug look-back (nephritis therapy of an episode) fits.
DRUG_YEARS = 5
#: How far back (months before baseline) labs and weight are read when no protocol says: the shipped
#: protocols' recency limit. A protocol's own limits set it through ``load_source(..., protocol=...)``.
LAB_MONTHS = 12


def _items(concepts: dict) -> pd.DataFrame:
    """The concept-set file as rows of ``screening_items``."""
    rows = []
    for section, domain in (("conditions", "condition"), ("procedures", "procedure"),
                            ("measurements", "measurement"), ("routes", "route")):
        for name, spec in concepts.get(section, {}).items():
            for item in spec["items"]:
                rows.append((name, domain, item.get("vocabulary"), str(item.get("code", "")), item.get("concept_id"),
                             int(spec.get("descendants", True))))
    for name, spec in concepts["drugs"].items():
        for item in [spec, *spec.get("also", [])]:
            rows.append((name, "drug", item.get("vocabulary"), str(item.get("code", "")), item.get("concept_id"),
                         1))
    frame = pd.DataFrame(rows, columns=["set_name", "domain", "vocabulary_id", "concept_code", "concept_id",
                                        "descendants"])
    frame["concept_id"] = frame["concept_id"].astype("Int64")
    return frame


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce").astype("datetime64[s]")


def _persons(frame: pd.DataFrame) -> pd.DataFrame:
    number = {c: pd.to_numeric(frame[c], errors="coerce") for c in
              ("year_of_birth", "month_of_birth", "day_of_birth", "gender_concept_id", "race_concept_id",
               "ethnicity_concept_id")}
    month = number["month_of_birth"]
    # Where month or day is missing, the middle of the year (1 July) or month (15th) is used.
    day = number["day_of_birth"].fillna(pd.Series(np.where(month.isna(), 1, 15), index=frame.index))
    birth = pd.to_datetime(pd.DataFrame({"year": number["year_of_birth"], "month": month.fillna(7), "day": day}),
                           errors="coerce")
    exact = _dates(frame["birth_datetime"])
    birth = exact.where(exact.notna(), birth)
    race_id, gender = (number[c].to_numpy(dtype=float, na_value=np.nan) for c in ("race_concept_id",
                                                                               "gender_concept_id"))
    # A race concept not listed is "Other"; none (or 0) is unknown. Hispanic ethnicity is said first.
    race = np.select([race_id == k for k in RACE], range(len(RACE)), np.where(race_id > 0, len(RACE), -1))
    hispanic = number["ethnicity_concept_id"].to_numpy(dtype=float, na_value=np.nan) == HISPANIC
    site = frame["care_site_id"].astype("string").str.removesuffix(".0").fillna("OMOP")
    return pd.DataFrame({
        "person_id": _ids(frame["person_id"]),
        "site": site,
        "sex": _labels(np.where(gender == FEMALE, 0, np.where(gender == MALE, 1, -1)), ["F", "M"]),
        "race_ethnicity": _labels(np.where(hispanic, len(RACE) + 1, race), [*RACE.values(), "Other", "Hispanic"]),
        "birth_date": birth.astype("datetime64[s]"),
    })


def _labels(codes: np.ndarray, names: list[str]) -> pd.Series:
    """``names[code]`` for each code (-1: missing) as text, without a Python string per person.

    >>> _labels(np.array([1, -1, 0]), ["F", "M"]).tolist()
    ['M', nan, 'F']
    """
    text = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(names))
    return pd.Series(pd.array(text.cast(pa.string()), dtype="str"))


def _ids(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("int64").astype(str)


def _measurements(rows: pd.DataFrame, concepts: dict) -> pd.DataFrame:
    cols = ["person_id", "field", "date", "value", "range_high", "positive"]
    if rows is None or not len(rows):
        return pd.DataFrame(columns=cols)
    positive_ids = set(concepts.get("positive_values", []))
    negative_ids = set(concepts.get("negative_values", []))
    words = {w.lower() for w in concepts.get("positive_words", [])}
    no_words = {w.lower() for w in concepts.get("negative_words", [])}
    value = pd.to_numeric(rows["value_as_number"], errors="coerce")
    factor = pd.Series(np.nan, index=rows.index)
    unit_id = pd.to_numeric(rows["unit_concept_id"], errors="coerce").astype("Int64").astype("string")
    unit_text = rows["unit_source_value"].astype("string")
    for name, spec in concepts["measurements"].items():
        units = {str(k): float(v) for k, v in spec.get("units", {}).items()}
        mine = (rows["field"] == name).to_numpy()
        if "any" in units:
            factor[mine] = 1.0
            continue
        by_id = unit_id[mine].map(units)
        factor[mine] = by_id.where(by_id.notna(), unit_text[mine].map(units)).astype(float)
    value = value * factor  # an unknown unit leaves the value unknown
    high = pd.to_numeric(rows["range_high"], errors="coerce")
    answer = pd.to_numeric(rows["value_as_concept_id"], errors="coerce")
    text = rows["value_source_value"].astype("string").str.strip().str.lower()
    yes = answer.isin(positive_ids) | text.isin(words).fillna(False)
    no = answer.isin(negative_ids) | text.isin(no_words).fillna(False)
    by_number = (value > high).where(value.notna() & high.notna())
    # A result recorded as a concept (Positive, High / Negative, Normal) settles it; two that disagree do not.
    positive = pd.Series(np.where(yes & no, None, np.where(yes, True, np.where(no, False, by_number))),
                         index=rows.index).astype("boolean")
    return pd.DataFrame({"person_id": _ids(rows["person_id"]), "field": rows["field"].astype(str),
                         "date": _dates(rows["date"]), "value": value.astype("Float64"), "range_high": high,
                         "positive": positive})


def _drugs(rows: pd.DataFrame, concepts: dict) -> pd.DataFrame:
    cols = ["person_id", "drug", "drug_class", "start_date", "stop_date", "dose", "dose_unit"]
    if rows is None or not len(rows):
        return pd.DataFrame(columns=cols)
    drug_class = rows["drug"].map({name: spec["class"] for name, spec in concepts["drugs"].items()})
    # A cream or an inhaler is not a systemic glucocorticoid: by route concept, or by the route as written.
    words = "|".join(concepts.get("non_systemic_route_words", [])) or "$^"
    local = rows["route_set"].notna() | rows["route_source_value"].astype("string").str.lower() \
        .str.contains(words, regex=True).fillna(False)
    rows = rows[~(local & (drug_class == "glucocorticoid")).to_numpy()]
    drug_class = drug_class[rows.index]
    start = _dates(rows["start_date"])
    supply = pd.to_numeric(rows["days_supply"], errors="coerce")
    end = _dates(rows["end_date"])
    stop = end.where(end.notna(), (start + pd.to_timedelta(supply - 1, unit="D")).where(supply > 0))
    # A quantity or strength of 0 is how many ETLs (Synthea's among them) write "not recorded": read as
    # unknown, never as a dose of 0 mg/day that would pass every dose limit.
    quantity = pd.to_numeric(rows["quantity"], errors="coerce")
    quantity = quantity.where(quantity > 0)
    strength = pd.to_numeric(rows["amount_value"], errors="coerce").where(
        pd.to_numeric(rows["amount_unit_concept_id"], errors="coerce") == MG)
    strength = strength.where(strength > 0)
    total_mg = quantity * strength
    biologic = (drug_class == "biologic").to_numpy()
    dose = np.where(biologic, total_mg, (total_mg / supply).where(supply > 0))
    return pd.DataFrame({"person_id": _ids(rows["person_id"]), "drug": rows["drug"].astype(str),
                         "drug_class": drug_class, "start_date": start, "stop_date": stop.astype("datetime64[s]"),
                         "dose": pd.array(np.round(pd.to_numeric(pd.Series(dose), errors="coerce"), 3),
                                          dtype="Float64"),
                         "dose_unit": np.where(biologic, "mg", "mg/day")})


def _cohort(persons: pd.DataFrame, lab_months: float | None, index: str | None = None,
            index_months: int | None = None) -> pd.DataFrame:
    """The SLE cohort with each person's baseline and the look-backs read for it (no lab limit: NULL).

    With ``index``, the look-backs run from the earliest index date instead: the first SLE diagnosis,
    or ``index_months`` before baseline when that is later.
    """
    sle = persons[(persons["sle_diagnoses"] > 0) & persons["baseline"].notna()]
    base = _dates(sle["baseline"]).reset_index(drop=True)
    earliest = base
    if index is not None:
        earliest = _dates(sle["first_sle"]).reset_index(drop=True).fillna(base)
        if index_months is not None:
            earliest = np.maximum(earliest, months_before(base, index_months))
    lab_since = months_before(earliest, lab_months).dt.date if lab_months is not None else [None] * len(base)
    return pd.DataFrame({"person_id": pd.to_numeric(sle["person_id"]).astype("int64").to_numpy(),
                         "baseline": base.dt.date,
                         "lab_since": lab_since,
                         "drug_since": months_before(earliest, 12 * DRUG_YEARS).dt.date})


def read_omop(source: str | Path, baseline: str = "last_visit", before: str | None = None,
              concepts: str | Path | None = None, cdm_schema: str | None = None, vocab_schema: str | None = None,
              lab_months: float | None = LAB_MONTHS, index: str | None = None,
              index_months: int | None = None) -> Extract:
    """Build the screening extract from an OMOP CDM: a folder, a ``.duckdb`` file or a database URL.

    ``baseline`` is a date (``"2024-06-15"``) or ``"last_visit"``: each person's
    last visit on or before ``before`` (default today). ``cdm_schema`` and
    ``vocab_schema`` name the database schemas (the URL may also carry them as
    ``?cdm_schema=cdm&vocab_schema=vocab``). Labs and weight are read from the
    ``lab_months`` months before baseline (None: all of them), each with its date, so that a
    protocol's recency limit (``within_months``, ``weight_months``) can be applied to it.

    ``index`` (``"visits"`` or ``"monthly"``) adds a visits table, for
    :class:`~screening.engine.over_time.EligibilityOverTime`: each ``visit_occurrence`` of a person in the SLE
    cohort (or a monthly grid back from the baseline), from the first SLE diagnosis (or ``index_months``
    before baseline) to the baseline, with labs, weight, serology, conditions and the cohort entry read as
    of that date, as the patients row is read as of the baseline.
    """
    source = str(source)
    check_index(f"omop:{source}", index)
    fixed = None if baseline == "last_visit" else baseline
    if fixed is not None:
        try:
            date.fromisoformat(fixed)
        except ValueError:
            raise ExtractError(f"omop:{source}", "baseline", "a date YYYY-MM-DD or 'last_visit'",
                               hint=f"Got {baseline!r}.") from None
    try:
        cutoff = date.fromisoformat(before).isoformat() if before else date.today().isoformat()
    except ValueError:
        raise ExtractError(f"omop:{source}", "before", "a date YYYY-MM-DD", hint=f"Got {before!r}.") from None
    sets = load_concepts(concepts)
    cdm = connect(source, cdm_schema, vocab_schema)
    shown, codes = f"omop:{cdm.source}", None
    try:
        if "person" not in cdm.found:
            where = getattr(cdm, "schema_hint", "")
            raise ExtractError(f"{cdm.source}/person", None, f"the OMOP table person{where}" + (
                "" if where else " (.csv or .parquet, any letter case)"))
        empty = checks.drop_empty_vocabulary(cdm, q.Catalog(cdm.found, cdm.schemas, cdm.names))
        cat = q.Catalog(cdm.found, cdm.schemas, cdm.names)
        cdm.load(q.ITEMS, _items(sets))
        cdm.create(q.ROOTS)
        cdm.execute(q.roots_insert(cat))
        cdm.create(q.CODESETS)
        cdm.execute(q.codesets_insert(cat, checks.descendant_edges(cdm, empty)))
        persons = cdm.fetch(q.persons_query(cat, fixed, cutoff))
        if not (pd.to_numeric(persons["sle_diagnoses"]).fillna(0) > 0).any():
            codes = cdm.fetch(q.codeset_size("sle")).iloc[0, 0]
        cdm.load(q.COHORT, _cohort(persons, lab_months, index, index_months))
        visit_days = q.visit_dates_query(cat) if index == "visits" else None
        visit_days = cdm.fetch(visit_days) if visit_days is not None else None
        periods = q.periods_query(cat) if index is not None else None
        periods = cdm.fetch(periods) if periods is not None else None
        events = q.events_query(cat)
        conditions = cdm.fetch(events) if events is not None else None
        measurements = q.measurements_query(cat)
        measurements = cdm.fetch(measurements) if measurements is not None else None
        drugs = q.drugs_query(cat)
        drugs = cdm.fetch(drugs) if drugs is not None else None
    except (duckdb.Error, sa.exc.SQLAlchemyError) as exc:  # a value a typed query cannot read: one line, no traceback
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ExtractError(shown, None, "CDM tables whose values their columns' types can hold",
                           hint=f"The database said: {reason}") from None
    finally:
        cdm.close()
    if conditions is None or not len(conditions):
        conditions = pd.DataFrame({"person_id": pd.Series(dtype=str), "set": pd.Series(dtype=str),
                                   "date": pd.Series(dtype="datetime64[s]")})
    else:
        conditions = pd.DataFrame({"person_id": _ids(conditions["person_id"]), "set": conditions["set_name"],
                                   "date": _dates(conditions["date"])})
    people = _persons(persons)
    base = _dates(persons["baseline"])
    visits = pd.DataFrame({"person_id": people["person_id"], "date": base}).dropna()
    if visit_days is not None and len(visit_days):  # the cohort's own visits, on or before its baselines
        visits = pd.concat([visits, pd.DataFrame({"person_id": _ids(visit_days["person_id"]),
                                                  "date": _dates(visit_days["date"])})], ignore_index=True)
    model = EventModel(
        persons=people, conditions=conditions, measurements=_measurements(measurements, sets),
        drugs=_drugs(drugs, sets), visits=visits,
        source=shown, content_hash="", entry=_entry(persons, people["person_id"], cdm.found))
    if index is not None:
        model.index_from = pd.Series(_dates(persons["first_sle"]).to_numpy(), index=people["person_id"].to_numpy())
        if periods is not None:
            model.periods = pd.DataFrame({"person_id": _ids(periods["person_id"]), "start": _dates(periods["start"]),
                                          "end": _dates(periods["end"])})
    model.notes.update(checks.missing_table_notes(shown, cdm.found))
    if codes is not None:
        model.notes.update(checks.empty_cohort_notes(shown, len(persons), int(codes), sets))
    # the first diagnosis day only sets where index dates start: the same CDM hashes alike with or without it
    model.content_hash = _content_hash([persons.drop(columns="first_sle", errors="ignore"), conditions,
                                        measurements, drugs] + ([] if index is None else [visit_days, periods]))
    extract = build_extract(model, baseline, before, index=index, lab_months=lab_months, index_months=index_months)
    extract.labs_read_months = lab_months
    return extract


def _entry(persons: pd.DataFrame, ids: pd.Series, found: dict) -> pd.DataFrame:
    """Cohort-entry columns: SLE diagnosis days, death date, and the observation period around baseline."""
    entry = pd.DataFrame({"sle_diagnoses": pd.array(pd.to_numeric(persons["sle_diagnoses"]).fillna(0), dtype="Int32")},
                         index=ids.to_numpy())
    if "death" in found:
        entry["death_date"] = _dates(persons["death_date"]).to_numpy()
    if "observation_period" in found:
        start = _dates(persons["observation_start"]).to_numpy()
        entry["observation_start"] = start
        inside = pd.array(~pd.isna(start), dtype="boolean")
        inside[_dates(persons["baseline"]).isna().to_numpy()] = pd.NA
        entry["in_observation"] = inside
    return entry


def _content_hash(frames) -> str:
    """SHA-256 of the rows screening read: the same CDM gives the same hash from any source.

    Each value is hashed as what it is, whatever type the database handed it over in (a number as a
    float, a date as its day, text as text; a column with no value at all as missing), and each
    table's row hashes are summed, so neither the row order a database chose nor its types change
    the hash. Vectorised: a million persons' rows in a fraction of a second.
    """
    digest = hashlib.sha256()
    for frame in frames:
        if frame is not None and len(frame):
            canonical = pd.DataFrame({str(k): _canonical(frame.iloc[:, k]) for k in range(frame.shape[1])})
            rows = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
            digest.update(np.array([len(rows), rows.sum(dtype=np.uint64)], dtype=np.uint64).tobytes())
    return digest.hexdigest()


def _canonical(column: pd.Series) -> pd.Series:
    """A column as what its values mean: float numbers, datetime64[s] days, or text."""
    if column.isna().all():
        return pd.Series(np.nan, index=column.index)
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.astype("datetime64[s]")
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind in ("date", "datetime", "datetime64"):
        return _dates(column)
    if kind in ("integer", "floating", "decimal", "mixed-integer-float", "boolean"):
        return pd.to_numeric(column).astype("float64")
    return column.astype(str).where(column.notna())
