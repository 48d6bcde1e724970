"""``bilag_active``: any BILAG-2004 domain graded A or B; an unscored renal domain is E if nephritis never was."""

from conftest import spec_tables

PATIENTS = """
    patient       | bilag_musculoskeletal | bilag_cardiorespiratory | bilag_renal | lupus_nephritis
    MSK_B         | B                     | D                       | E           | never
    ALL_D         | D                     | D                       | E           | never
    C_ONLY        | C                     | D                       | E           | never
    ONE_UNSCORED  | D                     |                         | E           | never
    A_AND_BLANK   | A                     |                         | E           | never
"""


def test_any_domain_active(engine):
    assert engine(spec_tables(PATIENTS), "bilag_active") == {
        "MSK_B": True, "ALL_D": False, "C_ONLY": False, "ONE_UNSCORED": None, "A_AND_BLANK": True}


def test_grades_and_domains_narrowed(engine):
    assert engine(spec_tables(PATIENTS), "bilag_active", grades=["A", "B", "C"], domains=["musculoskeletal"]) == {
        "MSK_B": True, "ALL_D": False, "C_ONLY": True, "ONE_UNSCORED": False, "A_AND_BLANK": True}


def test_unscored_renal_domain_of_a_patient_without_nephritis_is_not_active(engine):
    others_inactive = {"bilag_musculoskeletal": "D", "bilag_renal": None}
    tables = spec_tables({"NEVER": {**others_inactive, "lupus_nephritis": "never"},
                          "UNKNOWN_HISTORY": {**others_inactive, "lupus_nephritis": None}})
    assert engine(tables, "bilag_active") == {"NEVER": False, "UNKNOWN_HISTORY": None}
