"""A column left out of the extract reads exactly as the column present and blank, on every engine.

Only an absent event table and an absent ``stop_date`` (whose blank means "ongoing")
leave their criteria unable to assess anyone; every other absent column is a blank one.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import boundary
from screening import load_extract, load_protocol, screen
from screening.errors import ExtractWarning
from screening.io.schema import TABLES
from screening.rules.baselines.naive import naive_states
from screening.rules.baselines.sql import connect, states
from screening.rules.protocol import Protocol, shipped_protocols
from screening.synth.synthetic import generate, write_extract

PROTOCOLS = shipped_protocols()
FIELDS = {(t, f.name): f for t, fields in TABLES.items() for f in fields}


def _quiet_load(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtractWarning)
        return load_extract(folder)


def _quiet_screen(ex, protocol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtractWarning)
        return screen(ex, protocol)


def _agree(other: pd.DataFrame, engine: pd.DataFrame) -> None:
    mismatch = other.loc[engine.index, engine.columns].astype(np.int8) != engine
    assert not mismatch.any().any(), mismatch.sum()[mismatch.sum() > 0].to_dict()


# --- hand-computed: the three patients the independent check found -------------------------------------------

PEOPLE = {
    "X_HBV": ({"hepatitis_b_positive": True}, None, {}),       # HIV unknown, hepatitis B settles the exclusion
    "X_PREG": ({"pregnant": True}, None, {}),                  # contraception unknown, pregnancy settles it
    "X_ANA": ({"ana_titre": 40, "anti_dsdna_positive": False}, None, {}),  # ANA date unknown: 1:40 fails anyway
    "N_BASE": ({}, None, {}),                                  # nothing else settles HIV, contraception
}
DROPPED = ["hiv_positive", "contraception", "ana_date"]


@pytest.fixture(scope="module")
def dropped_and_blanked(tmp_path_factory):
    root = tmp_path_factory.mktemp("absent-hand")
    tables = boundary.tables(PEOPLE)
    blank = tables["patients"].assign(**{c: pd.Series(pd.NA, index=tables["patients"].index, dtype="object")
                                         for c in DROPPED})
    return (write_extract({**tables, "patients": tables["patients"].drop(columns=DROPPED)}, root / "dropped"),
            write_extract({**tables, "patients": blank}, root / "blanked"))


def test_recorded_fields_still_settle_a_criterion_whose_column_is_absent(dropped_and_blanked):
    dropped, _ = dropped_and_blanked
    ex = _quiet_load(dropped)
    assert ex.absent == {"patients": ("ana_date", "hiv_positive", "contraception")}  # dictionary order
    with pytest.warns(ExtractWarning) as caught:
        s = screen(ex, "misle-phase2")
    assert str(caught[0].message).endswith(
        ": 3 columns the protocol misle-phase2 reads are absent:\n"
        "  patients.ana_date: Date of the latest ANA test. Read as blank in every row, unknown unless other fields "
        "settle it: autoantibody.\n"
        "  patients.hiv_positive: Positive HIV test. Read as blank in every row, unknown unless other fields "
        "settle it: chronic_infection.\n"
        "  patients.contraception: Using effective contraception. Read as blank in every row, unknown unless "
        "other fields settle it: pregnancy.")
    out = s.outcome()
    assert out[["status", "criterion"]].astype(str).to_dict("index") == {
        "X_HBV": {"status": "excluded", "criterion": "chronic_infection"},
        "X_PREG": {"status": "excluded", "criterion": "pregnancy"},
        "X_ANA": {"status": "excluded", "criterion": "autoantibody"},
        "N_BASE": {"status": "not_assessable", "criterion": "chronic_infection"},
    }
    assert out.loc["N_BASE", "missing"] == "chronic_infection; pregnancy"


def test_naive_and_sql_read_an_absent_column_as_blank_too(dropped_and_blanked):
    protocol = load_protocol("misle-phase2")
    answers = []
    for folder in dropped_and_blanked:
        ex = _quiet_load(folder)
        engine = pd.DataFrame(_quiet_screen(ex, protocol).raw, index=ex.patients.index,
                              columns=[c.id for c in protocol.counted])
        for other in (naive_states(ex, protocol), states(connect(folder), protocol).loc[engine.index]):
            _agree(other, engine)
        answers.append(engine)
    pd.testing.assert_frame_equal(*answers)
    assert answers[0].loc["X_HBV", "chronic_infection"] == 0
    assert answers[0].loc["N_BASE", "chronic_infection"] == -1


def test_an_absent_stop_date_or_table_still_assesses_no_one_on_every_engine(tmp_path):
    """A blank stop_date means ongoing, so its absence cannot read as blanks; an absent table has no rows."""
    protocol = load_protocol("misle-phase2")
    tables = boundary.tables(PEOPLE)
    nostop = write_extract({**tables, "medications": tables["medications"].drop(columns="stop_date")},
                           tmp_path / "nostop")
    noinf = write_extract({k: v for k, v in tables.items() if k != "infections"}, tmp_path / "noinf")
    for folder, cids in ((nostop, ["belimumab", "glucocorticoid", "nephritis_therapy"]), (noinf, ["recent_infection"])):
        ex = _quiet_load(folder)
        engine = pd.DataFrame(_quiet_screen(ex, protocol).raw, index=ex.patients.index,
                              columns=[c.id for c in protocol.counted])
        for cid in cids:
            assert (engine[cid] == -1).all(), cid
        for other_states in (naive_states(ex, protocol), states(connect(folder), protocol).loc[engine.index]):
            _agree(other_states, engine)


# --- the property: any columns a shipped protocol reads, dropped or blanked, give the same answers ----------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A small generated extract, its tables and the loaded extract (columns present)."""
    tables = generate(60, seed=11)
    return tables, _quiet_load(write_extract(tables, tmp_path_factory.mktemp("absent-base")))


