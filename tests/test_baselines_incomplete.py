"""Engine, naive and DuckDB baselines agree on extracts with missing values, patient by patient and step by step.

The soundness property (``tests/test_soundness.py``) says what each rule must answer when
values are missing; these tests hold the two independent implementations to the engine's
answer on incomplete extracts: the bundled one (which has gaps in most columns) and
hypothesis-drawn blankings of generated ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from completion import blank, written
from screening import load_extract, load_protocol
from screening.engine.funnel import Screening
from screening.errors import ExtractWarning
from screening.rules.baselines.naive import naive_states
from screening.rules.baselines.sql import connect, run_funnel, states_sql
from screening.rules.protocol import shipped_protocols
from screening.synth.synthetic import generate, write_extract

#: the shipped protocols the baselines implement (the EHR one needs cohort-entry columns a registry lacks)
# Every shipped protocol but the EHR one, whose cohort-entry rules need an OMOP source (tests/test_sources.py).
PROTOCOLS = [name for name in shipped_protocols() if name != "misle-phase2-ehr"]
TABLES = ("patients", "medications", "malignancies", "infections")


def _funnel(states: pd.DataFrame) -> pd.DataFrame:
    """Patients per (step, status) from a state matrix (1 passes, 0 fails, -1 unknown), placed row by row.

    A patient is excluded at the first criterion failed, else not assessable at the first unknown,
    else eligible (step 0): written out plainly, apart from the engine's ``placement``.
    """
    placed = []
    for row in states.to_numpy():
        fails, unknown = np.flatnonzero(row == 0), np.flatnonzero(row == -1)
        if len(fails):
            placed.append((int(fails[0]) + 1, "excluded"))
        elif len(unknown):
            placed.append((int(unknown[0]) + 1, "not_assessable"))
        else:
            placed.append((0, "eligible"))
    return pd.DataFrame(placed, columns=["step", "status"]).value_counts().sort_index().rename("patients")


def _engine_funnel(s: Screening) -> pd.Series:
    """The engine's own attrition table, as patients per (step, status)."""
    a = s.attrition()
    a = a[a["kind"] != "start"]
    n_eligible = int(a["remaining"].iloc[-1])
    rows = [((int(r.step), status), int(getattr(r, status))) for r in a.itertuples()
            for status in ("excluded", "not_assessable") if getattr(r, status)]
    out = pd.Series(dict(rows + ([((0, "eligible"), n_eligible)] if n_eligible else [])), name="patients")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["step", "status"])
    return out.sort_index()


def _compare(folder, ex, protocol, naive_too: bool) -> None:
    s = Screening(ex, protocol)
    engine = pd.DataFrame(s.raw, index=ex.patients.index, columns=s.ids)
    con = connect(folder)
    sql = con.execute(states_sql(protocol)).df().set_index("patient_id").loc[engine.index].astype(np.int8)
    others = {"duckdb": sql}
    if naive_too:
        others["naive"] = naive_states(ex, protocol).astype(np.int8)
    assert (engine == -1).any().any(), "the extract should leave some criterion unknown"
    funnel = _engine_funnel(s)
    for name, states in others.items():
        mismatch = states != engine
        assert not mismatch.any().any(), (name, mismatch.sum()[mismatch.sum() > 0].to_dict())
        pd.testing.assert_series_equal(_funnel(states), funnel, check_names=False, obj=name)
    # DuckDB places patients in SQL too: its funnel, not only its states, must match.
    placed = run_funnel(con, protocol)["funnel"]
    placed = placed.astype({"step": int}).set_index(["step", "status"])["patients"].astype(int)
    pd.testing.assert_series_equal(placed.sort_index(), funnel.drop(0, level="step", errors="ignore"),
                                   check_names=False)


@pytest.fixture(scope="module")
def bundled():
    return load_extract("data/synthetic")


@pytest.mark.parametrize("name", PROTOCOLS)
def test_duckdb_matches_engine_on_the_bundled_extract(bundled, name):
    assert bundled.patients.isna().any().any()
    _compare("data/synthetic", bundled, load_protocol(name), naive_too=False)


@pytest.mark.parametrize("name", PROTOCOLS)
def test_all_three_agree_on_a_sample_of_the_bundled_extract(tmp_path, bundled, name):
    """The naive baseline is slow: a sample of the bundled extract's patients, with their events."""
    ids = bundled.patients.sample(300, random_state=3).index
    tables = {t: (bundled.patients.loc[ids].reset_index() if t == "patients" else
                  bundled.table(t)[bundled.table(t)["patient_id"].isin(ids)]) for t in TABLES}
    folder = write_extract(tables, tmp_path / "sample")
    _compare(folder, load_extract(folder), load_protocol(name), naive_too=True)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 50), share=st.sampled_from([0.05, 0.2, 0.5]), name=st.sampled_from(PROTOCOLS))
def test_all_three_agree_when_values_are_missing(tmp_path_factory, seed, share, name):
    ex = blank(load_extract(write_extract(generate(80, seed), tmp_path_factory.mktemp("full"))),
               np.random.default_rng(seed), share)
    # A blanked drug name, class or event type is written as one the vocabulary does not know.
    folder = write_extract(written(ex), tmp_path_factory.mktemp("gaps"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtractWarning)  # unknown names and wholly empty columns: expected here
        gapped = load_extract(folder)
    _compare(folder, gapped, load_protocol(name), naive_too=True)
