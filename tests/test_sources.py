"""OMOP CDM and Synthea exports screened end to end, against hand-computed funnels."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pandas as pd
import pytest

import source_fixtures as fx
from screening import screen
from screening.cli import main
from screening.engine.quality import missingness
from screening.errors import ExtractWarning
from screening.io.sources import load_source
from screening.io.sources.common import load_concepts

# The hand-made exports hold no proteinuria (and Synthea no nephritis onset): the loader's
# "empty in every row" warning is right, and not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")


@pytest.fixture(scope="module")
def omop_dir(tmp_path_factory):
    return fx.write_omop(tmp_path_factory.mktemp("omop"))


@pytest.fixture(scope="module")
def synthea_dir(tmp_path_factory):
    return fx.write_synthea(tmp_path_factory.mktemp("synthea"))


def _outcomes(s) -> dict:
    out = s.outcome()
    return {k: (str(v["status"]), v["criterion"]) for k, v in out.iterrows()}


def test_omop_funnel_under_the_ehr_protocol(omop_dir):
    s = screen(load_source(f"omop:{omop_dir}@2024-06-15"), "misle-phase2-ehr")
    assert _outcomes(s) == {str(k): v for k, v in fx.OMOP_EXPECTED_EHR.items()}
    assert s.summary()["patients"].tolist() == [2, 12, 2]
    table = s.attrition().set_index("criterion")
    # The CDM's persons first, then who has SLE, is alive and is observed.
    assert table["entering"].iloc[:4].tolist() == [16, 16, 14, 13]
    assert table.loc[["sle_diagnosis", "alive", "observed"], "excluded"].tolist() == [2, 1, 1]
    # Not even counting every unknown as met makes a person without SLE, or dead at baseline, eligible.
    lenient = _outcomes(screen(load_source(f"omop:{omop_dir}@2024-06-15"), "misle-phase2-ehr", policy="include"))
    assert [lenient[p][0] for p in ("13", "14", "16")] == ["excluded"] * 3
    assert table.loc["age", "excluded"] == 1 and table.loc["nephritis_therapy", "not_assessable"] == 1
    assert table.loc["glucocorticoid", ["excluded", "not_assessable"]].tolist() == [1, 1]


def test_omop_under_the_full_protocol_leaves_registry_only_criteria_unassessable(omop_dir):
    s = screen(load_source(f"omop:{omop_dir}@2024-06-15"), "misle-phase2")
    # ACR count, SLEDAI, BILAG, chest X-ray are not in OMOP: nobody can be eligible,
    # the 8 definite exclusions stand, and the 8 others are not assessable (the registry protocol has
    # no cohort entry, so persons 13-16 are not assessable either).
    assert s.summary()["patients"].tolist() == [0, 8, 8]
    assert s.outcome().loc["1", "criterion"] == "classification"


def test_omop_derivations(omop_dir):
    ex = load_source(f"omop:{omop_dir}@2024-06-15")
    p = ex.patients
    assert p.loc["1", "haemoglobin"] == 12.0  # 120 g/L converted
    assert p.loc["12", "platelets"] == 25000  # 25 x10^3/uL
    assert p.loc["2", "age_years"] == 17 and p.loc["9", "sex"] == "M" and p.loc["7", "race_ethnicity"] == "Hispanic"
    assert p.loc["4", "lupus_nephritis"] == "active"  # local code matched only through concept_ancestor
    assert str(p.loc["4", "nephritis_onset_date"].date()) == "2024-01-10"
    assert bool(p.loc["3", "hiv_positive"]) and not bool(p.loc["1", "hiv_positive"])
    meds = ex.medications.set_index("patient_id")
    assert meds.loc["5", "dose"] == 30.0  # 180 tablets x 5 mg / 30 days
    assert pd.isna(meds.loc["11", "dose"])  # no quantity: not derivable, left missing
    assert meds.loc["6", ["dose", "dose_unit"]].tolist() == [120.0, "mg"]
    mal = ex.malignancies.set_index("patient_id")["malignancy_type"].to_dict()
    assert mal == {"8": "other", "9": "basal_cell_skin"}
    assert "hydrocortisone" not in set(ex.medications["drug"])  # creams (by route concept or text) do not count


def test_an_implausible_value_is_unknown_for_that_person_not_fatal(omop_dir):
    ex = load_source(f"omop:{omop_dir}@2024-06-15")
    assert pd.isna(ex.patients.loc["10", "weight_kg"]) and ex.patients.loc["1", "weight_kg"] == 60
    assert ex.implausible[["column", "patient_id", "value"]].values.tolist() == [["weight_kg", "10", 11.0]]
    q = missingness(ex).set_index("column")
    assert q.loc["weight_kg", "note"].startswith("1 implausible value")


@pytest.fixture(scope="module")
def omop_old_weight(omop_dir, tmp_path_factory):
    """The fixture with person 5's weight (50 kg) measured in 2001, 23 years before the 2024 baseline."""
    folder = tmp_path_factory.mktemp("omop-old-weight")
    for csv in omop_dir.glob("*.csv"):
        (folder / csv.name).write_bytes(csv.read_bytes())
    meas = pd.read_csv(folder / "measurement.csv")
    meas.loc[(meas["person_id"] == 5) & (meas["measurement_concept_id"] == 3025315), "measurement_date"] = \
        "2001-03-01"
    meas.to_csv(folder / "measurement.csv", index=False)
    return folder


