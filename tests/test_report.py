"""The shareable report: files, provenance, privacy scans, offline HTML, reproducibility, safe writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from screening import ScreeningError, load_extract
from screening.cli import main
from screening.disclosure.rule import WATERMARK
from screening.synth.synthetic import generate, write_extract
from screening.views import notebook_runner
from screening.views import report as report_mod
from screening.views.report import build_report, check_out, log_release

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
TABLES = ["attrition", "by_criterion", "comparison", "composition", "criteria", "headline", "items", "leave_one_out",
          "missingness", "not_assessable", "outcome_by_site", "overlap", "sweeps", "transitions"]


#: The recruitment projection: rates, expected patients and months computed from the rounded series, not counts.
PROJECTED = ("over_time_projection", "over_time_time_to_target", "over_time_cumulative")


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    return build_report(SYNTHETIC, out=tmp_path_factory.mktemp("r") / "report", release_log=None)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_report_files(full_report):
    names = {p.name for p in full_report.iterdir()}
    for nb in report_mod.NOTEBOOKS:
        assert nb in names and nb.replace(".ipynb", ".html") in names
    tables = {p.name for p in (full_report / "tables").iterdir()}
    for stem in TABLES:
        assert {f"{stem}.csv", f"{stem}.json"} <= tables
    assert "provenance.json" in tables
    # the bundled extract holds visits: the series over time, its projection, and report 01's section on them
    assert {f"{stem}.csv" for stem in ("over_time_monthly", "over_time_by_site", *PROJECTED)} <= tables
    assert "Eligible over time" in (full_report / "01-eligible-pool.html").read_text(encoding="utf-8")


def test_html_hides_code_and_states_provenance(full_report):
    html = (full_report / "02-screening-funnel.html").read_text(encoding="utf-8")
    assert "from screening import" not in html and "report_tables(" not in html
    assert load_extract(SYNTHETIC).hash in html
    assert "misle-phase2" in html and "screening 0.1.0" in html
    assert "rounded to the nearest 5" in html


def test_html_needs_nothing_from_the_network(full_report):
    for page in full_report.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        linked = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(https?:|//)""", html, flags=re.I)
        assert not linked, f"{page.name} loads {linked[:3]} from the network"
        assert "require.min.js" not in html and "MathJax.js" not in html and "mathjax@" not in html.lower()


def test_provenance_records_the_disclosure_rule(full_report):
    meta = json.loads((full_report / "tables" / "provenance.json").read_text())
    assert meta["extract_sha256"] == load_extract(SYNTHETIC).hash
    assert meta["protocol_id"] == "misle-phase2" and meta["unknown_policy"] == "separate"
    assert meta["parameters"]["sledai.min"] == 6 and len(meta["parameters"]) > 40
    assert meta["disclosure"] == {"rule": "round", "threshold": 10, "base": 5}
    assert meta["patients"] == "5000" and meta["tool"] == "screening"
    table = json.loads((full_report / "tables" / "attrition.json").read_text())
    assert table["provenance"] == meta


def test_no_identifier_date_path_or_timestamp_in_any_report_file(full_report):
    ids = set(load_extract(SYNTHETIC).patients.index)
    date = re.compile(r"\b(19|20)\d\d-\d\d-\d\d")
    for path in _files(full_report):
        text = path.read_text(encoding="utf-8", errors="ignore")
        found = set(re.findall(r"P\d{7}", text)) & ids
        assert not found, f"{path.name} holds patient ids {sorted(found)[:3]}"
        assert not date.search(text), f"{path.name} holds a date or time: {date.search(text).group(0)}"
        for local in (str(ROOT), str(SYNTHETIC), "/tmp/", "site-packages"):
            assert local not in text, f"{path.name} holds a local path ({local})"
        assert "Traceback" not in text and "warn(" not in text, path.name


