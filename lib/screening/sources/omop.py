"""Read an OMOP CDM v5.4 extract and build the screening extract from it.

The CDM can be a folder of tables (``person.csv`` or ``person.parquet``, ...),
a DuckDB database file, or any database SQLAlchemy reaches. Each criterion's
concepts come from the concept-set file (``concepts.yaml`` beside this module):
a record matches a set through a listed concept id, the id the CDM's ``concept``
table gives for a listed code, or (where present) ``concept_ancestor``
descendants of those. Doses per day come from ``quantity``, ``days_supply`` and
``drug_strength``; what cannot be derived stays missing.

Example
-------
>>> from screening.sources.omop import read_omop, OMOP_TABLES
>>> OMOP_TABLES[:3]
('person', 'observation_period', 'visit_occurrence')
>>> ex = read_omop("path/to/omop", baseline="last_visit", before="2024-06-30")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ExtractError
from ..extract import Extract, extract_hash
from .common import EventModel, build_extract, load_concepts

__all__ = ["read_omop", "OMOP_TABLES"]

OMOP_TABLES = ("person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
               "measurement", "observation", "procedure_occurrence", "concept", "concept_ancestor", "drug_strength")
_REQUIRED = ("person",)
FEMALE, MALE = 8532, 8507
RACE = {8527: "White", 8516: "Black", 8515: "Asian"}
HISPANIC = 38003563
MG = 8576  # UCUM milligram, the amount unit drug_strength uses for mg


class _Cdm:
    """Table access for a folder, a DuckDB file or a SQLAlchemy URL; missing optional tables are empty."""

    def __init__(self, source: str | Path) -> None:
        self.source = str(source)
        text = self.source
        self.files: list[Path] = []
        if "://" in text:
            try:
                import sqlalchemy
            except ImportError:
                raise ExtractError(text, None, "SQLAlchemy installed to read a database URL",
                                   hint="pip install sqlalchemy and the database driver, or export the tables.") \
                    from None
            self._engine = sqlalchemy.create_engine(text)
            self._kind = "sql"
        elif text.endswith((".duckdb", ".db")) and Path(text).is_file():
            import duckdb

            self._con = duckdb.connect(text, read_only=True)
            self._kind = "duckdb"
        elif Path(text).is_dir():
            self._kind = "folder"
        else:
            raise ExtractError(text, None, "an OMOP CDM folder of tables, a .duckdb file or a database URL")
        self._cache: dict[str, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame:
        if name in self._cache:
            return self._cache[name]
        frame = self._read(name)
        if frame is None:
            if name in _REQUIRED:
                raise ExtractError(f"{self.source}/{name}", None, f"the OMOP table {name} (.csv or .parquet)")
            frame = pd.DataFrame()
        frame.columns = [str(c).lower() for c in frame.columns]
        self._cache[name] = frame
        return frame

    def _read(self, name: str) -> pd.DataFrame | None:
        if self._kind == "folder":
            for ext in (".parquet", ".csv"):
                path = Path(self.source) / f"{name}{ext}"
                if path.is_file():
                    self.files.append(path)
                    try:
                        return pd.read_parquet(path) if ext == ".parquet" else pd.read_csv(path, low_memory=False)
                    except Exception as exc:  # a damaged file: say which
                        raise ExtractError(str(path), None, "a readable OMOP table", hint=str(exc)) from None
            return None
        if self._kind == "duckdb":
            listed = self._con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            names = {r[0].lower() for r in listed}
            return self._con.execute(f"SELECT * FROM {name}").df() if name in names else None
        import sqlalchemy

        if not sqlalchemy.inspect(self._engine).has_table(name):
            return None
        return pd.read_sql_table(name, self._engine)

    def content_hash(self) -> str:
        if self._kind == "folder":
            return extract_hash(self.files)
        digest = hashlib.sha256()
        for name in sorted(self._cache):
            digest.update(name.encode())
            if len(self._cache[name]):
                digest.update(pd.util.hash_pandas_object(self._cache[name], index=False).to_numpy().tobytes())
        return digest.hexdigest()


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce").astype("datetime64[s]")


class _Resolver:
    """Concept ids of a concept set: listed ids, codes looked up in ``concept``, and their descendants."""

    def __init__(self, cdm: _Cdm) -> None:
        concept = cdm.table("concept")
        self._by_code = {}
        if len(concept):
            c = concept[["concept_id", "vocabulary_id", "concept_code"]].dropna()
            self._by_code = {(str(v).lower(), str(k)): int(i) for i, v, k in c.itertuples(index=False)}
        anc = cdm.table("concept_ancestor")
        self._ancestor = anc[["ancestor_concept_id", "descendant_concept_id"]].astype("int64") if len(anc) else None

    def ids(self, items: list[dict], descendants: bool = True) -> set[int]:
        roots = set()
        for item in items:
            if item.get("concept_id") is not None:
                roots.add(int(item["concept_id"]))
            found = self._by_code.get((str(item.get("vocabulary", "")).lower(), str(item.get("code", ""))))
            if found is not None:
                roots.add(found)
        if descendants and self._ancestor is not None and roots:
            a = self._ancestor
            roots |= set(a.loc[a["ancestor_concept_id"].isin(roots), "descendant_concept_id"].tolist())
        return roots


def _persons(cdm: _Cdm) -> pd.DataFrame:
    person = cdm.table("person")
    year = pd.to_numeric(person.get("year_of_birth"), errors="coerce")
    month = pd.to_numeric(person.get("month_of_birth", pd.Series(np.nan, index=person.index)), errors="coerce")
    day = pd.to_numeric(person.get("day_of_birth", pd.Series(np.nan, index=person.index)), errors="coerce")
    # Where month or day is missing, the middle of the year (1 July) or month (15th) is used.
    birth = pd.to_datetime(pd.DataFrame({"year": year, "month": month.fillna(7),
                                         "day": day.fillna(pd.Series(np.where(month.isna(), 1, 15),
                                                                     index=person.index))}), errors="coerce")
    if "birth_datetime" in person:
        exact = _dates(person["birth_datetime"])
        birth = exact.where(exact.notna(), birth)
    gender = pd.to_numeric(person.get("gender_concept_id"), errors="coerce")
    race = pd.to_numeric(person.get("race_concept_id"), errors="coerce").map(RACE)
    race_known = pd.to_numeric(person.get("race_concept_id"), errors="coerce").fillna(0) > 0
    race = race.where(race.notna() | ~race_known, "Other")
    hispanic = pd.to_numeric(person.get("ethnicity_concept_id"), errors="coerce") == HISPANIC
    site = person["care_site_id"] if "care_site_id" in person else pd.Series(pd.NA, index=person.index)
    return pd.DataFrame({
        "person_id": person["person_id"].astype("int64").astype(str),
        "site": site.astype("string").fillna("OMOP").str.removesuffix(".0"),
        "sex": np.where(gender == FEMALE, "F", np.where(gender == MALE, "M", None)),
        "race_ethnicity": np.where(hispanic, "Hispanic", race.astype(object)),
        "birth_date": birth.astype("datetime64[s]"),
    })


def _records(frame: pd.DataFrame, concept_col: str, date_col: str, sets: dict[str, set[int]]) -> pd.DataFrame:
    """Records whose concept falls in a named set: person_id, set, date (one row per match)."""
    if not len(frame):
        return pd.DataFrame({"person_id": pd.Series(dtype=str), "set": pd.Series(dtype=str),
                             "date": pd.Series(dtype="datetime64[s]")})
    lookup = pd.DataFrame([(cid, name) for name, ids in sets.items() for cid in ids], columns=["cid", "set"])
    codes = pd.to_numeric(frame[concept_col], errors="coerce")
    joined = pd.DataFrame({"person_id": frame["person_id"].astype("int64").astype(str), "cid": codes,
                           "date": _dates(frame[date_col])}).merge(lookup, on="cid")
    return joined[["person_id", "set", "date"]]


def _measurements(cdm: _Cdm, resolver: _Resolver, concepts: dict) -> pd.DataFrame:
    m = cdm.table("measurement")
    cols = ["person_id", "field", "date", "value", "range_high", "positive"]
    if not len(m):
        return pd.DataFrame(columns=cols)
    positive_ids = set(concepts.get("positive_values", []))
    words = {w.lower() for w in concepts.get("positive_words", [])}
    parts = []
    for name, spec in concepts["measurements"].items():
        ids = resolver.ids(spec["items"], descendants=False)
        rows = m[pd.to_numeric(m["measurement_concept_id"], errors="coerce").isin(ids)]
        if not len(rows):
            continue
        value = pd.to_numeric(rows.get("value_as_number"), errors="coerce")
        units = {str(k): float(v) for k, v in spec.get("units", {}).items()}
        if "any" not in units:
            unit_id = rows.get("unit_concept_id", pd.Series(index=rows.index, dtype=object))
            unit_text = rows.get("unit_source_value", pd.Series(index=rows.index, dtype=object))
            factor = unit_id.map(lambda u: units.get(str(int(u))) if pd.notna(u) else None)
            factor = factor.where(factor.notna(), unit_text.map(lambda u: units.get(str(u)) if pd.notna(u) else None))
            value = value * pd.to_numeric(factor, errors="coerce")  # unknown unit: value unknown
        high = pd.to_numeric(rows.get("range_high"), errors="coerce")
        by_concept = pd.to_numeric(rows.get("value_as_concept_id"), errors="coerce").isin(positive_ids)
        by_text = rows.get("value_source_value", pd.Series("", index=rows.index)).astype(str).str.strip().str.lower() \
            .isin(words)
        by_number = (value > high).where(value.notna() & high.notna())
        positive = pd.Series(np.where(by_concept | by_text, True, by_number), index=rows.index).astype("boolean")
        parts.append(pd.DataFrame({"person_id": rows["person_id"].astype("int64").astype(str), "field": name,
                                   "date": _dates(rows["measurement_date"]), "value": value.astype("Float64"),
                                   "range_high": high, "positive": positive}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def _drugs(cdm: _Cdm, resolver: _Resolver, concepts: dict) -> pd.DataFrame:
    d = cdm.table("drug_exposure")
    cols = ["person_id", "drug", "drug_class", "start_date", "stop_date", "dose", "dose_unit"]
    if not len(d):
        return pd.DataFrame(columns=cols)
    rows = []
    for drug, spec in concepts["drugs"].items():
        ingredient = resolver.ids([spec], descendants=False)
        for cid in resolver.ids([spec], descendants=True):
            rows.append((cid, drug, spec["class"], min(ingredient) if ingredient else None))
    lookup = pd.DataFrame(rows, columns=["drug_concept_id", "drug", "drug_class", "ingredient_id"]).drop_duplicates(
        "drug_concept_id")
    d = d.assign(drug_concept_id=pd.to_numeric(d["drug_concept_id"], errors="coerce")).merge(lookup,
                                                                                            on="drug_concept_id")
    start = _dates(d["drug_exposure_start_date"])
    supply = pd.to_numeric(d.get("days_supply"), errors="coerce")
    end = _dates(d["drug_exposure_end_date"]) if "drug_exposure_end_date" in d else pd.Series(pd.NaT, index=d.index)
    derived_end = start + pd.to_timedelta(supply - 1, unit="D")
    stop = end.where(end.notna(), derived_end.where(supply > 0)).astype("datetime64[s]")
    quantity = pd.to_numeric(d.get("quantity"), errors="coerce")
    strength = pd.Series(np.nan, index=d.index)
    ds = cdm.table("drug_strength")
    if len(ds):
        s = ds[pd.to_numeric(ds.get("amount_unit_concept_id"), errors="coerce") == MG][
            ["drug_concept_id", "ingredient_concept_id", "amount_value"]]
        merged = d[["drug_concept_id", "ingredient_id"]].reset_index().merge(
            s, left_on=["drug_concept_id", "ingredient_id"], right_on=["drug_concept_id", "ingredient_concept_id"],
            how="left").set_index("index")
        strength = pd.to_numeric(merged["amount_value"], errors="coerce").reindex(d.index)
    total_mg = quantity * strength
    biologic = d["drug_class"] == "biologic"
    per_day = (total_mg / supply).where(supply > 0)
    dose = np.where(biologic, total_mg, per_day)
    return pd.DataFrame({"person_id": d["person_id"].astype("int64").astype(str), "drug": d["drug"],
                         "drug_class": d["drug_class"], "start_date": start, "stop_date": stop,
                         "dose": pd.array(np.round(pd.to_numeric(pd.Series(dose), errors="coerce"), 3),
                                          dtype="Float64"),
                         "dose_unit": np.where(biologic, "mg", "mg/day")})


def read_omop(source: str | Path, baseline: str = "last_visit", before: str | None = None,
              concepts: str | Path | None = None) -> Extract:
    """Build the screening extract from an OMOP CDM v5.4 source.

    ``baseline`` is a date (``"2024-06-15"``) or ``"last_visit"``: each person's
    last visit on or before ``before`` (default today).
    """
    cdm = _Cdm(source)
    sets = load_concepts(concepts)
    resolver = _Resolver(cdm)
    condition_sets = {name: resolver.ids(spec["items"], spec.get("descendants", True))
                      for name, spec in sets["conditions"].items()}
    procedure_sets = {name: resolver.ids(spec["items"], spec.get("descendants", True))
                      for name, spec in sets["procedures"].items()}
    all_sets = {**condition_sets, **procedure_sets}
    records = [
        _records(cdm.table("condition_occurrence"), "condition_concept_id", "condition_start_date", all_sets),
        _records(cdm.table("procedure_occurrence"), "procedure_concept_id", "procedure_date", all_sets),
        _records(cdm.table("observation"), "observation_concept_id", "observation_date", all_sets),
    ]
    visits = cdm.table("visit_occurrence")
    visit_events = pd.DataFrame({"person_id": visits["person_id"].astype("int64").astype(str),
                                 "date": _dates(visits["visit_start_date"])}) if len(visits) else \
        pd.DataFrame({"person_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[s]")})
    model = EventModel(
        persons=_persons(cdm),
        conditions=pd.concat([r for r in records if len(r)], ignore_index=True) if any(len(r) for r in records)
        else records[0],
        measurements=_measurements(cdm, resolver, sets),
        drugs=_drugs(cdm, resolver, sets),
        visits=visit_events,
        source=f"omop:{source}",
        content_hash="",
    )
    model.content_hash = cdm.content_hash()
    return build_extract(model, baseline, before)
