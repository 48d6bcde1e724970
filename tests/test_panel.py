"""The what-if panel on the hand-built boundary extract (tests/boundary.py), counts worked out by hand."""

from __future__ import annotations

import json
import re
import threading

import pandas as pd
import pytest

from screening import load_protocol, screen
from screening.disclosure.rule import SHAREABLE
from screening.views import report as report_module
from screening.views.panel import Explorer, Settings, whatif_panel
from screening.views.provenance import provenance, provenance_markdown

# On the boundary extract: SLEDAI minimum 4 admits X12 (SLEDAI 5; X52 at 4 is 70 years old); dropping
# BILAG admits X14 (musculoskeletal C) and N15 (BILAG not scored, never had nephritis).
LOWER_SLEDAI = {"gained": 1, "lost": 0}
LOWER_SLEDAI_NO_BILAG = {"gained": 3, "lost": 0, "not_assessable_change": -1}


@pytest.fixture
def panel(boundary_extract, tmp_path):
    return whatif_panel(boundary_extract, small_cell=0, folder=tmp_path)


def test_moving_a_slider_and_unticking_a_criterion_redraws_the_counts(panel):
    shipped = dict(panel.view.headline)
    panel.sliders["sledai.min"].value = 4
    assert panel.view.changes.loc[0, ["gained", "lost"]].tolist() == [1, 0]
    assert panel.view.headline["eligible"] == shipped["eligible"] + LOWER_SLEDAI["gained"]
    panel.boxes["bilag"].value = False
    head = panel.view.headline
    assert head["eligible"] == shipped["eligible"] + LOWER_SLEDAI_NO_BILAG["gained"]
    assert head["not_assessable"] == shipped["not_assessable"] + LOWER_SLEDAI_NO_BILAG["not_assessable_change"]
    assert panel.view.changes.loc[0, ["gained", "lost"]].tolist() == [3, 0]
    assert f"<b class='whatif-eligible'>{head['eligible']}</b>" in panel.headline.value
    assert "bilag" not in panel.view.criteria["criterion"].tolist()
    assert "SLEDAI-2K ≥ 4" in panel.boxes["sledai"].description  # labels follow their parameters


def test_the_panel_agrees_with_the_engine_for_the_same_settings(panel, boundary_extract):
    panel.sliders["sledai.min"].value = 4
    panel.boxes["bilag"].value = False
    panel.policy.value = "exclude"
    engine = screen(boundary_extract, load_protocol("misle-phase2", {"sledai.min": 4}).without("bilag"),
                    policy="exclude")
    assert panel.view.attrition[["criterion", "remaining"]].equals(engine.attrition()[["criterion", "remaining"]])
    assert panel.view.headline["not_assessable"] == 0


def test_reordering_moves_steps_but_keeps_the_totals(panel):
    totals = dict(panel.view.headline)
    for _ in range(3):
        panel._move("sledai", -1)  # the up button, three times: sledai becomes the first step
    assert panel.order[0] == "sledai"
    first = panel.view.attrition.iloc[1]
    assert (first["criterion"], first["excluded"], first["not_assessable"]) == ("sledai", 2, 2)  # X12, X52; N13, N54
    assert panel.view.headline == totals
    panel.reset()
    assert panel.settings == Settings()


def test_comparing_with_a_second_protocol_adds_a_row(panel, boundary_extract):
    panel.compare.value = "misle-phase1-pilot"
    row = panel.view.changes.iloc[1]
    pilot = screen(boundary_extract, "misle-phase1-pilot").eligible_ids()
    assert row["against"] == "misle-phase1-pilot" and row["eligible_then"] == len(pilot)


def test_an_impossible_setting_is_named_and_the_last_view_kept(panel):
    before = panel.view
    panel.sliders["age.max_age"].value = 10  # below age.min_age (18)
    assert "age.min_age" in panel.status.value and "not above age.max_age" in panel.status.value
    assert panel.view is before