def test_every_count_in_every_table_is_redacted_or_rounded(full_report):
    for path in (full_report / "tables").glob("*.csv"):
        if path.stem in PROJECTED:
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in table.columns:
            derived = ("pct", "share", "ratio", "smd", "rank")  # computed from the rounded counts, not counts
            # Not counts: steps, numbers of criteria, parameter values and near-miss distances.
            if col in ("step", "criteria", "value", "n_dropped", "distance_from", "distance_to") \
                    or col.startswith(derived) or col in ("percent", "difference"):
                continue
            numbers = pd.to_numeric(table[col], errors="coerce")
            small = table.loc[numbers.between(1, 14) | (numbers % 5 != 0) & numbers.notna(), col]
            if path.stem == "attrition":
                small = small[small.index > 0]
            assert small.empty, f"{path.stem}.{col} shows exact counts {small.tolist()}"


def test_same_inputs_give_byte_identical_tables(tmp_path):
    a = build_report(SYNTHETIC, out=tmp_path / "a", notebooks=False, release_log=None)
    b = build_report(SYNTHETIC, out=tmp_path / "b", notebooks=False, release_log=None)
    files = [p.relative_to(a) for p in _files(a)]
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def _tiny_pair(folder: Path) -> tuple[Path, Path]:
    """Nine patients, and the same nine plus a copy of one: every count differs or not, but all stay ≤10."""
    tables = generate(40, 5)
    keep = tables["patients"]["patient_id"].iloc[:9]
    a = {k: v[v["patient_id"].isin(keep)].reset_index(drop=True) for k, v in tables.items()}
    b = {k: pd.concat([v, v[v["patient_id"] == keep.iloc[0]].assign(patient_id="P9999999")], ignore_index=True)
         for k, v in a.items()}
    return write_extract(a, folder / "extract-aaaa"), write_extract(b, folder / "extract-bbbb")


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
def test_a_ten_patient_extract_leaks_no_exact_count_in_any_file(tmp_path):
    """Reports of 9 and of 10 patients differ only in the extract's hash: no file holds a count, a chart
    axis or a warning that tells them apart (provenance.json, HTML provenance, charts, notebooks)."""
    nine, ten = _tiny_pair(tmp_path)
    ra = build_report(nine, out=tmp_path / "ra", release_log=None)
    rb = build_report(ten, out=tmp_path / "rb", release_log=None)
    hash_a, hash_b = load_extract(nine).hash, load_extract(ten).hash
    assert [p.relative_to(ra) for p in _files(ra)] == [p.relative_to(rb) for p in _files(rb)]
    for fa in _files(ra):
        if fa.name == "MANIFEST.sha256":
            continue  # checksums of the files below, which hold the extract's own hash
        text_a = fa.read_text(encoding="utf-8", errors="ignore").replace(hash_a, "HASH").replace("extract-aaaa", "X")
        text_b = (rb / fa.relative_to(ra)).read_text(encoding="utf-8", errors="ignore") \
            .replace(hash_b, "HASH").replace("extract-bbbb", "X")
        assert text_a == text_b, f"{fa.name} tells a 9-patient extract from a 10-patient one"
    meta = json.loads((rb / "tables" / "provenance.json").read_text())
    assert meta["patients"] == "≤10"


def test_subgroup_on_a_date_free_text_or_measurement_is_refused(tmp_path):
    for column in ("baseline_date", "weight_kg", "patient_id", "notes"):
        with pytest.raises(ScreeningError, match="site, sex, race_ethnicity, age_band"):
            build_report(SYNTHETIC, out=tmp_path / column, subgroup=column, notebooks=False, release_log=None)
    assert list(tmp_path.iterdir()) == []


def test_age_band_subgroup(tmp_path):
    out = build_report(SYNTHETIC, out=tmp_path / "r", subgroup="age_band", notebooks=False, release_log=None)
    table = pd.read_csv(out / "tables" / "outcome_by_age_band.csv", dtype=str)
    assert table["age_band"].tolist() == ["[0, 18)", "[18, 30)", "[30, 40)", "[40, 50)", "[50, 66)", "[66, 91)",
                                          "(missing)"]


