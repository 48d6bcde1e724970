"""The validated cache gives exactly the tables a fresh load gives, and a changed byte misses it."""

from __future__ import annotations

import pandas as pd
import pytest

import boundary
from screening import load_extract, screen
from screening.cli import main
from screening.io.schema import TABLES


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENING_CACHE", str(folder))
    return folder


def _same(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), check_exact=True)
        pd.testing.assert_index_equal(a.table(name).index, b.table(name).index, exact=True)
    for name in TABLES:
        if name != "patients":
            assert (a.patient_rows(name) == b.patient_rows(name)).all()


@pytest.mark.parametrize("source", ["boundary", "synthetic"])
def test_cached_load_is_identical_to_a_fresh_one(own_cache, tmp_path, source):
    folder = boundary.write(tmp_path / "x") if source == "boundary" else "data/synthetic"
    fresh = load_extract(folder)
    again = load_extract(folder)
    assert not fresh.cached and again.cached
    assert again.hash == fresh.hash  # provenance names the extract's own files
    _same(fresh, again)
    for frame in ("summary", "attrition", "criteria_table", "overlap"):
        a, b = getattr(screen(fresh), frame)(), getattr(screen(again), frame)()
        assert a.to_csv() == b.to_csv()


def test_protocol_columns_are_an_entry_of_their_own(own_cache, tmp_path):
    folder = boundary.write(tmp_path / "x")
    columns = {"patients": ["patient_id", "age_years"], "medications": ["patient_id", "drug"]}
    narrow = load_extract(folder, columns=columns)
    assert list(narrow.patients.columns) == ["age_years"]
    assert load_extract(folder, columns=columns).cached
    assert not load_extract(folder).cached


def test_changing_one_byte_misses_the_cache(own_cache, tmp_path):
    folder = boundary.write(tmp_path / "x")
    first = load_extract(folder)
    path = folder / "patients.csv"
    text = path.read_text(encoding="utf-8")
    assert "E01,A,F,40," in text
    path.write_text(text.replace("E01,A,F,40,", "E01,A,F,41,", 1), encoding="utf-8")
    changed = load_extract(folder)
    assert not changed.cached and changed.hash != first.hash
    assert changed.patients.loc["E01", "age_years"] == 41
    assert load_extract(folder).cached


def test_a_bad_extract_is_never_cached(own_cache, tmp_path):
    folder = boundary.write(tmp_path / "x")
    path = folder / "medications.csv"
    path.write_text(path.read_text(encoding="utf-8") + "Z99,prednisone,glucocorticoid,,,5,mg/day\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(Exception, match="present in the patients table"):
            load_extract(folder)
    assert not own_cache.exists() or not any(own_cache.iterdir())


def test_cache_off_and_clear(own_cache, tmp_path, monkeypatch, capsys):
    folder = boundary.write(tmp_path / "x")
    load_extract(folder)
    assert main(["cache"]) == 0 and "1 cached extract(s)" in capsys.readouterr().out
    assert main(["cache", "--clear"]) == 0 and "removed 1" in capsys.readouterr().out
    assert not load_extract(folder).cached
    monkeypatch.setenv("SCREENING_CACHE", "off")
    assert not load_extract(folder).cached and not load_extract(folder).cached


def _entry(cache_folder):
    entries = [p for p in cache_folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == 1
    return entries[0]


def test_a_cached_file_rewritten_as_valid_arrow_is_detected_and_the_extract_read_again(own_cache, tmp_path,
                                                                                        monkeypatch):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.feather as feather

    monkeypatch.setenv("SCREENING_CACHE_KEY", str(tmp_path / "cache.key"))
    fresh = load_extract("data/synthetic")
    truth = screen(fresh).summary().to_csv()
    stored = _entry(own_cache) / "patients.arrow"
    table = feather.read_table(stored)
    column = table.schema.get_field_index("sledai_2k")
    raised = pc.add(table.column(column), pa.scalar(4, table.column(column).type))
    # A valid Arrow file, lz4 like the cache's own: only its SLEDAI values differ (more patients eligible).
    feather.write_feather(table.set_column(column, "sledai_2k", raised), stored, compression="lz4")
    with pytest.warns(UserWarning, match="changed after it was written; reading the extract itself again"):
        again = load_extract("data/synthetic")
    assert not again.cached and again.hash == fresh.hash
    assert screen(again).summary().to_csv() == truth  # the numbers the stated extract gives, not the rewritten ones
    _same(fresh, again)
    assert load_extract("data/synthetic").cached  # stored again, and trusted again


def test_a_cached_file_with_its_recorded_hash_rewritten_too_is_refused_without_the_key(own_cache, tmp_path,
                                                                                         monkeypatch):
    import json

    import pyarrow.feather as feather

    from screening.io.cache import SUMS

    monkeypatch.setenv("SCREENING_CACHE_KEY", str(tmp_path / "cache.key"))
    folder = boundary.write(tmp_path / "x")
    fresh = load_extract(folder)
    entry = _entry(own_cache)
    table = feather.read_table(entry / "patients.arrow")
    feather.write_feather(table.slice(0, 1), entry / "patients.arrow", compression="lz4")
    sums = json.loads((entry / SUMS).read_text())
    import hashlib
    sums["patients.arrow"] = hashlib.sha256((entry / "patients.arrow").read_bytes()).hexdigest()  # unkeyed forgery
    (entry / SUMS).write_text(json.dumps(sums))
    with pytest.warns(UserWarning, match="changed after it was written"):
        again = load_extract(folder)
    assert not again.cached and again.n_patients == fresh.n_patients