def test_a_saved_variant_extends_the_shipped_protocol_and_screens_alike(panel, boundary_extract, tmp_path):
    panel.sliders["sledai.min"].value = 4
    panel.boxes["bilag"].value = False
    panel._move("sledai", -1)
    panel.name.value = "sledai4"
    path = panel._save()
    text = path.read_text(encoding="utf-8")
    assert "extends: misle-phase2" in text and "sledai.min: 4" in text and "- bilag" in text
    again = screen(boundary_extract, load_protocol(path))
    assert again.attrition()["remaining"].tolist() == panel.view.attrition["remaining"].tolist()
    panel.name.value = "../escape"
    assert panel._save() is None and "a file name" in panel.writer.message.value


def test_shareable_mode_shows_no_exact_small_count(boundary_extract):
    view = Explorer(boundary_extract, small_cell=10).view(Settings(set={"sledai.min": 4}, dropped=("bilag",)))
    shown = [str(v) for v in view.shown.values()]
    for frame in (view.attrition_text, view.criteria, view.changes):
        numeric = frame.select_dtypes(exclude="number").columns.intersection(
            ["entering", "excluded", "not_assessable", "remaining", "excluded_alone", "not_assessable_alone",
             "excluded_uniquely", "gain_if_dropped", "eligible_then", "eligible_now", "gained", "lost"])
        shown += frame[numeric].astype(str).to_numpy().ravel().tolist()
    assert shown and all(v == "≤10" or (re.fullmatch(r"\d+", v) and int(v) % 5 == 0) for v in shown), shown


def test_a_report_from_the_panel_names_its_change_and_compares_with_the_protocol_as_shipped(panel, monkeypatch,
                                                                                              tmp_path):
    log = tmp_path / "releases.jsonl"
    monkeypatch.setenv("SCREENING_RELEASE_LOG", str(log))
    # An earlier release of another extract holds every patient of this one but the first: refused, until forced.
    ids = panel.explorer.extract.patients.index
    earlier = {**provenance(screen(panel.explorer.extract), SHAREABLE), "extract_sha256": "e" * 64}
    report_module.log_release(earlier, tmp_path / "registry-copy", tmp_path / "earlier", log, ids=ids[1:])
    panel.sliders["belimumab.months"].value = 3
    assert panel._report(notebooks=False) is None
    out = panel.folder / "report-misle-phase2-whatif"
    assert not out.exists() and panel.writer.refused.layout.display == "flex"
    assert "refused: this extract shares about" in panel.writer.message.value
    assert "press <b>Force</b>" in panel.writer.message.value
    panel.sliders["belimumab.months"].value = 4  # the report forced is the one refused
    panel.writer.force_button.click()  # as report --force: written, logged, the warning repeated
    assert panel.writer.written == out and panel.writer.refused.layout.display == "none"
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2
    assert re.search(r"warning: this extract shares about \d+% .* Written because of --force",
                     panel.writer.message.value)
    assert panel.writer.force() is None  # nothing left to force
    meta = json.loads((out / "tables" / "provenance.json").read_text(encoding="utf-8"))
    assert meta["overrides"] == {"belimumab.months": 3}
    assert meta["compared_with"] == {"protocol_id": "misle-phase2", "protocol_fingerprint":
                                     load_protocol("misle-phase2").fingerprint(), "shipped": True,
                                     "set": {"belimumab.months": 3}, "was": {"belimumab.months": 2},
                                     "dropped": [], "added": [], "reordered": False}
    markdown = provenance_markdown(meta)
    assert "| parameter overrides | `belimumab.months` = 3 |" in markdown
    assert "| compared with (what-if section) | `misle-phase2` as shipped; here `belimumab.months` = 3 (there 2) |" \
        in markdown
    # The comparison's other column is misle-phase2 as shipped, under the panel's policy.
    comparison = pd.read_csv(out / "tables" / "comparison.csv", dtype=str).set_index("status")
    shipped = screen(panel.explorer.extract, "misle-phase2").summary().set_index("status")["patients"]
    assert comparison["variant"].tolist() == SHAREABLE.labels(shipped)
    assert panel.writer.written == out and "written to" in panel.writer.message.value
    # Pressed again: the report exists, so the panel asks before replacing it.
    assert panel.writer.start(notebooks=False, background=False) is None
    assert "report-misle-phase2-whatif already exist" in panel.writer.question.value
    panel.writer._answer(False)
    assert "nothing replaced" in panel.writer.message.value and out.exists()


