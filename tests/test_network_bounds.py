"""The network's headline interval reads every published table: hand-made sites, intervals computed by hand.

Each site publishes under "0 to 10 shown as ≤10, every other count exact" (rounding to the nearest 1), so
what a table adds can be followed with pencil and paper. ``*`` is a count the site hid.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from screening.disclosure.bundle import Bundle
from screening.network.bounds import HEADLINE, tightest

RULE = {"rule": "round", "threshold": 10, "base": 1}
ELIGIBLE = HEADLINE[1]
IDS = ["c1", "c2"]
# Extract 100; eligible ≤10; 12 not assessable; the upper end and the excluded hidden. So eligible + excluded
# = 88, and the funnel alone leaves eligible anywhere in 0 to 10.
HIDDEN_EXCLUDED = ["100", "≤10", "12", "*", "*"]


def _site(label: str, headline: list[str], **extra: pd.DataFrame) -> Bundle:
    """Two criteria; every count beyond the headline and the extract hidden unless ``extra`` shows it."""
    n, eligible = headline[0], headline[1]
    tables = {
        "headline": pd.DataFrame({"measure": list(HEADLINE), "patients": headline}),
        "attrition": pd.DataFrame({"step": ["0", "1", "2"], "criterion": ["extract", *IDS],
                                   "entering": [n, n, "*"], "excluded": ["0", "*", "*"],
                                   "not_assessable": ["0", "*", "*"], "remaining": [n, "*", eligible]}),
        "criteria": pd.DataFrame({"criterion": IDS, **{c: ["*", "*"] for c in (
            "excluded_alone", "not_assessable_alone", "excluded_uniquely", "gain_if_dropped")}}),
        **extra}
    return Bundle(Path(label), label, f"{label} {sorted(extra)}", {"disclosure": RULE}, tables)


def _not_assessable() -> dict[str, pd.DataFrame]:
    # 14 not-assessable patients lack c1's data: the hidden not assessable is at least 14.
    return {"not_assessable": pd.DataFrame({"criterion": IDS, "missing_any": ["14", "≤10"]})}


def _overlap() -> dict[str, pd.DataFrame]:
    # 50 fail c1 alone, 33 fail both: at least 83 excluded.
    return {"overlap": pd.DataFrame({"combination": ["listed", "listed", "other combinations (each under 11)"],
                                     "c1": ["True", "True", "False"], "c2": ["False", "True", "False"],
                                     "patients": ["50", "33", "≤10"], "criteria": ["1", "2", "0"]})}


def _differential() -> dict[str, pd.DataFrame]:
    # The first step removes 45 women and 38 men: 83 excluded there, so at least 83 in all.
    makeup = pd.DataFrame({"step": [0, 0, 1, 1, 2, 2], "characteristic": "sex", "group": ["F", "M"] * 3,
                           "patients": ["60", "40", "*", "*", "≤10", "≤10"]})
    differential = pd.DataFrame({"criterion": ["c1", "c1", "c2", "c2"], "label": "", "sex": ["F", "M"] * 2,
                                 "removed_alone": ["45", "38", "*", "*"],
                                 "removed_in_sequence": ["45", "38", "≤10", "≤10"]})
    gains = differential[["criterion", "label", "sex"]].assign(gain="*")
    return {"makeup": makeup, "differential_sex": differential, "leave_one_out_sex": gains}


def _near_misses() -> dict[str, pd.DataFrame]:
    # 30 + 25 fail only c1, 28 only c2, each near its threshold: at least 83 excluded.
    return {"near_misses": pd.DataFrame({"criterion": ["c1", "c1", "c2"], "band": ["1", "2", "1"],
                                         "patients": ["30", "25", "28"]})}


SITES = {  # the added table, the headline it is read with, eligible without the table and with it (true count)
    "not_assessable": (_not_assessable, ["100", "≤10", "*", "20", "80"], (0, 10), (0, 6), 5),
    "overlap": (_overlap, HIDDEN_EXCLUDED, (0, 10), (0, 5), 3),
    "differential": (_differential, HIDDEN_EXCLUDED, (0, 10), (0, 5), 3),
    "near_misses": (_near_misses, HIDDEN_EXCLUDED, (0, 10), (0, 5), 3),
}


@pytest.mark.parametrize("table", list(SITES))
def test_each_added_table_narrows_a_sites_eligible_interval_to_the_hand_computed_one(table):
    extra, headline, before, after, truth = SITES[table]
    assert tightest(_site(table, headline), [ELIGIBLE])[ELIGIBLE] == before
    # not_assessable: eligible + not assessable = 20 and not assessable ≥ 14, so eligible ≤ 6.
    # The others: excluded ≥ 83 and eligible + excluded = 88, so eligible ≤ 5.
    assert tightest(_site(table, headline, **extra()), [ELIGIBLE])[ELIGIBLE] == after
    assert after[0] <= truth <= after[1]


def test_two_sites_tables_narrow_the_networks_eligible_interval_to_the_sum_of_each_sites():
    a, b = SITES["not_assessable"], SITES["overlap"]
    without = [tightest(_site(f"{name}-alone", s[1]), [ELIGIBLE])[ELIGIBLE] for name, s in (("A", a), ("B", b))]
    with_tables = [tightest(_site(name, s[1], **s[0]()), [ELIGIBLE])[ELIGIBLE] for name, s in (("A", a), ("B", b))]
    network = lambda ends: (sum(lo for lo, _ in ends), sum(hi for _, hi in ends))  # noqa: E731
    assert network(without) == (0, 20)
    assert network(with_tables) == (0, 11)  # 0–6 and 0–5, around the true 5 + 3 = 8
