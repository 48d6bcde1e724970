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

from screening import ExtractError, ProtocolError, load_extract, load_protocol, screen
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

    import numpy as np

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
    import numpy as np

    rng = np.random.default_rng(7)
    over_ex = _with_visits(ex, list(range(30)), rng.integers(20, 1500, 30).tolist(), rng.integers(0, 16, 30).tolist())
    protocol = load_protocol("misle-phase2")
    over = EligibilityOverTime(over_ex, protocol)
    naive = naive_visit_states(over_ex, protocol)
    assert (naive[over.screening.ids].to_numpy() == over.screening.states).all()
    assert len(naive) > 30 and (over.visits["status"] == "eligible").any()


# --- synthetic visits ---------------------------------------------------------------------------------------

def test_synthetic_visits_leave_the_four_tables_unchanged_and_load(tmp_path):
    from screening.synth.synthetic import generate, write_extract

    plain, with_visits = generate(150, seed=4), generate(150, seed=4, visits=True)
    for name, table in plain.items():
        pd.testing.assert_frame_equal(table, with_visits[name])
    ex = load_extract(write_extract(with_visits, tmp_path / "v"))
    assert ex.has_visits and len(ex.visits) > 3 * 150
    over = EligibilityOverTime(ex, "misle-phase2")
    assert over.at_last_visit["patients"].tolist() == screen(ex, "misle-phase2").summary()["patients"].tolist()


def test_synthetic_activity_flares_about_0_65_times_per_patient_year():
    # Petri et al. 1991: 0.65 flares per patient-year in the Hopkins Lupus Cohort, seen quarterly
    import numpy as np

    from screening.synth.visits import _chain

    rng = np.random.default_rng(1)
    quiet = pd.DataFrame({"sledai_2k": pd.array([pd.NA] * 4000, dtype="Int32")})
    chain = _chain(rng, quiet, 4000, 40)
    flares = (chain[:, 1:] & ~chain[:, :-1]).sum() / (4000 * 40 / 4)
    assert 0.55 < flares < 0.75


# --- recruitment projection ------------------------------------------------------------------------------

def test_projection_matches_the_poisson_gamma_means_worked_by_hand():
    from screening.engine.projection import project

    # one site, 24 newly eligible in 12 months: rate (24 + 1/2) / 12 a month under Jeffreys' prior;
    # half screen-fail and all consent: 12.25 expected in a 12-month window, 10 reached in ~(10 - 1/3) / 1.02 months
    monthly = pd.DataFrame({"month": pd.period_range("2024-01", periods=12, freq="M"), "site": "A",
                            "newly_eligible": 2, "newly_eligible_max": 4})
    p = project(monthly, window=12, target=10, screen_failure=0.5, consent=1.0)
    site = p.by_site.set_index(["pool", "site"])
    assert abs(site.loc[("newly_eligible", "A"), "expected_low"] - 12.25) < 0.3
    assert abs(site.loc[("newly_eligible_max", "network"), "expected_high"] - 24.25) < 0.5
    assert site.loc[("newly_eligible", "A"), "interval_low"] < 12.25 < site.loc[("newly_eligible", "A"),
                                                                                "interval_high"]
    assert abs(p.time_to_target.set_index("pool").loc["newly_eligible", "months_median"] - 9.5) < 0.6
    with pytest.raises(ProtocolError):
        project(monthly, consent=1.5)


def test_projection_of_the_hand_extract_per_site_and_chart(over):
    import matplotlib

    matplotlib.use("Agg")
    p = over.projection(window=6, target=81)
    assert list(p.by_site["site"].unique()) == ["A", "B", "network"]
    assert p.plot().get_xlabel() == "patients enrolled in 6 months"
    assert p.plot_cumulative().get_ylabel() == "patients enrolled"


# --- the series, shareable ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated_over(tmp_path_factory):
    from screening.synth.synthetic import generate, write_extract

    ex = load_extract(write_extract(generate(150, seed=5, visits=True), tmp_path_factory.mktemp("g") / "v"))
    return ex, EligibilityOverTime(ex, "misle-phase2")


