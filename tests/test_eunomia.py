"""A public OMOP CDM nobody here wrote (Eunomia's Synthea27Nj) with SLE persons added, on every route.

Also the twists real exports ship with: empty vocabulary tables, drug quantities of 0, one bad cell in
a CSV table, results recorded as concepts, schemas that do not exist, and the messages that name them.
The outcomes are worked out by hand in ``tests/eunomia.py``.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import eunomia
from screening import screen
from screening.cli import main
from screening.errors import ExtractError, ExtractWarning
from screening.io.sources import load_source, with_schemas

SPEC = "omop:{}@" + eunomia.BASELINE


def _outcomes(s) -> dict:
    return {int(k): (str(v["status"]), v["criterion"]) for k, v in s.outcome().iterrows()}


def _screen(spec: str, **kw):
    """Screen ``spec`` under misle-phase2-ehr; return the screening and the warnings' texts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = screen(load_source(spec, **kw), "misle-phase2-ehr")
    return s, [str(w.message) for w in caught if issubclass(w.category, ExtractWarning)]


@pytest.fixture(scope="module")
def cdm(eunomia_cdm):
    return eunomia_cdm


@pytest.fixture(scope="module")
def on_folder(eunomia_visits):
    """The CSV folder as read once for the session (with its visits, tests/test_eunomia_visits.py), screened at
    baseline: the screening and the reading's warnings."""
    extract, said = eunomia_visits
    return screen(extract, "misle-phase2-ehr"), said


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The tables as shipped, as Parquet files (their content is the point here; CSV reading is read below)."""
    return eunomia.to_parquet(eunomia.unpack(tmp_path_factory.mktemp("eunomia-shipped")),
                              tmp_path_factory.mktemp("eunomia-shipped-parquet"))


def test_eunomia_as_shipped_warns_that_its_vocabulary_is_empty_and_that_nobody_has_sle(shipped):
    s, said = _screen(SPEC.format(shipped))
    assert _outcomes(s) == {p: ("excluded", "sle_diagnosis") for p in eunomia.SHIPPED_PERSONS}
    assert any("concept_ancestor is empty and drug_strength is empty" in w for w in said)
    sle = [w for w in said if "0 of 28 persons have an SLE diagnosis" in w]
    assert len(sle) == 1 and "concept set 'sle'" in sle[0] and "55464009" in sle[0]
    # The CDM does hold weight and labs; they are only read for the cohort, which is empty.
    assert not any("weight_kg" in w for w in said)


def test_every_added_persons_outcome_is_the_hand_answer_on_the_folder_as_shipped(on_folder):
    s, said = on_folder
    assert _outcomes(s) == eunomia.EXPECTED
    # Empty CONCEPT_ANCESTOR is treated as absent: the clinical drugs reach their ingredient through
    # DRUG_STRENGTH (a rituximab infusion, a 40 mg/day prednisone course), with a warning.
    assert any("concept_ancestor is empty: drug exposures recorded as clinical drugs are matched" in w for w in said)


def test_a_quantity_of_zero_is_an_unknown_dose_not_zero_mg(on_folder):
    meds = on_folder[0].extract.medications.set_index("patient_id")
    assert pd.isna(meds.loc["1004", "dose"])
    assert meds.loc["1003", "dose"] == 40.0 and meds.loc["1016", "dose"] == 5.0


def test_results_recorded_as_concepts_are_read(on_folder):
    p = on_folder[0].extract.patients
    assert p.loc[["1005", "1006", "1007"], "anti_dsdna_positive"].tolist() == [False, True, True]
    assert pd.isna(p.loc["1001", "anti_dsdna_positive"])  # no anti-dsDNA test: unknown, not negative


def test_with_concept_ancestor_filled_the_answers_are_the_same_and_nothing_is_said(eunomia_parquet, tmp_path):
    copy = shutil.copytree(eunomia_parquet, tmp_path / "ancestors")
    pd.DataFrame([{"ancestor_concept_id": i, "descendant_concept_id": d, "min_levels_of_separation": 1,
                   "max_levels_of_separation": 1} for d, i, _ in eunomia.STRENGTH]) \
        .to_parquet(copy / "concept_ancestor.parquet", index=False)  # as eunomia.write(..., ancestors=True)
    s, said = _screen(SPEC.format(copy))
    assert _outcomes(s) == eunomia.EXPECTED
    assert not any("concept_ancestor is empty" in w or "no concept_ancestor" in w for w in said)


def test_the_parquet_route_gives_the_same_answers(eunomia_parquet):
    s, said = _screen(SPEC.format(eunomia_parquet))
    assert _outcomes(s) == eunomia.EXPECTED
    assert any("concept_ancestor is empty" in w for w in said)


def _corrupt(cdm, folder, only: tuple[str, ...] | None = None):
    """Three bad cells in MEASUREMENT.csv: an impossible date, a date without dashes, a number with its unit.

    ``only``: copy just these tables (and MEASUREMENT) of the CDM.
    """
    shutil.copytree(cdm, folder, ignore=None if only is None else
                    lambda _, names: [n for n in names if Path(n).stem not in (*only, "MEASUREMENT")])
    path = folder / "MEASUREMENT.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = {}
    for pid, concept, column, value in (("1001", "3025315", "measurement_date", "2022-02-30"),
                                        ("1013", "3024929", "measurement_date", "20220601"),
                                        ("1003", "3025315", "value_as_number", "60 kg")):
        at = table.index[(table["person_id"] == pid) & (table["measurement_concept_id"] == concept)][0]
        table.loc[at, column] = value
        rows[pid] = at + 2  # the header is line 1
    table.to_csv(path, index=False)
    return rows


def test_one_bad_cell_in_a_csv_table_is_unknown_and_named_not_a_traceback(cdm, tmp_path):
    lines = _corrupt(cdm, tmp_path / "bad")
    s, said = _screen(SPEC.format(tmp_path / "bad"))
    path = tmp_path / "bad" / "MEASUREMENT.csv"
    assert f"{path}, column 'measurement_date': 2 values not a date YYYY-MM-DD, read as unknown: " \
           f"line {lines['1001']} ('2022-02-30'), line {lines['1013']} ('20220601')." in said
    assert f"{path}, column 'value_as_number': 1 value not a number, read as unknown: " \
           f"line {lines['1003']} ('60 kg')." in said
    # 1001's weight and 1013's platelets are undated, so not read; 1003's weight is unknown, so 40 mg/day
    # may or may not exceed 0.5 mg/kg/day.
    assert _outcomes(s) == eunomia.EXPECTED | {1003: ("not_assessable", "glucocorticoid"),
                                               1013: ("not_assessable", "platelets")}


def test_the_command_line_says_a_bad_cell_in_one_line_without_a_traceback(cdm, tmp_path, capsys):
    _corrupt(cdm, tmp_path / "bad", only=("PERSON",))  # what is said of a table does not need the rest
    code = main(["funnel", "--data", f"omop:{tmp_path / 'bad'}", "--baseline", eunomia.BASELINE,
                 "--protocol", "misle-phase2-ehr", "--small-cell", "0", "--format", "csv"])
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err and "'20220601'" in err


def test_a_duckdb_file_of_text_columns_reads_as_typed_and_names_its_bad_cell(cdm, tmp_path):
    """Tables loaded into DuckDB as text (as a site might load the CSVs) read like the CSV files themselves."""
    import duckdb

    db = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(db))
    for csv in sorted(cdm.glob("*.csv")):
        con.execute(f"CREATE TABLE {csv.stem} AS SELECT * FROM read_csv('{csv}', header=true, all_varchar=true)")
    con.execute("UPDATE MEASUREMENT SET value_as_number = '60 kg' WHERE person_id = '1003' "
                "AND measurement_concept_id = '3025315' AND measurement_date = '2022-06-01'")
    con.close()
    s, said = _screen(SPEC.format(db))
    assert any(w.startswith(f"{db}, table MEASUREMENT, column 'value_as_number': 1 value not a number, read as "
                            "unknown: row ") and w.endswith("('60 kg').") for w in said)
    assert _outcomes(s) == eunomia.EXPECTED | {1003: ("not_assessable", "glucocorticoid")}


def test_a_parquet_table_of_text_reads_as_typed_and_names_its_bad_cell(cdm, eunomia_parquet, tmp_path):
    folder = shutil.copytree(eunomia_parquet, tmp_path / "parquet")
    table = pd.read_csv(cdm / "MEASUREMENT.csv", dtype=str, keep_default_na=False)  # every column as text
    at = table.index[(table["person_id"] == "1013") & (table["measurement_concept_id"] == "3024929")][0]
    table.loc[at, "measurement_date"] = "2022-06-31"
    table.to_parquet(folder / "measurement.parquet", index=False)
    s, said = _screen(SPEC.format(folder))
    assert f"{folder / 'measurement.parquet'}, column 'measurement_date': 1 value not a date YYYY-MM-DD, read as " \
           f"unknown: row {at + 1} ('2022-06-31')." in said
    assert _outcomes(s) == eunomia.EXPECTED | {1013: ("not_assessable", "platelets")}


def test_a_schema_named_for_a_folder_is_an_error_not_ignored(cdm):
    with pytest.raises(ExtractError, match="--cdm-schema cdm"):
        load_source(SPEC.format(cdm), cdm_schema="cdm")
    with pytest.raises(ExtractError, match="--vocab-schema vocab"):
        with_schemas(SPEC.format(cdm), None, "vocab")  # what `report` passes on
    with pytest.raises(ExtractError, match="--cdm-schema"):
        load_source("data/synthetic", cdm_schema="cdm")


def test_a_cdm_without_a_measurement_table_names_it(eunomia_parquet, tmp_path):
    copy = shutil.copytree(eunomia_parquet, tmp_path / "nomeas")
    (copy / "measurement.parquet").unlink()
    s, said = _screen(SPEC.format(copy))
    assert any("no measurement table: labs, weight and autoantibodies are unknown" in w for w in said)
    assert not any("weight_kg" in w for w in said)  # named once, as the table, not column by column
    assert _outcomes(s)[1001] == ("not_assessable", "autoantibody")


# --- the same CDM in PostgreSQL -------------------------------------------------------------------------

# The session's server holds the CDM in schemas eunomia and eunomia_vocab (tests/conftest.py: eunomia_postgres).

def test_the_postgresql_route_gives_the_same_answers(eunomia_postgres):
    s, said = _screen(SPEC.format(eunomia_postgres), cdm_schema="eunomia", vocab_schema="eunomia_vocab")
    assert _outcomes(s) == eunomia.EXPECTED
    assert any("concept_ancestor is empty" in w and "--vocab-schema" in w for w in said)
    # The source is named by its URL as written (no password), never a path with its '//' folded.
    assert s.extract.path.startswith("omop:postgresql+psycopg://cdm@")
    converted = [w for w in said if "(converted)" in w]
    assert converted and all(w.startswith("omop:postgresql+psycopg://cdm@") for w in converted)


def test_a_schema_that_does_not_exist_is_an_error_naming_it(eunomia_postgres, capsys):
    for flag in ("--vocab-schema", "--cdm-schema"):
        args = ["funnel", "--data", f"omop:{eunomia_postgres}", "--baseline", eunomia.BASELINE, "--protocol",
                "misle-phase2-ehr", "--cdm-schema", "eunomia", "--vocab-schema", "eunomia_vocab"]
        args[args.index(flag) + 1] = "nosuch"
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"the schema 'nosuch' named by {flag}" in err and "eunomia_vocab" in err and "Traceback" not in err
