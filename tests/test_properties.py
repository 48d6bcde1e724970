"""Invariants of the funnel, checked with hypothesis on random extracts, protocols and state matrices."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screening import load_protocol
from screening.engine.counts import placement as _placement
from screening.engine.funnel import STATUSES, Screening, _attrition
from screening.io.extract import Extract
from screening.synth.synthetic import generate, write_extract

PROTOCOL = load_protocol("misle-phase2")
IDS = [c.id for c in PROTOCOL.counted]
_CACHE: dict[tuple[int, int], Extract] = {}


def _extract(n: int, seed: int, tmp_root) -> Extract:
    from screening import load_extract

    key = (n, seed)
    if key not in _CACHE:
        _CACHE[key] = load_extract(write_extract(generate(n, seed), tmp_root / f"x{n}_{seed}"))
    return _CACHE[key]


extracts = st.tuples(st.sampled_from([40, 120, 300]), st.integers(0, 6))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _counts(s: Screening) -> dict[str, int]:
    return s.summary().set_index("status")["patients"].to_dict()


@SETTINGS
@given(extracts, st.sampled_from(["separate", "exclude", "include"]), st.permutations(IDS))
def test_counts_always_add_up(tmp_path_factory, ex_key, policy, order):
    ex = _extract(*ex_key, tmp_path_factory.getbasetemp())
    s = Screening(ex, PROTOCOL, policy)
    counts = _counts(s)
    assert sum(counts.values()) == ex.n_patients
    table = s.attrition(order=list(order))
    steps = table.iloc[1:]
    assert (steps["entering"] - steps["excluded"] - steps["not_assessable"] == steps["remaining"]).all()
    assert (table["entering"].iloc[1:].to_numpy() == table["remaining"].iloc[:-1].to_numpy()).all()
    assert table["remaining"].iloc[-1] == counts["eligible"]
    assert steps["excluded"].sum() == counts["excluded"]
    assert steps["not_assessable"].sum() == counts["not_assessable"]
    assert s.outcome()["status"].value_counts().reindex(list(STATUSES)).to_dict() == counts


@SETTINGS
@given(extracts, st.permutations(IDS))
def test_order_never_changes_who_is_eligible(tmp_path_factory, ex_key, order):
    ex = _extract(*ex_key, tmp_path_factory.getbasetemp())
    a = Screening(ex, PROTOCOL)
    b = Screening(ex, PROTOCOL.reordered(list(order)))
    assert a.eligible_ids().equals(b.eligible_ids())
    assert _counts(a) == _counts(b)


TIGHTER = [  # (parameter, looser value, tighter value)
    ("sledai.min", st.integers(0, 10), +1), ("age.min_age", st.integers(10, 40), +1),
    ("age.max_age", st.integers(50, 90), -1), ("malignancy.lookback_years", st.integers(0, 10), +1),
    ("belimumab.months", st.integers(0, 12), +1), ("other_biologic.months", st.integers(0, 12), +1),
    ("immunosuppressant_change.months", st.integers(0, 12), +1), ("glucocorticoid.months", st.integers(0, 6), +1),
    ("egfr.value", st.integers(0, 90), +1), ("classification.acr_min", st.integers(0, 10), +1),
    ("autoantibody.months", st.integers(1, 24), -1), ("nephritis_therapy.total_months", st.integers(0, 12), +1),
]


@SETTINGS
@given(extracts, st.sampled_from(range(len(TIGHTER))), st.data(), st.integers(1, 5),
       st.sampled_from(["separate", "exclude", "include"]))
def test_tightening_a_threshold_never_adds_eligible_patients(tmp_path_factory, ex_key, which, data, step, policy):
    ex = _extract(*ex_key, tmp_path_factory.getbasetemp())
    name, values, direction = TIGHTER[which]
    loose = data.draw(values)
    tight = max(0, loose + direction * step)  # a window cannot shrink below zero months
    base = Screening(ex, PROTOCOL, policy)
    a = base.with_protocol(PROTOCOL.with_overrides({name: loose}))
    b = base.with_protocol(PROTOCOL.with_overrides({name: tight}))
    assert _counts(b)["eligible"] <= _counts(a)["eligible"]
    assert set(b.eligible_ids()) <= set(a.eligible_ids())


@SETTINGS
@given(extracts)
def test_policies_bracket_the_truth(tmp_path_factory, ex_key):
    ex = _extract(*ex_key, tmp_path_factory.getbasetemp())
    sep, exc, inc = (_counts(Screening(ex, PROTOCOL, p)) for p in ("separate", "exclude", "include"))
    assert exc["eligible"] == sep["eligible"] <= inc["eligible"] <= sep["eligible"] + sep["not_assessable"]
    assert exc["not_assessable"] == inc["not_assessable"] == 0


@SETTINGS
@given(extracts, st.lists(st.integers(0, 12), min_size=1, max_size=6))
def test_sweep_matches_fresh_screenings(tmp_path_factory, ex_key, values):
    ex = _extract(*ex_key, tmp_path_factory.getbasetemp())
    s = Screening(ex, PROTOCOL)
    table = s.sweep("sledai.min", values)
    for value, eligible in zip(values, table["eligible"], strict=True):
        fresh = Screening(ex, PROTOCOL.with_overrides({"sledai.min": value}))
        assert _counts(fresh)["eligible"] == eligible


states = arrays(np.int8, st.tuples(st.integers(0, 60), st.integers(1, 8)), elements=st.sampled_from([-1, 0, 1]))


@settings(max_examples=200, deadline=None)
@given(states, st.randoms())
def test_engine_invariants_on_any_state_matrix(s, rnd):
    crits = [PROTOCOL.counted[i] for i in range(s.shape[1])]
    status, _ = _placement(s)
    eligible = (s == 1).all(axis=1)
    assert ((status == 0) == eligible).all()
    assert ((status == 1) == (s == 0).any(axis=1)).all()
    table = _attrition(s, crits)
    assert table["excluded"].sum() + table["not_assessable"].sum() + table["remaining"].iloc[-1] == len(s)
    order = list(range(s.shape[1]))
    rnd.shuffle(order)
    shuffled = _attrition(s[:, order], [crits[i] for i in order])
    assert shuffled["remaining"].iloc[-1] == table["remaining"].iloc[-1]
    assert shuffled["excluded"].sum() == table["excluded"].sum()
