"""``column``: one patients column compared with a value (``<`` ... ``!=``, ``in``, ``is``); unknown where blank."""

from conftest import spec_tables

PATIENTS = """
    patient | egfr | hiv_positive | chest_xray   | sex
    LOW     | 29.9 | true         | tb_or_fungal | F
    EDGE    | 30   | false        | normal       | M
    BLANK   |      |              |              |
"""


def test_comparisons(engine):
    tables = spec_tables(PATIENTS)
    assert engine(tables, "column", column="egfr", op="<", value=30) == {"LOW": True, "EDGE": False, "BLANK": None}
    assert engine(tables, "column", column="egfr", op=">=", value=30) == {"LOW": False, "EDGE": True, "BLANK": None}
    assert engine(tables, "column", column="sex", op="==", value="F") == {"LOW": True, "EDGE": False, "BLANK": None}
    assert engine(tables, "column", column="sex", op="!=", value="F") == {"LOW": False, "EDGE": True, "BLANK": None}


def test_is_and_in(engine):
    tables = spec_tables(PATIENTS)
    assert engine(tables, "column", column="hiv_positive", op="is", value=True) == {
        "LOW": True, "EDGE": False, "BLANK": None}
    assert engine(tables, "column", column="hiv_positive", op="is", value=False) == {
        "LOW": False, "EDGE": True, "BLANK": None}
    assert engine(tables, "column", column="chest_xray", op="in", value=["tb_or_fungal", "other_abnormal"]) == {
        "LOW": True, "EDGE": False, "BLANK": None}