def test_a_2001_weight_is_not_used_and_the_recency_limit_is_a_protocol_parameter(omop_old_weight):
    from screening import load_protocol

    spec = f"omop:{omop_old_weight}@2024-06-15"
    ehr = load_protocol("misle-phase2-ehr")
    # 30 mg/day prednisone: above 0.5 mg/kg/day at 50 kg, but the 2001 weight is not read (12 months).
    ex = load_source(spec, protocol=ehr)
    assert pd.isna(ex.patients.loc["5", "weight_kg"]) and ex.labs_read_months == 12
    assert _outcomes(screen(ex, ehr))["5"] == ("not_assessable", "glucocorticoid")
    # A longer limit, set on the protocol, reaches back to it in the database query and uses it.
    longer = ehr.with_overrides({"glucocorticoid.weight_months": 300})
    ex = load_source(spec, protocol=longer)
    assert ex.patients.loc["5", "weight_kg"] == 50 and str(ex.patients.loc["5", "weight_date"].date()) == "2001-03-01"
    assert _outcomes(screen(ex, longer))["5"] == ("excluded", "glucocorticoid")
    # Read once with 300 months, screened with the shipped 12: the old weight is there but not used.
    assert _outcomes(screen(ex, ehr)) == {str(k): v for k, v in fx.OMOP_EXPECTED_EHR.items()} | \
        {"5": ("not_assessable", "glucocorticoid")}
    # Screened with a longer limit than the source was read with: said, not silently narrower.
    with pytest.warns(ExtractWarning, match="read from the 12 months before baseline; glucocorticoid"):
        screen(load_source(spec), longer)


def test_the_command_line_reads_as_far_back_as_the_protocol_asks(omop_old_weight):
    def glucocorticoid(*extra):
        out = io.StringIO()
        with redirect_stdout(out):
            main(["funnel", "--data", f"omop:{omop_old_weight}@2024-06-15", "--protocol", "misle-phase2-ehr",
                  "--format", "csv", "--small-cell", "0", *extra])
        table = pd.read_csv(io.StringIO(out.getvalue())).set_index("criterion")
        return table.loc["glucocorticoid", ["excluded", "not_assessable"]].tolist()

    assert glucocorticoid() == [0, 2]
    assert glucocorticoid("--set", "glucocorticoid.weight_months=300") == [1, 1]


def test_omop_in_duckdb_gives_the_same_extract(omop_dir, tmp_path):
    import duckdb

    db = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(db))
    for csv in omop_dir.glob("*.csv"):
        con.execute(f"CREATE TABLE {csv.stem} AS SELECT * FROM read_csv('{csv}', header=true)")
    con.close()
    a = screen(load_source(f"omop:{omop_dir}@2024-06-15"), "misle-phase2-ehr")
    b = screen(load_source(f"omop:{db}@2024-06-15"), "misle-phase2-ehr")
    pd.testing.assert_frame_equal(a.attrition(), b.attrition())


def test_last_visit_baseline(omop_dir):
    ex = load_source(f"omop:{omop_dir}", baseline="last_visit", before="2024-06-30")
    assert set(ex.patients["baseline_date"].dt.strftime("%Y-%m-%d")) == {"2024-06-15"}
    early = load_source(f"omop:{omop_dir}", baseline="last_visit", before="2024-03-01")
    assert set(early.patients["baseline_date"].dt.strftime("%Y-%m-%d")) == {"2024-01-01"}


