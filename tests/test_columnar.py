"""The loader's fast path agrees with the thorough one, and doubts everything the thorough one rejects."""

from __future__ import annotations

import pandas as pd
import pytest

import boundary
from screening import load_extract
from screening.io.columnar import Suspect, canonical, read_checked
from screening.io.files import read_raw
from screening.io.schema import TABLES
from screening.io.thorough import check_table
from screening.io.vocabulary import recognise
from screening.synth.messy import ABSENT
from screening.synth.synthetic import generate, write_extract
from test_extract import CASES, _broken, _rewritten


def _thorough(file, name, columns=None):
    return canonical(check_table(read_raw(file, columns), file, name, columns), name, file.suffix == ".csv")


def _recognised(table, name):
    return recognise({name: table}, {})[0][name]


@pytest.mark.parametrize("fmt, messy", [("csv", False), ("parquet", False), ("csv", True), ("parquet", True)])
def test_fast_path_gives_exactly_the_thorough_tables(tmp_path, fmt, messy):
    """Both paths agree as read, and after the vocabulary step (messy: synonyms, case, Unicode forms)."""
    folder = write_extract(generate(300, seed=5), tmp_path / fmt, fmt, messy=messy, seed=5)
    for name in TABLES:
        file = folder / f"{name}.{fmt}"
        kept = [f.name for f in TABLES[name] if f.name not in ABSENT.get(name, ())] if messy else None
        fast, thorough = read_checked(file, name, kept), _thorough(file, name, kept)
        pd.testing.assert_frame_equal(fast, thorough, check_exact=True)
        pd.testing.assert_frame_equal(_recognised(fast, name), _recognised(thorough, name), check_exact=True)


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
    pd.testing.assert_frame_equal(loaded, _recognised(_thorough(file, "patients"), "patients"), check_exact=True)
    assert loaded["site"].astype(str).str.contains('"').sum() == 0


def test_a_quoted_line_end_is_read_as_the_thorough_path_reads_it(tmp_path):
    folder = _rewritten(tmp_path, "patients", lambda text: text.replace("E01,A,", 'E01,"A\nB",', 1))
    file = folder / "patients.csv"
    fast = read_checked(file, "patients", None)
    pd.testing.assert_frame_equal(fast, _thorough(file, "patients"), check_exact=True)
    assert "A\nB" in set(fast["site"].astype(str))
