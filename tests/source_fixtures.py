"""Hand-made OMOP CDM and Synthea exports, a dozen patients each, with the outcomes worked out by hand.

Baseline is 2024-06-15 for everyone. The OMOP fixture holds its own small
``concept``, ``concept_ancestor`` and ``drug_strength`` tables; patient 4's lupus
nephritis is coded with a local concept (2000000001) that matches only through
``concept_ancestor`` (it descends from the concept found by SNOMED code 68815009).

Cohort entry: persons 1-12 and 14-15 have SLE (person 2's coded only as a local
descendant of the SLE concept), are alive and observed since 2020, except: 13 has
no SLE record (and nothing else against them), 14 died in March 2024, 15's
observation period began in March 2024 (under the 12 months asked), 16's only SLE
record comes after baseline. Person 9 dies in August 2024, after baseline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CONCEPTS = [  # concept_id, vocabulary_id, concept_code, concept_name
    (257628, "SNOMED", "55464009", "Systemic lupus erythematosus"),
    (2000000003, "Local", "SLE-2", "SLE with organ involvement (local code)"),
    (4000001, "SNOMED", "68815009", "SLE glomerulonephritis syndrome"),
    (2000000001, "Local", "LN-IV", "Lupus nephritis class IV (local code)"),
    (439727, "SNOMED", "86406008", "HIV infection"),
    (443392, "SNOMED", "363346000", "Malignant neoplastic disease"),
    (2000000002, "Local", "BC-1", "Breast cancer (local code)"),
    (4000002, "SNOMED", "254701007", "Basal cell carcinoma of skin"),
    (4000003, "SNOMED", "77386006", "Pregnancy"),
    (1551099, "RxNorm", "8640", "prednisone"),
    (2000000010, "RxNorm", "312617", "prednisone 5 MG Oral Tablet"),
    (40236987, "RxNorm", "1092437", "belimumab"),
    (2000000011, "RxNorm", "1092440", "belimumab 120 MG Injection"),
    (1314273, "RxNorm", "121191", "rituximab"),
    (2000000012, "RxNorm", "1657064", "rituximab 500 MG Injection"),
    (4000010, "LOINC", "5048-4", "Nuclear Ab [Titer] in Serum"),
    (4000011, "LOINC", "5130-0", "DNA double strand Ab"),
    (1000005, "RxNorm", "5492", "hydrocortisone"),
    (2000000013, "RxNorm", "HC-CREAM", "hydrocortisone 10% Topical Cream (local code)"),
    (4263689, "SNOMED", "6064005", "Topical route"),
    # Matched by its listed OMOP id (concepts.yaml cites no RxNorm code for it): the code is a placeholder.
    (19012565, "RxNorm", "mpa", "mycophenolic acid"),
    (2000000014, "RxNorm", "MPA-360", "mycophenolic acid 360 MG Delayed Release Oral Tablet (local code)"),
    (4000020, "SNOMED", "95644001", "Systemic lupus erythematosus encephalitis"),
]
ANCESTORS = [(257628, 2000000003), (4000001, 2000000001), (443392, 2000000002), (1551099, 2000000010),
             (40236987, 2000000011), (1314273, 2000000012), (1000005, 2000000013), (19012565, 2000000014)]
STRENGTH = [(2000000010, 1551099, 5.0, 8576), (2000000011, 40236987, 120.0, 8576), (2000000012, 1314273, 500.0, 8576),
            (2000000013, 1000005, 1000.0, 8576), (2000000014, 19012565, 360.0, 8576)]

# person -> outcome under misle-phase2-ehr, worked out by hand
OMOP_EXPECTED_EHR = {
    1: ("eligible", ""), 2: ("excluded", "age"), 3: ("excluded", "chronic_infection"),
    4: ("not_assessable", "nephritis_therapy"), 5: ("excluded", "glucocorticoid"), 6: ("excluded", "belimumab"),
    7: ("excluded", "other_biologic"), 8: ("excluded", "malignancy"), 9: ("eligible", ""),
    10: ("excluded", "pregnant"), 11: ("not_assessable", "glucocorticoid"), 12: ("excluded", "platelets"),
    13: ("excluded", "sle_diagnosis"), 14: ("excluded", "alive"), 15: ("excluded", "observed"),
    16: ("excluded", "sle_diagnosis"),
}
PERSONS = range(1, 17)


def write_omop(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    persons = []
    for pid in PERSONS:
        persons.append({"person_id": pid, "gender_concept_id": 8507 if pid == 9 else 8532,
                        "year_of_birth": 2007 if pid == 2 else 1985, "month_of_birth": 1 if pid == 2 else 3,
                        "day_of_birth": 1, "race_concept_id": 8516 if pid % 3 == 0 else 8527,
                        "ethnicity_concept_id": 38003563 if pid == 7 else 0, "care_site_id": 10 + pid % 2})
    visits = [{"visit_occurrence_id": 100 + i, "person_id": pid, "visit_concept_id": 9202, "visit_start_date": d}
              for i, (pid, d) in enumerate((p, d) for p in PERSONS for d in ("2024-01-01", "2024-06-15"))]
    meas, mid = [], 1000
    for pid in PERSONS:
        rows = [(3000905, 5.5, 8848, None), (3013721, 25, 8645, 40), (3006923, 25, 8645, 45),
                (40764999, 95, None, None)]
        rows.append((3000963, 120, 8636, None) if pid == 1 else (3000963, 12.5, 8713, None))
        rows.append((3024929, 25 if pid == 12 else 250, 8848, None))
        if pid != 11:
            rows.append((3025315, {5: 50, 10: 11}.get(pid, 60), 9529, None))  # 10's 11 kg is implausible
        for cid, value, unit, high in rows:
            meas.append({"measurement_id": (mid := mid + 1), "person_id": pid, "measurement_concept_id": cid,
                         "measurement_date": "2024-06-01", "value_as_number": value, "unit_concept_id": unit,
                         "range_high": high, "value_as_concept_id": None})
        meas.append({"measurement_id": (mid := mid + 1), "person_id": pid, "measurement_concept_id": 4000010,
                     "measurement_date": "2024-05-01", "value_as_number": 160, "unit_concept_id": None,
                     "range_high": None, "value_as_concept_id": None})
        meas.append({"measurement_id": (mid := mid + 1), "person_id": pid, "measurement_concept_id": 4000011,
                     "measurement_date": "2024-05-01", "value_as_number": None, "unit_concept_id": None,
                     "range_high": None, "value_as_concept_id": 45884084})
    conditions = [(3, 439727, "2020-01-01"), (4, 2000000001, "2024-01-10"), (8, 2000000002, "2021-01-01"),
                  (9, 4000002, "2023-01-01"), (10, 4000003, "2024-04-01")]
    conditions += [(p, 2000000003 if p == 2 else 257628, "2019-05-01") for p in PERSONS if p not in (13, 16)]
    conditions += [(16, 257628, "2024-07-01")]
    periods = [(p, "2024-03-01" if p == 15 else "2020-01-01", "2024-12-31") for p in PERSONS]
    drugs = [(5, 2000000010, "2024-05-20", "2024-06-18", 180, 30), (6, 2000000011, "2024-05-01", "2024-05-01", 1, 1),
             (7, 2000000012, "2024-01-10", "2024-01-10", 1, 1), (11, 2000000010, "2024-06-01", None, None, 30),
             (1, 2000000013, "2024-06-01", "2024-06-30", 30, 30), (9, 2000000013, "2024-06-01", "2024-06-30", 30, 30)]
    # Persons 1 and 9 use a hydrocortisone cream (1000 mg/day if it counted): topical by route concept
    # and by the route as written. Neither is a systemic glucocorticoid, so both stay eligible.
    routes = {1: (4263689, None), 9: (None, "Topical")}
    tables = {
        "person": pd.DataFrame(persons),
        "visit_occurrence": pd.DataFrame(visits),
        "measurement": pd.DataFrame(meas),
        "condition_occurrence": pd.DataFrame(
            [{"condition_occurrence_id": i, "person_id": p, "condition_concept_id": c, "condition_start_date": d}
             for i, (p, c, d) in enumerate(conditions)]),
        "drug_exposure": pd.DataFrame(
            [{"drug_exposure_id": i, "person_id": p, "drug_concept_id": c, "drug_exposure_start_date": s,
              "drug_exposure_end_date": e, "quantity": q, "days_supply": ds,
              "route_concept_id": routes.get(p, (None, None))[0] if c == 2000000013 else None,
              "route_source_value": routes.get(p, (None, None))[1] if c == 2000000013 else None}
             for i, (p, c, s, e, q, ds) in enumerate(drugs)]),
        "observation_period": pd.DataFrame(
            [{"observation_period_id": i, "person_id": p, "observation_period_start_date": a,
              "observation_period_end_date": b} for i, (p, a, b) in enumerate(periods)]),
        "death": pd.DataFrame({"person_id": [14, 9], "death_date": ["2024-03-10", "2024-08-01"]}),
        "concept": pd.DataFrame(CONCEPTS, columns=["concept_id", "vocabulary_id", "concept_code", "concept_name"]),
        "concept_ancestor": pd.DataFrame(ANCESTORS, columns=["ancestor_concept_id", "descendant_concept_id"]),
        "drug_strength": pd.DataFrame(STRENGTH, columns=["drug_concept_id", "ingredient_concept_id", "amount_value",
                                                         "amount_unit_concept_id"]),
    }
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
    return folder


# patient -> outcome under misle-phase2-ehr. Synthea has no reference ranges, so liver enzymes
# cannot be judged: everyone not excluded earlier is not assessable at the liver step.
SYNTHEA_EXPECTED_EHR = {
    "s1": ("not_assessable", "liver"), "s2": ("excluded", "age"), "s3": ("excluded", "chronic_infection"),
    "s4": ("excluded", "malignancy"), "s5": ("excluded", "belimumab"), "s6": ("not_assessable", "liver"),
    "s7": ("excluded", "pregnant"), "s8": ("excluded", "platelets"), "s9": ("excluded", "sle_diagnosis"),
    "s10": ("excluded", "alive"),
}


def write_synthea(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # s9 has no SLE record; s10 died before baseline.
    ids = [f"s{i}" for i in range(1, 11)]
    patients = pd.DataFrame({"Id": ids, "BIRTHDATE": ["2008-02-01" if i == "s2" else "1984-04-04" for i in ids],
                             "DEATHDATE": [""] * 9 + ["2024-02-01"],
                             "GENDER": ["F"] * 10, "RACE": ["white", "black", "asian", "white", "native", "white",
                                                            "white", "black", "white", "white"],
                             "ETHNICITY": ["nonhispanic"] * 7 + ["hispanic"] * 3, "COUNTY": ["Suffolk"] * 10})
    encounters = pd.DataFrame({"Id": [f"e{i}" for i in range(20)],
                               "START": ["2022-03-01T09:00:00Z"] * 10 + ["2024-06-15T09:00:00Z"] * 10,
                               "PATIENT": ids * 2, "ENCOUNTERCLASS": ["ambulatory"] * 20})
    obs = []
    for pid in ids:
        for code, value, units in (("29463-7", "60", "kg"), ("718-7", "12.5", "g/dL"), ("6690-2", "5.5", "10*3/uL"),
                                   ("777-3", "20" if pid == "s8" else "250", "10*3/uL"), ("1920-8", "25", "U/L"),
                                   ("1742-6", "25", "U/L"), ("33914-3", "95", "mL/min/{1.73_m2}"),
                                   ("5048-4", "160", "{titer}"), ("5130-0", "positive", "")):
            obs.append({"DATE": "2024-05-20T09:00:00Z", "PATIENT": pid, "ENCOUNTER": "", "CODE": code,
                        "DESCRIPTION": code, "VALUE": value, "UNITS": units, "TYPE": "numeric"})
    conditions = pd.DataFrame([
        *({"START": "2022-03-01", "STOP": "", "PATIENT": pid, "ENCOUNTER": "", "CODE": "55464009",
           "DESCRIPTION": "Systemic lupus erythematosus"} for pid in ids if pid != "s9"),
        {"START": "2019-03-01", "STOP": "", "PATIENT": "s3", "ENCOUNTER": "", "CODE": "86406008", "DESCRIPTION": "HIV"},
        {"START": "2022-02-01", "STOP": "", "PATIENT": "s4", "ENCOUNTER": "", "CODE": "254837009",
         "DESCRIPTION": "Malignant neoplasm of breast"},
        {"START": "2023-02-01", "STOP": "", "PATIENT": "s4", "ENCOUNTER": "", "CODE": "254701007",
         "DESCRIPTION": "Basal cell carcinoma of skin"},
        {"START": "2024-03-01", "STOP": "", "PATIENT": "s7", "ENCOUNTER": "", "CODE": "77386006",
         "DESCRIPTION": "Normal pregnancy"},
    ])
    medications = pd.DataFrame([
        {"START": "2024-05-01T10:00:00Z", "STOP": "2024-05-01T11:00:00Z", "PATIENT": "s5", "ENCOUNTER": "",
         "CODE": "1092440", "DESCRIPTION": "belimumab 120 MG Injection", "DISPENSES": "1"},
        {"START": "2024-06-01T10:00:00Z", "STOP": "", "PATIENT": "s6", "ENCOUNTER": "", "CODE": "312617",
         "DESCRIPTION": "prednisone 5 MG Oral Tablet", "DISPENSES": "30"},
    ])
    for name, table in (("patients", patients), ("encounters", encounters), ("observations", pd.DataFrame(obs)),
                        ("conditions", conditions), ("medications", medications)):
        table.to_csv(folder / f"{name}.csv", index=False)
    pd.DataFrame(columns=["START", "PATIENT", "CODE", "DESCRIPTION"]).to_csv(folder / "procedures.csv", index=False)
    return folder