def test_synthea_funnel_under_the_ehr_protocol(synthea_dir):
    s = screen(load_source(f"synthea:{synthea_dir}@2024-06-15"), "misle-phase2-ehr")
    assert _outcomes(s) == fx.SYNTHEA_EXPECTED_EHR
    assert s.summary()["patients"].tolist() == [0, 8, 2]
    crit = s.criteria_table().set_index("criterion")
    assert crit.loc["glucocorticoid", "not_assessable_alone"] == 1  # s6: Synthea gives no daily dose
    assert crit.loc["liver", "not_assessable_alone"] == 10  # no reference ranges in Synthea


def test_data_quality_names_what_a_source_cannot_give(synthea_dir, omop_dir):
    q = missingness(load_source(f"synthea:{synthea_dir}@2024-06-15")).set_index("column")
    assert q.loc["sledai_2k", "percent"] == 100.0 and "SLEDAI" in q.loc["sledai_2k", "note"]
    assert "reference range" in q.loc["ast_uln", "note"]
    q = missingness(load_source(f"omop:{omop_dir}@2024-06-15")).set_index("column")
    assert "BILAG" in q.loc["bilag_renal", "note"] and q.loc["bilag_renal", "missing"] == 16


def test_cli_screens_an_omop_folder(omop_dir):
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["funnel", "--data", f"omop:{omop_dir}", "--baseline", "2024-06-15", "--protocol",
                     "misle-phase2-ehr", "--format", "csv", "--small-cell", "0"])
    assert code == 0
    table = pd.read_csv(io.StringIO(out.getvalue()))
    assert table["entering"].iloc[0] == 16 and table["remaining"].iloc[-1] == 2


def test_every_concept_cites_its_source():
    sets = load_concepts()
    sources = set(sets["sources"])
    items = [i for section in ("conditions", "procedures") for spec in sets[section].values() for i in spec["items"]]
    items += [i for spec in sets["drugs"].values() for i in (spec, *spec.get("also", []))]
    items += [i for spec in sets["measurements"].values() for i in spec["items"]]
    # A code, or a cited OMOP id where no code could be cited (mycophenolic acid).
    assert items and all(i["source"] in sources and (i.get("code") or i.get("concept_id")) for i in items)
    assert {i["code"] for i in sets["conditions"]["cns_lupus"]["items"]} >= {"1144942002", "95644001"}
    assert 19012565 in {i.get("concept_id") for i in sets["drugs"]["mycophenolate"]["also"]}


def test_mycophenolic_acid_and_cns_lupus_resolve_in_the_cdm(omop_dir, tmp_path):
    """Person 1 starts mycophenolic acid (a product coded under the ingredient), person 9 has SLE encephalitis."""
    folder = tmp_path / "cdm"
    folder.mkdir()
    for csv in omop_dir.glob("*.csv"):
        (folder / csv.name).write_bytes(csv.read_bytes())
    drugs = pd.read_csv(folder / "drug_exposure.csv")
    drugs.loc[len(drugs)] = {"drug_exposure_id": 99, "person_id": 1, "drug_concept_id": 2000000014,
                             "drug_exposure_start_date": "2024-05-01", "drug_exposure_end_date": "2024-06-29",
                             "quantity": 120, "days_supply": 60}
    drugs.to_csv(folder / "drug_exposure.csv", index=False)
    conditions = pd.read_csv(folder / "condition_occurrence.csv")
    conditions.loc[len(conditions)] = {"condition_occurrence_id": 99, "person_id": 9, "condition_concept_id": 4000020,
                                       "condition_start_date": "2024-03-01"}
    conditions.to_csv(folder / "condition_occurrence.csv", index=False)
    ex = load_source(f"omop:{folder}@2024-06-15")
    mpa = ex.medications[ex.medications["patient_id"] == "1"]
    assert mpa[["drug", "drug_class", "dose"]].values.tolist() == [["mycophenolate", "immunosuppressant", 720.0]]
    assert bool(ex.patients.loc["9", "cns_lupus_active"]) and not bool(ex.patients.loc["1", "cns_lupus_active"])
    expected = {str(k): v for k, v in fx.OMOP_EXPECTED_EHR.items()}
    expected |= {"1": ("excluded", "immunosuppressant_change"), "9": ("excluded", "cns_lupus")}
    assert _outcomes(screen(ex, "misle-phase2-ehr")) == expected


