"""Hand-computed counts on the boundary fixture (tests/boundary.py) for every funnel table."""

from __future__ import annotations

import pandas as pd
import pytest

from screening import load_protocol, screen

ORDER = ["age", "classification", "autoantibody", "sledai", "bilag", "nephritis_therapy", "cns_lupus", "dialysis",
         "egfr", "wbc", "haemoglobin", "platelets", "liver", "chronic_infection", "chest_xray", "malignancy",
         "pregnancy", "transplant", "recent_infection", "unstable_condition", "glucocorticoid",
         "immunosuppressant_change", "belimumab", "other_biologic"]

# First failing criterion of each excluded patient, worked out by hand from tests/boundary.py.
EXCLUDED_AT = {
    "age": ["X04", "X05", "X52"], "classification": ["X07"], "autoantibody": ["X09", "X10"], "sledai": ["X12"],
    "bilag": ["X14"], "nephritis_therapy": ["X17"], "cns_lupus": ["X19"], "dialysis": ["X20"], "egfr": ["X22"],
    "wbc": ["X23"], "haemoglobin": ["X25"], "platelets": ["X26"], "liver": ["X28"],
    "chronic_infection": ["X29", "X53"], "chest_xray": ["X31"], "malignancy": ["X33"],
    "pregnancy": ["X36", "X37"], "transplant": ["X39"], "recent_infection": ["X40"],
    "unstable_condition": ["X42"], "glucocorticoid": ["X44", "X45"], "immunosuppressant_change": ["X47"],
    "belimumab": ["X49"], "other_biologic": ["X51"],
}
NOT_ASSESSABLE_AT = {"sledai": ["N13", "N54"], "bilag": ["N15"], "chronic_infection": ["N30"],
                     "chest_xray": ["N32"], "glucocorticoid": ["N46"]}


@pytest.fixture(scope="module")
def s(boundary_extract):
    return screen(boundary_extract)


def test_every_patient_lands_where_the_fixture_says(s):
    out = s.outcome()
    expected_status = {pid: {"E": "eligible", "X": "excluded", "N": "not_assessable"}[pid[0]] for pid in out.index}
    assert out["status"].astype(str).to_dict() == expected_status
    for cid, pids in EXCLUDED_AT.items():
        assert out.loc[pids, "criterion"].tolist() == [cid] * len(pids), cid
    for cid, pids in NOT_ASSESSABLE_AT.items():
        assert out.loc[pids, "criterion"].tolist() == [cid] * len(pids), cid


def test_summary_counts(s):
    assert s.summary().set_index("status")["patients"].to_dict() == {
        "eligible": 18, "excluded": 30, "not_assessable": 6}


def test_sequential_attrition(s):
    table = s.attrition()
    assert table["criterion"].tolist() == ["extract"] + ORDER
    assert table["excluded"].tolist()[1:] == [len(EXCLUDED_AT.get(c, [])) for c in ORDER]
    assert table["not_assessable"].tolist()[1:] == [len(NOT_ASSESSABLE_AT.get(c, [])) for c in ORDER]
    assert table["entering"].iloc[0] == 54 and table["remaining"].iloc[-1] == 18
    # age removes 3 of 54: 51 remain, 94.4% of the previous step and of the total
    assert table.loc[1, ["entering", "remaining", "pct_of_previous", "pct_of_total"]].tolist() == [54, 51, 94.4, 94.4]
    # sledai: 48 enter (54 - 3 - 1 - 2), 1 excluded, 2 not assessable
    assert table.loc[4, ["entering", "excluded", "not_assessable", "remaining"]].tolist() == [48, 1, 2, 45]


def test_alone_unique_and_dropped(s):
    t = s.criteria_table().set_index("criterion")
    assert t.loc["age", ["excluded_alone", "excluded_uniquely", "gain_if_dropped"]].tolist() == [3, 2, 2]
    assert t.loc["sledai", ["excluded_alone", "not_assessable_alone", "excluded_uniquely"]].tolist() == [2, 3, 1]
    # dropping SLEDAI admits X12 (fails only SLEDAI) and N13 (missing only SLEDAI)
    assert t.loc["sledai", "gain_if_dropped"] == 2
    columns = ["excluded_alone", "not_assessable_alone", "excluded_uniquely"]
    assert t.loc["chronic_infection", columns].tolist() == [2, 1, 2]
    assert t.loc["chest_xray", ["excluded_alone", "not_assessable_alone", "gain_if_dropped"]].tolist() == [1, 2, 2]
    assert t.loc["glucocorticoid", ["excluded_alone", "not_assessable_alone", "gain_if_dropped"]].tolist() == [2, 1, 3]
    assert t["excluded_in_sequence"].sum() == 30 and t["not_assessable_in_sequence"].sum() == 6


