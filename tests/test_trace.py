"""Every criterion traced to the trial's text: items, their statuses, lint, coverage and `rules --protocol`."""

from __future__ import annotations

import io
import textwrap
from contextlib import redirect_stderr, redirect_stdout

import pytest

from screening.cli import main
from screening.errors import ProtocolError
from screening.rules.protocol import lint, load_protocol, shipped_protocols
from screening.rules.trace import coverage, coverage_sentence, items_table

CRITERIA = """\
id: t
title: "A trial"
criteria:
  - {id: age, kind: inclusion, rule: age, source: "I1"}
  - {id: sledai, kind: inclusion, rule: sledai, source: "I2"}
  - {id: consent, kind: screening_visit, rule: screening_visit, source: "I3"}
"""
ITEMS = """\
eligibility:
  source: "ClinicalTrials.gov NCT00000000, version of 1 January 2024"
  items:
    - {id: I1, kind: inclusion, text: "Aged 18 to 65", status: computed, criteria: [age]}
    - {id: I2, kind: inclusion, text: "SLEDAI-2K at least 6", status: approximated, criteria: [sledai],
       how: "the registry's latest score stands for the screening one"}
    - {id: I3, kind: inclusion, text: "Written informed consent", status: at_screening_visit, criteria: [consent]}
    - {id: E1, kind: exclusion, text: "Drug or alcohol abuse", status: not_in_extract, field: "substance_use"}
"""