def test_a_sqlite_cdm_is_screened_by_the_same_queries(omop_dir, tmp_path):
    import sqlalchemy as sa

    db = tmp_path / "cdm.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    for csv in omop_dir.glob("*.csv"):  # dates as text, as SQLite holds them
        pd.read_csv(csv).to_sql(csv.stem, engine, index=False)
    engine.dispose()
    s = screen(load_source(f"omop:sqlite:///{db}@2024-06-15"), "misle-phase2-ehr")
    assert _outcomes(s) == {str(k): v for k, v in fx.OMOP_EXPECTED_EHR.items()}
    folder = screen(load_source(f"omop:{omop_dir}@2024-06-15"), "misle-phase2-ehr")
    pd.testing.assert_frame_equal(s.attrition(), folder.attrition())
    pd.testing.assert_frame_equal(s.extract.patients, folder.extract.patients)


def test_bad_sources_are_named(tmp_path):
    from screening import ExtractError

    with pytest.raises(ExtractError, match="person"):
        load_source(f"omop:{tmp_path}")
    with pytest.raises(ExtractError, match="patients.csv"):
        load_source(f"synthea:{tmp_path}")
    with pytest.raises(ExtractError, match="baseline"):
        fx.write_omop(tmp_path / "o")
        load_source(f"omop:{tmp_path / 'o'}@June")


def test_full_report_on_the_omop_fixture_under_the_ehr_protocol(omop_dir, tmp_path):
    out = tmp_path / "report"
    with redirect_stdout(io.StringIO()):
        code = main(["report", "--data", f"omop:{omop_dir}", "--baseline", "2024-06-15", "--protocol",
                     "misle-phase2-ehr", "--out", str(out), "--small-cell", "0"])
    assert code == 0
    assert {p.name for p in out.glob("*.html")} == {"01-eligible-pool.html", "02-screening-funnel.html",
                                                    "03-changing-criteria.html"}
    attrition = pd.read_csv(out / "tables" / "attrition.csv")
    assert attrition["criterion"].tolist()[:4] == ["extract", "sle_diagnosis", "alive", "observed"]
    assert "observed.months" in set(pd.read_csv(out / "tables" / "sweeps.csv")["parameter"])  # swept


def test_without_concept_ancestor_clinical_drugs_still_match_through_drug_strength(omop_dir, tmp_path):
    import shutil

    from screening.errors import ExtractWarning

    copy = shutil.copytree(omop_dir, tmp_path / "omop")
    (copy / "concept_ancestor.csv").unlink()
    with pytest.warns(ExtractWarning, match="no concept_ancestor"):
        s = screen(load_source(f"omop:{copy}@2024-06-15"), "misle-phase2-ehr")
    out = _outcomes(s)
    assert out["5"] == ("excluded", "glucocorticoid") and out["6"] == ("excluded", "belimumab")
    assert out["2"] == ("excluded", "sle_diagnosis")  # the local SLE code needs the hierarchy


# --- the same CDM in PostgreSQL (two schemas), a DuckDB file and a Parquet folder ----------------------

@pytest.fixture(scope="module")
def postgres(postgres_url, omop_dir, generated_cdm):
    """The session's server holding the hand-made CDM (schemas cdm, vocab) and the generated one (gen, gen_vocab)."""
    import psycopg

    import postgres_server as pg

    pg.load_cdm(postgres_url, pg.read_tables(omop_dir), "cdm", "vocab")
    pg.load_cdm(postgres_url, generated_cdm, "gen", "gen_vocab")
    yield postgres_url
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as con:
        for schema in ("cdm", "vocab", "gen", "gen_vocab"):
            con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def generated_cdm():
    from screening.io.sources.synthetic_cdm import generate_cdm

    return generate_cdm(3000, seed=7, vocabulary=20_000)


def _duckdb_file(tables: dict, path) -> str:
    import duckdb

    con = duckdb.connect(str(path))
    for name, frame in tables.items():
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()
    return str(path)


