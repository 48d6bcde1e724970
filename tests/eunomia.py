"""Eunomia's Synthea27Nj CDM as shipped, with SLE persons added and their outcomes worked out by hand.

The 28 Synthea persons have no SLE record (one Synthea module codes "Lupus
erythematosus", 255891, the parent of SLE, which the `sle` set does not hold),
so every one of them leaves the funnel at `sle_diagnosis`. The persons added
here (ids 1001-1016) are women born 1985-03-01 with an SLE diagnosis (257628) in
2018, observed 2015-2022, with normal labs on 2022-06-01 (weight 60 kg,
haemoglobin 12.5 g/dL, white cells 5.5, platelets 250, AST 25 ≤ 4 × 40,
ALT 25 ≤ 4 × 45, eGFR 95) and an ANA of 1:160 on 2022-05-01, screened at baseline
2022-06-15 under `misle-phase2-ehr`; each differs in the one way its comment says.

Drugs are recorded as clinical products, as Synthea writes them. Eunomia ships
`CONCEPT_ANCESTOR` and `DRUG_STRENGTH` with a header and no rows; the script adds
`DRUG_STRENGTH` rows for the products it uses (a site's vocabulary holds them),
and leaves `CONCEPT_ANCESTOR` empty unless asked (``ancestors=True``).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd

ARCHIVE = Path(__file__).parent / "fixtures" / "eunomia" / "Synthea27Nj_5.4-screening-tables.tar.xz"
BASELINE = "2022-06-15"
SHIPPED_PERSONS = range(1, 29)
ADDED = range(1001, 1017)
MG = 8576
# Clinical drugs: two in Eunomia's own CONCEPT table, one added (no rituximab product ships).
PRED_20, PRED_5, RITUXIMAB_500 = 1551170, 1551192, 2000001002
STRENGTH = [(PRED_20, 1551099, 20.0), (PRED_5, 1551099, 5.0), (RITUXIMAB_500, 1314273, 500.0)]
# The autoantibody tests have no listed OMOP id (concepts.yaml matches them by LOINC code); Eunomia's
# CONCEPT has neither, so local ids carry the codes, as a site's vocabulary would.
ANA, DSDNA = 2000001010, 2000001011
ADDED_CONCEPTS = [(ANA, "Nuclear Ab [Titer] in Serum", "Measurement", "LOINC", "Lab Test", "S", "5048-4"),
                  (DSDNA, "DNA double strand Ab", "Measurement", "LOINC", "Lab Test", "S", "5130-0"),
                  (RITUXIMAB_500, "rituximab 500 MG Injection", "Drug", "RxNorm", "Clinical Drug", "S", "1657064")]

# person -> (status, criterion) under misle-phase2-ehr, worked out by hand from the comments below.
EXPECTED = {p: ("excluded", "sle_diagnosis") for p in SHIPPED_PERSONS} | {
    1001: ("eligible", ""),                               # nothing against her
    1002: ("excluded", "other_biologic"),                 # rituximab 500 mg infusion on 2022-03-01 (< 6 months)
    1003: ("excluded", "glucocorticoid"),                 # 20 mg x 60 / 30 days = 40 mg/day > 0.5 x 60 kg
    1004: ("not_assessable", "glucocorticoid"),           # prednisone 5 mg, quantity 0 (Synthea style): dose unknown
    1005: ("excluded", "autoantibody"),                   # ANA 1:40 and anti-dsDNA recorded as 9189 Negative
    1006: ("eligible", ""),                               # no ANA; anti-dsDNA recorded as 9191 Positive
    1007: ("eligible", ""),                               # ANA 1:40; anti-dsDNA recorded as 4328749 High
    1008: ("excluded", "chronic_infection"),              # HIV infection (439727) on 2021-12-01
    1009: ("excluded", "age"),                            # born 2005-01-01: 17 at baseline
    1010: ("excluded", "sle_diagnosis"),                  # no SLE record
    1011: ("excluded", "alive"),                          # died 2022-03-01
    1012: ("excluded", "observed"),                       # observed only since 2022-01-01
    1013: ("excluded", "platelets"),                      # platelets 25 x10^3/uL
    1014: ("excluded", "malignancy"),                     # malignant neoplastic disease (443392) in 2020
    1015: ("not_assessable", "glucocorticoid"),           # 20 mg/day prednisone, no weight: 0.06-1 mg/kg/day
    1016: ("eligible", ""),                               # prednisone 5 mg x 30 / 30 days = 5 mg/day, well under
}

# Two earlier visits of every added person (visit_occurrence rows), screened as index dates with
# `--index visits`. Before them: a normal lab panel on 2021-09-01 (as the 2022-06-01 one; no weight for
# 1015, no platelets for 1013) and an ANA on 2021-08-01 (1:40 for 1005 and 1007, none for 1006,
# else 1:160). At both visits the panel is within 12 months and the ANA within 6 (2021-07-15 for V2),
# and nothing of 2022 has happened yet. 1016 also has a visit on 2020-06-15, with an ANA of 1:160 on
# 2020-06-01 and only an older panel (2019-01-01): more than 12 months before, so her eGFR is unknown.
V1, V2, V0 = "2021-09-15", "2022-01-15", "2020-06-15"
EXPECTED_VISITS = {(p, day): ("eligible", "") for p in ADDED if p != 1010 for day in (V1, V2)} | {
    (1005, V1): ("not_assessable", "autoantibody"),       # ANA 1:40 and no anti-dsDNA yet (2022-05-01)
    (1005, V2): ("not_assessable", "autoantibody"),
    (1006, V1): ("not_assessable", "autoantibody"),       # no ANA ever, anti-dsDNA not yet
    (1006, V2): ("not_assessable", "autoantibody"),
    (1007, V1): ("not_assessable", "autoantibody"),       # ANA 1:40, anti-dsDNA High not yet
    (1007, V2): ("not_assessable", "autoantibody"),
    (1008, V2): ("excluded", "chronic_infection"),        # HIV on 2021-12-01: after V1, before V2
    (1009, V1): ("excluded", "age"),                      # 16
    (1009, V2): ("excluded", "age"),                      # 17 (18 on 2023-01-01)
    (1012, V1): ("excluded", "observed"),                 # outside her observation period (from 2022-01-01)
    (1012, V2): ("excluded", "observed"),                 # observed 14 days, not 12 months
    (1013, V1): ("not_assessable", "platelets"),          # no platelet count before 2022-06-01
    (1013, V2): ("not_assessable", "platelets"),
    (1014, V1): ("excluded", "malignancy"),               # 2020-02-01, before both
    (1014, V2): ("excluded", "malignancy"),
    (1016, V0): ("not_assessable", "egfr"),               # the latest eGFR (2019-01-01) is over 12 months old
}
# No visit of a person outside the SLE cohort is an index date: 1010 (no SLE record) and the 28 shipped
# Synthea persons have only their baseline.

# `--index monthly` for 1001: the 15th of each month back from baseline to her diagnosis (2018-05-01),
# 49 dates. A sample worked out by hand: before 2021-08-01 there is no ANA and no lab panel; from
# 2022-02-15 the 2021-08-01 ANA is over 6 months old until the 2022-05-01 one.
EXPECTED_MONTHLY_1001 = {"2021-07-15": ("not_assessable", "autoantibody"),
                         "2021-08-15": ("not_assessable", "egfr"),    # the ANA is there, no lab panel yet
                         "2021-10-15": ("eligible", ""),
                         "2022-02-15": ("not_assessable", "autoantibody"),
                         "2022-05-15": ("eligible", "")}
MONTHLY_1001 = 49


def unpack(folder: Path) -> Path:
    """The shipped tables, as they are in the archive."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _append(folder: Path, name: str, rows: list[dict]) -> None:
    path = folder / f"{name}.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    added = pd.DataFrame(rows, columns=table.columns).astype(object).where(lambda f: f.notna(), "")
    pd.concat([table, added.astype(str)], ignore_index=True).to_csv(path, index=False)


