"""Dask on a local cluster gives exactly the counts of the in-memory engine; counts add across partitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screening import load_extract, load_protocol
from screening.engine.counts import attrition_table, count_states, criteria_table, overlap_table
from screening.engine.funnel import Screening
from screening.synth.synthetic import generate, write_extract


@settings(max_examples=100, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(0, 40), st.integers(1, 6)), elements=st.sampled_from([-1, 0, 1])),
       st.integers(0, 40))
def test_counts_of_parts_add_up_to_the_whole(states, cut):
    cut = min(cut, len(states))
    whole = count_states(states)
    parts = count_states(states[:cut]) + count_states(states[cut:])
    crits = load_protocol("misle-phase2").counted[: states.shape[1]]
    pd.testing.assert_frame_equal(attrition_table(parts, crits), attrition_table(whole, crits))
    pd.testing.assert_frame_equal(criteria_table(parts, crits), criteria_table(whole, crits))
    ids = [c.id for c in crits]
    pd.testing.assert_frame_equal(overlap_table(parts, ids), overlap_table(whole, ids))


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        yield client


@pytest.mark.parametrize("name, policy", [("misle-phase2", "separate"), ("misle-phase1-pilot", "include")])
def test_dask_on_a_local_cluster_matches_pandas(tmp_path, cluster, name, policy):
    from screening.engine.dask_funnel import dask_screen, write_partitioned

    tables = generate(1200, seed=9)
    whole = load_extract(write_extract(tables, tmp_path / "whole"))
    write_partitioned(tmp_path / "whole", tmp_path / "parts", parts=4)
    protocol = load_protocol(name)
    expected = Screening(whole, protocol, policy)
    got = dask_screen(tmp_path / "parts", protocol, policy)
    assert got.states.npartitions == 4
    pd.testing.assert_frame_equal(got.summary(), expected.summary())
    pd.testing.assert_frame_equal(got.attrition(), expected.attrition())
    pd.testing.assert_frame_equal(got.criteria_table(), expected.criteria_table())
    pd.testing.assert_frame_equal(got.overlap(), expected.overlap())


def test_partitions_hold_every_patient_once(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from screening.engine.dask_funnel import write_partitioned

    tables = generate(300, seed=2)
    write_partitioned(write_extract(tables, tmp_path / "whole"), tmp_path / "parts", parts=3)
    folders = sorted((tmp_path / "parts").iterdir())
    parts = [load_extract(p) for p in folders]
    ids = pd.Index([i for p in parts for i in p.patients.index])
    assert len(ids) == 300 and ids.is_unique
    assert sum(len(p.medications) for p in parts) == len(tables["medications"])
    # ids written as plain text, not a dictionary of every patient's id (which sends a part to the slow loader)
    for p in folders:
        assert not pa.types.is_dictionary(pq.read_schema(p / "medications.parquet").field("patient_id").type)