def _droppable(name: str, tables: dict) -> list[tuple[str, str]]:
    """Columns ``name`` reads that a file may leave out (not required) and whose blank means "not recorded"."""
    return [(t, col) for t, cols in load_protocol(name).columns().items() for col in sorted(cols)
            if (t, col) in FIELDS and not FIELDS[(t, col)].required and not FIELDS[(t, col)].blank_means
            and col in tables[t].columns]


def _blanked(ex, table: str, cols: list[str]):
    frame = ex.table(table)
    blank = frame.assign(**{c: frame[c].mask(np.ones(len(frame), dtype=bool)) for c in cols})
    return replace(ex, **{table: blank}, _rows=dict(ex._rows))


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_dropping_columns_a_protocol_reads_is_blanking_them(tmp_path_factory, generated, data):
    """Per patient, the criteria reading the dropped columns answer as with those columns blank.

    Criteria not reading them see the same data either way, so the outcomes, made from these
    answers, agree too.
    """
    tables, base = generated
    name = data.draw(st.sampled_from(PROTOCOLS), label="protocol")
    table, col = data.draw(st.sampled_from(_droppable(name, tables)), label="column")
    more = [c for t, c in _droppable(name, tables) if t == table and c != col]
    cols = [col] + data.draw(st.lists(st.sampled_from(more), max_size=2, unique=True) if more else st.just([]),
                             label="with")
    fmt = data.draw(st.sampled_from(["csv", "parquet"]), label="format")
    folder = write_extract({**tables, table: tables[table].drop(columns=cols)}, tmp_path_factory.mktemp("absent"),
                           fmt)
    dropped = _quiet_load(folder)
    assert set(cols) <= set(dropped.absent[table])
    protocol = load_protocol(name)
    reading = tuple(c for c in protocol.counted if set(cols) & c.columns().get(table, set()))
    touched = Protocol(name, name, reading)
    a, b = _quiet_screen(dropped, touched), _quiet_screen(_blanked(base, table, cols), touched)
    np.testing.assert_array_equal(a.raw, b.raw, err_msg=f"{name}: {table} without {cols}")


def test_an_absent_column_loads_blank_with_its_dtype_on_every_path(tmp_path, generated):
    """CSV, Parquet and the validated cache all hold a dropped column blank, typed as when present."""
    tables, base = generated
    gone = [c for c in tables["patients"].columns if c != "patient_id" and not FIELDS[("patients", c)].required]
    for fmt in ("csv", "parquet"):
        folder = write_extract({**tables, "patients": tables["patients"][["patient_id"]]}, tmp_path / fmt, fmt)
        for cached in (False, True):
            ex = _quiet_load(folder)
            assert ex.cached is cached and set(gone) <= set(ex.absent["patients"])
            for c in gone:
                held, full = ex.patients[c], base.patients[c]
                assert held.isna().all(), (fmt, c)
                assert type(held.dtype) is type(full.dtype) and (
                    isinstance(full.dtype, pd.CategoricalDtype) or held.dtype == full.dtype), (fmt, c, held.dtype)