# --- where a report may be written --------------------------------------------------------------


def test_out_onto_the_extract_is_refused_and_the_extract_untouched(tmp_path):
    extract = write_extract(generate(60, 1), tmp_path / "ex")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in extract.iterdir()}
    for out in (extract, extract / "report", tmp_path):
        with pytest.raises(ScreeningError, match="the extract"):
            build_report(extract, out=out, overwrite=True, notebooks=False, release_log=None)
    code = main(["report", "--data", str(extract), "--out", str(extract), "--overwrite", "--tables-only"])
    assert code == 2
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in extract.iterdir()} == before


@pytest.mark.parametrize("out, message", [
    (".", "not '.' or '..'"), ("x/..", "not '.' or '..'"), ("/proc/report", "system folder"),
    ("lib/screening/r", "the screening package"), ("notebooks", "the notebooks"), ("", "empty"),
])
def test_bad_out_paths_give_clear_errors(out, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ScreeningError, match=re.escape(message)):
        check_out(out, SYNTHETIC, overwrite=True)


def test_out_under_a_file_is_refused_before_any_computing(tmp_path, monkeypatch):
    (tmp_path / "file.txt").write_text("x")

    def no_loading(*args, **kwargs):
        raise AssertionError("the extract was loaded before the path was checked")

    monkeypatch.setattr(report_mod, "load_source", no_loading)
    with pytest.raises(ScreeningError, match="is a file"):
        build_report(SYNTHETIC, out=tmp_path / "file.txt" / "r", notebooks=False)
    with pytest.raises(ScreeningError, match="is a file"):
        build_report(SYNTHETIC, out=tmp_path / "file.txt", overwrite=True, notebooks=False)


def test_overwrite_only_replaces_a_report_of_this_tool(tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff")
    with pytest.raises(ScreeningError, match="not a report written by screening"):
        build_report(SYNTHETIC, out=other, overwrite=True, notebooks=False, release_log=None)
    assert (other / "cat.jpg").read_bytes() == b"\xff"
    out = build_report(SYNTHETIC, out=tmp_path / "r", notebooks=False, release_log=None)
    marker = out / "tables" / "attrition.csv"
    before = marker.read_bytes()
    with pytest.raises(ScreeningError, match="already exists"):
        build_report(SYNTHETIC, "misle-phase1-pilot", out=out, notebooks=False, release_log=None)
    assert marker.read_bytes() == before
    build_report(SYNTHETIC, "misle-phase1-pilot", out=out, notebooks=False, overwrite=True, release_log=None)
    assert marker.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "r"]


def test_failure_between_the_swap_steps_leaves_the_old_report(tmp_path, monkeypatch):
    out = build_report(SYNTHETIC, out=tmp_path / "r", notebooks=False, release_log=None)
    before = (out / "tables" / "attrition.csv").read_bytes()
    real, calls = report_mod._rename, []

    def fail_second(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("disk unplugged")
        real(src, dst)

    monkeypatch.setattr(report_mod, "_rename", fail_second)
    with pytest.raises(OSError, match="unplugged"):
        build_report(SYNTHETIC, "misle-phase1-pilot", out=out, overwrite=True, notebooks=False, release_log=None)
    assert (out / "tables" / "attrition.csv").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_a_run_killed_between_the_swap_steps_is_repaired_by_the_next(tmp_path, capsys):
    out = build_report(SYNTHETIC, out=tmp_path / "r", notebooks=False, release_log=None)
    before = (out / "tables" / "attrition.csv").read_bytes()
    out.rename(tmp_path / ".r.old-abc123")  # killed after moving the old report aside
    (tmp_path / ".r.new-def456" / "tables").mkdir(parents=True)  # and before finishing the new one
    with pytest.raises(ScreeningError, match="already exists"):
        check_out(out, SYNTHETIC)
    assert (out / "tables" / "attrition.csv").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    err = capsys.readouterr().err
    assert "restored" in err and ".r.new-def456" in err


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_mod, "run_notebooks", boom)
    with pytest.raises(KeyboardInterrupt):
        build_report(SYNTHETIC, out=tmp_path / "r", release_log=None)
    assert list(tmp_path.iterdir()) == []


