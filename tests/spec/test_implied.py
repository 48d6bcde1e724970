"""Cross-field inference (``screening.rules.implied``), the same on every engine: a blank renal BILAG grade read
from the nephritis status and back, a blank CNS flag from the neuropsychiatric grade and back.

The base patient is graded D in every domain but musculoskeletal B; renal E with nephritis "never".
"""

from conftest import spec_tables

RENAL = """
    patient    | bilag_renal | lupus_nephritis | bilag_musculoskeletal
    NEVER      |             | never           | D
    REMISSION  |             | remission       | D
    ACTIVE     |             | active          | D
    BOTH_BLANK |             |                 | D
    GRADED_A   | A           |                 | D
    GRADED_C   | C           |                 | D
    GRADED_D   | D           |                 | D
"""


def test_a_blank_renal_grade_is_read_from_the_nephritis_status(engine):
    tables = spec_tables(RENAL)
    # Renal A or B: never (E) and remission (C/D) are settled not; active (A/B/C) may or may not be.
    assert engine(tables, "bilag_active", grades=["A", "B"], domains=["renal"]) == {
        "NEVER": False, "REMISSION": False, "ACTIVE": None, "BOTH_BLANK": None, "GRADED_A": True,
        "GRADED_C": False, "GRADED_D": False}
    # Renal A, B or C: active is then settled.
    assert engine(tables, "bilag_active", grades=["A", "B", "C"], domains=["renal"]) == {
        "NEVER": False, "REMISSION": None, "ACTIVE": True, "BOTH_BLANK": None, "GRADED_A": True,
        "GRADED_C": True, "GRADED_D": False}


def test_a_blank_nephritis_status_is_read_from_the_renal_grade(engine):
    tables = spec_tables(RENAL)
    # A -> active; C -> active or remission; D -> remission.
    assert engine(tables, "column", column="lupus_nephritis", op="in", value=["active"]) == {
        "NEVER": False, "REMISSION": False, "ACTIVE": True, "BOTH_BLANK": None, "GRADED_A": True,
        "GRADED_C": None, "GRADED_D": False}
    assert engine(tables, "column", column="lupus_nephritis", op="!=", value="never") == {
        "NEVER": False, "REMISSION": True, "ACTIVE": True, "BOTH_BLANK": None, "GRADED_A": True,
        "GRADED_C": True, "GRADED_D": True}


def test_bilag_count_and_nephritis_therapy_read_the_renal_grade_alike(engine):
    tables = spec_tables(RENAL)
    # One A, or two A/B (musculoskeletal is D here, every other domain D): only the renal grade can count.
    assert engine(tables, "bilag_count", a_min=1, b_min=2) == {
        "NEVER": False, "REMISSION": False, "ACTIVE": None, "BOTH_BLANK": None, "GRADED_A": True,
        "GRADED_C": False, "GRADED_D": False}
    # Without renal activity the criterion is met; the base patient has no nephritis therapy at all.
    assert engine(tables, "nephritis_therapy") == {
        "NEVER": True, "REMISSION": True, "ACTIVE": None, "BOTH_BLANK": None, "GRADED_A": False,
        "GRADED_C": True, "GRADED_D": True}


CNS = """
    patient     | cns_lupus_active | bilag_neuropsychiatric
    NEURO_D     |                  | D
    NEURO_E     |                  | E
    NEURO_C     |                  | C
    NEURO_BLANK |                  |
    CNS_ON      | true             |
    CNS_OFF     | false            |
"""


def test_a_blank_cns_flag_is_read_from_the_neuropsychiatric_grade(engine):
    tables = spec_tables(CNS)
    # D (inactive) or E (never) -> not active; C leaves it open.
    assert engine(tables, "column", column="cns_lupus_active", op="is", value=True) == {
        "NEURO_D": False, "NEURO_E": False, "NEURO_C": None, "NEURO_BLANK": None, "CNS_ON": True, "CNS_OFF": False}
    # Backwards: active CNS lupus -> neuropsychiatric A, B or C; an inactive flag says nothing of the grade.
    assert engine(tables, "bilag_active", grades=["A", "B", "C"], domains=["neuropsychiatric"]) == {
        "NEURO_D": False, "NEURO_E": False, "NEURO_C": True, "NEURO_BLANK": None, "CNS_ON": True, "CNS_OFF": None}
