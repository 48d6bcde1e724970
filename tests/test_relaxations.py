"""Every combination of criteria dropped, and Shapley shares, against brute force (re-screening each subset)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screening import load_extract, load_protocol
from screening.engine.funnel import Screening
from screening.engine.relaxations import apportion, relaxations_of, subset_sums
from screening.errors import ProtocolError
from screening.synth.synthetic import generate, write_extract

PROTOCOL = load_protocol("misle-phase2")
IDS = [c.id for c in PROTOCOL.counted]
_EXTRACTS: dict = {}


def _extract(n: int, seed: int, root):
    if (n, seed) not in _EXTRACTS:
        _EXTRACTS[(n, seed)] = load_extract(write_extract(generate(n, seed), root / f"x{n}_{seed}"))
    return _EXTRACTS[(n, seed)]


def _subsets(ids):
    return itertools.chain.from_iterable(itertools.combinations(ids, r) for r in range(len(ids) + 1))


def _summary(s: Screening) -> dict[str, int]:
    summary = s.summary()
    return dict(zip(summary["status"], summary["patients"], strict=True))


SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
@SETTINGS
@given(st.sampled_from([60, 200]), st.integers(0, 5), st.lists(st.sampled_from(IDS), min_size=1, max_size=10,
                                                                unique=True),
       st.sampled_from(["separate", "exclude", "include"]))
def test_every_subset_count_equals_rescreening_with_the_subset_dropped(tmp_path_factory, n, seed, ids, policy):
    """k ≤ 10 criteria of misle-phase2 on a generated extract (with missing data): all 2^k subsets re-screened."""
    ex = _extract(n, seed, tmp_path_factory.getbasetemp())
    protocol = PROTOCOL.without(*[c for c in IDS if c not in ids])
    s = Screening(ex, protocol, policy)
    r = s.subsets()
    table = s.relaxations(max_dropped=None).set_index("dropped")
    assert len(table) == 2 ** r.k and table.index.is_unique
    # Read once into a dict: a .loc per subset cost a quarter of the test.
    rows = dict(zip(table.index, table[["eligible", "not_assessable", "excluded"]].to_numpy().tolist(), strict=True))
    for dropped in _subsets(s.ids):
        kept = [c for c in s.ids if c not in dropped]
        if kept:
            truth = _summary(s.with_protocol(protocol.without(*dropped)))
        else:  # nothing left to apply: everyone is eligible
            truth = {"eligible": n, "excluded": 0, "not_assessable": 0}
        got = s.pool_if_dropped(list(dropped))
        assert {k: got[k] for k in truth} == truth, dropped
        assert got["eligible_max"] == truth["eligible"] + truth["not_assessable"]
        binding = " + ".join(c for c in s.ids if c in dropped and c in r.ids)
        assert rows[binding] == [truth["eligible"], truth["not_assessable"], truth["excluded"]]


@settings(max_examples=200, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(0, 40), st.integers(1, 8)), elements=st.sampled_from([1, 0, -1])))
def test_subset_table_matches_the_three_way_rule_on_random_state_matrices(states):
    """Eligible iff F ∪ U ⊆ D; not assessable iff F ⊆ D but U ⊄ D; excluded iff F ⊄ D."""
    n, k = states.shape
    ids = [f"c{j}" for j in range(k)]
    r = relaxations_of(states, ids)
    for dropped in _subsets(range(k)):
        applied = [j for j in range(k) if j not in dropped]
        rest = states[:, applied]
        fails = (rest == 0).any(axis=1)
        unknown = ~fails & (rest == -1).any(axis=1)
        got = r.pool([ids[j] for j in dropped])
        assert (got["excluded"], got["not_assessable"], got["eligible"]) == \
            (int(fails.sum()), int(unknown.sum()), int(n - fails.sum() - unknown.sum()))


def _brute_shapley(value, players) -> dict:
    """Average marginal contribution over every order of the players."""
    out = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        before = ()
        for p in order:
            out[p] += value(before + (p,)) - value(before)
            before = before + (p,)
    return {p: v / len(orders) for p, v in out.items()}


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 5), st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True))
def test_shapley_matches_brute_force_and_adds_up_to_the_excluded(tmp_path_factory, seed, ids):
    ex = _extract(200, seed, tmp_path_factory.getbasetemp())
    protocol = PROTOCOL.without(*[c for c in IDS if c not in ids])
    s = Screening(ex, protocol)
    cache: dict = {}

    def excluded_by(applied: tuple) -> int:  # the coalition applies only these criteria: re-screen
        key = frozenset(applied)
        if key not in cache:
            cache[key] = 0 if not applied else _summary(s.with_protocol(protocol.without(
                *[c for c in s.ids if c not in applied])))["excluded"]
        return cache[key]

    brute = _brute_shapley(excluded_by, tuple(s.ids))
    table = s.shapley().set_index("criterion")
    excluded = _summary(s)["excluded"]
    assert table["shapley_excluded"].sum() == pytest.approx(excluded)
    assert table["shapley_whole"].sum() == excluded
    for cid, v in brute.items():
        assert table.loc[cid, "shapley_excluded"] == pytest.approx(v, abs=1e-9)
        assert table.loc[cid, "excluded_uniquely"] <= table.loc[cid, "shapley_whole"] <= \
            table.loc[cid, "excluded_alone"]


@settings(max_examples=100, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(0, 60), st.integers(1, 12)), elements=st.sampled_from([1, 0, -1])))
def test_shapley_is_each_patients_exclusion_shared_among_the_criteria_they_fail(states):
    """The exclusion game's Shapley value has a closed form: a patient failing m criteria gives 1/m to each."""
    k = states.shape[1]
    shap = relaxations_of(states, [f"c{j}" for j in range(k)]).shapley()
    for column, mask in (("shapley_excluded", states == 0), ("shapley_not_eligible", states != 1)):
        m = mask.sum(axis=1)
        closed = (mask[m > 0] / m[m > 0, None]).sum(axis=0)
        np.testing.assert_allclose(shap[column].to_numpy(), closed, atol=1e-9)


