"""The pool's make-up along the funnel, checked against a 10-patient extract computed by hand.

Two criteria: SLEDAI-2K ≥ 6 (inclusion) and eGFR < 30 (exclusion). Patients
(sex, race/ethnicity, SLEDAI, eGFR) and where they leave the funnel:

    P01 F White    8  95   eligible
    P02 F Black    8  20   excluded at egfr
    P03 F Black    4  95   excluded at activity
    P04 M White    8  95   eligible
    P05 F Asian    -  95   not assessable at activity
    P06 - Black   10  95   eligible (sex missing)
    P07 F Black    8   -   not assessable at egfr
    P08 M Asian    2  25   excluded at activity (fails both)
    P09 F White    7  95   eligible
    P10 F Hispanic 9  15   excluded at egfr

Sex in play: step 0 F 7 / M 2 / missing 1; after activity F 5 / M 1 / missing 1;
after egfr F 2 / M 1 / missing 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import shown
from boundary import BASE
from lp_attack import narrowed
from screening import load_extract, screen
from screening.engine.composition import composition_along, differential_exclusion, leave_one_out_by, smd
from screening.synth.synthetic import write_extract

ROWS = [
    ("P01", "F", "White", 8, 95), ("P02", "F", "Black", 8, 20), ("P03", "F", "Black", 4, 95),
    ("P04", "M", "White", 8, 95), ("P05", "F", "Asian", None, 95), ("P06", None, "Black", 10, 95),
    ("P07", "F", "Black", 8, None), ("P08", "M", "Asian", 2, 25), ("P09", "F", "White", 7, 95),
    ("P10", "F", "Hispanic", 9, 15),
]

PROTOCOL = """\
id: two-criteria
title: "Two criteria, for hand-computed make-up tables"
criteria:
  - {id: activity, label: "SLEDAI-2K ≥ 6", kind: inclusion, rule: column,
     params: {column: sledai_2k, op: ">=", value: 6}}
  - {id: egfr, label: "eGFR < 30", kind: exclusion, rule: column, params: {column: egfr, op: "<", value: 30}}
