"""What only the screening visit can tell: listed in the protocol, never counted."""

from __future__ import annotations

import pandas as pd

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query
from screening.rules.registry import rule


@rule("screening_visit")
def screening_visit(ex: Extract):
    """Not knowable from registry data: assessed at the screening visit, never counted."""
    return pd.array([pd.NA] * len(ex.patients), dtype="boolean")


@screening_visit.naive_form
def screening_visit_naive(patient: R.Patient):
    return None


@screening_visit.sql_form
def screening_visit_sql(q: Query) -> str:
    return "CAST(NULL AS BOOLEAN)"
