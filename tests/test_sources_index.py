"""OMOP and Synthea exports screened at each index date (``--index visits``), on the hand-made exports.

The exports are ``tests/source_fixtures.py``'s (baseline 2024-06-15), with the records each test adds.
"""

from __future__ import annotations

import pandas as pd
import pytest

import source_fixtures as fx
from screening import screen
from screening.engine.over_time import EligibilityOverTime
from screening.io.sources import load_source

pytestmark = pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")


def test_an_sle_record_counts_the_same_in_any_condition_table_at_baseline_and_at_each_visit(tmp_path):
    """One definition of an SLE diagnosis: the database's count at baseline and the count as of each visit
    read the same tables (condition_occurrence, procedure_occurrence, observation)."""
    cdm = fx.write_omop(tmp_path / "omop")
    # 13's only SLE record sits in the observation table (a problem-list entry); 1 has a second one, coded
    # as a procedure on 2024-03-01: after her visit of 2024-01-01, before baseline.
    pd.DataFrame({"observation_id": [1], "person_id": [13], "observation_concept_id": [257628],
                  "observation_date": ["2019-05-01"]}).to_csv(cdm / "observation.csv", index=False)
    pd.DataFrame({"procedure_occurrence_id": [1], "person_id": [1], "procedure_concept_id": [257628],
                  "procedure_date": ["2024-03-01"]}).to_csv(cdm / "procedure_occurrence.csv", index=False)
    ex = load_source(f"omop:{cdm}@2024-06-15#visits")
    counts = ex.patients["sle_diagnoses"]
    assert (counts["1"], counts["13"], counts["16"]) == (2, 1, 0)  # 16's record comes after baseline
    at_visit = ex.visits.set_index("patient_id")["sle_diagnoses"]
    assert (ex.visits["visit_date"] == pd.Timestamp("2024-01-01")).all()
    assert (at_visit["1"], at_visit["13"]) == (1, 1)
    # The database's count with 2024-01-01 as the baseline is each visit's count of that day, person by person.
    then = load_source(f"omop:{cdm}@2024-01-01").patients["sle_diagnoses"]
    assert then[at_visit.index].tolist() == at_visit.tolist()
    # 13 enters the cohort (nothing else against her): eligible at baseline, as at her visit but for her
    # autoantibodies, not tested by 2024-01-01 (2024-05-01).
    over = EligibilityOverTime(ex, "misle-phase2-ehr")
    mine = over.visits[over.visits["patient_id"] == "13"]
    assert [(str(s), c) for s, c in zip(mine["status"], mine["criterion"], strict=True)] == \
        [("not_assessable", "autoantibody"), ("eligible", "")]
    assert screen(ex, "misle-phase2-ehr").outcome().loc["13", "status"] == "eligible"


def test_a_synthea_export_is_screened_at_each_encounter_with_the_hand_answers(tmp_path):
    folder = fx.write_synthea(tmp_path / "synthea")
    # s1 also came on 2023-06-01, with a panel of 2023-05-20 whose platelets were 20 x10^3/uL (20,000/uL).
    enc = pd.read_csv(folder / "encounters.csv")
    pd.concat([enc, pd.DataFrame({"Id": ["e20"], "START": ["2023-06-01T09:00:00Z"], "PATIENT": ["s1"],
                                  "ENCOUNTERCLASS": ["ambulatory"]})]).to_csv(folder / "encounters.csv", index=False)
    obs = pd.read_csv(folder / "observations.csv", dtype=str, keep_default_na=False)
    panel = obs[obs["PATIENT"] == "s1"].assign(DATE="2023-05-20T09:00:00Z")
    panel.loc[panel["CODE"] == "777-3", "VALUE"] = "20"
    pd.concat([obs, panel]).to_csv(folder / "observations.csv", index=False)

    ex = load_source(f"synthea:{folder}@2024-06-15#visits")
    over = EligibilityOverTime(ex, "misle-phase2-ehr")
    got = {(p, str(d.date())): (str(s), c) for p, d, b, s, c in
           over.visits[["patient_id", "visit_date", "baseline", "status", "criterion"]].itertuples(index=False)
           if not b}
    # Index dates: each encounter before baseline from the SLE diagnosis (2022-03-01) on; s9 has no SLE
    # record, so none. On 2022-03-01 everyone was first seen that day: observed 0 of the 12 months asked.
    # On 2023-06-01 s1 was observed 15 months, and her panel of 11 days before shows the low platelets.
    assert got == {(f"s{i}", "2022-03-01"): ("excluded", "observed") for i in (1, 2, 3, 4, 5, 6, 7, 8, 10)} | {
        ("s1", "2023-06-01"): ("excluded", "platelets")}
    at = ex.visits.set_index(["patient_id", "visit_date"]).loc[("s1", pd.Timestamp("2023-06-01"))]
    assert at["platelets"] == 20_000 and at["platelets_date"] == pd.Timestamp("2023-05-20") and at["sle_diagnoses"] == 1
    # the baseline stays the hand answer of the export without visits
    last = over.visits[over.visits["baseline"]]
    assert dict(zip(last["patient_id"], zip(last["status"].astype(str), last["criterion"], strict=True),
                    strict=True)) == fx.SYNTHEA_EXPECTED_EHR


def test_the_portfolio_refuses_index_dates_before_reading_anything(tmp_path, capsys):
    """It screens every trial at baseline: asked for index dates, it says so rather than print baseline counts."""
    from screening.cli import main

    cdm = fx.write_omop(tmp_path / "omop")
    for args in (["--data", f"omop:{cdm}@2024-06-15", "--index", "visits"], ["--data", f"omop:{cdm}#monthly:12"]):
        assert main(["portfolio", *args, "--out", str(tmp_path / "pf")]) == 2
        err = capsys.readouterr().err
        assert "the portfolio screens each trial at baseline only" in err and "report --data" in err
        assert "--index" in err and "Traceback" not in err
    assert not (tmp_path / "pf").exists()
