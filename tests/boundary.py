"""A hand-built extract of 54 patients that sits on every criterion boundary.

Every patient is the eligible base patient with one or two changes. The first
letter of the id says the outcome worked out by hand: E eligible, X excluded,
N not assessable. Baseline is 2024-06-15 for everyone, so "3 months before" is
2024-03-15, "2 months" 2024-04-15, "1 month" 2024-05-15, "6 months"
2023-12-15 and "5 years" 2019-06-15.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from screening.io.schema import BILAG_DOMAINS, TABLES
from screening.synth.synthetic import write_extract

BASELINE = "2024-06-15"

BASE = {
    "site": "A", "sex": "F", "age_years": 40, "race_ethnicity": "White", "weight_kg": 60.0,
    "baseline_date": BASELINE, "acr_criteria_count": 5, "slicc_classified": True,
    "ana_titre": 160, "ana_date": "2024-05-01", "anti_dsdna_positive": True, "anti_dsdna_date": "2024-05-01",
    "anti_sm_positive": False, "anti_sm_date": "2024-05-01", "sledai_2k": 8,
    **{f"bilag_{d}": "D" for d in BILAG_DOMAINS}, "bilag_musculoskeletal": "B", "bilag_renal": "E",
    "cns_lupus_active": False, "lupus_nephritis": "never", "nephritis_onset_date": None,
    "egfr": 95.0, "proteinuria_g_per_g": 0.1, "dialysis": False, "wbc": 5.5, "haemoglobin": 12.5,
    "platelets": 250000.0, "ast": 25.0, "ast_uln": 40.0, "alt": 25.0, "alt_uln": 45.0,
    "hiv_positive": False, "hepatitis_b_positive": False, "hepatitis_c_positive": False, "tb_positive": False,
    "chest_xray": "normal", "pregnant": False, "breastfeeding": False, "childbearing_potential": True,
    "contraception": True, "organ_transplant": False, "unstable_condition": False,
}

HCQ = ("hydroxychloroquine", "antimalarial", "2020-01-01", None, 200.0, "mg/day")
PRED = ("prednisone", "glucocorticoid", "2023-01-01", None, 10.0, "mg/day")
BASE_MEDS = [HCQ, PRED]

#: id -> (changes to the base patient, medication rows or None for the base ones, extra events)
PATIENTS: dict[str, tuple[dict, list | None, dict]] = {
    "E01": ({}, None, {}),
    "E02": ({"age_years": 18}, None, {}),
    "E03": ({"age_years": 65}, None, {}),
    "X04": ({"age_years": 17}, None, {}),
    "X05": ({"age_years": 66}, None, {}),
    "E06": ({"acr_criteria_count": 4}, None, {}),
    "X07": ({"acr_criteria_count": 3}, None, {}),
    "E08": ({"ana_titre": 80, "ana_date": "2023-12-15", "anti_dsdna_positive": False}, None, {}),
    "X09": ({"ana_titre": 40, "anti_dsdna_positive": False}, None, {}),
    "X10": ({"ana_date": "2023-12-14", "anti_dsdna_positive": False}, None, {}),
    "E11": ({"sledai_2k": 6}, None, {}),
    "X12": ({"sledai_2k": 5}, None, {}),
    "N13": ({"sledai_2k": None}, None, {}),
    "X14": ({"bilag_musculoskeletal": "C"}, None, {}),
    "N15": ({f"bilag_{d}": None for d in BILAG_DOMAINS}, None, {}),
    "E16": ({"bilag_musculoskeletal": "D", "bilag_renal": "B", "lupus_nephritis": "active",
             "nephritis_onset_date": "2023-06-01"},
            BASE_MEDS + [("mycophenolate", "immunosuppressant", "2023-06-01", None, 2000.0, "mg/day")], {}),
    "X17": ({"bilag_renal": "A", "lupus_nephritis": "active", "nephritis_onset_date": "2024-03-01"},
            BASE_MEDS + [("mycophenolate", "immunosuppressant", "2024-03-01", None, 2000.0, "mg/day")], {}),
    "E18": ({"bilag_renal": "B", "lupus_nephritis": "active", "nephritis_onset_date": "2023-08-15"},
            BASE_MEDS + [("cyclophosphamide", "immunosuppressant", "2023-09-01", "2023-12-15", 750.0, "mg"),
                         ("azathioprine", "immunosuppressant", "2023-12-20", None, 100.0, "mg/day")], {}),
    "X19": ({"cns_lupus_active": True}, None, {}),
    "X20": ({"dialysis": True, "egfr": 35.0}, None, {}),
    "E21": ({"egfr": 30.0}, None, {}),
    "X22": ({"egfr": 29.9}, None, {}),
    "X23": ({"wbc": 1.9}, None, {}),
    "E24": ({"wbc": 2.0}, None, {}),
    "X25": ({"haemoglobin": 7.9}, None, {}),
    "X26": ({"platelets": 29000.0}, None, {}),
    "E27": ({"ast": 160.0}, None, {}),
    "X28": ({"alt": 181.0}, None, {}),
    "X29": ({"hiv_positive": True}, None, {}),
    "N30": ({"tb_positive": None}, None, {}),
    "X31": ({"chest_xray": "tb_or_fungal"}, None, {}),
    "N32": ({"chest_xray": None}, None, {}),
    "X33": ({}, None, {"malignancies": [("breast", "2019-06-15")]}),
    "E34": ({}, None, {"malignancies": [("basal_cell_skin", "2024-01-01")]}),
    "E35": ({}, None, {"malignancies": [("breast", "2019-06-14")]}),
    "X36": ({"pregnant": True}, None, {}),
    "X37": ({"contraception": False}, None, {}),
    "E38": ({"sex": "M", "childbearing_potential": False, "contraception": None}, None, {}),
    "X39": ({"organ_transplant": True}, None, {}),
    "X40": ({}, None, {"infections": [("herpes_zoster", "2024-03-17")]}),
    "E41": ({}, None, {"infections": [("herpes_zoster", "2024-03-16")]}),
    "X42": ({"unstable_condition": True}, None, {}),
    # 30 mg/day at 60 kg is exactly 0.5 mg/kg/day: allowed. 31 mg/day is not.
    "E43": ({}, [HCQ, ("prednisone", "glucocorticoid", "2024-05-01", "2024-05-20", 30.0, "mg/day")], {}),
    "X44": ({}, [HCQ, ("prednisone", "glucocorticoid", "2024-05-01", "2024-05-20", 31.0, "mg/day")], {}),
    "X45": ({}, [HCQ, ("prednisone", "glucocorticoid", "2024-05-01", "2024-05-20", 15.0, "mg/day"),
                 ("prednisolone", "glucocorticoid", "2024-05-10", "2024-05-30", 16.0, "mg/day")], {}),
    # Weight unknown: 15 mg/day is above 0.5 mg/kg/day for anyone under 30 kg, so it stays open;
    # 10 mg/day could not be (the dictionary's lightest weight is 20 kg).
    "N46": ({"weight_kg": None}, [HCQ, ("prednisone", "glucocorticoid", "2023-01-01", None, 15.0, "mg/day")], {}),
    "X47": ({}, BASE_MEDS + [("mycophenolate", "immunosuppressant", "2024-03-15", None, 1000.0, "mg/day")], {}),
    "E48": ({}, BASE_MEDS + [("azathioprine", "immunosuppressant", "2024-03-14", None, 100.0, "mg/day")], {}),
    "X49": ({}, BASE_MEDS + [("belimumab", "biologic", "2024-04-15", "2024-04-15", 600.0, "mg")], {}),
    "E50": ({}, BASE_MEDS + [("belimumab", "biologic", "2024-04-14", "2024-04-14", 600.0, "mg")], {}),
    "X51": ({}, BASE_MEDS + [("rituximab", "biologic", "2024-01-01", "2024-01-01", 1000.0, "mg")], {}),
    "X52": ({"age_years": 70, "sledai_2k": 4}, None, {}),
    "X53": ({"sledai_2k": None, "hiv_positive": True}, None, {}),
    "N54": ({"sledai_2k": None, "chest_xray": None}, None, {}),
}


def tables(people: dict | None = None) -> dict[str, pd.DataFrame]:
    """The four tables, in the on-disk (string) form, of ``people`` (default: :data:`PATIENTS`)."""
    patients, meds, malignancies, infections = [], [], [], []
    for pid, (changes, med_rows, events) in (PATIENTS if people is None else people).items():
        patients.append({"patient_id": pid, **BASE, **changes})
        for drug, klass, start, stop, dose, unit in (BASE_MEDS if med_rows is None else med_rows):
            meds.append({"patient_id": pid, "drug": drug, "drug_class": klass, "start_date": start,
                         "stop_date": stop, "dose": dose, "dose_unit": unit})
        for kind, date in events.get("malignancies", []):
            malignancies.append({"patient_id": pid, "malignancy_type": kind, "diagnosis_date": date})
        for kind, date in events.get("infections", []):
            infections.append({"patient_id": pid, "infection_type": kind, "onset_date": date})
    out = {}
    for name, rows in (("patients", patients), ("medications", meds), ("malignancies", malignancies),
                       ("infections", infections)):
        cols = [f.name for f in TABLES[name] if "dates" not in f.extra]  # a registry's values: undated
        out[name] = pd.DataFrame(rows, columns=cols)
    booleans = [f.name for f in TABLES["patients"] if f.kind == "bool"]
    out["patients"][booleans] = out["patients"][booleans].astype("boolean")
    return out


def write(folder: Path, people: dict | None = None) -> Path:
    return write_extract(tables(people), folder)
