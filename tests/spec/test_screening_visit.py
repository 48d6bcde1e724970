"""``screening_visit``: what only the screening visit can tell is unknown for everyone, on every engine."""

from conftest import spec_tables


def test_always_unknown(engine):
    assert engine(spec_tables({"A": {}, "B": {"age_years": None}}), "screening_visit") == {"A": None, "B": None}