"""


# The fixture records no nephritis history at all; the loader rightly warns, and nothing here reads it.
pytestmark = pytest.mark.filterwarnings("ignore:.*empty in every row")


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    import pandas as pd

    from screening.io.schema import TABLES

    folder = tmp_path_factory.mktemp("makeup")
    patients = pd.DataFrame([{"patient_id": pid, **BASE, "sex": sex, "race_ethnicity": race, "sledai_2k": sledai,
                              "egfr": egfr} for pid, sex, race, sledai, egfr in ROWS])
    empty = {name: pd.DataFrame(columns=[f.name for f in TABLES[name]])
             for name in ("medications", "malignancies", "infections")}
    write_extract({"patients": patients, **empty}, folder / "extract")
    (folder / "two.yaml").write_text(PROTOCOL, encoding="utf-8")
    return screen(load_extract(folder / "extract"), str(folder / "two.yaml"))


def test_the_hand_made_funnel_is_as_worked_out(s):
    assert s.summary()["patients"].tolist() == [4, 4, 2]


def _row(table, step, group):
    return table[(table["step"] == step) & (table["group"] == group)].iloc[0]


def test_counts_in_play_per_step_and_group_with_missing_as_a_group(s):
    t = composition_along(s, ["sex"])
    got = {(r.step, r.group): r.patients for r in t.itertuples()}
    assert got == {(0, "F"): 7, (0, "M"): 2, (0, "(missing)"): 1,
                   (1, "F"): 5, (1, "M"): 1, (1, "(missing)"): 1,
                   (2, "F"): 2, (2, "M"): 1, (2, "(missing)"): 1}
    # Each step's groups add up to the attrition table's patients still in play.
    in_play = t.groupby("step")["patients"].sum().tolist()
    assert in_play == [10, 7, 4]
    assert t.groupby("step")["in_play"].first().tolist() == in_play


def test_shares_and_smds_equal_hand_computed_values(s):
    t = composition_along(s, ["sex"])
    assert _row(t, 1, "F")["percent"] == 71.4  # 5 of 7
    # (5/7 - 7/10) / sqrt((5/7 * 2/7 + 0.7 * 0.3) / 2) = 0.0314
    assert _row(t, 1, "F")["smd_vs_extract"] == 0.031
    # (1/2 - 5/7) / sqrt((0.25 + 5/7 * 2/7) / 2) = -0.4497
    assert _row(t, 2, "F")["smd_vs_previous"] == -0.450
    # Missing sex: 1 of 4 against 1 of 10: (0.25 - 0.1) / sqrt((0.1875 + 0.09) / 2) = 0.4027
    assert _row(t, 2, "(missing)")["smd_vs_extract"] == 0.403
    assert (t[t["step"] == 0]["smd_vs_extract"] == 0).all()


def test_race_ethnicity_includes_every_level_seen(s):
    t = composition_along(s, ["race_ethnicity"])
    assert sorted(t[t["step"] == 0]["group"]) == ["Asian", "Black", "Hispanic", "White"]
    assert _row(t, 2, "Black")["patients"] == 1  # only P06 remains


def test_differential_exclusion_by_sex(s):
    t = differential_exclusion(s, "sex").set_index(["criterion", "sex"])
    f1, m1, f2 = t.loc[("activity", "F")], t.loc[("activity", "M")], t.loc[("egfr", "F")]
    # Alone: activity fails P03 (F) and P08 (M); overall 2 of 10.
    assert (f1["removed_alone"], f1["share_alone"], f1["ratio_alone"]) == (1, 14.3, 0.71)
    assert (m1["removed_alone"], m1["share_alone"], m1["ratio_alone"]) == (1, 50.0, 2.5)
    # In sequence: eGFR excludes P02 and P10 of the 5 women entering; overall 2 of 7.
    assert (f2["entering"], f2["removed_in_sequence"], f2["share_in_sequence"]) == (5, 2, 40.0)
    assert f2["ratio_in_sequence"] == 1.4
    # Women's share of those in play: 70 % → 71.4 % at activity, → 50 % at eGFR.
    assert (f1["pool_share_before"], f1["pool_share_after"], f1["share_change"]) == (70.0, 71.4, 1.4)
    assert (f2["pool_share_before"], f2["pool_share_after"], f2["share_change"]) == (71.4, 50.0, -21.4)
    assert f2["rank_within_group"] == 1 and f1["rank_within_group"] == 2
    missing = t.loc[("activity", "(missing)")]
    assert missing["patients_in_group"] == 1 and missing["share_alone"] == 0.0


def test_leave_one_out_by_sex(s):
    t = leave_one_out_by(s, "sex").set_index(["criterion", "sex"])
    # Now: P01, P09 (F), P04 (M), P06 (missing): women 50 %.
    assert t.loc[("activity", "F"), "eligible"] == 2 and t.loc[("activity", "F"), "share_now"] == 50.0
    # Without activity: P01, P03, P05, P09 (F), P04, P06 → women 4 of 6.
    assert t.loc[("activity", "F"), ["eligible_without", "share_without", "share_change"]].tolist() == [4, 66.7, 16.7]
    # Without eGFR: P01, P02, P07, P09, P10 (F), P04, P06 → women 5 of 7.
    assert t.loc[("egfr", "F"), ["eligible_without", "share_without", "share_change"]].tolist() == [5, 71.4, 21.4]


def test_smd_edge_cases():
    assert smd(0.0, 0.0) == 0 and smd(1.0, 1.0) == 0
    assert math.isnan(smd(0.0, 1.0)) and math.isnan(smd(np.nan, 0.5))
    assert smd(0.5, 0.25) == pytest.approx(0.25 / math.sqrt((0.25 + 0.1875) / 2))


# --- shareable: the same tables protected together with the funnel ------------------------------------------


def test_small_groups_are_merged_and_missing_stays_apart():
    import pandas as pd

    from screening.engine.groups import SMALL_GROUPS, merge_small_groups

    groups = pd.Series(["A"] * 40 + ["B"] * 12 + ["C"] * 20 + ["(missing)"] * 3)
    merged, small = merge_small_groups(groups, 30)
    assert small == ["B", "C"]
    assert merged.value_counts().to_dict() == {"A": 40, SMALL_GROUPS: 32, "(missing)": 3}
    # A declared group no one is in is small too: merged, so no table leaves it out.
    assert merge_small_groups(groups, 30, declared=["A", "B", "C", "D"])[1] == ["B", "C", "D"]


def test_a_declared_group_the_data_lack_is_merged_or_withheld_never_left_out(s):
    """A table of groups adding up to the patients in play that leaves a group out says it holds no one: every
    declared group is listed, merged, or in a merged row withheld; ``(missing)`` is listed held or not."""
    from screening.engine.composition import makeup_tables
    from screening.engine.groups import SMALL_GROUPS

    m = makeup_tables(s, ("sex", "race_ethnicity"), ("sex", "race_ethnicity"), min_group=1)
    at_start = m.along[m.along["step"] == 0].set_index(["characteristic", "group"])["patients"]
    # Sex: F 7, M 2, one missing; every declared group held, nothing merged.
    assert at_start["sex"].to_dict() == {"(missing)": 1, "F": 7, "M": 2} and m.complete["sex"]
    # Race: no one is Other and no one lacks a race. Other alone is merged, a row of no one: withheld, and
    # with it the tables by race, whose groups would add up without it.
    assert m.merged["race_ethnicity"] == ["Other"] and not m.complete["race_ethnicity"]
    assert at_start["race_ethnicity"].to_dict() == {"(missing)": 0, "Asian": 2, "Black": 4, "Hispanic": 1, "White": 3}
    assert SMALL_GROUPS not in at_start["race_ethnicity"] and "race_ethnicity" not in m.differential
    assert sorted(set(m.differential["sex"]["sex"])) == ["(missing)", "F", "M"]


def test_internal_tables_equal_the_exact_ones(s):
    from screening.disclosure.rule import INTERNAL
    from screening.disclosure.shareable import shareable_tables

    tables = shareable_tables(s, INTERNAL, subgroup="sex", whatif=False)
    exact = differential_exclusion(s, "sex")
    shown = tables["differential_sex"]
    assert shown["removed_alone"].tolist() == exact["removed_alone"].tolist()
    assert shown["share_alone"].astype(float).tolist() == exact["share_alone"].tolist()
    assert shown["ratio_in_sequence"].astype(float).tolist() == exact["ratio_in_sequence"].fillna(0).tolist() or \
        shown["ratio_in_sequence"].tolist() == [("*" if v != v else str(v)) for v in exact["ratio_in_sequence"]]
    along = composition_along(s, ["sex"])
    makeup = tables["makeup"][tables["makeup"]["characteristic"] == "sex"]
    assert makeup["patients"].tolist() == along["patients"].tolist()
    assert makeup["smd_vs_previous"].astype(float).tolist() == along["smd_vs_previous"].tolist()


@pytest.fixture(scope="module")
def shared(synthetic_extract):
    from screening.disclosure.rule import SmallCellRule
    from screening.disclosure.shareable import published_counts, shareable_tables

    s = screen(synthetic_extract)
    rule = SmallCellRule(10, 5)
    return s, shareable_tables(s, rule, whatif=False), published_counts(s, rule, whatif=False)


def test_shareable_makeup_percentages_come_from_rounded_counts(shared):
    _, tables, _ = shared
    m, a = tables["makeup"], tables["attrition"]
    row = m[(m["characteristic"] == "race_ethnicity") & (m["step"] == 4) & (m["group"] == "White")].iloc[0]
    assert float(row["percent"]) == round(100 * int(row["patients"]) / int(a["remaining"][4]), 1)
    assert set(tables) >= {"differential_sex", "differential_race_ethnicity", "differential_age_years",
                           "leave_one_out_sex"}


def _attack_makeup(tables, rule) -> list[tuple]:
    """An attacker's LP from the tables' text alone: the funnel chain and the make-up's own sums.

    Each step's groups add up to the step's patients still in play; per criterion, the groups'
    removals add up to the criterion's and the step's; a group never grows. Returns the
    redacted counts narrowed to fewer than 3 values.
    """
    names, bounds, index = [], [], {}

    def var(key, label):
        if key not in index:
            index[key] = len(names)
            names.append((key, str(label)))
            # The attacker takes a hidden count (*) to be above the threshold, as the report hides only those.
            hidden = str(label) == "*"
            bounds.append((rule.threshold + 1, 10**6) if hidden else tuple(rule.intervals([str(label)])[0]))
        return index[key]

    eqs, les = [], []
    a = tables["attrition"]
    k = len(a) - 1
    rem = [var(("a", i, "remaining"), a["remaining"][i]) for i in range(k + 1)]
    exc = [None] + [var(("a", i, "excluded"), a["excluded"][i]) for i in range(1, k + 1)]
    na = [None] + [var(("a", i, "not_assessable"), a["not_assessable"][i]) for i in range(1, k + 1)]
    for i in range(1, k + 1):
        eqs.append({rem[i - 1]: 1, exc[i]: -1, na[i]: -1, rem[i]: -1})
    crit = tables["criteria"]
    alone = [var(("c", j), crit["excluded_alone"][j]) for j in range(k)]
    m = tables["makeup"]
    cell = {}
    for r in m.itertuples():
        cell[(r.characteristic, r.step, r.group)] = var(("m", r.characteristic, r.step, r.group), r.patients)
    for (char, step), part in m.groupby(["characteristic", "step"]):
        eqs.append({rem[step]: 1, **{cell[(char, step, g)]: -1 for g in part["group"]}})
    for (char, step, g), v in cell.items():
        if step:
            les.append({v: 1, cell[(char, step - 1, g)]: -1})
    for name in [t for t in tables if t.startswith("differential_")]:
        d, char = tables[name], name.removeprefix("differential_")
        for j in range(k):
            part = d[d["criterion"] == crit["criterion"][j]]
            al = {g: var((name, j, g, "a"), v) for g, v in zip(part[char], part["removed_alone"], strict=True)}
            sq = {g: var((name, j, g, "s"), v) for g, v in zip(part[char], part["removed_in_sequence"], strict=True)}
            eqs.append({alone[j]: 1, **{x: -1 for x in al.values()}})
            eqs.append({exc[j + 1]: 1, **{x: -1 for x in sq.values()}})
            for g in al:
                les.append({sq[g]: 1, al[g]: -1})
                les.append({sq[g]: 1, cell[(char, j + 1, g)]: 1, cell[(char, j, g)]: -1})

    return narrowed(names, bounds, eqs, les, rule.small, 3)


def test_the_makeup_tables_leak_no_redacted_count_to_an_independent_attack(shared):
    from screening.disclosure.rule import SmallCellRule

    s, tables, _ = shared
    # Two characteristics keep the attacker's LP small; the library's audit below covers them all.
    tables = {k: v for k, v in tables.items() if not k.startswith("differential_") or k == "differential_sex"}
    makeup = tables["makeup"]
    tables["makeup"] = makeup[makeup["characteristic"].isin(["sex", "race_ethnicity"])]
    # As the library's audit does, a count no patient fills is not at risk: narrowing a true 0 to "0 or 1" names
    # no one (the policy the README states beside the audit). Every count holding someone must keep 3 values or more.
    exact = _exact_cells(s)
    assert [hit for hit in _attack_makeup(tables, SmallCellRule(10, 5)) if exact[hit[0]] >= 1] == []


def _exact_cells(s) -> dict:
    """The attacker's cell names (see :func:`_attack_makeup`) with their true counts."""
    from screening.disclosure.rule import INTERNAL
    from screening.disclosure.shareable import shareable_tables

    t = shareable_tables(s, INTERNAL, whatif=False)
    out = {("m", r.characteristic, r.step, r.group): int(r.patients) for r in t["makeup"].itertuples()}
    crit = list(t["criteria"]["criterion"])
    d = t["differential_sex"]
    for r in d.itertuples():
        j = crit.index(r.criterion)
        out[("differential_sex", j, r.sex, "a")] = int(r.removed_alone)
        out[("differential_sex", j, r.sex, "s")] = int(r.removed_in_sequence)
    return out


