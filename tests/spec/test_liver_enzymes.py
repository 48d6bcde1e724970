"""``liver_enzymes``: AST or ALT above 4 times its laboratory's upper limit of normal, if recent enough."""

from conftest import spec_tables


def test_above_four_times_the_upper_limit(engine):
    tables = spec_tables("""
        patient     | ast | ast_uln | alt | alt_uln
        AST_AT      | 160 | 40      | 25  | 45
        AST_ABOVE   | 161 | 40      | 25  | 45
        ALT_ABOVE   | 25  | 40      | 181 | 45
        AST_BLANK   |     | 40      | 25  | 45
        NO_LIMIT    | 25  |         | 25  | 45
        BLANK_HIGH  |     | 40      | 400 | 45
    """)
    assert engine(tables, "liver_enzymes") == {
        "AST_AT": False, "AST_ABOVE": True, "ALT_ABOVE": True, "AST_BLANK": None, "NO_LIMIT": None,
        "BLANK_HIGH": True}


def test_an_old_liver_enzyme_is_unknown(engine):
    tables = spec_tables({
        "AST_HIGH": {"ast": 200.0, "ast_date": "2024-06-01", "alt_date": "2024-06-01"},
        "AST_HIGH_OLD": {"ast": 200.0, "ast_date": "2022-01-01", "alt_date": "2024-06-01"},
        "NORMAL": {"ast_date": "2024-06-01", "alt_date": "2024-06-01"},
        "NORMAL_OLD": {"ast_date": "2020-01-01", "alt_date": "2020-01-01"}})
    assert engine(tables, "liver_enzymes", within_months=12) == {
        "AST_HIGH": True, "AST_HIGH_OLD": None, "NORMAL": False, "NORMAL_OLD": None}
    assert engine(tables, "liver_enzymes", within_months=36) == {
        "AST_HIGH": True, "AST_HIGH_OLD": True, "NORMAL": False, "NORMAL_OLD": None}
