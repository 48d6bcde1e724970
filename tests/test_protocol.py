"""Protocol files: loading, variants, overrides and clear errors for bad ones."""

from __future__ import annotations

import textwrap

import pytest

from screening import ProtocolError, load_protocol
from screening.protocol import shipped_protocols


def test_shipped_protocols():
    assert shipped_protocols() == ["misle-phase1-pilot", "misle-phase2", "misle-phase2-ehr"]
    p = load_protocol("misle-phase2")
    assert len(p.counted) == 24 and [c.id for c in p.criteria if not c.counted] == ["consent"]
    assert p.criterion("glucocorticoid").params == {"max_mg_per_kg": 0.5, "months": 1}
    assert p.criterion("belimumab").params["months"] == 2
    assert p.criterion("other_biologic").params["months"] == 6
    assert p.criterion("immunosuppressant_change").params["months"] == 3
    assert p.criterion("malignancy").params["lookback_years"] == 5


def test_pilot_is_the_phase2_protocol_with_four_changes():
    a, b = load_protocol("misle-phase2"), load_protocol("misle-phase1-pilot")
    diff = {k: v for k, v in b.parameters().items() if a.parameters()[k] != v}
    assert diff == {"classification.accept_slicc": True, "sledai.min": 4, "sledai.max": 10,
                    "malignancy.lookback_years": 3}
    assert b.criterion("sledai").display_label == "SLEDAI-2K 4–10"


def test_overrides_by_full_or_unique_name():
    p = load_protocol("misle-phase2")
    assert p.with_overrides({"max_mg_per_kg": "0.3"}).criterion("glucocorticoid").params["max_mg_per_kg"] == 0.3
    assert p.with_overrides({"egfr.value": 25}).criterion("egfr").display_label == "eGFR < 25 mL/min/1.73 m²"
    with pytest.raises(ProtocolError, match="Several criteria have 'months'"):
        p.with_overrides({"months": 4})


@pytest.mark.parametrize("override, message", [
    ({"sledai.mni": 4}, "Did you mean min"),
    ({"sledia.min": 4}, "Did you mean sledai"),
    ({"belimumab.months": -2}, "at least 0"),
    ({"age.min_age": 70}, "not above age.max_age"),
    ({"sledai.max": 3}, "not above sledai.max"),
    ({"sledai.min": "six"}, "a number"),
    ({"classification.accept_slicc": 3}, "true or false"),
    ('{"sledai.min": 4', "a YAML or JSON mapping"),  # text as papermill -p passes it
    ("[4]", "a mapping of criterion.param"),
])
def test_bad_overrides_are_named(override, message):
    with pytest.raises(ProtocolError, match=message):
        load_protocol("misle-phase2", override)


def _write(tmp_path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ("criteria: [{id: a, kind: inclusion, rule: nosuchrule}]", "criteria\\[0\\] \\(a\\).rule"),
    ("criteria: [{id: a, kind: include, rule: age}]", "one of inclusion, exclusion"),
    ("criteria: [{id: a, kind: inclusion, rule: age, params: {min_ag: 3}}]", "Did you mean min_age"),
    ("criteria: [{id: a, kind: inclusion, rule: age, params: {min_age: -1}}]", "at least 0"),
    ("criteria: [{id: a, kind: inclusion, rule: age}, {id: a, kind: inclusion, rule: sledai}]",
     "each criterion id once"),
    ("criteria: []", "non-empty list"),
    ("criteria: [{id: a, kind: exclusion, rule: column, params: {op: '<', value: 3}}]", "a.column"),
    ("criteria: [{id: a, kind: exclusion, rule: column, params: {column: egfr, op: '~', value: 3}}]", "a.op"),
    ("{criteria: [", "valid YAML"),
    ("extends: misle-phase2\nset: {sledai.min: -4}", "at least 0"),
    ("extends: misle-phase2\ndrop: [nosuch]", "nosuch"),
    ("extends: misle-phase2\ncolour: red", "only the keys"),
])
def test_bad_protocol_files_are_named(tmp_path, text, message):
    with pytest.raises(ProtocolError, match=message):
        load_protocol(_write(tmp_path, text))


def test_variant_can_drop_add_and_reorder(tmp_path):
    path = _write(tmp_path, """
        extends: misle-phase2
        drop: [chest_xray]
        add:
          - {id: proteinuria, label: "UPCR > {value} g/g", kind: exclusion, rule: column,
             params: {column: proteinuria_g_per_g, op: ">", value: 3}}
        """)
    p = load_protocol(path)
    assert "chest_xray" not in p.ids and p.ids[-1] == "proteinuria"
    assert p.criterion("proteinuria").display_label == "UPCR > 3 g/g"


def test_unknown_protocol_name_lists_the_shipped_ones():
    with pytest.raises(ProtocolError, match="misle-phase1-pilot, misle-phase2, misle-phase2-ehr"):
        load_protocol("no-such-protocol")


@pytest.mark.parametrize("rule, message", [
    ("{id: crp, kind: exclusion, rule: column, params: {column: crp_mg_l, op: '>', value: 50}}",
     r"crp.column: expected a column of the extract's patients table"),
    ("{id: odd, kind: exclusion, rule: column, params: {column: sex, op: '<', value: 3}}",
     r"odd.params: expected values comparable"),
], ids=["missing column", "incomparable value"])
def test_column_rules_the_extract_cannot_answer_are_named(tmp_path, boundary_extract, rule, message):
    from screening import screen

    path = _write(tmp_path, f"""
        extends: misle-phase2
        add:
          - {rule}
        """)
    with pytest.raises(ProtocolError, match=message):
        screen(boundary_extract, load_protocol(path))
