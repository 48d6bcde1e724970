"""``washout``: a biologic taken within 5 half-lives before baseline (2024-06-15), else a fixed window.

Belimumab 5 × 19.4 = 97 days (from 2024-03-10), rituximab 5 × 20.2 = 101 days (from 2024-03-06), and
anifrolumab, with no tabled half-life, the fixed 182 days (from 2023-12-16).
"""

from conftest import spec_tables

MEDS = """
    patient    | drug               | drug_class   | start_date | stop_date  | dose
    BEL_EDGE   | belimumab          | biologic     | 2024-03-10 | 2024-03-10 | 600
    BEL_OUT    | belimumab          | biologic     | 2024-03-09 | 2024-03-09 | 600
    RTX_EDGE   | rituximab          | biologic     | 2024-03-06 | 2024-03-06 | 1000
    RTX_OUT    | rituximab          | biologic     | 2024-03-05 | 2024-03-05 | 1000
    ANI_EDGE   | anifrolumab        | biologic     | 2023-12-16 | 2023-12-16 | 300
    ANI_OUT    | anifrolumab        | biologic     | 2023-12-15 | 2023-12-15 | 300
    UNNAMED    | Zz-unknown         | biologic     | 2024-02-01 | 2024-02-01 | 300
    NO_START   | belimumab          | biologic     |            | 2024-04-01 | 600
    HCQ        | hydroxychloroquine | antimalarial | 2024-05-01 |            | 400
"""
IDS = ("BEL_EDGE", "BEL_OUT", "RTX_EDGE", "RTX_OUT", "ANI_EDGE", "ANI_OUT", "UNNAMED", "NO_START", "HCQ")


def test_five_half_lives_or_a_fixed_window(engine):
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "washout", classes=["biologic"]) == {
        "BEL_EDGE": True, "BEL_OUT": False, "RTX_EDGE": True, "RTX_OUT": False, "ANI_EDGE": True,
        "ANI_OUT": False, "UNNAMED": None, "NO_START": True, "HCQ": False}


def test_fewer_half_lives_and_an_exception(engine):
    # 4 half-lives: belimumab 78 days (from 2024-03-29), rituximab 81 (from 2024-03-26); anifrolumab excepted.
    tables = spec_tables({p: {} for p in IDS}, MEDS)
    assert engine(tables, "washout", classes=["biologic"], excepted=["anifrolumab"], half_lives=4,
                  fixed_days=30) == {
        "BEL_EDGE": False, "BEL_OUT": False, "RTX_EDGE": False, "RTX_OUT": False, "ANI_EDGE": False,
        "ANI_OUT": False, "UNNAMED": False, "NO_START": True, "HCQ": False}
