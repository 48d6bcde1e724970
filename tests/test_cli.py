"""The command line: funnel output for scripts, reports, and clear errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd

from screening.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = str(ROOT / "data" / "synthetic")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_funnel_csv(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "csv", "--small-cell", "0")
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert table["remaining"].iloc[-1] == 18 and table["entering"].iloc[0] == 54


def test_funnel_json_with_override(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "json", "--small-cell", "0",
                       "--set", "sledai.min=5")
    rows = json.loads(out)
    assert rows[-1]["remaining"] == 19


def test_funnel_suppresses_by_default(boundary_dir):
    code, out, _ = run("funnel", "--data", str(boundary_dir), "--format", "csv")
    assert code == 0 and "<11" in out


def test_bad_path_parameter_and_protocol_exit_2():
    code, _, err = run("funnel", "--data", "/no/such/folder")
    assert code == 2 and "expected a folder" in err
    code, _, err = run("funnel", "--data", DATA, "--set", "sledai.minimum=4")
    assert code == 2 and "Did you mean min" in err
    code, _, err = run("funnel", "--data", DATA, "--protocol", "nope.yaml")
    assert code == 2 and "shipped protocol" in err
    code, _, err = run("funnel", "--data", DATA, "--set", "sledai.min")
    assert code == 2 and "name=value" in err


def test_report_tables_only(tmp_path):
    code, out, err = run("report", "--data", DATA, "--out", str(tmp_path / "r"), "--tables-only")
    assert code == 0 and (tmp_path / "r" / "tables" / "attrition.csv").exists()
    assert "loading" in err  # progress goes to stderr
    code, _, err = run("report", "--data", DATA, "--out", str(tmp_path / "r"), "--tables-only")
    assert code == 2 and "already exists" in err


def test_protocols_listing():
    code, out, _ = run("protocols")
    assert "misle-phase2" in out and "misle-phase1-pilot" in out
