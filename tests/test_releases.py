"""Related releases: extracts that differ by a patient are recognised wherever they live, by a salted sketch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.cli import main
from screening.disclosure.releases import SKETCH_SIZE, ReleaseRefused, id_sketch, overlap
from screening.disclosure.rule import SHAREABLE
from screening.engine.funnel import Screening
from screening.io.extract import load_extract
from screening.rules.protocol import load_protocol
from screening.views.provenance import provenance
from screening.views.report import build_report, log_release

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"


def _patients(rows: slice, folder: Path) -> Path:
    """Some of the bundled extract's patients, with all their rows, in a folder of their own."""
    folder.mkdir(parents=True)
    patients = pd.read_csv(SYNTHETIC / "patients.csv", dtype=str, keep_default_na=False).iloc[rows]
    patients.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
    for file in SYNTHETIC.glob("*.csv"):
        if file.stem != "patients":
            table = pd.read_csv(file, dtype=str, keep_default_na=False)
            table[table["patient_id"].isin(patients["patient_id"])].to_csv(folder / file.name, index=False,
                                                                          lineterminator="\n")
    return folder


def test_two_extracts_one_patient_apart_in_different_folders_are_refused_unless_forced(tmp_path, capsys,
                                                                                        monkeypatch):
    log = tmp_path / "log" / "releases.jsonl"
    monkeypatch.setenv("SCREENING_RELEASE_LOG", str(log))
    first = _patients(slice(0, 400), tmp_path / "registry-2025")
    second = _patients(slice(1, 401), tmp_path / "elsewhere" / "registry-copy")  # one patient out, one in
    assert _release(first, tmp_path / "r1", log) == []  # logged as a report would be, without its tables
    with pytest.raises(ReleaseRefused) as refused:
        build_report(second, out=tmp_path / "r2", notebooks=False, release_log=log)
    text = str(refused.value)
    assert re.search(r"^refused: this extract shares about (99|100)% of its patients with 1 earlier release\(s\) "
                     r"of another extract \(e\.g\. .*r1, from .*registry-2025\) but is not the same extract",
                     text), text
    assert "pass --force" in text
    assert not (tmp_path / "r2").exists() and len(log.read_text(encoding="utf-8").splitlines()) == 1
    assert not list(tmp_path.glob(".r2.*"))  # nothing half-written beside it either
    # The command line: one line, exit status 2; --force writes the report, logs it and warns.
    assert main(["report", "--data", str(second), "--out", str(tmp_path / "r2"), "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: refused: this extract shares about"), err
    assert "Traceback" not in err and err.count("\n") == 2  # the loading line, then the error
    assert main(["report", "--data", str(second), "--out", str(tmp_path / "r2"), "--tables-only", "--force"]) == 0
    err = capsys.readouterr().err
    assert "warning: this extract shares about" in err and "Written because of --force" in err
    assert (tmp_path / "r2" / "tables" / "headline.csv").is_file()
    # The log holds a sketch of hashes, never an id.
    text = log.read_text(encoding="utf-8")
    ids = pd.read_csv(SYNTHETIC / "patients.csv", dtype=str)["patient_id"].iloc[:401]
    assert not any(i in text for i in ids)
    entries = [json.loads(line) for line in text.splitlines()]
    assert [len(e["id_sketch"]) for e in entries] == [SKETCH_SIZE, SKETCH_SIZE]
    assert (log.parent / "releases.jsonl.salt").stat().st_mode & 0o077 == 0  # the salt is its owner's alone


def test_an_extract_changed_in_place_by_one_patient_is_refused_too(tmp_path):
    log = tmp_path / "releases.jsonl"
    meta = {"extract_sha256": "a" * 64, "patients": 300, "protocol_fingerprint": "p", "overrides": {},
            "unknown_policy": "separate", "disclosure": {}}
    ids = pd.Series([f"P{i}" for i in range(300)])
    assert log_release(meta, tmp_path / "registry", tmp_path / "r1", log, ids=ids) == []
    changed = {**meta, "extract_sha256": "b" * 64, "patients": 299}
    with pytest.raises(ReleaseRefused, match=r"shares about (99|100)% of its patients .* from .*registry\)"):
        log_release(changed, tmp_path / "registry", tmp_path / "r2", log, ids=ids[1:])
    warnings = log_release(changed, tmp_path / "registry", tmp_path / "r2", log, ids=ids[1:], force=True)
    assert len(warnings) == 1 and "Written because of --force" in warnings[0]  # not warned twice


def test_disjoint_extracts_and_the_same_extract_again_are_not_refused(tmp_path):
    log = tmp_path / "releases.jsonl"
    a = _patients(slice(0, 300), tmp_path / "a")
    b = _patients(slice(300, 600), tmp_path / "b")
    assert _release(a, tmp_path / "ra", log) == _release(b, tmp_path / "rb", log) == []
    assert _release(a, tmp_path / "ra2", log) == []


def _release(folder: Path, out: Path, log: Path) -> list[str]:
    """Log ``folder``'s release as ``build_report`` does, with its provenance and patients, but no tables."""
    s = Screening(load_extract(folder), load_protocol("misle-phase2"))
    return log_release(provenance(s, SHAREABLE), folder, out, log, ids=s.extract.patients.index)


def test_sketch_overlap_estimates_the_share_of_patients_in_common():
    rng = np.random.default_rng(0)
    ids = pd.Series([f"P{i:07d}" for i in rng.permutation(20_000)])
    salt = "fedcba9876543210"
    whole = id_sketch(ids[:10_000], salt)
    for shared in (0, 2_500, 5_000, 10_000):
        other = id_sketch(ids[10_000 - shared:20_000 - shared], salt)
        truth = shared / (20_000 - shared)
        assert abs(overlap(whole, other) - truth) < 0.15, (shared, overlap(whole, other), truth)
    # Another salt gives unrelated hashes: sketches from two logs never match by chance.
    assert overlap(whole, id_sketch(ids[:10_000], "0000000000000000")) < 0.1
