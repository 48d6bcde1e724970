"""Eligible over time beyond the engine: synthetic visits, the recruitment projection, the shared series, the network.

The hand-made extract is ``tests/fixtures/visits`` (see ``tests/test_over_time.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening import ProtocolError, load_extract, load_protocol, screen
from screening.engine.over_time import EligibilityOverTime

HERE = Path(__file__).parent / "fixtures" / "visits"


@pytest.fixture(scope="module")
def over():
    return EligibilityOverTime(load_extract(HERE), load_protocol(HERE / "protocol.yaml"))


# --- synthetic visits ---------------------------------------------------------------------------------------

def test_without_visits_the_four_tables_are_byte_for_byte_what_they_were(tmp_path):
    from screening.io.extract import extract_hash
    from screening.synth.synthetic import generate, write_extract

    # the hash of these four files before visits, their labs and their flare courses existed
    folder = write_extract(generate(200, seed=1), tmp_path / "plain")
    assert extract_hash(sorted(folder.iterdir())) == "8c3ce9ce45cdf27b1a5e4a77851dd4c99cf569d8615d3f0da74ce745f9ca4413"


@pytest.fixture(scope="module")
def synthetic_pair():
    from screening.synth.synthetic import generate

    return generate(150, seed=4), generate(150, seed=4, visits=True)


def test_synthetic_visits_keep_patients_and_events_and_load(synthetic_pair, tmp_path):
    from screening.synth.synthetic import write_extract

    plain, with_visits = synthetic_pair
    for name in ("patients", "malignancies", "infections"):
        pd.testing.assert_frame_equal(plain[name], with_visits[name])
    ex = load_extract(write_extract(with_visits, tmp_path / "v"))
    assert ex.has_visits and len(ex.visits) > 3 * 150
    over = EligibilityOverTime(ex, "misle-phase2")
    assert over.at_last_visit["patients"].tolist() == screen(ex, "misle-phase2").summary()["patients"].tolist()


def test_flare_courses_replace_the_ended_courses_of_the_follow_up(synthetic_pair):
    plain, with_visits = synthetic_pair
    first = with_visits["visits"].groupby("patient_id")["visit_date"].min()
    base = plain["patients"].set_index("patient_id")["baseline_date"]
    key = ["patient_id", "drug", "start_date", "stop_date"]
    before, after = (t["medications"].astype({"dose": "float"}).fillna({"dose": -1}) for t in synthetic_pair)
    # every row the visits did not replace is still there; the ongoing ones (the baseline's) all are
    replaced = (before["drug_class"] == "glucocorticoid") & before["stop_date"].notna() \
        & (before["start_date"] >= before["patient_id"].map(first))
    kept = before[~replaced].merge(after, how="left", on=[*key, "drug_class", "dose", "dose_unit"], indicator=True)
    assert replaced.any() and (kept["_merge"] == "both").all()
    new = after.merge(before, how="left", on=key, indicator=True)
    new = new[new["_merge"] == "left_only"]
    assert len(new) and (new["drug_class_x"] == "glucocorticoid").all()
    # each begins at or after the patient's first visit and ends before the baseline
    assert (new["start_date"] >= new["patient_id"].map(first)).all()
    assert (new["stop_date"] < new["patient_id"].map(base)).all() and (new["stop_date"] >= new["start_date"]).all()
    # a course's segments never overlap another flare course of the patient: doses are not added up by mistake
    new = new.sort_values(["patient_id", "start_date"])
    same = new["patient_id"].to_numpy()[1:] == new["patient_id"].to_numpy()[:-1]
    assert (new["start_date"].to_numpy()[1:][same] > new["stop_date"].to_numpy()[:-1][same]).all()
    # and each course starts on a visit day (the pulse, or the prednisone without one)
    visit_days = set(zip(with_visits["visits"]["patient_id"], with_visits["visits"]["visit_date"], strict=True))
    starts = new.groupby("patient_id")["start_date"].min()
    assert all((pid, day) in visit_days for pid, day in starts.items())
    assert (new["dose_unit_x"] == "mg/day").all()


def test_visit_labs_follow_the_flares(synthetic_pair):
    v = synthetic_pair[1]["visits"]
    score = v["sledai_2k"].astype("Float64")
    low = (v["c3"] < 90) | (v["c4"] < 10)
    assert low[score >= 8].mean() > low[score <= 2].mean() + 0.15
    assert v["anti_dsdna_positive"][score >= 8].mean() > v["anti_dsdna_positive"][score <= 2].mean()
    renal = v["bilag_renal"].isin(["A", "B"])
    assert v["proteinuria_g_per_g"][renal].median() > 0.5 > v["proteinuria_g_per_g"][~renal].median()
    assert (v.loc[renal, "lupus_nephritis"].dropna() != "never").all()
    pga = v[["physician_global", "sledai_2k"]].dropna().astype(float)
    assert pga.corr(method="spearman").iloc[0, 1] > 0.5
    # the latest anti-dsDNA by each visit: dated on or before it, with its result
    dated = v["anti_dsdna_date"].notna()
    assert (v.loc[dated, "anti_dsdna_date"] <= v.loc[dated, "visit_date"]).all()
    assert (v["anti_dsdna_positive"].notna() == dated).all()


def test_visit_calibration_is_met_on_a_small_generated_extract(tmp_path):
    from screening.synth.calibration import calibration_table
    from screening.synth.calibration_visits import VISIT_TARGETS
    from screening.synth.synthetic import generate, write_extract

    ex = load_extract(write_extract(generate(1500, seed=20261125, visits=True, visit_years=2), tmp_path / "c"))
    table = calibration_table(ex).set_index("quantity")
    visits = table.loc[[t.quantity for t in VISIT_TARGETS]]
    assert visits["met"].all(), visits.loc[~visits["met"], ["value", "tolerance"]]
    from dataclasses import replace

    plain = calibration_table(replace(ex, visits=None))
    assert not set(plain["quantity"]) & set(visits.index)  # without visits: the baseline's targets only


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


def _reader_relations(shown: dict) -> tuple[list, list, list, list]:
    """What a reader of the shared series knows, declared here afresh: (key, label) per count, their intervals,
    equalities and inequalities. Running sums and so the difference between consecutive months, sites adding up
    to months, the year's totals per site and for the network, the statuses adding up."""
    from screening.disclosure.rule import SHAREABLE

    names, labels, index = [], [], {}
    for table, frame in shown.items():
        for col in [c for c in frame.columns if c not in ("month", "site", "status", "criterion", "label")]:
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
        # differencing two consecutive months of the running sum gives the month's newly eligible
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
    # the network's year is also the running sum's difference across the year
    if n > 12:
        k = list(totals["site"]).index("network")
        total(v("over_time_by_site_12_months", k, "newly_eligible"),
              [v("over_time_monthly", n - 1, "newly_eligible_so_far")])
        eq[-1][v("over_time_monthly", n - 13, "newly_eligible_so_far")] = 1
    for i in range(len(shown.get("over_time_turning", []))):
        for alone, every in (("into_alone", "into"), ("out_of_alone", "out_of")):
            le.append({v("over_time_turning", i, alone): 1, v("over_time_turning", i, every): -1})
    return names, bounds, eq, le


