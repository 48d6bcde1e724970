"""``history_except``: a malignancy within the look-back, bar excepted types diagnosed long enough ago.

Baseline is 2024-06-15. With the defaults, a basal or squamous skin cancer is excepted when diagnosed
on or before 2024-03-15 (3 months), a cervical carcinoma in situ on or before 2023-06-15 (12 months);
five years back is 2019-06-15.
"""

from conftest import spec_tables

ZZ = "Zz-unknown"
PEOPLE = ("BCC_OLD", "BCC_RECENT", "SCC_RECENT", "CIS_OLD", "CIS_RECENT", "BREAST", "BREAST_OLD",
          "UNKNOWN_RECENT", "UNKNOWN_OLD", "UNDATED_BCC", "NONE")


def _tables():
    return spec_tables({p: {} for p in PEOPLE}, malignancies="""
        patient        | malignancy_type            | diagnosis_date
        BCC_OLD        | basal_cell_skin            | 2024-03-15
        BCC_RECENT     | basal_cell_skin            | 2024-03-16
        SCC_RECENT     | squamous_cell_skin         | 2024-06-01
        CIS_OLD        | cervical_carcinoma_in_situ | 2023-06-15
        CIS_RECENT     | cervical_carcinoma_in_situ | 2023-06-16
        BREAST         | breast                     | 2020-01-01
        BREAST_OLD     | breast                     | 2019-06-14
        UNKNOWN_RECENT | Zz-unknown                 | 2024-05-01
        UNKNOWN_OLD    | Zz-unknown                 | 2023-01-01
        UNDATED_BCC    | basal_cell_skin            |
    """)


def test_excepted_types_count_only_when_too_recent(engine):
    assert engine(_tables(), "history_except") == {
        "BCC_OLD": False, "BCC_RECENT": True, "SCC_RECENT": True, "CIS_OLD": False, "CIS_RECENT": True,
        "BREAST": True, "BREAST_OLD": False,
        # An unknown type might be excepted: surely counted only if too recent for every exception.
        "UNKNOWN_RECENT": True, "UNKNOWN_OLD": None, "UNDATED_BCC": None, "NONE": False}


def test_the_types_and_times_are_parameters(engine):
    assert engine(_tables(), "history_except", lookback_years=20, excepted=["basal_cell_skin"],
                  excepted_months=[1]) == {
        "BCC_OLD": False, "BCC_RECENT": False, "SCC_RECENT": True, "CIS_OLD": True, "CIS_RECENT": True,
        "BREAST": True, "BREAST_OLD": True, "UNKNOWN_RECENT": None, "UNKNOWN_OLD": None, "UNDATED_BCC": None,
        "NONE": False}
    # Nothing excepted: every malignancy in the look-back counts, whatever its type.
    assert engine(_tables(), "history_except", excepted=[], excepted_months=[]) == {
        "BCC_OLD": True, "BCC_RECENT": True, "SCC_RECENT": True, "CIS_OLD": True, "CIS_RECENT": True,
        "BREAST": True, "BREAST_OLD": False, "UNKNOWN_RECENT": True, "UNKNOWN_OLD": True, "UNDATED_BCC": None,
        "NONE": False}
