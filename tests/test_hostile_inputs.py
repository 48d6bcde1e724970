"""Inputs built to crash or stall the tool end in one clear error, from the first thing read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from screening import ExtractError, ProtocolError, load_extract
from screening.cli import main
from screening.rules.protocol import MAX_YAML_DEPTH, load_protocol
from screening.views import notebook_runner

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
DEEP = 3000


@pytest.mark.parametrize("text", [
    "id: deep\ncriteria: " + "[" * DEEP + "]" * DEEP,                                  # flow sequences
    "id: deep\ncriteria: " + "{a: " * DEEP + "1" + "}" * DEEP,                          # flow mappings
    "id: deep\ncriteria:\n" + "".join(" " * i + "k:\n" for i in range(1, DEEP + 1)),    # block mappings
    "id: deep\ncriteria:\n" + "- " * DEEP + "1\n",                                      # block sequences
], ids=["flow-sequence", "flow-mapping", "block-mapping", "block-sequence"])
def test_a_protocol_nested_3000_deep_is_a_protocol_error(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError, match=rf"deep.yaml, file: expected valid YAML\.\n  it nests values more than "
                                            rf"{MAX_YAML_DEPTH} levels deep"):
        load_protocol(path)


def test_a_protocol_nested_as_deep_as_allowed_still_reads(tmp_path):
    path = tmp_path / "nested.yaml"
    path.write_text("id: nested\ntitle: " + "[" * (MAX_YAML_DEPTH - 2) + "]" * (MAX_YAML_DEPTH - 2), encoding="utf-8")
    with pytest.raises(ProtocolError, match="nested.yaml, file: expected a mapping|criteria"):
        load_protocol(path)  # read, then refused for what it says (no criteria), not for its depth


def test_notebook_03_runs_for_a_protocol_with_no_threshold_to_sweep(tmp_path):
    protocol = tmp_path / "age-only.yaml"
    protocol.write_text("id: age-only\ntitle: Age only\ncriteria:\n  - {id: old, label: Over 80, kind: exclusion, "
                        "rule: column, params: {column: age_years, op: '>', value: 80}}\n", encoding="utf-8")
    params = {"extract_path": str(SYNTHETIC), "protocol": str(protocol), "overrides": {}, "policy": "separate",
              "subgroup": "site", "small_cell": 10}
    notebook_runner.run_notebook("03-changing-criteria.ipynb", tmp_path, params)
    html = (tmp_path / "03-changing-criteria.html").read_text(encoding="utf-8")
    assert "Sweeps of key thresholds" in html and "Traceback" not in html


@pytest.mark.parametrize("name, expected", [
    ("r" * 300, "is 300 bytes long, more than the 239 it may have here"),
    ("report\nsecond line", r"holds a control character \(\\n\)"),
    ("report\x00", r"holds a control character \(\\x00\)"),
])
def test_an_out_folder_that_cannot_be_named_is_refused_before_screening(tmp_path, capsys, name, expected):
    out = str(tmp_path / name)
    assert main(["report", "--data", str(SYNTHETIC), "--out", out, "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert __import__("re").search(expected, err), err
    assert list(tmp_path.iterdir()) == []
    assert main(["merge", str(tmp_path), "--out", out]) == 2
    assert __import__("re").search(expected, capsys.readouterr().err)


@pytest.mark.parametrize("size", [1 << 10, 64 << 20], ids=["1 KiB", "64 MiB sparse"])
def test_a_file_of_nul_bytes_is_refused_from_its_first_block(tmp_path, size):
    folder = shutil.copytree(SYNTHETIC, tmp_path / "x")
    with open(folder / "medications.csv", "wb") as f:
        f.truncate(size)  # sparse: nothing is written, every byte reads as NUL
    with pytest.raises(ExtractError, match=r"medications.csv: expected CSV text \(UTF-8\)\.\n  Byte 1 is a NUL byte"):
        load_extract(folder)


def test_a_utf16_table_is_refused_with_the_fix(tmp_path):
    folder = shutil.copytree(SYNTHETIC, tmp_path / "x")
    text = (folder / "medications.csv").read_text(encoding="utf-8")
    (folder / "medications.csv").write_text(text, encoding="utf-16")
    with pytest.raises(ExtractError, match="text saved as UTF-16. Export the table again as UTF-8 CSV"):
        load_extract(folder)


@pytest.mark.parametrize("command", [["template"], ["synth", "--patients", "20"]], ids=["template", "synth"])
@pytest.mark.parametrize("name, expected", [
    ("r" * 300, "is 300 bytes long, more than the 255 it may have here"),
    ("extract\nsecond line", r"holds a control character \(\\n\)"),
])
def test_template_and_synth_refuse_an_out_folder_that_cannot_be_named(tmp_path, capsys, command, name, expected):
    assert main([*command, "--out", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(expected, err), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["template"], ["synth", "--patients", "20"]], ids=["template", "synth"])
def test_template_and_synth_never_write_into_a_folder_holding_files_or_over_a_file(tmp_path, capsys, command):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main([*command, "--out", str(full)]) == 2
    assert "already exists and holds files: choose a new or empty folder" in capsys.readouterr().err
    assert [p.name for p in full.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main([*command, "--out", str(tmp_path / "file")]) == 2
    assert "is a file or a link, not a folder" in capsys.readouterr().err
    assert main([*command, "--out", str(tmp_path / "file" / "below")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_synth_overwrite_replaces_an_existing_extract(tmp_path, capsys):
    assert main(["synth", "--patients", "20", "--out", str(tmp_path / "x")]) == 0
    assert main(["synth", "--patients", "20", "--out", str(tmp_path / "x")]) == 2
    assert main(["synth", "--patients", "30", "--out", str(tmp_path / "x"), "--overwrite"]) == 0
    assert len((tmp_path / "x" / "patients.csv").read_text(encoding="utf-8").splitlines()) == 31
