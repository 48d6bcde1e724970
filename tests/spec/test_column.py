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


# Category columns of every kind (a fixed list, free text held as categories, an optional field): a blank
# compared with == or != is unknown, never "not equal".
CODED = """
    patient | site | bilag_renal | lupus_nephritis | tb_status
    HIT     | S01  | A           | active          | latent
    MISS    | S02  | D           | remission       | negative
    BLANK   |      |             |                 |
"""


def test_a_blank_category_compared_with_equals_is_unknown(engine):
    tables = spec_tables(CODED)
    for column, hit in (("site", "S01"), ("bilag_renal", "A"), ("lupus_nephritis", "active"), ("tb_status", "latent")):
        assert engine(tables, "column", column=column, op="==", value=hit) == {
            "HIT": True, "MISS": False, "BLANK": None}, column
        assert engine(tables, "column", column=column, op="!=", value=hit) == {
            "HIT": False, "MISS": True, "BLANK": None}, column
