"""``classification``: at least acr_min ACR 1997 criteria, or SLICC 2012 classification when accepted."""

from conftest import spec_tables

PATIENTS = """
    patient       | acr_criteria_count | slicc_classified
    FOUR          | 4                  | false
    THREE         | 3                  | false
    THREE_SLICC   | 3                  | true
    THREE_UNSURE  | 3                  |
    NO_ACR_SLICC  |                    | true
    NO_ACR_NO     |                    | false
"""


def test_acr_count_alone_by_default(engine):
    assert engine(spec_tables(PATIENTS), "classification") == {
        "FOUR": True, "THREE": False, "THREE_SLICC": False, "THREE_UNSURE": False, "NO_ACR_SLICC": None,
        "NO_ACR_NO": None}


def test_slicc_accepted_settles_a_missing_count(engine):
    assert engine(spec_tables(PATIENTS), "classification", accept_slicc=True) == {
        "FOUR": True, "THREE": False, "THREE_SLICC": True, "THREE_UNSURE": None, "NO_ACR_SLICC": True,
        "NO_ACR_NO": None}
