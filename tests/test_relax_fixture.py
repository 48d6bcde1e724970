"""A hand-made 12-patient extract: subset counts, Shapley values, near misses and the frontier worked out by hand.

Every patient is the boundary fixture's eligible base patient (woman, 40, White, SLEDAI-2K 8,
60 kg, prednisone 10 mg/day) with the changes listed. Baseline 2024-06-15.
"""

from __future__ import annotations

import pytest

import boundary
from screening import load_extract, screen

pytestmark = pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")

HCQ = boundary.HCQ
PRED_36 = ("prednisone", "glucocorticoid", "2023-01-01", None, 36.0, "mg/day")  # 0.6 mg/kg/day at 60 kg
BELIMUMAB = ("belimumab", "biologic", "2023-01-01", "2024-04-21", 600.0, "mg")  # stopped 55 days before baseline

PEOPLE = {
    "P01": ({}, None, {}),
    "P02": ({}, None, {}),
    "P03": ({"sledai_2k": 5}, None, {}),  # fails SLEDAI ≥ 6 only, by 1 point
    "P04": ({"sledai_2k": 3}, None, {}),  # fails SLEDAI only, by 3 points
    "P05": ({"sledai_2k": 4}, [HCQ, PRED_36], {}),  # fails SLEDAI and glucocorticoid
    "P06": ({}, [HCQ, PRED_36], {}),  # fails glucocorticoid only: 0.6 against 0.5 mg/kg/day
    "P07": ({}, boundary.BASE_MEDS + [BELIMUMAB], {}),  # belimumab 55 days ago against 2 months (61 days)
    "P08": ({"age_years": 17}, None, {}),  # fails age only, by a year
    "P09": ({"sledai_2k": None}, None, {}),  # SLEDAI unknown: not assessable
    "P10": ({"sledai_2k": 5, "dialysis": True}, None, {}),  # fails SLEDAI and dialysis
    "P11": ({"egfr": 25.0}, None, {}),  # fails eGFR < 30 only, by 5
    "P12": ({"sledai_2k": 5, "egfr": None}, None, {}),  # fails SLEDAI, eGFR unknown
}


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    return screen(load_extract(boundary.write(tmp_path_factory.mktemp("twelve"), PEOPLE)))


def test_the_protocol_as_shipped(s):
    assert s.summary().set_index("status")["patients"].to_dict() == {"eligible": 2, "excluded": 9,
                                                                     "not_assessable": 1}


def test_pools_with_criteria_dropped(s):
    # SLEDAI dropped: P03, P04 and P09 join P01, P02; P12 is left unknown on eGFR.
    assert s.pool_if_dropped(["sledai"]) == {"eligible": 5, "not_assessable": 1, "excluded": 6, "eligible_max": 6}
    # and glucocorticoid: P05, P06 too.
    assert s.pool_if_dropped(["sledai", "glucocorticoid"])["eligible"] == 7
    assert s.pool_if_dropped(["dialysis"])["eligible"] == 2  # P10 fails SLEDAI as well
    assert s.pool_if_dropped(["sledai", "dialysis"])["eligible"] == 6
    assert set(s.subsets().ids) == {"age", "sledai", "egfr", "dialysis", "glucocorticoid", "belimumab"}


def test_shapley_shares_each_exclusion_among_the_criteria_failed(s):
    # P03, P04, P12: SLEDAI 1 each; P05: SLEDAI ½, glucocorticoid ½; P10: SLEDAI ½, dialysis ½; P06, P07, P08, P11: 1.
    table = s.shapley().set_index("criterion")
    expected = {"sledai": 4.0, "glucocorticoid": 1.5, "belimumab": 1.0, "age": 1.0, "dialysis": 0.5, "egfr": 1.0}
    for cid, value in expected.items():
        assert table.loc[cid, "shapley_excluded"] == pytest.approx(value)
    assert table["shapley_excluded"].sum() == pytest.approx(9)
    assert table.loc["sledai", ["excluded_alone", "excluded_uniquely"]].tolist() == [5, 3]  # P03 P04 P05 P10 P12


def test_near_misses_and_their_distances(s):
    summary = s.near_misses().set_index("criterion")
    assert summary["near_misses"][summary["near_misses"] > 0].to_dict() == {
        "age": 1, "sledai": 2, "egfr": 1, "glucocorticoid": 1, "belimumab": 1}
    assert summary.loc["sledai", "fail_only_unknown_elsewhere"] == 1  # P12
    patients = s.near_miss_patients()
    assert patients["distance"].to_dict() == {"P08": 1.0, "P03": 1.0, "P04": 3.0, "P11": 5.0, "P06": 0.1,
                                              "P07": 6.0}
    assert patients.loc[["P03", "P11", "P06", "P07"], "unit"].tolist() == ["points", "mL/min/1.73 m²",
                                                                          "mg/kg/day", "days"]
    h = s.near_miss_histogram().set_index(["criterion", "band"])["patients"]
    assert h.loc["sledai"].to_dict() == {"1 points": 1, "2 points": 0, "3 points": 1, "4–5 points": 0,
                                         "6+ points": 0, "(not measured)": 0}
    assert h.loc[("belimumab", "0–7 days")] == 1 and h.loc[("glucocorticoid", "0.1 mg/kg/day")] == 1
    assert h.loc[("egfr", "3–7.5 mL/min/1.73 m²")] == 1