def test_the_headline_says_what_it_counts_under_each_policy(panel):
    panel.policy.value = "include"
    head = panel.view.headline
    assert "Eligible, missing data counted as passing: <b class='whatif-eligible'>" \
           f"{head['eligible']}</b>" in panel.headline.value
    # The "as shipped" row is screened under the same policy, and says so.
    included = screen(panel.explorer.extract, "misle-phase2", policy="include").eligible_ids()
    row = panel.view.changes.iloc[0]
    assert row["against"] == "misle-phase2 as shipped, missing data counted as passing"
    assert row["eligible_then"] == len(included)


def test_a_variant_of_the_same_name_is_replaced_only_when_asked(panel):
    first = panel.writer.save()
    panel.sliders["sledai.min"].value = 4
    assert panel.writer.save() is None and "holds other settings" in panel.writer.question.value
    assert "sledai" not in first.read_text(encoding="utf-8")  # untouched until answered
    panel.writer._answer(True)
    assert "sledai.min: 4" in first.read_text(encoding="utf-8")


def test_the_report_runs_in_the_background_while_the_sliders_redraw(panel, monkeypatch, tmp_path):
    monkeypatch.setenv("SCREENING_RELEASE_LOG", str(tmp_path / "releases.jsonl"))
    started, release = threading.Event(), threading.Event()

    def slow_build(*args, progress, **kwargs):  # the real report is tested above; here only the threading
        progress("protecting the tables ...")
        started.set()
        release.wait(30)
        (kwargs["out"] / "tables").mkdir(parents=True)
        return kwargs["out"]

    monkeypatch.setattr(report_module, "build_report", slow_build)
    panel.writer.start(notebooks=False)
    assert started.wait(30)
    assert panel.report_button.disabled and "protecting the tables" in panel.writer.message.value
    before = panel.view.headline["eligible"]
    panel.sliders["sledai.min"].value = 4  # redraws at once, while the report is being written
    assert panel.view.headline["eligible"] > before
    release.set()
    panel.writer.thread.join(30)
    assert not panel.report_button.disabled
    assert "written to" in panel.writer.message.value  # the redraw did not wipe it


def test_zeros_the_change_or_the_policy_force_read_0_not_a_small_count(boundary_extract):
    """A lower SLEDAI minimum only admits (no one lost, whatever the data), a higher one only removes, an unchanged
    protocol gains and loses no one, and under ``exclude`` no one is not assessable: these zeros read 0."""
    shared, exact = Explorer(boundary_extract, small_cell=10), Explorer(boundary_extract, small_cell=0)
    for settings, zeros in ((Settings(set={"sledai.min": 4}), ["lost"]), (Settings(set={"sledai.min": 8}), ["gained"]),
                            (Settings(), ["gained", "lost"])):
        assert shared.view(settings).changes.loc[0, zeros].tolist() == ["0"] * len(zeros)
        assert exact.view(settings).changes.loc[0, zeros].tolist() == [0] * len(zeros)
    lower = shared.view(Settings(set={"sledai.min": 4}))
    assert lower.changes.loc[0, "gained"] != "0"  # what the data decide keeps the rule
    excluded = shared.view(Settings(policy="exclude"))
    assert excluded.shown["not_assessable"] == "0" and set(excluded.attrition_text["not_assessable"]) == {"0"}
    assert exact.view(Settings(policy="exclude")).headline["not_assessable"] == 0
