"""The shareable report: files, provenance, privacy scan, reproducibility, safe writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from screening import ScreeningError, load_extract
from screening import report as report_mod
from screening.report import build_report

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
TABLES = ["attrition", "composition", "criteria", "headline", "missingness", "not_assessable", "outcome_by_site",
          "overlap"]


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    return build_report(SYNTHETIC, out=tmp_path_factory.mktemp("r") / "report")


def test_report_files(full_report):
    names = {p.name for p in full_report.iterdir()}
    for nb in report_mod.NOTEBOOKS:
        assert nb in names and nb.replace(".ipynb", ".html") in names
    tables = {p.name for p in (full_report / "tables").iterdir()}
    for stem in TABLES:
        assert {f"{stem}.csv", f"{stem}.json"} <= tables
    assert "provenance.json" in tables


def test_html_hides_code_and_states_provenance(full_report):
    html = (full_report / "02-screening-funnel.html").read_text(encoding="utf-8")
    assert "from screening import" not in html and "report_tables(" not in html
    assert load_extract(SYNTHETIC).hash in html
    assert "misle-phase2" in html and "screening 0.1.0" in html


def test_provenance_names_extract_protocol_and_every_parameter(full_report):
    meta = json.loads((full_report / "tables" / "provenance.json").read_text())
    assert meta["extract_sha256"] == load_extract(SYNTHETIC).hash
    assert meta["protocol_id"] == "misle-phase2" and meta["unknown_policy"] == "separate"
    assert meta["parameters"]["sledai.min"] == 6 and len(meta["parameters"]) > 40
    table = json.loads((full_report / "tables" / "attrition.json").read_text())
    assert table["provenance"] == meta


def test_no_identifier_or_date_in_any_report_file(full_report):
    ex = load_extract(SYNTHETIC)
    ids = set(ex.patients.index)
    date = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")
    for path in full_report.rglob("*"):
        if path.is_dir():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found = set(re.findall(r"P\d{7}", text)) & ids
        assert not found, f"{path.name} holds patient ids {sorted(found)[:3]}"
        assert not date.search(text), f"{path.name} holds a date: {date.search(text).group(0)}"


COUNT_COLUMNS = {
    "attrition": ["entering", "excluded", "not_assessable", "remaining"],
    "criteria": ["excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped"],
    "headline": ["patients"], "not_assessable": ["missing_any"],
    "outcome_by_site": ["eligible", "excluded", "not_assessable", "total"], "composition": ["patients"],
    "missingness": ["missing"], "overlap": ["patients"],
}


def test_no_count_from_1_to_10_in_any_table(full_report):
    import pandas as pd

    for stem, columns in COUNT_COLUMNS.items():
        table = pd.read_csv(full_report / "tables" / f"{stem}.csv", dtype=str)
        for col in columns:
            numbers = pd.to_numeric(table[col], errors="coerce")
            small = table.loc[numbers.between(1, 10), col]
            assert small.empty, f"{stem}.{col} shows small counts {small.tolist()}"
            assert set(table.loc[numbers.isna(), col]) <= {"<11", "*"}, stem


def test_same_inputs_give_byte_identical_tables(tmp_path):
    a = build_report(SYNTHETIC, out=tmp_path / "a", notebooks=False)
    b = build_report(SYNTHETIC, out=tmp_path / "b", notebooks=False)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_existing_report_is_not_overwritten_unless_asked(tmp_path):
    out = build_report(SYNTHETIC, out=tmp_path / "r", notebooks=False)
    marker = out / "tables" / "attrition.csv"
    before = marker.read_bytes()
    with pytest.raises(ScreeningError, match="already exists"):
        build_report(SYNTHETIC, "misle-phase1-pilot", out=out, notebooks=False)
    assert marker.read_bytes() == before
    build_report(SYNTHETIC, "misle-phase1-pilot", out=out, notebooks=False, overwrite=True)
    assert marker.read_bytes() != before


def test_interrupted_run_leaves_no_half_written_report(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_mod, "_run_notebooks", boom)
    with pytest.raises(KeyboardInterrupt):
        build_report(SYNTHETIC, out=tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_extract_files_are_not_touched(tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in SYNTHETIC.iterdir()}
    build_report(SYNTHETIC, out=tmp_path / "r", notebooks=False)
    assert {p.name: p.stat().st_mtime_ns for p in SYNTHETIC.iterdir()} == before


def test_notebooks_use_the_result_a_report_hands_them_only_for_the_same_parameters(tmp_path):
    params = {"extract_path": str(SYNTHETIC), "protocol": "misle-phase2", "overrides": {}, "policy": "separate",
              "subgroup": "site", "small_cell": 10}
    shared = report_mod._share(tmp_path, params, "the screening", {"from": "the report"}, {"tables": 1})
    assert report_mod.notebook_state(**params, shared=shared) == ("the screening", {"from": "the report"},
                                                                  {"tables": 1})
    s, meta, tables = report_mod.notebook_state(**{**params, "small_cell": 5}, shared=shared)
    assert meta["small_cell_threshold"] == 5 and meta["patients"] == s.extract.n_patients
    assert "attrition" in tables


def test_second_trial_protocol_gives_a_full_report(tmp_path):
    out = build_report(SYNTHETIC, "anifrolumab-tulip2", out=tmp_path / "tulip2")
    meta = json.loads((out / "tables" / "provenance.json").read_text(encoding="utf-8"))
    assert meta["protocol_id"] == "anifrolumab-tulip2" and meta["parameters"]["bilag.a_min"] == 1
    for name in report_mod.NOTEBOOKS:
        assert (out / name).with_suffix(".html").exists(), name
    # notebook 03 sweeps what this protocol has (no belimumab or glucocorticoid criterion here)
    sweeps = (out / "03-changing-criteria.html").read_text(encoding="utf-8")
    assert "sledai.min" in sweeps and "belimumab.months" not in sweeps