def test_notebooks_use_the_result_a_report_hands_them_only_for_the_same_parameters(tmp_path):
    params = {"extract_path": str(SYNTHETIC), "protocol": "misle-phase2", "overrides": {}, "policy": "separate",
              "subgroup": "site", "small_cell": 10}
    shared = notebook_runner.share_state(tmp_path, params, "the screening", {"from": "the report"}, {"tables": 1})
    assert notebook_runner.notebook_state(**params, shared=shared) == ("the screening", {"from": "the report"},
                                                                       {"tables": 1})
    s, meta, tables = notebook_runner.notebook_state(**{**params, "small_cell": 5}, shared=shared)
    assert meta["small_cell_threshold"] == 5 and meta["patients"] == str(s.extract.n_patients)
    assert "attrition" in tables


def test_second_trial_protocol_gives_a_full_report(tmp_path):
    out = build_report(SYNTHETIC, "anifrolumab-tulip2", out=tmp_path / "tulip2", release_log=None)
    meta = json.loads((out / "tables" / "provenance.json").read_text(encoding="utf-8"))
    assert meta["protocol_id"] == "anifrolumab-tulip2" and meta["parameters"]["bilag.a_min"] == 1
    for name in report_mod.NOTEBOOKS:
        assert (out / name).with_suffix(".html").exists(), name
    # notebook 03 sweeps what this protocol has (no belimumab or glucocorticoid criterion here)
    swept = set(pd.read_csv(out / "tables" / "sweeps.csv")["parameter"])
    assert "sledai.min" in swept and "belimumab.months" not in swept
    # ... each named in the page by what it means, in its unit
    assert "lowest SLEDAI-2K allowed (points)" in (out / "03-changing-criteria.html").read_text(encoding="utf-8")


# --- internal reports and the release log --------------------------------------------------------


def test_internal_report_is_watermarked_everywhere_and_kept_apart(tmp_path):
    out = build_report(SYNTHETIC, out=tmp_path / "internal", small_cell=0, notebooks=False)
    for path in _files(out):
        if path.name != "MANIFEST.sha256":  # checksums only, naming INTERNAL-NOT-FOR-SHARING.txt
            assert WATERMARK in path.read_text(encoding="utf-8"), path.name
    assert pd.read_csv(out / "tables" / "headline.csv")["patients"].iloc[0] == 5000
    shared = build_report(SYNTHETIC, out=tmp_path / "shared", notebooks=False, release_log=None)
    with pytest.raises(ScreeningError, match="holds a shareable report"):
        build_report(SYNTHETIC, out=shared, small_cell=0, overwrite=True, notebooks=False)
    with pytest.raises(ScreeningError, match="cannot be negative"):
        build_report(SYNTHETIC, out=tmp_path / "neg", small_cell=-1, notebooks=False)


def test_release_log_warns_when_releases_of_one_extract_overlap(tmp_path, capsys):
    log = tmp_path / "releases.jsonl"
    build_report(SYNTHETIC, out=tmp_path / "a", notebooks=False, release_log=log)
    assert capsys.readouterr().err.count("warning") == 0
    build_report(SYNTHETIC, "misle-phase1-pilot", out=tmp_path / "b", notebooks=False, release_log=log)
    assert "earlier release(s) of this extract used other parameters" in capsys.readouterr().err
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["extract_sha256"] for e in entries] == [load_extract(SYNTHETIC).hash] * 2
    meta = {**entries[0], "extract_sha256": "0" * 64}
    assert any("changed since an earlier release" in w for w in log_release(meta, SYNTHETIC, tmp_path / "c", log))
