"""A generated OMOP CDM for tests and benchmarks: many persons, few with SLE, a large vocabulary.

The CDM looks like a hospital's: everyone has visits, an observation period,
unrelated conditions, labs and prescriptions; a small share has SLE, coded with
the concept sets' own concepts or their descendants (clinical drugs, local
codes), with nephritis, malignancies, infections, steroids and biologics in
plausible proportions. The vocabulary holds the concept sets' concepts plus
filler concepts up to ``vocabulary`` rows, and ``concept_ancestor`` five rows per
concept, as a real vocabulary's hierarchy would. Seeded: the same arguments give
the same tables.

Example
-------
>>> from screening.io.sources.synthetic_cdm import generate_cdm
>>> cdm = generate_cdm(500, seed=1, vocabulary=2000)
>>> sorted(cdm)[:4]
['concept', 'concept_ancestor', 'condition_occurrence', 'death']
>>> int(cdm["person"]["person_id"].is_unique)
1
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from screening.io.sources.common import load_concepts

__all__ = ["generate_cdm", "write_cdm"]

FILLER = 100_000_000  # ids of filler concepts start here, clear of the listed OMOP ids
LOCAL = 2_000_000_000  # ids the generator gives to coded concepts without a listed id, and to descendants
BASELINE = np.datetime64("2024-06-15")
#: Per SLE person: chance of each condition set (the rest of the population has the infections and cancers too).
SLE_RATES = {"lupus_nephritis": 0.3, "cns_lupus": 0.03, "dialysis": 0.02, "hiv": 0.01, "hepatitis_b": 0.01,
             "malignancy": 0.04, "basal_cell_skin": 0.02, "pregnancy": 0.03, "herpes_zoster": 0.04,
             "serious_infection": 0.05, "organ_transplant": 0.01, "tuberculosis": 0.005}
#: Lab values: (mean, sd, unit concept id) in the unit the concept set converts from.
LABS = {"weight_kg": (70, 15, 9529), "haemoglobin": (12.5, 1.8, 8713), "wbc": (6.0, 2.0, 8848),
        "platelets": (240, 80, 8848), "ast": (28, 15, 8645), "alt": (30, 18, 8645), "egfr": (85, 25, 0),
        "proteinuria_g_per_g": (0.3, 0.5, 0), "ana_titre": (160, 120, 0), "anti_dsdna": (30, 40, 0)}
ULN = {"ast": 40, "alt": 45}
MG = 8576


def _vocabulary(concepts: dict) -> tuple[pd.DataFrame, dict[str, list[int]], dict[str, list[tuple[int, float]]]]:
    """The concept sets' concepts (listed id or a local one), a local descendant of each, and drug products."""
    rows, by_set, products = [], {}, {}
    next_id = LOCAL

    def add(cid, vocab, code, name):
        rows.append((cid, vocab, code, name))

    for section in ("conditions", "procedures", "measurements"):
        for name, spec in concepts[section].items():
            ids = []
            for item in spec["items"]:
                cid = item.get("concept_id")
                if cid is None:
                    next_id += 1
                    cid = next_id
                add(cid, item["vocabulary"], str(item["code"]), item.get("name", name))
                ids.append(cid)
            if ids and section != "measurements":
                next_id += 1  # a local code below the first concept, matched only through concept_ancestor
                add(next_id, "Local", f"{name}-local", f"{name} (local code)")
                ids.append(next_id)
            by_set[name] = ids
    for name, spec in concepts["drugs"].items():
        cid = spec.get("concept_id")
        if cid is None:
            next_id += 1
            cid = next_id
        add(cid, spec["vocabulary"], str(spec["code"]), name)
        by_set[name] = [cid]
        products[name] = []
        for strength in (5.0, 20.0) if spec["class"] != "biologic" else (120.0,):
            next_id += 1
            add(next_id, "RxNorm", f"{name}-{strength:g}", f"{name} {strength:g} MG product")
            products[name].append((next_id, strength))
    frame = pd.DataFrame(rows, columns=["concept_id", "vocabulary_id", "concept_code", "concept_name"])
    return frame, by_set, products


