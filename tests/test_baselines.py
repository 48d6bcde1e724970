"""Differential tests: the row-wise naive implementation agrees with the engine on every patient and criterion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screening import load_extract, load_protocol
from screening.engine.funnel import Screening
from screening.errors import ExtractWarning
from screening.rules.baselines.naive import naive_states
from screening.rules.protocol import shipped_protocols
from screening.synth.synthetic import generate, write_extract

# Every shipped protocol but the EHR one, whose cohort-entry rules need an OMOP source (tests/test_sources.py).
PROTOCOLS = [name for name in shipped_protocols() if name != "misle-phase2-ehr"]


def _engine_states(ex, protocol) -> pd.DataFrame:
    s = Screening(ex, protocol)
    return pd.DataFrame(s.raw, index=ex.patients.index, columns=s.ids)


@pytest.mark.parametrize("name", PROTOCOLS)
def test_naive_matches_engine_on_the_boundary_fixture(boundary_extract, name):
    protocol = load_protocol(name)
    naive = naive_states(boundary_extract, protocol)
    engine = _engine_states(boundary_extract, protocol)
    pd.testing.assert_frame_equal(naive.astype(np.int8), engine, check_names=False)


@pytest.mark.parametrize("seed", [1, 2])
def test_naive_matches_engine_on_synthetic_patients(tmp_path, seed):
    ex = load_extract(write_extract(generate(250, seed), tmp_path))
    protocol = load_protocol("misle-phase2")
    naive = naive_states(ex, protocol).astype(np.int8)
    engine = _engine_states(ex, protocol)
    mismatch = (naive != engine)
    assert not mismatch.any().any(), mismatch.sum()[mismatch.sum() > 0].to_dict()


@pytest.mark.parametrize("name", PROTOCOLS)
def test_duckdb_sql_matches_engine(tmp_path, boundary_dir, name):
    from screening.rules.baselines.sql import connect, run_funnel, states_sql

    protocol = load_protocol(name)
    for folder in (boundary_dir, write_extract(generate(1500, 4), tmp_path, "parquet")):
        ex = load_extract(folder)
        con = connect(folder)
        sql = con.execute(states_sql(protocol)).df().set_index("patient_id").sort_index()
        engine = _engine_states(ex, protocol).sort_index()
        mismatch = sql.astype(np.int8) != engine
        assert not mismatch.any().any(), mismatch.sum()[mismatch.sum() > 0].to_dict()
        result = run_funnel(con, protocol)
        assert result["eligible"]["patient_id"].tolist() == sorted(Screening(ex, protocol).eligible_ids())


@pytest.mark.parametrize("share", [0.15, 0.5])
def test_baselines_match_engine_when_much_is_missing(tmp_path, share):
    """Many blanks (dates, doses, weights, baselines): the three implementations still agree on every patient."""
    from completion import blank, written
    from screening.rules.baselines.sql import connect, states_sql

    ex = blank(load_extract(write_extract(generate(200, 7), tmp_path / "full")), np.random.default_rng(7), share)
    # A blanked drug name (or class, or event type) is written as one the vocabulary does not know.
    folder = write_extract(written(ex), tmp_path / "gaps")
    with pytest.warns(ExtractWarning, match="Zz-unknown"):
        ex = load_extract(folder)
    protocol = load_protocol("misle-phase2")
    engine = _engine_states(ex, protocol)
    naive = naive_states(ex, protocol).astype(np.int8)
    sql = connect(folder).execute(states_sql(protocol)).df().set_index("patient_id").loc[engine.index]
    for other in (naive, sql.astype(np.int8)):
        mismatch = other != engine
        assert not mismatch.any().any(), mismatch.sum()[mismatch.sum() > 0].to_dict()


def _ehr_extracts(tmp_path):
    """EHR extracts with the cohort-entry columns: the hand-made OMOP and Synthea exports, and a generated CDM."""
    import source_fixtures as fx
    from screening.io.sources import load_source
    from screening.io.sources.synthetic_cdm import generate_cdm, write_cdm

    yield load_source(f"omop:{fx.write_omop(tmp_path / 'omop')}@2024-06-15")
    yield load_source(f"synthea:{fx.write_synthea(tmp_path / 'synthea')}@2024-06-15")
    yield load_source(f"omop:{write_cdm(generate_cdm(600, seed=5, vocabulary=2000), tmp_path / 'cdm')}@2024-06-15")


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
def test_baselines_match_engine_under_the_ehr_protocol(tmp_path):
    """misle-phase2-ehr, cohort entry included: naive and DuckDB SQL agree with the engine on every person."""
    import duckdb

    from screening.rules.baselines.sql import load_tables, run_funnel, states

    protocol = load_protocol("misle-phase2-ehr")
    for ex in _ehr_extracts(tmp_path):
        engine = _engine_states(ex, protocol)
        con = duckdb.connect()
        load_tables(con, ex)
        sql = states(con, protocol).loc[engine.index]
        for other in (naive_states(ex, protocol).astype(np.int8), sql.astype(np.int8)):
            mismatch = other != engine
            assert not mismatch.any().any(), mismatch.sum()[mismatch.sum() > 0].to_dict()
        assert (engine[["sle_diagnosis", "alive", "observed"]] != -1).any().all()  # entry rules really decide
        assert run_funnel(con, protocol)["eligible"]["patient_id"].tolist() == \
            sorted(Screening(ex, protocol).eligible_ids())


def _postgres_states(con, ex, protocol, schema: str) -> tuple[pd.DataFrame, dict]:
    from screening.rules.baselines.dialects import POSTGRES
    from screening.rules.baselines.sql import load_tables, run_funnel, states

    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"SET search_path TO {schema}")
    try:
        load_tables(con, ex, POSTGRES)
        return states(con, protocol, POSTGRES), run_funnel(con, protocol, POSTGRES)
    finally:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize("name", PROTOCOLS)
def test_postgres_sql_matches_engine(postgres, tmp_path, boundary_extract, name):
    """The same SQL forms through the PostgreSQL dialect: states, funnel and eligible list as the engine's."""
    protocol = load_protocol(name)
    for i, ex in enumerate((boundary_extract, load_extract(write_extract(generate(400, 4), tmp_path)))):
        states, funnel = _postgres_states(postgres, ex, protocol, f"baseline_{name.replace('-', '_')}_{i}")
        engine = _engine_states(ex, protocol)
        mismatch = states.loc[engine.index].astype(np.int8) != engine
        assert not mismatch.any().any(), mismatch.sum()[mismatch.sum() > 0].to_dict()
        assert funnel["eligible"]["patient_id"].tolist() == sorted(Screening(ex, protocol).eligible_ids())
        assert int(funnel["funnel"]["patients"].sum()) + len(funnel["eligible"]) == ex.n_patients


def test_the_postgres_sql_holds_no_duckdb_only_syntax():
    from screening.rules.baselines.sql import states_sql

    for name in PROTOCOLS + ["misle-phase2-ehr"]:
        sql = states_sql(load_protocol(name), "postgresql")
        for duckdb_only in ("MONTH)", "DAY)", "to_days(", "list_position", "list_value", "GROUP BY ALL", "TINYINT",
                            " == ", "REPLACE ("):
            assert duckdb_only not in sql, (name, duckdb_only)
