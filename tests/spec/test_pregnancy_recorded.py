"""``pregnancy_recorded``: pregnancy as coded; a man is never pregnant, whatever his record holds or leaves blank.

Regression for ``misle-phase2-ehr``, which once read the ``pregnant`` column alone and so left a
man with no pregnancy record not assessable.
"""

from __future__ import annotations

from conftest import spec_tables
from screening import load_protocol


def test_a_man_without_a_pregnancy_record_is_settled(engine):
    tables = spec_tables({
        "MAN_BLANK": {"sex": "M", "pregnant": None, "childbearing_potential": None},
        "MAN_NO": {"sex": "M", "pregnant": False, "childbearing_potential": None},
        "WOMAN_BLANK": {"pregnant": None},
        "WOMAN_PREGNANT": {"pregnant": True},
        "WOMAN_NOT": {"pregnant": False},
        "SEX_BLANK_NOT": {"sex": None, "pregnant": False},
        "SEX_BLANK_BLANK": {"sex": None, "pregnant": None},
    })
    assert engine(tables, "pregnancy_recorded") == {
        "MAN_BLANK": False, "MAN_NO": False, "WOMAN_BLANK": None, "WOMAN_PREGNANT": True, "WOMAN_NOT": False,
        "SEX_BLANK_NOT": False, "SEX_BLANK_BLANK": None}


def test_the_ehr_protocol_screens_pregnancy_with_the_sex_aware_rule():
    criterion = load_protocol("misle-phase2-ehr").criterion("pregnant")
    assert (criterion.rule, criterion.kind) == ("pregnancy_recorded", "exclusion")
