"""``recent_infection``: herpes zoster within 90 days before baseline, a serious infection within 60.

Baseline is 2024-06-15: 90 days back is 2024-03-17, 60 days back 2024-04-16.
"""

import pandas as pd

from conftest import spec_tables

ZZ = "Zz-unknown"


def test_each_type_has_its_own_look_back(engine):
    tables = spec_tables({p: {} for p in ("ZOSTER_EDGE", "ZOSTER_OLDER", "SERIOUS_EDGE", "SERIOUS_OLDER",
                                          "UNDATED", "NONE")}, infections="""
        patient       | infection_type    | onset_date
        ZOSTER_EDGE   | herpes_zoster     | 2024-03-17
        ZOSTER_OLDER  | herpes_zoster     | 2024-03-16
        SERIOUS_EDGE  | serious_infection | 2024-04-16
        SERIOUS_OLDER | serious_infection | 2024-04-15
        UNDATED       | herpes_zoster     |
    """)
    assert engine(tables, "recent_infection") == {
        "ZOSTER_EDGE": True, "ZOSTER_OLDER": False, "SERIOUS_EDGE": True, "SERIOUS_OLDER": False, "UNDATED": None,
        "NONE": False}


def test_infection_of_unknown_type(engine):
    """An unknown type is surely recent within the shorter look-back, maybe within the longer."""
    days = {"UNKNOWN_45": 45, "UNKNOWN_75": 75, "UNKNOWN_120": 120, "ZOSTER_75": 75, "SERIOUS_75": 75}
    kinds = {"ZOSTER_75": "herpes_zoster", "SERIOUS_75": "serious_infection"}
    tables = spec_tables({p: {} for p in days}, infections=[
        (p, kinds.get(p, ZZ), (pd.Timestamp("2024-06-15") - pd.Timedelta(days=d)).strftime("%Y-%m-%d"))
        for p, d in days.items()])
    assert engine(tables, "recent_infection") == {
        "UNKNOWN_45": True, "UNKNOWN_75": None, "UNKNOWN_120": False, "ZOSTER_75": True, "SERIOUS_75": False}
