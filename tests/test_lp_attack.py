"""The outsider's attack, over every published table at once, in whole numbers (``lp_attack``).

One 400-patient default report (every table kind: funnel, criteria, overlap, breakdowns by site, sex,
race/ethnicity and age band, make-up, what-if, sweeps, relaxations): no count is pinned that the protocol does
not force. Two releases one patient apart: counts that cross a rounding boundary are pinned, whatever the
protection of each; the release log's refusal of the second is what protects them.
"""

from __future__ import annotations

import pytest

import screening.disclosure.shareable as shareable
from lp_attack import differences_pinned, pinned
from screening import load_extract, screen
from screening.disclosure.audit import protect
from screening.disclosure.categories import policy_zeros
from screening.disclosure.relations import funnel_counts
from screening.disclosure.releases import ReleaseRefused
from screening.disclosure.rule import SHAREABLE
from screening.engine.groups import SMALL_GROUPS
from test_releases import _patients, _release

#: Every kind of table a default shareable report publishes.
KINDS = {"headline", "attrition", "criteria", "overlap", "leave_one_out", "outcome_by_site", "composition",
         "not_assessable", "missingness", "makeup", "differential_age_years", "leave_one_out_age_years",
         "comparison", "transitions", "by_criterion", "sweeps", "shapley", "relaxations", "near_misses"}


@pytest.fixture(scope="module")
def extracts(tmp_path_factory):
    """The bundled extract's first 400 patients, and the same but the first patient out and the 401st in."""
    root = tmp_path_factory.mktemp("releases")
    return _patients(slice(0, 400), root / "a"), _patients(slice(1, 401), root / "b")


def _protected(s, monkeypatch):
    """The report's cells with the labels they are published with (the protected tables' own cells)."""
    caught = {}
    render = shareable._render

    def keep(pub):
        caught["pub"] = pub
        return render(pub)

    monkeypatch.setattr(shareable, "_render", keep)
    shareable.shareable_tables(s, SHAREABLE)
    return caught["pub"]


def test_no_count_of_a_default_report_is_pinned_but_those_the_protocol_forces(extracts, monkeypatch):
    pub = _protected(screen(load_extract(extracts[0])), monkeypatch)
    assert KINDS <= set(pub.tables) and len(pub.cells.values) > 1000
    # The age bands outside the protocol's range are small here and merged: all of them leave at the age step,
    # so no later step removes one of them. A zero the protocol forces, read as 0 (it was ≤10, pinned to 0).
    d = pub.tables["differential_age_years"]
    merged = d.index[(d["age_years"] == SMALL_GROUPS) & (d["criterion"] != "age")]
    assert len(merged) == 23
    assert {pub.label(("differential_age_years", int(i), "removed_in_sequence")) for i in merged} == {"0"}
    assert pinned(pub.cells) == []


def _funnel(folder):
    """The funnel tables of a release (headline, attrition, criteria, overlap, leave-one-out), protected."""
    s = screen(load_extract(folder))
    pub = funnel_counts(s.counts, s.criteria, SHAREABLE)
    policy_zeros(pub, s.policy)
    protect(pub.cells)
    return pub


def test_two_releases_one_patient_apart_pin_what_crosses_a_rounding_boundary_so_the_second_is_refused(
        extracts, tmp_path):
    a, b = (_funnel(folder) for folder in extracts)
    found = differences_pinned(a, b)
    # The 401st patient fails classification alone: 37 shown as 35 becomes 38 shown as 40; a count moves by at
    # most one, so it was 37 and is 38, and the patient who came fails it.
    alone = ("criteria", 1, "excluded_alone")
    assert (a.label(alone), b.label(alone)) == ("35", "40")
    assert (alone, 37) in found["a"] and (alone, 38) in found["b"] and (alone, 1) in found["moved"]
    # Every count pinned is one whose label moved: rounding alone gives it away, whatever else is hidden.
    assert found["a"] and all(a.label(name) != b.label(name) for name, _ in found["a"])
    log = tmp_path / "releases.jsonl"
    assert _release(extracts[0], tmp_path / "ra", log) == []
    with pytest.raises(ReleaseRefused, match=r"shares about (99|100)% of its patients"):
        _release(extracts[1], tmp_path / "rb", log)
