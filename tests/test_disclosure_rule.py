"""The small-cell rule is described by one sentence, and every surface that states the rule prints that sentence."""

from __future__ import annotations

import html

import pytest

from screening import screen
from screening.cli import build_parser
from screening.disclosure.published import read_rule, rule_text
from screening.disclosure.rule import INTERNAL, SHAREABLE, WATERMARK, SmallCellRule
from screening.views.provenance import provenance, provenance_markdown

RULES = [SHAREABLE, SmallCellRule(15, 5), SmallCellRule(10, 1), INTERNAL]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.threshold}-{r.base}")
def test_the_sentence_says_what_the_labels_do(rule):
    text = rule.text()
    if rule.internal:
        assert text == f"none: every count exact ({WATERMARK})"
        assert rule.labels([0, 3, 116]) == ["0", "3", "116"]
        return
    t = rule.threshold
    assert text.startswith(f"counts from 0 to {t} shown as ≤{t}, ")
    # 0 and the threshold itself are both hidden as ≤t; the next count is shown as the floor the text names.
    assert rule.labels([0, t]) == [f"≤{t}", f"≤{t}"]
    assert rule.label(t + 1) == str(rule.floor) and f"never below {rule.floor}" in text
    assert f"rounded to the nearest {rule.base}" in text


def test_the_default_reads_as_the_readme_says():
    assert SHAREABLE.text() == ("counts from 0 to 10 shown as ≤10, every other count rounded to the nearest 5 "
                                "(never below 15)")


def _small_cell_help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return next(a.help for a in sub._actions if a.dest == "small_cell")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.threshold}-{r.base}")
def test_report_provenance_and_network_print_the_same_sentence(boundary_extract, rule):
    s = screen(boundary_extract)
    meta = provenance(s, rule)
    text = rule.text()
    assert meta["disclosure_text"] == text  # provenance.json
    assert f"| disclosure control | {text} |" in provenance_markdown(meta)  # the report's provenance block
    assert rule_text(meta["disclosure"]) == text  # the network report, read back from a bundle
    assert read_rule(meta["disclosure"]) == rule


def test_cli_panel_report_and_provenance_use_one_sentence(boundary_extract):
    from screening.views.panel import whatif_panel

    text = SHAREABLE.text()
    surfaces = {
        "cli funnel": _small_cell_help("funnel"),
        "cli report": _small_cell_help("report"),
        "panel": html.unescape(whatif_panel(boundary_extract, small_cell=10).mode.value),
        "report": provenance_markdown(provenance(screen(boundary_extract), SHAREABLE)),
        "provenance.json": provenance(screen(boundary_extract), SHAREABLE)["disclosure_text"],
    }
    missing = [name for name, said in surfaces.items() if text not in said]
    assert not missing, f"{missing} do not state the rule as {text!r}"
    # ... and none of them still describes the rule another way.
    for name, said in surfaces.items():
        assert "1 to" not in said and "<11" not in said, name
    assert INTERNAL.text() in html.unescape(whatif_panel(boundary_extract, small_cell=0).mode.value)


def test_cli_prints_the_rule_of_the_report_it_wrote(tmp_path, capsys):
    from screening.cli import main

    assert main(["report", "--data", "data/synthetic", "--out", str(tmp_path / "r"), "--tables-only",
                 "--small-cell", "15"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"disclosure control: {SmallCellRule(15, 5).text()}")