def test_subset_sums_is_the_zeta_transform():
    rng = np.random.default_rng(0)
    hist = rng.integers(0, 9, 1 << 6)
    want = [sum(hist[s] for s in range(64) if s & d == s) for d in range(64)]
    assert subset_sums(hist.copy(), 6).tolist() == want


def test_criteria_nobody_fails_get_no_bit_and_change_nothing():
    states = np.array([[1, 1, 1], [0, 1, 1], [1, 1, -1]], dtype=np.int8)
    r = relaxations_of(states, ["a", "never", "c"])
    assert r.ids == ["a", "c"] and r.never_bind == ["never"]
    assert r.pool(["never"]) == r.pool([]) == {"eligible": 1, "not_assessable": 1, "excluded": 1, "eligible_max": 2}
    assert r.shapley().set_index("criterion").loc["never", "shapley_excluded"] == 0
    with pytest.raises(ProtocolError, match="counted criterion"):
        r.pool(["nonsense"])


def test_beyond_the_cap_the_least_binding_criteria_are_held_and_the_gap_is_bounded():
    """With a cap of 2, the criterion touching fewest patients is held applied; held_bound bounds what it hides."""
    states = np.array([[0, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=np.int8)
    r = relaxations_of(states, ["a", "b", "c"], max_exact=2)
    assert r.ids == ["a", "b"] and r.held == ["c"] and r.held_bound == 1
    full = relaxations_of(states, ["a", "b", "c"])
    for dropped in (["a"], ["b"], ["a", "b"]):
        held_too = full.pool(dropped + ["c"])["eligible"]
        assert r.pool(dropped) == full.pool(dropped)
        assert 0 <= held_too - r.pool(dropped)["eligible"] <= r.held_bound
    with pytest.raises(ProtocolError, match="held applied"):
        r.pool(["c"])


def test_apportioned_shapley_stays_within_one_and_adds_up():
    values = np.array([10 / 3, 10 / 3, 10 / 3, 0.0])
    whole = apportion(values, 10)
    assert whole.sum() == 10 and (np.abs(whole - values) < 1).all()
    assert math.isclose(values.sum(), 10)


def test_bundled_extract_pool_if_dropped(synthetic_extract):
    """SLEDAI and glucocorticoid dropped: patients whose only failures/unknowns lie in those two (numpy oracle)."""
    from screening import screen

    s = screen(synthetic_extract)
    j = [s.ids.index("sledai"), s.ids.index("glucocorticoid")]
    rest = np.delete(s.states, j, axis=1)
    eligible = int((rest == 1).all(axis=1).sum())
    maybe = int(((rest != 0).all(axis=1) & (rest == -1).any(axis=1)).sum())
    assert s.pool_if_dropped(["sledai", "glucocorticoid"]) == {
        "eligible": eligible, "not_assessable": maybe, "excluded": 5000 - eligible - maybe,
        "eligible_max": eligible + maybe}
    table = s.relaxations()
    assert table.loc[0, ["dropped", "eligible", "not_assessable", "excluded"]].tolist() == ["", 90, 375, 4535]
    assert (table["n_dropped"] <= 3).all() and len(table) == sum(math.comb(24, r) for r in range(4))
