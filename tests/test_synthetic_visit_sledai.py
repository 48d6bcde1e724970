"""Each synthetic visit's SLEDAI-2K agrees with the visit's own labs (issue 26, item 4).

SLEDAI-2K's laboratory items (Gladman et al., J Rheumatol 2002;29:288-291): low complement 2, increased DNA
binding 2, proteinuria > 0.5 g 4, platelets < 100,000 1, white cells < 3,000 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screening.synth.disease import lab_items
from screening.synth.synthetic import generate
from screening.synth.visits import _rescored

_NORMAL = {"c3": 120.0, "c4": 25.0, "anti_dsdna_positive": False, "proteinuria_g_per_g": 0.1,
           "platelets": 250_000.0, "wbc": 6.0}


def _table(rows: list[dict], score: list) -> pd.DataFrame:
    t = pd.DataFrame([{**_NORMAL, **r} for r in rows])
    t["anti_dsdna_positive"] = t["anti_dsdna_positive"].astype("boolean")
    t["sledai_2k"] = pd.array(score, dtype="Float64")
    return t


def test_no_generated_visit_scores_below_its_own_laboratory_items():
    v = generate(200, seed=7, visits=True)["visits"]
    score = v["sledai_2k"].to_numpy(dtype=float, na_value=np.nan)
    scored = ~np.isnan(score)
    assert scored.sum() > 500
    assert (score[scored] >= np.nansum(lab_items(v)[scored], axis=1)).all()
    # the cases a clinician spots at once: SLEDAI-2K 0 with low complement, or with anti-dsDNA positive
    low = ((v["c3"] < 90) | (v["c4"] < 10)).fillna(False)
    assert not ((v["sledai_2k"] == 0) & (low | v["anti_dsdna_positive"].fillna(False))).any()


# baseline: SLEDAI-2K 6 = low C3 (2) + anti-dsDNA (2) + rash (2, clinical)
_ACTIVE = {"c3": 70.0, "anti_dsdna_positive": True}


@pytest.mark.parametrize(("visit", "expected"), [
    ({**_ACTIVE, "c3": 100.0}, 4),  # C3 recovered: 2 points fewer
    (_ACTIVE, 6),  # labs as at baseline: the same score
    ({**_ACTIVE, "c3": None, "c4": None}, 6),  # complement not measured: the item as at baseline
    ({**_ACTIVE, "proteinuria_g_per_g": 1.2, "platelets": 80_000.0}, 11),  # new proteinuria and thrombocytopenia
])
def test_a_visit_in_the_baselines_state_keeps_its_clinical_items_and_scores_its_own_labs(visit, expected):
    patients = _table([_ACTIVE], [6])
    out = _table([visit], [6])  # a visit scoring SLEDAI-2K carries the baseline's score until re-scored
    zero = np.zeros(1, dtype=int)
    assert _rescored(out, patients, zero, zero, np.array([3]), zero).tolist() == [expected]


@pytest.mark.parametrize(("visit", "bump", "expected"), [
    ({}, 3, 5),  # a flare the labs do not show: its 3 points are clinical
    ({"c3": 70.0, "anti_dsdna_positive": True}, 3, 6),  # labs rise by 4: they carry the flare, none added
    ({"c3": 70.0}, 3, 5),  # labs rise by 2 of the flare's 3
    ({"c3": 70.0}, 5, 7),
])
def test_a_new_flare_rises_by_its_bump_or_by_its_labs_whichever_is_more(visit, bump, expected):
    patients = _table([{}], [2])  # quiet baseline: rash only
    out = _table([visit], [2])
    zero, up = np.zeros(1, dtype=int), np.ones(1, dtype=int)
    assert _rescored(out, patients, zero, up, np.array([bump]), zero).tolist() == [expected]


def test_a_visit_without_a_score_stays_without_one_and_the_wobble_never_takes_labs_away():
    patients = _table([_ACTIVE, _ACTIVE], [4, 4])  # labs only
    out = _table([_ACTIVE, _ACTIVE], [None, 4])
    rows, zero = np.zeros(2, dtype=int), np.zeros(2, dtype=int)
    got = _rescored(out, patients, rows, zero, np.array([3, 3]), np.array([-2, -2]))
    assert got.isna().tolist() == [True, False] and got[1] == 4