def test_an_outside_attack_on_the_shared_series_pins_no_small_count(generated_over):
    from lp_attack import narrowed
    from screening.disclosure.over_time import over_time_tables

    shown = over_time_tables(generated_over[1])
    names, bounds, eq, le = _reader_relations(shown)
    assert [label for _, label in names].count("≤10") > 50
    # attacked: the running sums and the months they difference, the statuses, the year's totals
    attacked = [(key, label if key[0] != "over_time_by_site" and key[2] != "visits" else "")
                for key, label in names]
    assert narrowed(attacked, bounds, eq, le, "≤10", 3) == []
    # the projection a report shares reads these labels, never the exact counts
    from screening.disclosure.over_time import published_projection

    projected = published_projection(shown)
    network = projected["over_time_projection"].set_index(["pool", "site"])
    assert network.loc[("newly_eligible", "network"), "expected_low"] <= \
        network.loc[("newly_eligible_max", "network"), "expected_high"]
    assert list(projected["over_time_time_to_target"]["target"]) == [81, 81]


def test_differencing_the_bundled_series_month_by_month_pins_no_small_count(synthetic_extract):
    # The bundled extract's series as its report shares them: 24 months whose settled newly eligible counts
    # are all ≤10 beside a running sum that climbs past 50. Subtracting consecutive running sums, the months
    # from the sites and the year from the running sum must still leave every ≤10 at least 3 values.
    from lp_attack import narrowed
    from screening.disclosure.over_time import over_time_tables

    shown = over_time_tables(EligibilityOverTime(synthetic_extract, "misle-phase2"))
    shown.pop("over_time_turning")
    monthly = shown["over_time_monthly"]
    assert (monthly["newly_eligible"] == "≤10").all() and monthly["newly_eligible_so_far"].iloc[-2] != "≤10"
    names, bounds, eq, le = _reader_relations(shown)
    attacked = [(key, label if key[0] == "over_time_monthly" and key[2] in ("newly_eligible", "newly_eligible_so_far")
                 else "") for key, label in names]
    assert narrowed(attacked, bounds, eq, le, "≤10", 3) == []


