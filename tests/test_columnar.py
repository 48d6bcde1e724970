"""The loader's fast path agrees with the thorough one, and doubts everything the thorough one rejects."""

from __future__ import annotations

import pandas as pd
import pytest

import boundary
from screening import load_extract
from screening.columnar import Suspect, canonical, read_checked
from screening.extract import _check_table, _read_raw
from screening.schema import TABLES
from screening.synthetic import generate, write_extract
from test_extract import CASES, _broken, _rewritten


def _thorough(file, name):
    return canonical(_check_table(_read_raw(file), file, name), name, file.suffix == ".csv")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_fast_path_gives_exactly_the_thorough_tables(tmp_path, fmt):
    folder = write_extract(generate(300, seed=5), tmp_path / fmt, fmt)
    for name in TABLES:
        file = folder / f"{name}.{fmt}"
        pd.testing.assert_frame_equal(read_checked(file, name, None), _thorough(file, name), check_exact=True)


def test_fast_path_reads_the_hand_made_extract_exactly(tmp_path):
    folder = boundary.write(tmp_path / "x")
    for name in TABLES:
        file = folder / f"{name}.csv"
        pd.testing.assert_frame_equal(read_checked(file, name, None), _thorough(file, name), check_exact=True)


# Orphan events are checked across tables, after either path has read them.
WITHIN_A_TABLE = [c for c in CASES if not c[0].startswith("orphan")]


@pytest.mark.parametrize("name, table, edit, column, lines, words", WITHIN_A_TABLE, ids=[c[0] for c in WITHIN_A_TABLE])
def test_fast_path_doubts_every_bad_value(tmp_path, name, table, edit, column, lines, words):
    folder = _broken(tmp_path, table, edit)
    file = folder / f"{table}.csv"
    with pytest.raises(Suspect):
        read_checked(file, table, None)


def test_values_only_the_thorough_path_accepts_load_the_same(tmp_path):
    # an unpadded date and a quoted value: valid, but outside what the fast path reads itself
    folder = _rewritten(tmp_path, "patients",
                        lambda text: text.replace(",2024-06-15,", ",2024-6-15,", 1).replace("E01,A,", 'E01,"A",', 1))
    file = folder / "patients.csv"
    with pytest.raises(Suspect):
        read_checked(file, "patients", None)
    loaded = load_extract(folder).patients.reset_index()
    pd.testing.assert_frame_equal(loaded, _thorough(file, "patients"), check_exact=True)
    assert loaded["site"].astype(str).str.contains('"').sum() == 0


def test_a_quoted_line_end_is_read_as_the_thorough_path_reads_it(tmp_path):
    folder = _rewritten(tmp_path, "patients", lambda text: text.replace("E01,A,", 'E01,"A\nB",', 1))
    file = folder / "patients.csv"
    fast = read_checked(file, "patients", None)
    pd.testing.assert_frame_equal(fast, _thorough(file, "patients"), check_exact=True)
    assert "A\nB" in set(fast["site"].astype(str))
