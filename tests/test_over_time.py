"""Screening at every visit: a hand-worked 6-patient extract, on the engine and row by row; the visits table's checks.

``tests/fixtures/visits`` (protocol ``visits-hand``: age 18-65, SLEDAI-2K >= 6, no platelets < 30000 within
12 months, no belimumab within 2 months; every baseline 2024-06-30):

* P1 flares into eligibility: SLEDAI-2K 4, 4, then 8 at baseline;
* P2 leaves it: SLEDAI-2K 10 at its visit, 2 at baseline;
* P3 has no SLEDAI-2K at its 2024-01-20 visit: not assessable there, eligible before and after;
* P4 was 64 at its visit two years before baseline, 66 (too old) at baseline;
* P5 starts belimumab on 2024-05-01: eligible at its 2023 visit (medications as taken then), excluded at baseline;
* P6 has no visits: screened at baseline alone, excluded by its platelets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening import ExtractError, load_extract, load_protocol, screen
from screening.engine.over_time import EligibilityOverTime
from screening.io.thorough import check_table
from screening.rules.baselines.naive import naive_visit_states

HERE = Path(__file__).parent / "fixtures" / "visits"
PROTOCOL = load_protocol(HERE / "protocol.yaml")

# (patient, visit date) -> (status, deciding criterion), worked out by hand from the fixture's rows
BY_HAND = {
    ("P1", "2023-06-15"): ("excluded", "sledai"), ("P1", "2023-12-15"): ("excluded", "sledai"),
    ("P1", "2024-06-30"): ("eligible", ""),
    ("P2", "2023-09-10"): ("eligible", ""), ("P2", "2024-06-30"): ("excluded", "sledai"),
    ("P3", "2023-08-01"): ("eligible", ""), ("P3", "2024-01-20"): ("not_assessable", "sledai"),
    ("P3", "2024-06-30"): ("eligible", ""),
    ("P4", "2022-06-30"): ("eligible", ""), ("P4", "2024-06-30"): ("excluded", "age"),
    ("P5", "2023-10-01"): ("eligible", ""), ("P5", "2024-06-30"): ("excluded", "belimumab"),
    ("P6", "2024-06-30"): ("excluded", "platelets"),
}


@pytest.fixture(scope="module")
def hand():
    return load_extract(HERE)


@pytest.fixture(scope="module")
def over(hand):
    return EligibilityOverTime(hand, PROTOCOL)


def test_each_visit_gets_the_status_worked_out_by_hand(over):
    v = over.visits
    got = {(p, str(d.date())): (str(s), c)
           for p, d, s, c in zip(v["patient_id"], v["visit_date"], v["status"], v["criterion"], strict=True)}
    assert got == BY_HAND


def test_the_row_by_row_implementation_gives_every_visit_the_same_states(hand, over):
    naive = naive_visit_states(hand, PROTOCOL)
    assert [(p, str(d.date())) for p, d in naive.index] == list(BY_HAND)
    assert (naive[over.screening.ids].to_numpy() == over.screening.states).all()


def test_last_visit_is_the_extract_s_own_screening(hand, over):
    assert over.at_last_visit["patients"].tolist() == [2, 4, 0]
    assert over.at_last_visit["patients"].tolist() == screen(hand, PROTOCOL).summary()["patients"].tolist()


def test_any_visit_in_12_months_counts_p2_and_p5_but_not_p4_two_years_back(over):
    assert over.any_visit(12)["patients"].tolist() == [4, 2, 0]
    assert over.any_visit(36)["patients"].tolist() == [5, 1, 0]


def test_first_eligible_visits(over):
    first = over.first_eligible.set_index("patient_id")["visit_date"].dt.strftime("%Y-%m-%d").to_dict()
    assert first == {"P1": "2024-06-30", "P2": "2023-09-10", "P3": "2023-08-01", "P4": "2022-06-30",
                     "P5": "2023-10-01"}


def test_newly_eligible_per_month_with_the_range_p3_s_missing_score_leaves(over):
    m = over.monthly()
    assert len(m) == 25 and str(m["month"].iloc[0]) == "2022-06" and str(m["month"].iloc[-1]) == "2024-06"
    busy = m[m["visits"] > 0].set_index(m["month"].astype(str)[m["visits"] > 0])
    assert busy["newly_eligible"].to_dict() == {"2022-06": 1, "2023-06": 0, "2023-08": 1, "2023-09": 1,
                                                "2023-10": 1, "2023-12": 0, "2024-01": 0, "2024-06": 1}
    # P3 at baseline: eligible after a not-assessable visit, so perhaps newly eligible
    assert busy["newly_eligible_max"].to_dict()["2024-06"] == 2
    assert m["newly_eligible"].sum() == 5 and m["visits"].sum() == 13


def test_newly_eligible_per_site_adds_up_to_the_network(over):
    by_site = over.monthly(by_site=True)
    assert set(by_site["site"]) == {"A", "B"} and len(by_site) == 50
    network = by_site.groupby(by_site["month"].astype(str))[["newly_eligible", "newly_eligible_max"]].sum()
    assert (network.to_numpy() == over.monthly()[["newly_eligible", "newly_eligible_max"]].to_numpy()).all()
    assert by_site.groupby("site")["newly_eligible"].sum().to_dict() == {"A": 3, "B": 2}


def test_the_criterion_that_turns_each_patient(over):
    t = over.turning().set_index("criterion")
    assert t.loc["sledai"].tolist()[1:] == [1, 1, 1, 1]  # P1 in, P2 out
    assert t.loc["age", "out_of_alone"] == 1 and t.loc["belimumab", "out_of_alone"] == 1
    assert t[["into", "out_of"]].sum().tolist() == [1, 3]


def test_plots_return_axes(over):
    import matplotlib

    matplotlib.use("Agg")
    assert over.plot_monthly().get_ylabel() == "patients per month"
    assert len(over.plot_by_site().get_lines()) == 2


def _copy(tmp_path: Path, visits: str) -> Path:
    folder = tmp_path / "x"
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("protocol.yaml"))
    (folder / "visits.csv").write_text(visits, encoding="utf-8")
    return folder


@pytest.mark.parametrize("thorough", [False, True])
def test_visits_out_of_order_unknown_or_out_of_range_are_named_by_line(tmp_path, monkeypatch, thorough):
    # an unknown patient is a doubt for the fast path: the table is then read again the thorough way
    unknown = "P9,2023-01-01,5\n" if thorough else ""
    folder = _copy(tmp_path, f"patient_id,visit_date,sledai_2k\nP1,2023-06-15,4\nP1,2025-01-01,4\n{unknown}"
                             "P2,2023-09-10,200\nP2,2023-09-10,3\n")
    (folder / "patients.csv").write_text((folder / "patients.csv").read_text().replace(
        "baseline_date", "sle_diagnosis_date,baseline_date").replace(",2024-06-30,", ",2023-01-01,2024-06-30,"),
        encoding="utf-8")
    import screening.io.extract as extract

    read_thoroughly = []
    monkeypatch.setattr(extract, "check_table", lambda *a, **k: read_thoroughly.append(a[2]) or check_table(*a, **k))
    with pytest.raises(ExtractError) as err:
        load_extract(folder)
    assert ("visits" in read_thoroughly) == thorough
    cases = err.value.failure_cases
    found = {(c, k): r for c, k, r in zip(cases["column"], cases["check"], cases["rows"], strict=True)}
    assert set(found) == {("visit_date", "not_after"), ("sledai_2k", "in_range"), ("visit_date", "unique")} \
        | ({("patient_id", "in_patients")} if thorough else set())
    assert "visits.csv" in str(err.value) and "Line 3 (values '2025-01-01')" in str(err.value)


def test_visit_before_diagnosis_is_refused(tmp_path):
    folder = _copy(tmp_path, "patient_id,visit_date\nP1,2019-01-01\n")
    text = (folder / "patients.csv").read_text().splitlines()
    text = [text[0] + ",sle_diagnosis_date"] + [line + ",2020-01-01" for line in text[1:]]
    (folder / "patients.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(ExtractError, match="sle_diagnosis_date"):
        load_extract(folder)


def test_visits_load_the_same_from_the_cache_and_from_parquet(tmp_path, hand):
    again = load_extract(HERE)
    assert again.cached and again.visits.equals(hand.visits)
    folder = tmp_path / "pq"
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("protocol.yaml", "visits.csv"))
    pd.read_csv(HERE / "visits.csv", parse_dates=["visit_date"]).to_parquet(folder / "visits.parquet")
    from_parquet = load_extract(folder)
    assert (from_parquet.visits["sledai_2k"].astype("Float64").fillna(-1).to_numpy()
            == hand.visits["sledai_2k"].astype("Float64").fillna(-1).to_numpy()).all()
    assert from_parquet.hash != hand.hash


def test_without_a_visits_table_the_extract_loads_as_before(tmp_path, hand):
    folder = tmp_path / "nov"
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("protocol.yaml", "visits.csv"))
    ex = load_extract(folder)
    assert ex.visits is None and not ex.has_visits and ex.hash != hand.hash
    over = EligibilityOverTime(ex, PROTOCOL)
    assert len(over.visits) == 6 and over.visits["baseline"].all()


# --- properties: one visit per patient changes no count; earlier visits never change the last one ----------

_GENERATED: dict[tuple[int, int], object] = {}
PROTOCOLS = ["misle-phase2", "belimumab-bliss52", "deucravacitinib-paisley"]


def _generated(n: int, seed: int, root: Path):
    from screening.synth.synthetic import generate, write_extract

    if (n, seed) not in _GENERATED:
        _GENERATED[(n, seed)] = load_extract(write_extract(generate(n, seed), root / f"g{n}_{seed}"))
    return _GENERATED[(n, seed)]


def _with_visits(ex, patients, days_before, sledai):
    """``ex`` with a visits table: one visit per listed patient, ``days_before`` its baseline."""
    from dataclasses import replace


    p = ex.patients.iloc[patients]
    visits = pd.DataFrame({"patient_id": pd.Categorical(p.index, dtype=pd.CategoricalDtype(ex.patients.index)),
                           "visit_date": (p["baseline_date"] - pd.to_timedelta(days_before, unit="D")).to_numpy(),
                           "sledai_2k": pd.array(sledai, dtype="Int32")})
    visits = visits[visits["visit_date"].notna()].reset_index(drop=True)
    return replace(ex, visits=visits, _rows={**ex._rows, "visits": np.asarray(visits["patient_id"].cat.codes)})


def _same_funnel(a, b) -> None:
    assert (a.states == b.states).all()
    for table in ("summary", "attrition", "criteria_table"):
        pd.testing.assert_frame_equal(getattr(a, table)(), getattr(b, table)())


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SMALL = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SMALL
@given(st.sampled_from([30, 60]), st.integers(0, 2), st.sampled_from(PROTOCOLS), st.booleans())
def test_one_visit_per_patient_changes_no_count(tmp_path_factory, n, seed, protocol, table):
    ex = _generated(n, seed, tmp_path_factory.getbasetemp())
    if table:  # a visits table whose only visit is each patient's baseline, with its own SLEDAI-2K
        ex = _with_visits(ex, list(range(n)), [0] * n, ex.patients["sledai_2k"].to_numpy())
    over = EligibilityOverTime(ex, protocol)
    today = screen(ex, protocol)
    _same_funnel(over.screening, today)
    counts = today.summary()["patients"].tolist()
    assert over.at_last_visit["patients"].tolist() == counts == over.any_visit(12)["patients"].tolist()
    eligible = counts[0]
    assert over.monthly()["newly_eligible"].sum() == over.visits.dropna(subset=["visit_date"])["status"] \
        .eq("eligible").sum() <= eligible


@SMALL
@given(st.integers(0, 2), st.sampled_from(PROTOCOLS), st.data())
def test_earlier_visits_never_change_the_last_one(tmp_path_factory, seed, protocol, data):
    ex = _generated(30, seed, tmp_path_factory.getbasetemp())
    who = data.draw(st.lists(st.integers(0, 29), min_size=1, max_size=30, unique=True))
    days = data.draw(st.lists(st.integers(1, 900), min_size=len(who), max_size=len(who)))
    scores = data.draw(st.lists(st.integers(0, 30), min_size=len(who), max_size=len(who)))
    over = EligibilityOverTime(_with_visits(ex, who, days, scores), protocol)
    today = screen(ex, protocol)
    last = over.visits["baseline"].to_numpy()
    assert (over.screening.states[last] == today.states).all()
    assert over.at_last_visit["patients"].tolist() == today.summary()["patients"].tolist()
    anytime = over.any_visit(36)["patients"].tolist()
    assert anytime[0] >= today.summary()["patients"][0] and sum(anytime) == 30


def test_row_by_row_agrees_on_generated_visits_with_dated_tests_and_medications(tmp_path_factory):
    # earlier visits of generated patients: ANA and labs dated after some of them, courses begun after them
    ex = _generated(30, 1, tmp_path_factory.getbasetemp())

    rng = np.random.default_rng(7)
    over_ex = _with_visits(ex, list(range(30)), rng.integers(20, 1500, 30).tolist(), rng.integers(0, 16, 30).tolist())
    protocol = load_protocol("misle-phase2")
    over = EligibilityOverTime(over_ex, protocol)
    naive = naive_visit_states(over_ex, protocol)
    assert (naive[over.screening.ids].to_numpy() == over.screening.states).all()
    assert len(naive) > 30 and (over.visits["status"] == "eligible").any()


def test_an_age_at_a_visit_that_straddles_the_limit_is_not_assessable(hand):
    # P4, 66 at baseline, was 63 or 64 two years (731 days) before: "at most 63" is then unsettled
    tight = PROTOCOL.with_overrides({"age.max_age": 63})
    over = EligibilityOverTime(hand, tight)
    p4 = over.visits[over.visits["patient_id"] == "P4"]
    assert p4[["status", "criterion"]].astype(str).values.tolist() == [["not_assessable", "age"],
                                                                       ["excluded", "age"]]
    assert (naive_visit_states(hand, tight)[over.screening.ids].to_numpy() == over.screening.states).all()
    loose = EligibilityOverTime(hand, PROTOCOL.with_overrides({"age.max_age": 64}))
    assert str(loose.visits.loc[loose.visits["patient_id"] == "P4", "status"].iloc[0]) == "eligible"