def test_an_outside_attack_on_the_shared_series_pins_no_small_count(generated_over):
    # The relations a reader knows, declared here afresh: running sums and differences between consecutive
    # months, sites adding up to months, the year's totals, the statuses adding up.
    from lp_attack import narrowed
    from screening.disclosure.over_time import over_time_tables
    from screening.disclosure.rule import SHAREABLE

    shown = over_time_tables(generated_over[1])
    names, labels, index = [], [], {}
    for table, frame in shown.items():
        for col in frame.columns[frame.columns.get_loc("site") + 1 if "site" in frame else 1:]:
            for i, label in enumerate(frame[col]):
                index[(table, i, col)] = len(names)
                names.append(((table, i, col), label))
                labels.append(label)
    bounds = [tuple(b) for b in SHAREABLE.intervals(labels, cap=10 ** 6)]
    eq, le = [], []
    v = lambda t, i, c: index[(t, i, c)]  # noqa: E731

    def total(whole, parts):
        eq.append({whole: 1, **{p: -1 for p in parts}})

    st = "over_time_status"
    for col in ("last_visit", "any_visit_12_months"):
        total(v(st, 0, col), [v(st, i, col) for i in (1, 2, 3)])
    le.append({v(st, 1, "last_visit"): 1, v(st, 1, "any_visit_12_months"): -1})
    m, n = shown["over_time_monthly"], len(shown["over_time_monthly"])
    for i in range(n):
        for small, large in (("newly_eligible", "eligible_visits"), ("eligible_visits", "visits"),
                             ("newly_eligible", "newly_eligible_max"), ("newly_eligible_max", "visits")):
            le.append({v("over_time_monthly", i, small): 1, v("over_time_monthly", i, large): -1})
        total(v("over_time_monthly", i, "newly_eligible_so_far"), [v("over_time_monthly", i, "newly_eligible")]
              + ([v("over_time_monthly", i - 1, "newly_eligible_so_far")] if i else []))
    sites, year = shown["over_time_by_site"], set(m["month"].tail(12))
    totals = shown["over_time_by_site_12_months"]
    for col in ("newly_eligible", "newly_eligible_max"):
        for i, month in enumerate(m["month"]):
            total(v("over_time_monthly", i, col), [v("over_time_by_site", j, col)
                                                    for j in np.flatnonzero(sites["month"] == month)])
        for k, site in enumerate(totals["site"]):
            rows = np.flatnonzero(sites["month"].isin(year) & (sites["site"] == site)) if site != "network" else []
            parts = [v("over_time_by_site", j, col) for j in rows] if site != "network" else \
                [v("over_time_monthly", i, col) for i in range(n) if m["month"].iloc[i] in year]
            total(v("over_time_by_site_12_months", k, col), parts)
    assert labels.count("≤10") > 50
    # attacked: the running sums and the months they difference, the statuses, the year's totals
    attacked = [(key, label if key[0] != "over_time_by_site" and key[2] != "visits" else "")
                for key, label in names]
    assert narrowed(attacked, bounds, eq, le, "≤10", 3) == []


def test_the_report_joins_the_series_to_its_headline_and_projects_from_what_it_shows(generated_over):
    from screening.disclosure.over_time import published_projection
    from screening.disclosure.shareable import shareable_tables

    ex, over = generated_over
    tables = shareable_tables(screen(ex, "misle-phase2"), whatif=False, over_time=over)
    head = tables["headline"]["patients"].tolist()
    assert tables["over_time_status"]["last_visit"].tolist() == [head[0], head[1], head[4], head[2]]
    assert {"over_time_monthly", "over_time_by_site", "over_time_by_site_12_months"} <= set(tables)
    projected = published_projection(tables)
    network = projected["over_time_projection"].set_index(["pool", "site"])
    assert network.loc[("newly_eligible", "network"), "expected_low"] <= \
        network.loc[("newly_eligible_max", "network"), "expected_high"]
    assert list(projected["over_time_time_to_target"]["target"]) == [81, 81]


def test_the_network_series_holds_the_pooled_truth_in_every_month(generated_over):
    # two "sites" of one extract, each publishing its monthly series by the rule: their sum must hold the truth
    from screening.disclosure.rule import SHAREABLE
    from screening.network.over_time import COLUMNS, merge_monthly

    ex, over = generated_over
    visits = over.visits
    truth = over.monthly().rename(columns={"eligible": "eligible_visits"})
    truth["newly_eligible_so_far"] = truth["newly_eligible"].cumsum()
    frame, newly = visits.assign(month=visits["visit_date"].dt.to_period("M")), over.newly()
    sites = {}
    for name, members in (("east", ["S01", "S02", "S03"]), ("west", ["S04", "S05", "S06", "S07", "S08"])):
        mine = frame["site"].isin(members).to_numpy()
        part = pd.DataFrame({"month": frame["month"][mine], "visits": 1,
                             "eligible_visits": (frame["status"] == "eligible")[mine],
                             "newly_eligible": newly["newly_eligible"][mine],
                             "newly_eligible_max": newly["newly_eligible_max"][mine]})
        table = part.groupby("month").sum().reindex(truth["month"], fill_value=0).astype(int)
        table["newly_eligible_so_far"] = table["newly_eligible"].cumsum()
        shown = table.reset_index().astype({"month": str})
        for c in COLUMNS:
            shown[c] = SHAREABLE.labels(table[c])
        sites[name] = (shown, SHAREABLE)
    merged = merge_monthly(sites)
    assert len(merged) == len(truth)
    for c in COLUMNS:
        assert (merged[f"{c}_low"].to_numpy() <= truth[c].to_numpy()).all()
        assert (truth[c].to_numpy() <= merged[f"{c}_high"].to_numpy()).all()


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
