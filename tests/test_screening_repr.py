"""A Screening shows itself in a terminal and a notebook; the funnel's status codes and policies have names."""

from __future__ import annotations

import numpy as np

from screening import screen
from screening.engine.counts import count_states, placement
from screening.engine.status import POLICIES, STATUSES, Status


def test_repr_states_the_headline_range_protocol_policy_and_extract(boundary_extract):
    s = screen(boundary_extract)  # hand-built: 18 eligible, 30 excluded, 6 not assessable of 54
    text = repr(s)
    title = f"Screening of 54 patients against misle-phase2 (fingerprint {s.protocol.fingerprint()})"
    assert text.splitlines()[0] == title
    assert text.splitlines()[1:4] == ["  eligible        18", "  excluded        30", "  not assessable   6"]
    assert "  range           18 to 24 (if every not-assessable patient qualified)" in text
    assert "  policy          separate (count apart as not assessable)" in text
    assert f"  extract         sha256 {boundary_extract.hash}" in text
    assert " at 0x" not in text  # nothing that changes between runs


def test_html_repr_is_a_summary_table(boundary_extract):
    s = screen(boundary_extract, policy="exclude")
    page = s._repr_html_()
    assert page.startswith("<div class='screening-summary'>") and "<table>" in page
    for cell in ("<td style='text-align:right'>18</td>", "<td style='text-align:right'>36</td>",
                 "<td style='text-align:right'>0</td>", "18 to 18", "exclude (treat as failing)",
                 boundary_extract.hash, s.protocol.fingerprint(), s.protocol.title):
        assert cell in page, cell


def test_status_codes_are_named_in_the_order_tables_list_them():
    assert [int(s) for s in Status] == [0, 1, 2] and STATUSES == ("eligible", "excluded", "not_assessable")
    states = np.array([[1, 1], [0, -1], [-1, 1]], dtype=np.int8)  # eligible; excluded at 0; unknown at 0
    status, where = placement(states)
    assert status.tolist() == [Status.ELIGIBLE, Status.EXCLUDED, Status.NOT_ASSESSABLE]
    assert count_states(states).status.tolist() == [1, 1, 1] and where.tolist() == [-1, 0, 0]
    assert list(POLICIES) == ["separate", "exclude", "include"]