def generate_cdm(persons: int, seed: int = 12, vocabulary: int = 20_000, sle_share: float = 0.05,
                 first_id: int = 1, with_vocabulary: bool = True) -> dict:
    """A CDM's tables: ``persons`` people (``sle_share`` with SLE), a ``vocabulary``-row concept table.

    A large CDM is written in slices: persons from ``first_id`` on, the vocabulary
    tables with the first slice only (``with_vocabulary``).
    """
    rng = np.random.default_rng(seed)
    concepts = load_concepts()
    real, by_set, products = _vocabulary(concepts)
    n_fill = max(vocabulary - len(real), 0)
    filler = pd.DataFrame({"concept_id": FILLER + np.arange(n_fill, dtype=np.int64), "vocabulary_id": "SNOMED",
                           "concept_code": (FILLER + np.arange(n_fill)).astype(str), "concept_name": "filler"})
    concept = pd.concat([real, filler], ignore_index=True)
    # Hierarchy: every concept is its own ancestor; each set's first concept is the local code's ancestor;
    # an ingredient is its products' ancestor; filler concepts get random ancestors among filler concepts.
    pairs = [(c, c) for c in real["concept_id"]]
    pairs += [(ids[0], ids[-1]) for ids in by_set.values() if len(ids) > 1]
    pairs += [(by_set[d][0], pid) for d, items in products.items() for pid, _ in items]
    fill_rows = max(5 * vocabulary - len(pairs), 0)
    anc = pd.DataFrame({"ancestor_concept_id": FILLER + rng.integers(0, max(n_fill, 1), fill_rows),
                        "descendant_concept_id": FILLER + rng.integers(0, max(n_fill, 1), fill_rows)})
    concept_ancestor = pd.concat([pd.DataFrame(pairs, columns=list(anc.columns)), anc], ignore_index=True)
    drug_strength = pd.DataFrame([(pid, by_set[d][0], s, MG) for d, items in products.items() for pid, s in items],
                                 columns=["drug_concept_id", "ingredient_concept_id", "amount_value",
                                          "amount_unit_concept_id"])

    vocab = {"concept": concept, "concept_ancestor": concept_ancestor, "drug_strength": drug_strength} \
        if with_vocabulary else {}
    ids = np.arange(first_id, first_id + persons, dtype=np.int64)
    row0 = (first_id - 1) * 40  # event ids unique across slices (under 40 rows of a table per person)
    sle = rng.random(persons) < sle_share
    person = pd.DataFrame({"person_id": ids, "gender_concept_id": np.where(rng.random(persons) < 0.55, 8532, 8507),
                           "year_of_birth": rng.integers(1940, 2012, persons),
                           "month_of_birth": rng.integers(1, 13, persons), "day_of_birth": rng.integers(1, 29, persons),
                           "race_concept_id": rng.choice([8527, 8516, 8515, 0], persons, p=[0.6, 0.2, 0.1, 0.1]),
                           "ethnicity_concept_id": np.where(rng.random(persons) < 0.15, 38003563, 0),
                           "care_site_id": rng.integers(1, 6, persons)})
    start = BASELINE - rng.integers(30, 365 * 15, persons).astype("timedelta64[D]")
    observation_period = pd.DataFrame({"observation_period_id": ids, "person_id": ids,
                                       "observation_period_start_date": start,
                                       "observation_period_end_date": np.datetime64("2024-12-31")})
    died = rng.random(persons) < 0.03
    death = pd.DataFrame({"person_id": ids[died],
                          "death_date": BASELINE + rng.integers(-900, 200, int(died.sum())).astype("timedelta64[D]")})
    n_visits = 3
    visit_occurrence = pd.DataFrame({
        "visit_occurrence_id": row0 + np.arange(persons * n_visits, dtype=np.int64),
        "person_id": np.repeat(ids, n_visits),
        "visit_concept_id": 9202,
        "visit_start_date": BASELINE - rng.integers(0, 700, persons * n_visits).astype("timedelta64[D]")})

    def days_back(n, most):
        return BASELINE - rng.integers(0, most, n).astype("timedelta64[D]")

    # Conditions: everyone has unrelated ones; SLE persons have SLE and its complications.
    parts = [(np.repeat(ids, 4), FILLER + rng.integers(0, max(n_fill, 1), persons * 4), days_back(persons * 4, 3650))]
    sle_ids = ids[sle]
    pick = rng.random(len(sle_ids))
    parts.append((sle_ids, np.where(pick < 0.2, by_set["sle"][-1], by_set["sle"][0]),
                  days_back(len(sle_ids), 3650) - np.timedelta64(30, "D")))
    second = sle_ids[rng.random(len(sle_ids)) < 0.7]
    parts.append((second, np.full(len(second), by_set["sle"][0]), days_back(len(second), 700)))
    for name, rate in SLE_RATES.items():
        who = sle_ids[rng.random(len(sle_ids)) < rate]
        codes = np.asarray(by_set[name])[rng.integers(0, len(by_set[name]), len(who))]
        parts.append((who, codes, days_back(len(who), 2000)))
    pid = np.concatenate([p[0] for p in parts])
    condition_occurrence = pd.DataFrame({"condition_occurrence_id": row0 + np.arange(len(pid), dtype=np.int64),
                                         "person_id": pid,
                                         "condition_concept_id": np.concatenate([p[1] for p in parts]),
                                         "condition_start_date": np.concatenate([p[2] for p in parts])})
    procedure = condition_occurrence["condition_concept_id"].isin(by_set["dialysis"] + by_set["organ_transplant"])
    procedure_occurrence = condition_occurrence[procedure].rename(columns={
        "condition_occurrence_id": "procedure_occurrence_id", "condition_concept_id": "procedure_concept_id",
        "condition_start_date": "procedure_date"}).reset_index(drop=True)
    condition_occurrence = condition_occurrence[~procedure].reset_index(drop=True)

    # Labs: about 30 per person, from the listed lab concepts and filler tests.
    n_lab = persons * 30
    lab_names = list(LABS)
    which = rng.integers(0, len(lab_names) + 4, n_lab)  # the last 4 choices are filler tests
    listed = which < len(lab_names)
    concept_of = np.array([by_set[n][0] for n in lab_names], dtype=np.int64)
    mean = np.array([LABS[n][0] for n in lab_names] + [0] * 4)
    sd = np.array([LABS[n][1] for n in lab_names] + [1] * 4)
    unit = np.array([LABS[n][2] for n in lab_names] + [0] * 4)
    high = np.array([ULN.get(n, np.nan) for n in lab_names] + [np.nan] * 4)
    measurement = pd.DataFrame({
        "measurement_id": row0 + np.arange(n_lab, dtype=np.int64),
        "person_id": rng.integers(first_id, first_id + persons, n_lab),
        "measurement_concept_id": np.where(listed, concept_of[np.minimum(which, len(lab_names) - 1)],
                                           FILLER + rng.integers(0, max(n_fill, 1), n_lab)),
        "measurement_date": days_back(n_lab, 1000),
        "value_as_number": np.where(which == lab_names.index("ana_titre"),
                                    rng.choice([0, 40, 80, 160, 320, 640], n_lab),
                                    np.round(np.abs(rng.normal(mean[which], sd[which])), 1)),
        "unit_concept_id": np.where(unit[which] > 0, unit[which], np.nan),
        "range_high": high[which], "value_as_concept_id": np.nan})

    # Prescriptions: unrelated drugs for everyone; steroids, antimalarials and biologics for SLE persons.
    n_rx = persons * 4
    drug_rows = [(rng.integers(first_id, first_id + persons, n_rx), FILLER + rng.integers(0, max(n_fill, 1), n_rx))]
    for name, share in (("prednisone", 0.6), ("hydroxychloroquine", 0.7), ("mycophenolate", 0.25),
                        ("azathioprine", 0.1), ("belimumab", 0.05), ("rituximab", 0.03)):
        who = sle_ids[rng.random(len(sle_ids)) < share]
        items = products[name]
        drug_rows.append((who, np.array([p for p, _ in items])[rng.integers(0, len(items), len(who))]))
    pid = np.concatenate([r[0] for r in drug_rows])
    rx_start = days_back(len(pid), 400)
    supply = rng.choice([30, 90], len(pid))
    # Immunosuppressants run as one long course that started long ago and is still going.
    course = np.isin(np.concatenate([r[1] for r in drug_rows]),
                     [p for d in ("mycophenolate", "azathioprine") for p, _ in products[d]])
    rx_start = np.where(course, BASELINE - rng.integers(200, 1500, len(pid)).astype("timedelta64[D]"), rx_start)
    supply = np.where(course, (BASELINE - rx_start).astype(int) + 100, supply)
    drug_exposure = pd.DataFrame({
        "drug_exposure_id": row0 + np.arange(len(pid), dtype=np.int64), "person_id": pid,
        "drug_concept_id": np.concatenate([r[1] for r in drug_rows]), "drug_exposure_start_date": rx_start,
        "drug_exposure_end_date": rx_start + (supply - 1).astype("timedelta64[D]"),
        "quantity": supply.astype(float), "days_supply": supply, "route_concept_id": 4132161})
    return {"person": person, "observation_period": observation_period, "death": death,
            "visit_occurrence": visit_occurrence, "condition_occurrence": condition_occurrence,
            "procedure_occurrence": procedure_occurrence, "measurement": measurement, "drug_exposure": drug_exposure,
            **vocab}


def write_cdm(tables: dict, folder: str | Path, fmt: str = "parquet") -> Path:
    """Write each table as ``<name>.parquet`` (or ``.csv``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if fmt == "parquet":
            table.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            table.to_csv(folder / f"{name}.csv", index=False)
    return folder
