"""``lab_vs_uln``: any of several lab values compared with a multiple of its own laboratory's ULN.

Baseline is 2024-06-15; 12 months before is 2023-06-15. A value without a date is the registry's
baseline value: used.
"""

from conftest import spec_tables


def test_any_value_above_its_own_uln_multiple(engine):
    tables = spec_tables("""
        patient        | ast | ast_uln | alt | alt_uln
        AT             | 80  | 40      | 20  | 40
        ABOVE          | 81  | 40      | 20  | 40
        ALT_HIGH       | 20  | 40      | 100 | 40
        NO_ULN         | 200 |         | 20  | 40
        NO_ULN_ALT_HIGH| 200 |         | 100 | 40
        MISSING        |     | 40      | 20  | 40
        OTHER_LAB      | 60  | 25      | 20  | 40
    """)
    assert engine(tables, "lab_vs_uln", columns=["ast", "alt"], op=">", multiple=2) == {
        "AT": False, "ABOVE": True, "ALT_HIGH": True, "NO_ULN": None, "NO_ULN_ALT_HIGH": True, "MISSING": None,
        "OTHER_LAB": True}
    # Only AST asked: a high ALT no longer meets it.
    assert engine(tables, "lab_vs_uln", columns=["ast"], op=">=", multiple=2) == {
        "AT": True, "ABOVE": True, "ALT_HIGH": False, "NO_ULN": None, "NO_ULN_ALT_HIGH": None, "MISSING": None,
        "OTHER_LAB": True}


def test_creatinine_against_its_uln_and_the_recency_limit(engine):
    tables = spec_tables("""
        patient  | creatinine | creatinine_uln | creatinine_date
        AT       | 1.5        | 1.0            | 2024-06-01
        BELOW    | 1.4        | 1.0            | 2024-06-01
        OLD_HIGH | 3.0        | 1.0            | 2023-01-01
        UNDATED  | 3.0        | 1.0            |
    """)
    assert engine(tables, "lab_vs_uln", columns=["creatinine"], op=">=", multiple=1.5, within_months=12) == {
        "AT": True, "BELOW": False, "OLD_HIGH": None, "UNDATED": True}
    assert engine(tables, "lab_vs_uln", columns=["creatinine"], op=">=", multiple=1.5, within_months=None) == {
        "AT": True, "BELOW": False, "OLD_HIGH": True, "UNDATED": True}
