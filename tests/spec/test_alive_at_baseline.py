"""``alive_at_baseline`` (EHR cohort entry): no death recorded on or before baseline (2024-06-15)."""

from conftest import spec_tables


def test_death_on_or_before_baseline(engine):
    tables = spec_tables("""
        patient      | death_date
        DIED_BEFORE  | 2023-01-01
        DIED_ON_DAY  | 2024-06-15
        DIED_AFTER   | 2024-06-16
        NO_DEATH     |
    """)
    assert engine(tables, "alive_at_baseline") == {
        "DIED_BEFORE": False, "DIED_ON_DAY": False, "DIED_AFTER": True, "NO_DEATH": True}


def test_without_a_death_table_nobody_is_known_alive(engine):
    assert engine(spec_tables({"A": {}, "B": {}}), "alive_at_baseline") == {"A": None, "B": None}
