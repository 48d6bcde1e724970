"""The loader's fast path agrees with the thorough one, and doubts everything the thorough one rejects."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import boundary
from screening import load_extract
from screening.io.columnar import Suspect, canonical, read_checked
from screening.io.files import read_raw
from screening.io.schema import TABLES
from screening.io.thorough import check_table
from screening.io.vocabulary import recognise
from screening.synth.messy import ABSENT
from screening.synth.synthetic import generate, write_extract
from test_extract import CASES, _broken, _rewritten, _set


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
        # Optional dictionary fields the generator does not draw are not in the file: read what it holds.
        held = set(pd.read_csv(file, nrows=0).columns) if fmt == "csv" else set(pd.read_parquet(file).columns)
        kept = [f.name for f in TABLES[name] if f.name in held and not (messy and f.name in ABSENT.get(name, ()))]
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


def _listed(read) -> list[str]:
    """What a reader lists for one table: each failing check's error, as the user reads it."""
    failures = []
    read(failures)
    return [str(e) for e in failures]


@pytest.mark.parametrize("name, table, edit, column, lines, words", WITHIN_A_TABLE, ids=[c[0] for c in WITHIN_A_TABLE])
def test_fast_path_doubts_or_lists_every_bad_value_as_the_thorough_path_does(tmp_path, name, table, edit, column,
                                                                           lines, words):
    folder = _broken(tmp_path, table, edit)
    file = folder / f"{table}.csv"
    thorough = _listed(lambda failures: check_table(read_raw(file), file, table, failures=failures))
    assert len(thorough) == 1 and f"'{column}'" in thorough[0] and words in thorough[0]
    if name in ("text in a number column", "fractional integer", "day-first date", "impossible date",
                "unknown boolean word"):  # a value that does not parse: only the thorough path names it
        with pytest.raises(Suspect):
            read_checked(file, table, None, failures=[])
    else:
        assert _listed(lambda failures: read_checked(file, table, None, failures=failures)) == thorough


def test_both_paths_list_every_failing_check_of_a_table_in_one_order(tmp_path):
    edits = [_set("age_years", [2], "200"), _set("sledai_2k", [0, 4], "120"), _set("ana_date", [9], "2024-07-01"),
             _set("patient_id", [3], "E01"), _set("weight_kg", [5], "3")]
    folder = _broken(tmp_path, "patients", lambda frame: [edit(frame) for edit in edits][-1])
    file = folder / "patients.csv"
    fast = _listed(lambda failures: read_checked(file, "patients", None, failures=failures))
    thorough = _listed(lambda failures: check_table(read_raw(file), file, "patients", failures=failures))
    assert fast == thorough
    # a row's dates out of order first, then column by column in the dictionary's order
    assert [re.search(r"column '(\w+)'", e).group(1) for e in fast] == [
        "ana_date", "patient_id", "age_years", "weight_kg", "sledai_2k"]
    assert "Lines 2, 6 (values 120, 120)" in fast[-1] and "Lines 2, 5 (values 'E01', 'E01')" in fast[1]


def test_values_only_the_thorough_path_accepts_load_the_same(tmp_path):
    # an unpadded date and a quoted value: valid, but outside what the fast path reads itself
    folder = _rewritten(tmp_path, "patients",
                        lambda text: text.replace(",2024-06-15,", ",2024-6-15,", 1).replace("E01,A,", 'E01,"A",', 1))
    file = folder / "patients.csv"
    with pytest.raises(Suspect):
        read_checked(file, "patients", None)
    loaded = load_extract(folder).patients.reset_index()
    thorough = _recognised(_thorough(file, "patients"), "patients")  # ids held as categories until indexed by them
    thorough["patient_id"] = thorough["patient_id"].astype(loaded["patient_id"].dtype)
    pd.testing.assert_frame_equal(loaded, thorough, check_exact=True)
    assert loaded["site"].astype(str).str.contains('"').sum() == 0


def test_a_quoted_line_end_is_read_as_the_thorough_path_reads_it(tmp_path):
    folder = _rewritten(tmp_path, "patients", lambda text: text.replace("E01,A,", 'E01,"A\nB",', 1))
    file = folder / "patients.csv"
    fast = read_checked(file, "patients", None)
    pd.testing.assert_frame_equal(fast, _thorough(file, "patients"), check_exact=True)
    assert "A\nB" in set(fast["site"].astype(str))


def test_every_check_is_implemented_for_both_paths_or_by_the_readers():
    from screening.io.checks import FAST, IN_PATIENTS, KINDS, THOROUGH, Check, checks_of

    by_readers = {kind for kind in KINDS if Check(kind, "", "").by_reader}
    assert by_readers == {"format", "in_patients"}
    assert set(FAST) == set(THOROUGH) == set(KINDS) - by_readers
    declared = {c.name for name, fields in TABLES.items() for c in checks_of(fields, name)} | {IN_PATIENTS.name}
    assert declared == set(KINDS)


_EDITS = st.lists(st.tuples(st.integers(0, 53),
                            st.sampled_from(["age_years", "sledai_2k", "weight_kg", "egfr", "ana_date", "patient_id"]),
                            st.sampled_from(["", "-3", "40", "250", "1e6", "2024-07-01", "2020-01-01", "E02", "abc"])),
                  min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=_EDITS)
def test_both_paths_list_the_same_failures_whatever_the_faults(tmp_path_factory, edits):
    folder = boundary.write(tmp_path_factory.mktemp("x"))
    file = folder / "patients.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    for row, column, value in edits:
        frame.loc[row, column] = value
    frame.to_csv(file, index=False)
    thorough = []
    check_table(read_raw(file), file, "patients", failures=thorough)
    try:
        fast = _listed(lambda failures: read_checked(file, "patients", None, failures=failures))
    except Suspect:  # only for a value that does not parse, which the thorough path then names
        assert any(e.check == "format" for e in thorough)
        return
    assert fast == [str(e) for e in thorough]