def test_overlap_counts_each_combination(s):
    table = s.overlap()
    pair = table[table["criteria"] == 2]
    assert len(pair) == 1 and pair.iloc[0]["patients"] == 1
    assert pair.iloc[0][["age", "sledai"]].tolist() == [True, True]
    singles = table[table["criteria"] == 1].set_index(table[table["criteria"] == 1][ORDER].idxmax(axis=1))
    assert singles.loc["age", "patients"] == 2
    assert singles.loc["chronic_infection", "patients"] == 2
    assert table["patients"].sum() == 30


def test_leave_one_out(s):
    table = s.leave_one_out().set_index("criterion")
    assert table.loc["glucocorticoid", ["eligible_without", "gain"]].tolist() == [21, 3]
    assert table.loc["other_biologic", "gain"] == 1


@pytest.mark.parametrize("policy, eligible, excluded, unknown", [
    ("separate", 18, 30, 6), ("exclude", 18, 36, 0), ("include", 24, 30, 0)])
def test_unknown_policy(boundary_extract, policy, eligible, excluded, unknown):
    counts = screen(boundary_extract, policy=policy).summary().set_index("status")["patients"]
    assert counts.tolist() == [eligible, excluded, unknown]


def test_sweep_sledai_minimum(s):
    table = s.sweep("sledai.min", [5, 6, 7])
    assert table["eligible"].tolist() == [19, 18, 17]
    assert (table[["eligible", "excluded", "not_assessable"]].sum(axis=1) == 54).all()


def test_subgroups_by_sex(s):
    by_sex = s.outcome_by("sex").set_index("sex")
    assert by_sex.loc["M", ["eligible", "excluded", "not_assessable", "total"]].tolist() == [1, 0, 0, 1]
    assert by_sex.loc["F", "total"] == 53
    comp = s.composition("sex").set_index(["population", "sex"])
    assert comp.loc[("eligible", "M"), "patients"] == 1
    assert comp.loc[("eligible", "F"), "percent"] == round(100 * 17 / 18, 1)
    stacked = s.attrition_by("sex")
    assert stacked.groupby("sex")["remaining"].last().to_dict() == {"F": 17, "M": 1}


def test_pilot_variant_gains_three(boundary_extract):
    from screening.engine.whatif import compare

    cmp = compare(boundary_extract, load_protocol("misle-phase2"), load_protocol("misle-phase1-pilot"))
    assert cmp.summary.set_index("status").loc["eligible"].tolist()[:2] == [18, 21]
    assert sorted(cmp.gained) == ["X07", "X12", "X33"]
    assert list(cmp.lost) == []
    by = cmp.by_criterion.set_index("criterion")
    assert by.loc["malignancy", ["excluded_alone_a", "excluded_alone_b"]].tolist() == [1, 0]
    # SLEDAI 4-10 admits X12 (5) and X52 (4)
    assert by.loc["sledai", ["excluded_alone_a", "excluded_alone_b"]].tolist() == [2, 0]


def test_reordering_changes_steps_not_the_pool(s):
    reordered = list(reversed(ORDER))
    table = s.attrition(order=reordered)
    assert table["criterion"].tolist()[1:] == reordered
    assert table["remaining"].iloc[-1] == 18
    # X52 fails age and SLEDAI: with SLEDAI first it leaves there
    assert table.set_index("criterion").loc["sledai", "excluded"] == 2


def test_screening_visit_criteria_are_listed_not_counted(s):
    assert s.assessed_at_visit == ["Informed consent"]
    assert "consent" not in s.ids
    assert isinstance(s.attrition(), pd.DataFrame)


def test_expected_enrolment_spans_the_screen_failure_range(boundary_extract):
    # 18 eligible and 6 not assessable (worked out by hand above); consent 50%;
    # 26% (BLISS-BELIEVE) to 51% (MUSE) fail screening.
    table = screen(boundary_extract).expected_enrolment(0.5, (0.51, 0.26)).set_index("scenario")
    assert table.loc["eligible pool only"].tolist() == [18, 4.4, 6.7]  # 18 × 0.49 × 0.5, 18 × 0.74 × 0.5
    assert table.loc["including not-assessable patients"].tolist() == [24, 5.9, 8.9]
    assert screen(boundary_extract).expected_enrolment(0.5, 0.3)["enrolment_low"].tolist() == [6.3, 8.4]