def test_the_projection_reads_the_network_year_from_the_running_sum_when_its_cells_are_small():
    # 14 months; each month's newly eligible ≤10, the running sum 20 after month 2 (18–20: two months of ≤10) and
    # 60 (58–62) at the end: the year of months 3–14 holds 38 to 44 patients, though its own cell is hidden (*) and
    # each of 5 sites shows ≤10. At most: the network's 420 (418–422), within the months' 12 × 35 (396–444).
    from screening.disclosure.over_time import network_year, published_projection

    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
    monthly = pd.DataFrame({"month": months, "visits": "500", "eligible_visits": "≤10", "newly_eligible": "≤10",
                            "newly_eligible_max": "35", "newly_eligible_so_far": ["≤10", "20"] + ["*"] * 11 + ["60"]})
    totals = pd.DataFrame({"site": [*"ABCDE", "network"], "newly_eligible": ["≤10"] * 5 + ["*"],
                           "newly_eligible_max": ["85"] * 5 + ["420"]})
    shown = {"over_time_monthly": monthly, "over_time_by_site_12_months": totals}
    assert network_year(shown) == {"newly_eligible": (38, 44), "newly_eligible_max": (418, 422)}
    projected = published_projection(shown)
    network = projected["over_time_projection"].set_index(["pool", "site"])
    assert network.loc[("newly_eligible", "network"), "newly_eligible_per_month"] == 3.17  # 38 / 12
    assert network.loc[("newly_eligible", "A"), "newly_eligible_per_month"] == 0.0  # ≤10 read at its low end
    cumulative = projected["over_time_cumulative"]
    assert list(cumulative["month"].unique()) == list(range(1, 13))
    # As report 01 shows it: each rate the interval its count stands for ÷ 12 (a ≤10 site 0–10, never 0.0;
    # A's upper pool 85 is 83–87), the network's as the sentence gives it; enrolment in whole patients.
    from screening.disclosure.rule import SHAREABLE
    from screening.views.over_time_charts import in_words, over_time_sentence, projection_table

    tables = shown | projected
    table = projection_table(tables, SHAREABLE).set_index(["pool", "site"])["newly_eligible_per_month"]
    assert table[("newly_eligible", "A")] == "0.0–0.8" and table[("newly_eligible_max", "A")] == "6.9–7.2"
    assert table[("newly_eligible", "network")] == "3.2–3.7"  # 38 to 44 ÷ 12
    assert "**3.2–3.7 patients a month**" in over_time_sentence(tables | {"over_time_status": pd.DataFrame(
        {"status": ["eligible"], "last_visit": ["90"], "any_visit_12_months": ["155"]})}, SHAREABLE)
    assert str(in_words(projection_table(tables, SHAREABLE))["enrolled in 12 months, low"].dtype) == "Int64"


def test_the_report_joins_the_series_to_its_headline_and_withholds_sites_in_a_small_extract(tmp_path):
    from screening.disclosure.over_time import published_projection
    from screening.disclosure.shareable import shareable_tables
    from screening.synth.synthetic import generate, write_extract

    ex = load_extract(write_extract(generate(60, seed=2, visits=True), tmp_path / "small"))
    tables = shareable_tables(screen(ex, "misle-phase2"), whatif=False, over_time=EligibilityOverTime(ex))
    head = tables["headline"]["patients"].tolist()
    assert tables["over_time_status"]["last_visit"].tolist() == [head[0], head[1], head[4], head[2]]
    assert len(tables["over_time_monthly"]) == 24
    # below 100 patients no breakdown by site is published: the header alone, listed as withheld
    assert len(tables["over_time_by_site"]) == 0 and len(tables["over_time_by_site_12_months"]) == 0
    assert "over_time_by_site" in " ".join(tables["_withheld"]["withheld"])
    assert published_projection(tables) == {}


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