def test_best_relaxations_of_one_two_and_three_changes(s):
    best = s.best_relaxations(top=1).set_index("n_changes")
    assert best.loc[1, ["changes", "gain"]].tolist() == ["drop sledai", 3]
    # Two changes gaining 5: SLEDAI with eGFR (P03 P04 P09 P11 P12) or with glucocorticoid (P03 P04 P05 P06 P09);
    # both shift SLEDAI bands alike (6–9: 3/7 against 1), so the names decide.
    assert best.loc[2, ["changes", "gain"]].tolist() == ["drop sledai; drop egfr", 5]
    assert best.loc[2, "smd_max"] == pytest.approx(1.633, abs=1e-3)
    # Three: SLEDAI, eGFR and glucocorticoid gain all but P08 and P10 (6–9: 4/9, SMD 1.581).
    assert best.loc[3, ["changes", "gain"]].tolist() == ["drop sledai; drop egfr; drop glucocorticoid", 7]
    assert best.loc[3, "smd_max"] == pytest.approx(1.581, abs=1e-3)
    f = s.frontier().set_index("changes")
    # SLEDAI dropped: SLEDAI bands 6–9 2/5, 4–5 1/5, 0–3 1/5, missing 1/5 against 6–9 alone:
    # (0.4 − 1) / √(0.4·0.6 / 2) = −1.732.
    assert f.loc["drop sledai", "smd_max"] == pytest.approx(1.732, abs=1e-3)
    # eGFR dropped: P11 (eGFR 25) joins P01, P02: a third of the pool has eGFR < 60, none had.
    assert f.loc["drop egfr", "risk_egfr_below_60_pp"] == pytest.approx(33.3)
    assert f.loc["belimumab.months = 1", "gain"] == 1  # 55 days ago is outside a 1-month look-back


def test_frontier_of_pool_gained_against_make_up(s):
    """Worked by hand: glucocorticoid, belimumab and eGFR patients look like the pool (SMD 0, 3 gained);
    SLEDAI ≥ 4 with two of those adds P03 and P05 or P12 (SMD 1.0); ≥ 3 adds P04 (1.225); SLEDAI dropped adds
    P09 (1.414); SLEDAI, eGFR and glucocorticoid dropped gain 7 (1.581)."""
    f = s.frontier()
    on = f[f["frontier_makeup"]]
    assert sorted(set(zip(on["gain"], on["smd_max"].round(3), strict=True))) == [
        (0, 0.0), (3, 0.0), (4, 1.0), (5, 1.225), (6, 1.414), (7, 1.581)]
    shipped = f.iloc[0]
    assert (shipped["changes"], shipped["gain"], shipped["frontier_makeup"]) == ("as shipped", 0, True)


def test_charts_return_axes_with_the_shipped_protocol_marked(s):
    import matplotlib

    matplotlib.use("Agg")
    from screening.views.relax_charts import near_miss_chart, shapley_chart

    for against in ("makeup", "risk"):
        ax = s.plot_frontier(against=against)
        assert "as shipped" in [t.get_text() for t in ax.get_legend().get_texts()]
        star = [c for c in ax.collections if c.get_label() == "as shipped"][0]
        assert star.get_offsets().tolist() == [[0.0, 0.0]]
    assert type(shapley_chart(s.shapley())).__name__ == "Axes"
    assert near_miss_chart(s.near_miss_histogram()).get_title() != ""


def test_choosing_a_frontier_point_sets_the_panels_criteria(s):
    from screening import whatif_panel

    panel = whatif_panel(s.extract, small_cell=0)
    tab = panel.relax_tab
    tab.draw()
    listed = [value for _, value in tab.points.options]
    assert "drop sledai; drop egfr; drop glucocorticoid" in listed  # the (7, 1.581) point
    chosen = next(v for v in listed if v.startswith("sledai.min = 3"))
    tab.points.value = chosen
    tab.apply()  # SLEDAI ≥ 3 with two of glucocorticoid, belimumab, eGFR dropped or loosened: gain 5
    row = tab.frontier.set_index("changes").loc[chosen]
    assert panel.sliders["sledai.min"].value == 3
    assert {cid for cid, box in panel.boxes.items() if not box.value} == set(row["dropped"])
    assert all(panel.sliders[name].value == value for name, value in row["set"].items())
    assert panel.view.headline["eligible"] == 2 + 5
    tab.choose("as shipped")
    assert panel.view.headline["eligible"] == 2 and all(box.value for box in panel.boxes.values())
    assert panel.widget.get_title(1) == "What opens the pool"
