"""Related releases: extracts that differ by a patient are recognised wherever they live, by a salted sketch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from screening.disclosure.releases import SKETCH_SIZE, id_sketch, overlap
from screening.views.report import build_report

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


def test_two_extracts_one_patient_apart_in_different_folders_trigger_the_warning(tmp_path, capsys):
    log = tmp_path / "log" / "releases.jsonl"
    first = _patients(slice(0, 400), tmp_path / "registry-2025")
    second = _patients(slice(1, 401), tmp_path / "elsewhere" / "registry-copy")  # one patient out, one in
    build_report(first, out=tmp_path / "r1", notebooks=False, release_log=log)
    assert "shares about" not in capsys.readouterr().err
    build_report(second, out=tmp_path / "r2", notebooks=False, release_log=log)
    err = capsys.readouterr().err
    assert "warning: this extract shares about 99% of its patients with 1 earlier release(s) of another extract" \
        in err or "shares about 100% of its patients" in err, err
    assert str(tmp_path / "r1") in err
    # The log holds a sketch of hashes, never an id.
    text = log.read_text(encoding="utf-8")
    ids = pd.read_csv(SYNTHETIC / "patients.csv", dtype=str)["patient_id"].iloc[:401]
    assert not any(i in text for i in ids)
    entries = [json.loads(line) for line in text.splitlines()]
    assert [len(e["id_sketch"]) for e in entries] == [SKETCH_SIZE, SKETCH_SIZE]
    assert (log.parent / "releases.jsonl.salt").stat().st_mode & 0o077 == 0  # the salt is its owner's alone


def test_disjoint_extracts_and_the_same_extract_again_do_not_warn(tmp_path, capsys):
    log = tmp_path / "releases.jsonl"
    a = _patients(slice(0, 300), tmp_path / "a")
    b = _patients(slice(300, 600), tmp_path / "b")
    build_report(a, out=tmp_path / "ra", notebooks=False, release_log=log)
    build_report(b, out=tmp_path / "rb", notebooks=False, release_log=log)
    build_report(a, out=tmp_path / "ra2", notebooks=False, release_log=log)
    assert "shares about" not in capsys.readouterr().err


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