def write(folder: Path, ancestors: bool = False) -> Path:
    """Eunomia with the SLE persons of ``EXPECTED`` added (``ancestors``: fill CONCEPT_ANCESTOR for the drugs)."""
    unpack(folder)
    people, periods, visits, conditions, meas, drugs, deaths = [], [], [], [], [], [], []
    mid = iter(range(900_000, 1_000_000))
    for pid in ADDED:
        born = (2005, 1, 1) if pid == 1009 else (1985, 3, 1)
        people.append({"person_id": pid, "gender_concept_id": 8532, "year_of_birth": born[0],
                       "month_of_birth": born[1], "day_of_birth": born[2], "race_concept_id": 8527,
                       "ethnicity_concept_id": 38003564, "gender_source_value": "F"})
        periods.append({"observation_period_id": pid, "person_id": pid, "period_type_concept_id": 44814724,
                        "observation_period_start_date": "2022-01-01" if pid == 1012 else "2015-01-01",
                        "observation_period_end_date": "2022-12-31"})
        visits.append({"visit_occurrence_id": 900_000 + pid, "person_id": pid, "visit_concept_id": 9202,
                       "visit_start_date": BASELINE, "visit_end_date": BASELINE, "visit_type_concept_id": 32827})
        if pid != 1010:
            conditions.append((pid, 257628, "2018-05-01"))
        labs = [(3000963, 12.5, 8713, None), (3000905, 5.5, 8848, None), (3013721, 25, 8645, 40),
                (3006923, 25, 8645, 45), (40764999, 95, 0, None), (3024929, 25 if pid == 1013 else 250, 8848, None)]
        if pid != 1015:
            labs.append((3025315, 60, 9529, None))
        for concept, value, unit, high in labs:
            meas.append({"measurement_id": next(mid), "person_id": pid, "measurement_concept_id": concept,
                         "measurement_date": "2022-06-01", "measurement_type_concept_id": 32817,
                         "value_as_number": value, "value_as_concept_id": 0, "unit_concept_id": unit,
                         "range_high": high})
        if pid != 1006:
            meas.append({"measurement_id": next(mid), "person_id": pid, "measurement_concept_id": ANA,
                         "measurement_date": "2022-05-01", "measurement_type_concept_id": 32817,
                         "value_as_number": 40 if pid in (1005, 1007) else 160, "value_as_concept_id": 0})
        result = {1005: 9189, 1006: 9191, 1007: 4328749}.get(pid)
        if result:
            meas.append({"measurement_id": next(mid), "person_id": pid, "measurement_concept_id": DSDNA,
                         "measurement_date": "2022-05-01", "measurement_type_concept_id": 32817,
                         "value_as_concept_id": result})
    for pid in ADDED:  # the earlier visits and what was measured before them (EXPECTED_VISITS)
        days = (V0, V1, V2) if pid == 1016 else (V1, V2)
        visits += [{"visit_occurrence_id": 910_000 + 10 * pid + i, "person_id": pid, "visit_concept_id": 9202,
                    "visit_start_date": day, "visit_end_date": day, "visit_type_concept_id": 32827}
                   for i, day in enumerate(days)]
        panel = [(3000963, 12.5, 8713, None), (3000905, 5.5, 8848, None), (3013721, 25, 8645, 40),
                 (3006923, 25, 8645, 45), (40764999, 95, 0, None)]
        panel += [] if pid == 1013 else [(3024929, 250, 8848, None)]
        panel += [] if pid == 1015 else [(3025315, 60, 9529, None)]
        taken = [("2021-09-01", panel)] + ([("2019-01-01", panel)] if pid == 1016 else [])
        for day, labs in taken:
            meas += [{"measurement_id": next(mid), "person_id": pid, "measurement_concept_id": concept,
                      "measurement_date": day, "measurement_type_concept_id": 32817, "value_as_number": value,
                      "value_as_concept_id": 0, "unit_concept_id": unit, "range_high": high}
                     for concept, value, unit, high in labs]
        titres = ([] if pid == 1006 else [("2021-08-01", 40 if pid in (1005, 1007) else 160)]) + \
            ([("2020-06-01", 160)] if pid == 1016 else [])
        meas += [{"measurement_id": next(mid), "person_id": pid, "measurement_concept_id": ANA,
                  "measurement_date": day, "measurement_type_concept_id": 32817, "value_as_number": titre,
                  "value_as_concept_id": 0} for day, titre in titres]
    conditions += [(1008, 439727, "2021-12-01"), (1014, 443392, "2020-02-01")]
    deaths.append({"person_id": 1011, "death_date": "2022-03-01", "death_type_concept_id": 32817})
    for pid, concept, start, end, quantity, supply in (
            (1002, RITUXIMAB_500, "2022-03-01", "2022-03-01", 1, 1),
            (1003, PRED_20, "2022-06-01", "2022-06-30", 60, 30),
            (1004, PRED_5, "2022-06-01", "2022-06-30", 0, 30),
            (1015, PRED_20, "2022-06-01", "2022-06-30", 30, 30),
            (1016, PRED_5, "2022-06-01", "2022-06-30", 30, 30)):
        drugs.append({"drug_exposure_id": 900_000 + pid, "person_id": pid, "drug_concept_id": concept,
                      "drug_exposure_start_date": start, "drug_exposure_end_date": end,
                      "drug_type_concept_id": 32869, "quantity": quantity, "days_supply": supply})
    _append(folder, "PERSON", people)
    _append(folder, "OBSERVATION_PERIOD", periods)
    _append(folder, "VISIT_OCCURRENCE", visits)
    _append(folder, "CONDITION_OCCURRENCE", [
        {"condition_occurrence_id": 900_000 + i, "person_id": p, "condition_concept_id": c,
         "condition_start_date": d, "condition_type_concept_id": 32020} for i, (p, c, d) in enumerate(conditions)])
    _append(folder, "MEASUREMENT", meas)
    _append(folder, "DRUG_EXPOSURE", drugs)
    _append(folder, "DEATH", deaths)
    _append(folder, "CONCEPT", [dict(zip(("concept_id", "concept_name", "domain_id", "vocabulary_id",
                                          "concept_class_id", "standard_concept", "concept_code"), c, strict=True))
                                for c in ADDED_CONCEPTS])
    _append(folder, "DRUG_STRENGTH", [{"drug_concept_id": d, "ingredient_concept_id": i, "amount_value": a,
                                       "amount_unit_concept_id": MG} for d, i, a in STRENGTH])
    if ancestors:
        _append(folder, "CONCEPT_ANCESTOR", [{"ancestor_concept_id": i, "descendant_concept_id": d,
                                              "min_levels_of_separation": 1, "max_levels_of_separation": 1}
                                             for d, i, _ in STRENGTH])
    return folder


def to_parquet(folder: Path, out: Path) -> Path:
    """The same tables as Parquet files (typed by DuckDB's reading of each CSV, as a site's export would be)."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for csv in sorted(folder.glob("*.csv")):
        con.execute(f"COPY (SELECT * FROM read_csv('{csv}', header=true)) TO '{out / (csv.stem.lower() + '.parquet')}'"
                    " (FORMAT parquet)")
    con.close()
    return out
