"""The SQL route screening every visit in the database agrees with the pandas over-time engine.

On the hand-made six-patient extract of ``tests/test_over_time.py`` (ages inferred at each visit, a
missing value at one visit) with its hand answers, and on a small generated extract with visits.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from screening import load_extract
from screening.engine.over_time import EligibilityOverTime
from screening.rules.baselines.dialects import POSTGRES
from screening.rules.baselines.per_index import load_index_tables, visit_funnel
from screening.synth.synthetic import generate, write_extract
from test_over_time import BY_HAND, HERE, PROTOCOL


def _agree(result, over: EligibilityOverTime) -> None:
    engine = over.visits
    assert (result["patient_id"].astype(str).to_numpy() == engine["patient_id"].astype(str).to_numpy()).all()
    assert (result["status"].to_numpy() == engine["status"].astype(str).to_numpy()).all()
    assert (result["criterion"].to_numpy() == engine["criterion"].to_numpy()).all()
    assert (result[over.screening.ids].to_numpy(dtype=np.int8) == over.screening.states).all()


@pytest.fixture(scope="module")
def hand():
    return load_extract(HERE)


def _hand_answers(result) -> dict:
    return {(p, str(d)[:10]): (s, c) for p, d, s, c in
            result[["patient_id", "visit_date", "status", "criterion"]].itertuples(index=False)}


def test_duckdb_gives_every_visit_of_the_hand_made_extract_its_hand_answer(hand):
    con = duckdb.connect()
    load_index_tables(con, hand)
    result = visit_funnel(con, PROTOCOL)
    assert _hand_answers(result) == BY_HAND
    _agree(result, EligibilityOverTime(hand, PROTOCOL))


def test_postgresql_gives_every_visit_of_the_hand_made_extract_its_hand_answer(postgres, hand):
    postgres.execute("CREATE SCHEMA per_index_hand")
    postgres.execute("SET search_path TO per_index_hand")
    try:
        load_index_tables(postgres, hand, POSTGRES)
        assert _hand_answers(visit_funnel(postgres, PROTOCOL, POSTGRES)) == BY_HAND
    finally:
        postgres.execute("DROP SCHEMA per_index_hand CASCADE")
        postgres.execute("SET search_path TO DEFAULT")


def test_duckdb_agrees_with_the_engine_on_a_generated_extract_with_visits(tmp_path):
    """Unknown ages at baseline, ages inferred at each visit, labs and medications changing between visits."""
    ex = load_extract(write_extract(generate(300, seed=5, visits=True), tmp_path / "x", "parquet"))
    con = duckdb.connect()
    load_index_tables(con, ex)
    _agree(visit_funnel(con, "misle-phase2"), EligibilityOverTime(ex, "misle-phase2"))
