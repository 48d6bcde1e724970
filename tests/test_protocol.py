"""Protocol files: loading, variants, overrides and clear errors for bad ones."""

from __future__ import annotations

import textwrap

import pytest

from screening import ProtocolError, load_protocol
from screening.rules.protocol import shipped_protocols


def test_shipped_protocols():
    assert shipped_protocols() == ["anifrolumab-muse", "anifrolumab-tulip2", "belimumab-bliss52", "belimumab-bliss76",
                                   "belimumab-blissln", "deucravacitinib-paisley", "misle-phase1-pilot", "misle-phase2",
                                   "misle-phase2-ehr"]
    p = load_protocol("misle-phase2")
    assert len(p.counted) == 24 and [c.id for c in p.criteria if not c.counted] == ["consent"]
    assert p.criterion("glucocorticoid").params == {"max_mg_per_kg": 0.5, "months": 1, "weight_months": 12}
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


    ({"sledai.min": ".nan"}, r"sledai.min: expected a finite number"),
    ({"sledai.max": ".inf"}, r"sledai.max: expected a finite number"),
    ({"bilag.grades": "Z"}, r"bilag.grades: expected values from A, B, C, D, E"),
    ({"nephritis_therapy.grades": ["A", "b"]}, r"nephritis_therapy.grades: expected values from A, B"),
    ({"other_biologic.classes": "biologics"}, r"other_biologic.classes: expected values from glucocorticoid"),
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
    ("criteria: [{id: a, kind: exclusion, rule: column, params: {column: egfr, op: '~', value: 3}}]",
     r"\(a\).params.op: expected a value from <, <="),
    ("criteria: [{id: a, kind: inclusion, rule: sledai, params: {min: .nan}}]",
     r"\(a\).params.min: expected a finite number"),
    ("criteria: [{id: a, kind: exclusion, rule: column, params: {column: egfr, op: '<', value: .nan}}]",
     r"\(a\).params.value: expected a finite number"),
    ("criteria: [{id: a, kind: inclusion, rule: bilag_active, params: {grades: [A, Z]}}]",
     r"\(a\).params.grades: expected values from A, B, C, D, E.\n  Got 'Z'"),
    ("criteria: [{id: a, kind: inclusion, rule: sledai, label: 'SLEDAI {min.nope}'}]",
     r"\(a\).label: expected a label naming only this criterion's parameters"),
    ("criteria: [{id: a, kind: inclusion, rule: sledai, label: 'SLEDAI {minimum}'}]",
     r"(?s)\(a\).label: .*Parameters: min, max"),
    ("extends: misle-phase2\nlabels: {sledai: 'x {min.nope}'}", r"labels.sledai: expected a label"),
    ("extends: misle-phase2\nset: {sledai.min: .nan}", r"sledai.min: expected a finite number"),
    ("extends: [misle-phase2]", r"extends: expected the name or path of one protocol"),
    ("extends:", r"extends: expected the name or path of one protocol"),
    ("extends: ''", r"extends: expected the name or path of one protocol"),
    ("{criteria: [", "valid YAML"),
    ("extends: misle-phase2\nset: {sledai.min: -4}", "at least 0"),
    # Fuzz-found: a list where a number or nothing belongs reached a comparison of int with list.
    ("criteria: [{id: a, kind: inclusion, rule: sledai, params: {max: []}}]",
     r"\(a\).params.max: expected a number, or nothing for no limit"),
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


def _bomb(levels: int, width: int) -> str:
    """A YAML 'billion laughs': each level repeats the one before ``width`` times."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, words", [
    (_bomb(9, 9), "Its aliases expand to more than 10,000 values"),
    ("a: &a [*a]\n", "An alias refers to the value that contains it"),
], ids=["billion laughs", "recursive alias"])
def test_yaml_alias_bombs_are_refused_quickly(tmp_path, text, words):
    assert len(text) < 600  # a few hundred bytes that would expand to 9 ** 9 values
    with pytest.raises(ProtocolError, match=f"file: expected YAML of at most 10,000 values.*\n.*{words}"):
        load_protocol(_write(tmp_path, text))


def test_a_few_yaml_anchors_still_work(tmp_path):
    p = load_protocol(_write(tmp_path, """
        criteria:
          - {id: bilag, kind: inclusion, rule: bilag_active, params: {grades: &active [A, B]}}
          - {id: renal, kind: inclusion, rule: nephritis_therapy, params: {grades: *active}}
        """))
    assert p.criterion("renal").params["grades"] == ["A", "B"]


def test_every_rule_and_parameter_is_described():
    from screening.rules.criteria import RULES

    for r in RULES.values():
        assert r.doc.strip(), r.name
        for name, spec in r.params.items():
            assert spec.meaning.strip(), f"{r.name}.{name} has no meaning"
            assert spec.type, f"{r.name}.{name} has no type"


def test_rules_table_lists_every_parameter_once():
    from screening.rules.criteria import RULES
    from screening.rules.protocol import rules_table

    table = rules_table()
    described = set(zip(table["rule"], table["parameter"], strict=True))
    assert described == {(r.name, p) for r in RULES.values() for p in r.params} | \
        {(r.name, "") for r in RULES.values() if not r.params}


@pytest.mark.parametrize("override, finding", [
    ({"belimumab.months": 0}, "warning: belimumab.months: a look-back of 0 counts only the baseline day"),
    ({"belimumab.drugs": [], "belimumab.classes": []}, "error: belimumab.drugs: names no drug and no class"),
    ({"chest_xray.value": ["tb"]}, "error: chest_xray.value: 'tb' never occurs in 'chest_xray'"),
    ({"cns_lupus.column": "crp"}, "warning: cns_lupus.column: 'crp' is not in the data dictionary"),
])
def test_lint_names_what_cannot_work(override, finding):
    from screening.rules.protocol import lint

    assert finding in [str(i)[: len(finding)] for i in lint(load_protocol("misle-phase2", override))]


def test_shipped_protocols_lint_clean():
    from screening.rules.protocol import lint

    for name in shipped_protocols():
        assert [str(i) for i in lint(load_protocol(name)) if i.severity != "note"] == [], name


def test_second_trial_is_written_in_yaml_alone_with_a_source_for_every_criterion():
    p = load_protocol("anifrolumab-tulip2")
    assert p.criterion("age").params == {"min_age": 18, "max_age": 70}
    assert p.criterion("bilag").display_label == "≥ 1 BILAG A or ≥ 2 BILAG B domains"
    assert [c.id for c in p.criteria if not c.counted] == ["nursing", "pga", "consent"]
    assert all(c.source for c in p.criteria)


def test_a_criterion_reads_a_column_only_when_the_parameter_using_it_is_set():
    from screening.rules.library import RULES
    from screening.rules.protocol import Criterion

    def reads(**params):
        return Criterion("c", "c", "exclusion", "renal_severity",
                         {**RULES["renal_severity"].defaults, **params}).columns()["patients"]

    assert reads() == {"dialysis"}
    assert reads(dialysis=False, egfr_below=30) == {"egfr", "egfr_date"}
    assert reads(upcr_min=3, within_months=None) == {"proteinuria_g_per_g", "dialysis"}