def _write(tmp_path, text: str, name: str = "t.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_items_load_with_their_status_source_and_criteria(tmp_path):
    p = load_protocol(_write(tmp_path, CRITERIA + ITEMS))
    assert [(i.id, i.status, i.criteria) for i in p.items] == [
        ("I1", "computed", ("age",)), ("I2", "approximated", ("sledai",)), ("I3", "at_screening_visit", ("consent",)),
        ("E1", "not_in_extract", ())]
    assert p.item("I1").source == "ClinicalTrials.gov NCT00000000, version of 1 January 2024"
    assert coverage_sentence(p) == ("applies 1 of 4 items exactly, 1 approximately, 1 only at the screening visit, "
                                    "1 not at all (the extract lacks the data)")
    assert lint(p) == []


@pytest.mark.parametrize("edit, key, expected", [
    (("status: computed, criteria: [age]", "status: done, criteria: [age]"), "(I1).status", "one of computed"),
    (('text: "Aged 18 to 65", ', ""), "(I1).text", "the trial's text of the item"),
    (("kind: inclusion, text: \"Aged", "kind: other, text: \"Aged"), "(I1).kind", "inclusion or exclusion"),
    ((',\n       how: "the registry\'s latest score stands for the screening one"', ""), "(I2).how",
     "how the criteria"),
    ((', field: "substance_use"', ""), "(E1).field", "the field the registry would need"),
    (("criteria: [age]}", "criteria: []}"), "(I1).criteria", "the criteria that apply a computed item"),
    (("criteria: [age]}", "criteria: [agee]}"), "item I1.criteria", "'agee' is not one"),
    (("status: approximated, criteria: [sledai]", "status: approximated, criteria: [consent]"), "item I2.criteria",
     "at least one counted criterion"),
    (("status: at_screening_visit, criteria: [consent]", "status: at_screening_visit, criteria: [age]"),
     "item I3.criteria", "no counted criterion for an item with status at_screening_visit"),
    (("{id: E1,", "{id: I1,"), "eligibility.items", "Repeated: I1"),
    (("status: computed, criteria: [age]}", "status: computed, criteria: [age], page: 3}"), "(I1): page",
     "only id, kind, text"),
    (('field: "substance_use"}', 'field: "substance_use", needs: "a dose cap"}'), "(E1).needs", "the name of a rule"),
])
def test_a_wrong_item_is_a_protocol_error_naming_file_and_item(tmp_path, edit, key, expected):
    path = _write(tmp_path, CRITERIA + ITEMS.replace(*edit))
    with pytest.raises(ProtocolError) as err:
        load_protocol(path)
    message = str(err.value)
    assert str(path) in message and key in message and expected in message, message


def test_an_item_without_a_source_is_an_error(tmp_path):
    text = CRITERIA + ITEMS.replace('  source: "ClinicalTrials.gov NCT00000000, version of 1 January 2024"\n', "")
    with pytest.raises(ProtocolError, match=r"\(I1\)\.source: expected where the text was read"):
        load_protocol(_write(tmp_path, text))


def test_lint_fails_an_item_without_status_and_a_criterion_no_item_names(tmp_path):
    text = CRITERIA + ITEMS.replace("status: computed, criteria: [age]", "criteria: [age]").replace(
        "criteria: [sledai],\n", "criteria: [age],\n")
    p = load_protocol(_write(tmp_path, text))
    assert [str(i) for i in lint(p)] == [
        "error: eligibility.I1: has no status: say whether it is computed, approximated, assessed at the screening "
        "visit or not in the extract",
        "error: sledai: applies no eligibility item: name it in the criteria of the item it encodes"]
    assert coverage_sentence(p).endswith("1 unaccounted for (no status)")
    code, out, _ = run("lint", "--protocol", str(tmp_path / "t.yaml"))
    assert code == 1 and "eligibility.I1: has no status" in out


def test_a_protocol_without_items_loads_and_lint_warns(tmp_path):
    p = load_protocol(_write(tmp_path, CRITERIA))
    assert p.items == () and [i.severity for i in lint(p)] == ["warning"]
    assert coverage_sentence(p).startswith("quotes no eligibility text")
    assert run("lint", "--protocol", str(tmp_path / "t.yaml"))[0] == 0


def test_a_variant_inherits_items_updates_them_and_loses_those_of_dropped_criteria(tmp_path):
    _write(tmp_path, CRITERIA + ITEMS)
    variant = _write(tmp_path, """\
        extends: t.yaml
        id: v
        drop: [sledai]
        eligibility:
          update:
            - {id: E1, status: not_in_extract, field: "an AUDIT-C score"}
        """, "v.yaml")
    p = load_protocol(variant)
    assert p.item("E1").field == "an AUDIT-C score" and p.item("E1").text == "Drug or alcohol abuse"
    assert p.item("I2").status == "" and p.item("I2").criteria == ()  # its criterion is gone: restate it
    assert [str(i) for i in lint(p)] == ["error: eligibility.I2: has no status: say whether it is computed, "
                                         "approximated, assessed at the screening visit or not in the extract"]
    bad = _write(tmp_path, "extends: t.yaml\neligibility:\n  update:\n    - {id: X9, status: computed}\n", "b.yaml")
    with pytest.raises(ProtocolError, match=r"eligibility.update\[0\] \(X9\): expected the id of an item"):
        load_protocol(bad)


def test_items_change_no_fingerprint(tmp_path):
    with_items = load_protocol(_write(tmp_path, CRITERIA + ITEMS))
    without = load_protocol(_write(tmp_path, CRITERIA, "plain.yaml"))
    assert with_items.fingerprint() == without.fingerprint()


# The fingerprints the protocols had before they carried items (main at 601975b); TULIP-2's criteria were
# corrected against the sponsor's template since (issue #22), so its fingerprint moved on purpose.
BEFORE = {"misle-phase1-pilot": "e6f0a3bd5f27", "misle-phase2": "5d83b3514645", "misle-phase2-ehr": "22d950bdb806"}


def test_protocols_that_shipped_before_keep_their_fingerprints():
    assert {name: load_protocol(name).fingerprint() for name in BEFORE} == BEFORE


# Counted by hand from each file's eligibility section: (computed, approximated, at visit, not in extract).
HAND_COUNTED = {
    # I1 I2 I3 I4 I5 E2 E4 E5 E6 E9 S1 S2 S3 computed; E1 E3 E7 E8 E10 approximated; I6 at the visit
    "misle-phase2": (13, 5, 1, 0),
    # I1 I2 I3 E2 E4 E7 computed; I4 I5 E1 E3 E5 E6 E8 E9 S1 S2 S3 approximated; I6 at the visit
    "misle-phase1-pilot": (6, 11, 1, 0),
    # Phase 2 with I2 I4 E7 E10 moved to the visit, E4 and E6 approximated
    "misle-phase2-ehr": (9, 5, 5, 0),
    # D1 L2 computed; L1 T1 D2 L3 L5 L6 L7 L8 T2 T3 T4 approximated; L4 X2 at the visit; T5 not in the extract
    "anifrolumab-tulip2": (2, 11, 2, 1),
    # A1 computed; I1 I2 I3 I4 I5 I6 I8 E1 E2 approximated; I7 at the visit; E3 not in the extract
    "anifrolumab-muse": (1, 9, 1, 1),
    # P1 P2 P7 computed; P3 P4 P5 P6 P8 P9 P11 approximated; P10 not in the extract
    "belimumab-bliss52": (3, 7, 0, 1),
    # I1 E6 E9 computed; I2 I3 I4 E1 E2 E4 E5 E7 approximated; E3 E8 not in the extract
    "belimumab-bliss76": (3, 8, 0, 2),
    # A1 I1 E3 E9 computed; I2 I3 I4 E1 E2 E4 E5 E6 E7 approximated; E8 E10 not in the extract
    "belimumab-blissln": (4, 9, 0, 2),
    # I1 I2 computed; I3 approximated
    "deucravacitinib-paisley": (2, 1, 0, 0),
}
PHRASES = ("approximately", "only at the screening visit", "not at all (the extract lacks the data)")


@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_the_coverage_sentence_of_each_shipped_protocol(name):
    p = load_protocol(name)
    counts = HAND_COUNTED[name]
    expected = f"applies {counts[0]} of {sum(counts)} items exactly"
    expected += "".join(f", {n} {phrase}" for n, phrase in zip(counts[1:], PHRASES, strict=True) if n)
    assert coverage_sentence(p) == expected
    c = coverage(p)
    assert (c["computed"], c["approximated"], c["at_screening_visit"], c["not_in_extract"]) == counts
    assert c["unaccounted"] == 0 and c["items"] == len(p.items)


def test_every_shipped_protocol_is_hand_counted_and_traces_every_criterion():
    assert sorted(HAND_COUNTED) == shipped_protocols()
    for name in shipped_protocols():
        p = load_protocol(name)
        assert not [i for i in lint(p) if i.severity == "error"], name
        assert all(i.text and i.source and i.status for i in p.items), name


def test_overrides_name_the_items_whose_criteria_they_change():
    p = load_protocol("misle-phase2", {"sledai.min": 4})
    assert coverage(p)["changed_by_overrides"] == ["I4"]
    assert coverage_sentence(p).endswith("(overrides change the criteria of I4)")


def test_rules_protocol_lists_items_with_status_and_criteria():
    code, out, _ = run("rules", "--protocol", "misle-phase2")
    lines = out.splitlines()
    assert code == 0
    assert lines[:2] == ["misle-phase2: UC-MSCs in active SLE, Phase 2 (NCT02633163)",
                         "coverage: applies 13 of 19 items exactly, 5 approximately, 1 only at the screening visit"]
    assert "I6   inclusion at_screening_visit  consent" in lines
    assert "E3   exclusion approximated        egfr, wbc, haemoglobin, platelets, liver" in lines
    assert '     "Able and willing to give written informed consent"' in lines
    assert "     source: Trial summary of NCT02633163 (../shared/protocol/trial-summary.txt)" in lines


def test_rules_protocol_names_the_cohort_entry_and_what_is_missing():
    _, ehr, _ = run("rules", "--protocol", "misle-phase2-ehr")
    assert ehr.splitlines()[-1] == ("cohort entry for the data source (not an item of the trial's text): "
                                    "sle_diagnosis, alive, observed")
    _, lupus_nephritis, _ = run("rules", "--protocol", "belimumab-blissln")
    assert lupus_nephritis.splitlines()[-1] == "rules these items wait for: breastfeeding_recorded (E1)"
    _, muse, _ = run("rules", "--protocol", "anifrolumab-muse")
    assert "rules these items wait for" not in muse
    assert load_protocol("anifrolumab-muse").item("I4").criteria == ("standard_therapy",)
    _, bliss, _ = run("rules", "--protocol", "belimumab-bliss76")
    assert "E8   exclusion not_in_extract      -" in bliss
    assert "needs the field: substance_use_disorder (current drug or alcohol abuse or dependence)" in bliss


def test_report_provenance_states_coverage_and_lists_the_items_not_computed(boundary_extract):
    from screening.engine.funnel import Screening
    from screening.views.provenance import coverage_headline, not_computed_table, provenance, provenance_markdown

    meta = provenance(Screening(boundary_extract, load_protocol("anifrolumab-tulip2")))
    sentence = ("applies 2 of 16 items exactly, 11 approximately, 2 only at the screening visit, 1 not at all (the "
                "extract lacks the data)")
    assert meta["coverage"]["sentence"] == sentence
    assert coverage_headline(meta) == f"The protocol {sentence}."
    assert f"| trial's eligibility text | {coverage_headline(meta)} |" in provenance_markdown(meta)
    table = not_computed_table({"items": items_table(load_protocol("anifrolumab-tulip2"))})
    assert table.index.tolist() == ["L1", "T1", "D2", "L3", "L4", "L5", "L6", "L7", "L8", "T2", "T3", "T4", "T5", "X2"]
    assert table.loc["L6", "how / what is missing"].endswith("that renal_severity would apply")
    assert table.loc["T5", "how / what is missing"].startswith("needs the field: the severity of herpes infections")


def test_the_network_report_states_coverage_only_when_every_site_agrees():
    from screening.network.merge import provenance_markdown

    meta = {"overrides": {}, "protocol_title": "T", "protocol_id": "t", "protocol_fingerprint": "abc",
            "unknown_policy": "separate", "disclosure_text": "rounded", "sites": [{"site_label": "S1"}],
            "package_version": "0.1.0"}
    agreed = provenance_markdown(meta | {"coverage": {"sentence": "applies 1 of 2 items exactly, 1 *approximately*"}})
    assert "| trial's eligibility text | The protocol applies 1 of 2 items exactly, 1 \\*approximately\\*. |" in agreed
    assert ("| trial's eligibility text | not stated (the sites' bundles do not agree on it, or predate it) |"
            in provenance_markdown(meta))
