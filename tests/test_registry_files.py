"""Registry files as they arrive: cut off mid-row, counted by a manifest, lists in Parquet, near-miss headers.

And the unclear answers of the command line: ``--set =4``, ``--out a/../r``, and a
``column`` rule comparing labels with ``>``. Each is one message naming the file,
column, line or option, never a silent number or a traceback.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from screening import load_extract, screen
from screening.cli import main
from screening.errors import ExtractError, ExtractWarning, ProtocolError
from screening.rules.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def extract(tmp_path):
    return Path(shutil.copytree(ROOT / "data" / "synthetic", tmp_path / "extract"))


def _cut(file: Path, keep: bytes) -> int:
    """Cut ``file`` after the first line ending in ``keep``...: mid-row, at ``keep``; return that line's number."""
    data = file.read_bytes()
    half = data[: len(data) // 2]
    at = half.rfind(keep) + len(keep)
    file.write_bytes(half[:at])
    return half[:at].count(b"\n") + 1


def test_a_csv_cut_off_inside_its_last_value_is_flagged_with_file_and_line(extract):
    line = _cut(extract / "medications.csv", b"mg/")  # the last field reads mg/ where mg/day was
    with pytest.warns(ExtractWarning, match=rf"medications.csv: line {line} \('.*,mg/'\) has no line end"):
        load_extract(extract)


def test_a_csv_cut_off_with_its_last_row_short_is_refused_with_file_and_line(extract):
    line = _cut(extract / "medications.csv", b",immunosuppressant,")
    with pytest.raises(ExtractError, match=rf"medications.csv: 1 line does not match(.|\n)*Line {line} "
                                           r"(.|\n)*no line end: the file looks truncated"):
        load_extract(extract)


def test_a_row_count_manifest_catches_a_table_cut_at_a_line_end(extract):
    full = {name: len(pd.read_csv(extract / f"{name}.csv")) for name in ("patients", "medications")}
    pd.DataFrame({"table": list(full), "rows": list(full.values())}).to_csv(extract / "row_counts.csv", index=False)
    load_extract(extract)  # the counts agree
    lines = (extract / "medications.csv").read_bytes().splitlines(keepends=True)
    (extract / "medications.csv").write_bytes(b"".join(lines[:1001]))  # cut cleanly after 1,000 rows
    with pytest.raises(ExtractError, match=rf"row_counts.csv(.|\n)*medications.csv: 1,000 rows read, "
                                           rf"{full['medications']:,} listed"):
        load_extract(extract)


def test_a_parquet_column_of_lists_is_named(extract, tmp_path):
    folder = tmp_path / "parquet"
    folder.mkdir()
    for csv in extract.glob("*.csv"):
        table = pd.read_csv(csv, dtype=str)
        if csv.stem == "patients":
            table["site"] = [[s] for s in table["site"]]
        table.to_parquet(folder / f"{csv.stem}.parquet")
    with pytest.raises(ExtractError, match=r"patients.parquet, column 'site': expected one value per row"):
        load_extract(folder)


def test_an_upper_case_header_is_named_as_the_near_miss_it_is(extract):
    before = set(load_extract(extract).absent.get("patients", ()))  # optional fields the extract never held
    text = (extract / "patients.csv").read_text(encoding="utf-8")
    (extract / "patients.csv").write_text(text.replace("sledai_2k", "SLEDAI_2K", 1), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex = load_extract(extract)
    said = [str(w.message) for w in caught]
    assert any("column 'SLEDAI_2K' is not read as sledai_2k" in w and "Rename it sledai_2k" in w for w in said)
    assert set(ex.absent["patients"]) - before == {"sledai_2k"}


def test_set_without_a_name_says_it_came_from_set(capsys):
    assert main(["funnel", "--data", str(ROOT / "data" / "synthetic"), "--set", "=4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set, =4: expected a parameter name before '='") and "Traceback" not in err


def test_out_with_dot_dot_is_refused(tmp_path, capsys):
    out = f"{tmp_path}/a/../r"
    assert main(["report", "--data", str(ROOT / "data" / "synthetic"), "--out", out, "--tables-only"]) == 2
    assert f"--out {out} contains '..'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_column_rule_comparing_labels_with_an_order_names_column_and_operator(boundary_extract, tmp_path):
    path = tmp_path / "sex-order.yaml"
    path.write_text('id: sex-order\ntitle: "Labels compared with an order"\ncriteria:\n'
                    '  - {id: sex_order, label: "sex > F", kind: inclusion, rule: column,\n'
                    '     params: {column: sex, op: ">", value: F}}\n', encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"column sex > 'F': sex holds the values 'F', 'M'.*which > cannot "
                                            r"compare with 'F'"):
        screen(boundary_extract, load_protocol(path)).summary()
