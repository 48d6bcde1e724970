"""``pregnancy``: pregnant, breastfeeding, or able to conceive without contraception; a man never is."""

from conftest import spec_tables


def test_pregnancy_risk(engine):
    tables = spec_tables("""
        patient            | sex | pregnant | breastfeeding | childbearing_potential | contraception
        NO_RISK            | F   | false    | false         | true                   | true
        PREGNANT           | F   | true     | false         | true                   | true
        BREASTFEEDING      | F   | false    | true          | true                   | true
        NO_CONTRACEPTION   | F   | false    | false         | true                   | false
        CONTRACEPTION_NA   | F   | false    | false         | true                   |
        CANNOT_CONCEIVE    | F   | false    | false         | false                  |
        MAN_BLANK          | M   |          |               |                        |
        SEX_BLANK          |     |          | false         | true                   | true
    """)
    assert engine(tables, "pregnancy") == {
        "NO_RISK": False, "PREGNANT": True, "BREASTFEEDING": True, "NO_CONTRACEPTION": True,
        "CONTRACEPTION_NA": None, "CANNOT_CONCEIVE": False, "MAN_BLANK": False, "SEX_BLANK": None}