def test_the_library_audit_covers_the_makeup_relations(shared):
    from screening.disclosure.audit import audit

    _, tables, pub = shared
    shown.states(pub, tables)  # the audit sees exactly what is shown
    assert audit(pub.cells) == []
    names = [{pub.cells.names[i] for i in r} for r in pub.cells.equalities]
    # Step 1's groups add up to the patients in play after it.
    assert any(("attrition", 1, "remaining") in n and ("makeup", 3, "patients") in n for n in names)


def test_cli_prints_a_makeup_table_as_published(capsys):
    import io
    import re

    import pandas as pd

    from screening.cli import main

    assert main(["funnel", "--table", "differential", "--by", "sex", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str, keep_default_na=False)
    assert list(table.columns[:5]) == ["criterion", "label", "sex", "removed_alone", "removed_in_sequence"]
    for value in pd.concat([table["removed_alone"], table["removed_in_sequence"]]):
        assert value == "≤10" or (re.fullmatch(r"\d+", value) and int(value) % 5 == 0), value
    from screening.views.terminal import fit_table

    # What `funnel` prints from the same table (without --format csv): every line fits a terminal.
    assert max(map(len, fit_table(table.drop(columns=["label"]).rename(columns={"sex": "race_ethnicity"}))
                   .splitlines())) <= 100