def test_synth_visits_on_the_command_line_and_the_turning_table_shared(tmp_path, over):
    import io
    from contextlib import redirect_stdout

    from screening.cli import main
    from screening.disclosure.over_time import over_time_tables

    with redirect_stdout(io.StringIO()) as out:
        assert main(["synth", "--patients", "30", "--visits", "--out", str(tmp_path / "s")]) == 0
    assert "with visits" in out.getvalue() and (tmp_path / "s" / "visits.csv").is_file()
    turning = over_time_tables(over)["over_time_turning"].set_index("criterion")
    assert turning.loc["sledai"].tolist()[1:] == ["≤10"] * 4 and list(turning.index)[:2] == ["age", "sledai"]


# --- the what-if panel --------------------------------------------------------------------------------------

def test_the_panel_shows_eligible_over_time_for_the_current_settings(tmp_path):
    # By hand (tests/test_over_time.py): at the last visit P1 and P3 are eligible; in the 12 months before it
    # also P2 (2023-09) and P5 (2023-10). Newly eligible in the last 12 months of the series (2023-07 to
    # 2024-06): P3, P2, P5 and P1 at baseline, and at most P3 again at baseline after its not-assessable
    # visit. SLEDAI-2K ≥ 4 makes P1 eligible from its first visit (2023-06, outside those months).
    from screening.views.panel import whatif_panel

    panel = whatif_panel(load_extract(HERE), load_protocol(HERE / "protocol.yaml"), small_cell=0, folder=tmp_path)
    figures = panel.view.over_time
    assert [figures[k] for k in ("last_visit", "any_visit_12_months", "newly_12_months",
                                 "newly_max_12_months")] == ["2", "4", "4", "5"]
    assert figures["newly_per_month"] == "0.3" and "whatif-any-visit'>4</b>" in panel.over_time.value
    panel.sliders["sledai.min"].value = 4
    figures = panel.view.over_time
    assert [figures[k] for k in ("last_visit", "any_visit_12_months", "newly_12_months",
                                 "newly_max_12_months")] == ["2", "4", "3", "4"]
    shared = whatif_panel(load_extract(HERE), load_protocol(HERE / "protocol.yaml"), folder=tmp_path)
    assert {shared.view.over_time[k] for k in ("last_visit", "any_visit_12_months", "newly_12_months")} == {"≤10"}
    assert shared.view.over_time["newly_per_month"] == "0.0–0.8"  # ≤10 in 12 months, no finer


def test_without_visits_a_notebook_shows_no_series_and_the_panel_nothing_more(tmp_path, boundary_extract):
    import shutil

    from screening.views import over_time_charts
    from screening.views.explorer import Explorer, Settings
    from screening.views.notebook_runner import notebook_state
    from screening.views.panel import over_time_html

    # with visits, notebook 01's committed outputs show the series (nbval re-runs it)
    protocol = str(HERE / "protocol.yaml")
    plain = tmp_path / "plain"
    shutil.copytree(HERE, plain, ignore=shutil.ignore_patterns("protocol.yaml", "visits.csv"))
    _, _, tables = notebook_state(str(plain), protocol, {}, "separate", "site", 10, over_time=True)
    assert not over_time_charts.has_series(tables) and not any(t.startswith("over_time") for t in tables)
    assert over_time_charts.NO_VISITS.count(". ") == 0  # one sentence, all the section then says
    view = Explorer(boundary_extract, small_cell=0).view(Settings())
    assert view.over_time is None and over_time_html(view.over_time) == ""


def test_the_per_site_monthly_chart_draws_each_label_s_interval_and_nothing_for_a_hidden_count():
    import matplotlib

    matplotlib.use("Agg")
    from screening.disclosure.rule import SHAREABLE
    from screening.views.over_time_charts import site_monthly_chart

    months = ["2024-01", "2024-02", "2024-03"]
    monthly = pd.DataFrame({"month": months})
    by_site = pd.DataFrame({"month": months + months[:2], "site": ["A"] * 3 + ["B"] * 2,
                            "newly_eligible": ["≤10", "15", "*", "20", "≤10"],
                            "newly_eligible_max": ["≤10", "25", "*", "30", "15"]})
    axes = site_monthly_chart({"over_time_monthly": monthly, "over_time_by_site": by_site}, SHAREABLE)
    assert [ax.get_title() for ax in axes] == ["A", "B"]
    settled = axes[0].collections[1].get_paths()[0].vertices[:, 1]
    # A: ≤10 spans 0 to 10, 15 stands for 13 to 17 (rounded to 5), the hidden March draws nothing
    assert settled.max() == 17 and settled.min() == 0 and not np.isnan(settled).any()
    most = axes[1].collections[0].get_paths()[0].vertices[:, 1]
    assert most.max() == 32  # B's at most: 30 is 28 to 32
    assert axes[0].get_ylabel() == "patients per month"