def test_hand_made_cdm_in_postgres_gives_each_persons_outcome(postgres, omop_dir):
    s = screen(load_source(f"omop:{postgres}@2024-06-15", cdm_schema="cdm", vocab_schema="vocab"),
               "misle-phase2-ehr")
    assert _outcomes(s) == {str(k): v for k, v in fx.OMOP_EXPECTED_EHR.items()}
    folder = screen(load_source(f"omop:{omop_dir}@2024-06-15"), "misle-phase2-ehr")
    pd.testing.assert_frame_equal(s.attrition(), folder.attrition())


def test_generated_cdm_gives_one_funnel_in_postgres_duckdb_and_parquet(postgres, generated_cdm, tmp_path):
    import postgres_server as pg
    from screening.io.sources.synthetic_cdm import write_cdm

    parquet = write_cdm(generated_cdm, tmp_path / "parquet")
    specs = {"postgres": f"omop:{postgres}?cdm_schema=gen&vocab_schema=gen_vocab@2024-06-15",
             "duckdb": f"omop:{_duckdb_file(generated_cdm, tmp_path / 'cdm.duckdb')}@2024-06-15",
             "parquet": f"omop:{parquet}@2024-06-15"}
    extracts = {name: load_source(spec) for name, spec in specs.items()}
    funnels = {name: screen(extract, "misle-phase2-ehr").attrition() for name, extract in extracts.items()}
    pd.testing.assert_frame_equal(funnels["postgres"], funnels["duckdb"])
    pd.testing.assert_frame_equal(funnels["postgres"], funnels["parquet"])
    # the rows read, whatever order and types each database gave them in: one CDM, one hash
    assert len({extract.hash for extract in extracts.values()}) == 1
    entry = funnels["postgres"].set_index("criterion")
    assert entry.loc["sle_diagnosis", "entering"] == 3000 and 0 < entry.loc["sle_diagnosis", "remaining"] < 300
    assert pg.VOCABULARY[0] == "concept"


def test_cli_reads_postgres_schemas_and_a_password_url(postgres):
    out = io.StringIO()
    url = postgres.replace("cdm@", "cdm:anything@")  # trust authentication ignores the password
    with redirect_stdout(out):
        code = main(["funnel", "--data", f"omop:{url}", "--baseline", "2024-06-15", "--cdm-schema", "cdm",
                     "--vocab-schema", "vocab", "--protocol", "misle-phase2-ehr", "--format", "csv",
                     "--small-cell", "0"])
    assert code == 0
    assert pd.read_csv(io.StringIO(out.getvalue()))["remaining"].iloc[-1] == 2


def test_database_problems_are_one_line(capsys):
    code = main(["funnel", "--data", "omop:postgresql+psycopg://me:pw@127.0.0.1:9/db", "--baseline", "2024-06-15"])
    err = capsys.readouterr().err
    assert code != 0 and "database server" in err and "pw" not in err and "Traceback" not in err
    code = main(["funnel", "--data", "omop:mssql+pyodbc://me@host/db", "--baseline", "2024-06-15"])
    err = capsys.readouterr().err
    assert code != 0 and "driver" in err and "Traceback" not in err


def test_upper_case_files_and_columns_and_a_trimmed_measurement_table(omop_dir, tmp_path):
    # Eunomia ships PERSON.csv with upper-case headers; a CDM 5.3 extract may lack newer or optional columns.
    copy = tmp_path / "upper"
    copy.mkdir()
    for csv in omop_dir.glob("*.csv"):
        table = pd.read_csv(csv)
        if csv.stem == "measurement":
            table = table.drop(columns=["value_as_concept_id"])
        table.columns = [c.upper() for c in table.columns]
        table.to_csv(copy / f"{csv.stem.upper()}.csv", index=False)
    s = screen(load_source(f"omop:{copy}@2024-06-15"), "misle-phase2-ehr")
    expected = {str(k): v for k, v in fx.OMOP_EXPECTED_EHR.items()}
    # Without value_as_concept_id nobody's anti-dsDNA is known positive; the ANA titre still is.
    assert _outcomes(s) == expected
    tables = {csv.stem: pd.read_csv(csv) for csv in copy.glob("*.csv")}  # PERSON, MEASUREMENT, ... in DuckDB
    db = _duckdb_file(tables, tmp_path / "upper.duckdb")
    assert _outcomes(screen(load_source(f"omop:{db}@2024-06-15"), "misle-phase2-ehr")) == expected
