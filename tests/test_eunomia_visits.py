"""Eunomia's visits as index dates: each visit_occurrence of the SLE cohort screened, on every route.

The per-visit outcomes are worked out by hand in ``tests/eunomia.py`` (``EXPECTED_VISITS``,
``EXPECTED_MONTHLY_1001``). The pandas over-time engine, the row-by-row implementation and the SQL
route evaluating every index date in DuckDB and PostgreSQL must each give them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import eunomia
from screening.engine.over_time import EligibilityOverTime
from screening.errors import ExtractError
from screening.io.sources import load_source
from screening.rules.protocol import load_protocol

PROTOCOL = load_protocol("misle-phase2-ehr")


def _load(spec: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_source(spec, protocol=PROTOCOL, **kw)


def _by_visit(over: EligibilityOverTime) -> dict:
    """(person, visit day) -> (status, criterion) for every screened visit but the baseline."""
    v = over.visits
    return {(int(r.patient_id), str(r.visit_date.date())): (str(r.status), r.criterion)
            for r in v.itertuples() if not r.baseline}


@pytest.fixture(scope="module")
def visits_extract(eunomia_visits):
    return eunomia_visits[0]  # read once for the session (tests/conftest.py), as test_eunomia.py screens it


@pytest.fixture(scope="module")
def over(visits_extract):
    return EligibilityOverTime(visits_extract, PROTOCOL)


def test_each_visit_of_the_sle_cohort_is_screened_with_the_hand_answer(over):
    assert _by_visit(over) == eunomia.EXPECTED_VISITS
    last = over.visits[over.visits["baseline"]]
    assert {int(p): (str(s), c) for p, s, c in zip(last["patient_id"], last["status"], last["criterion"],
                                                  strict=True)} == eunomia.EXPECTED


def test_a_visit_reads_the_latest_values_by_then_with_their_own_dates(visits_extract):
    v = visits_extract.visits.set_index(["patient_id", "visit_date"])
    at = v.loc[("1013", pd.Timestamp(eunomia.V2))]
    assert at["egfr"] == 95 and at["egfr_date"] == pd.Timestamp("2021-09-01")  # not the visit's own day
    assert pd.isna(at["platelets"]) and at["ana_titre"] == 160 and at["age_years"] == 36
    assert not v.loc[("1008", pd.Timestamp(eunomia.V1)), "hiv_positive"]
    assert v.loc[("1008", pd.Timestamp(eunomia.V2)), "hiv_positive"]
    assert not v.loc[("1012", pd.Timestamp(eunomia.V1)), "in_observation"]
    old = v.loc[("1016", pd.Timestamp(eunomia.V0))]
    assert pd.isna(old["egfr"]) and old["ana_date"] == pd.Timestamp("2020-06-01")  # 2019 panel: too old
    assert "1010" not in v.index.get_level_values(0)  # no SLE record: not in the cohort, no index dates


def test_the_row_by_row_implementation_agrees_at_every_visit(visits_extract, over):
    from screening.rules.baselines.naive import naive_visit_states

    naive = naive_visit_states(visits_extract, PROTOCOL)
    engine = pd.DataFrame(over.screening.states, columns=over.screening.ids)
    assert (naive.to_numpy() == engine.to_numpy()).all()


def test_a_monthly_grid_steps_back_from_the_baseline_to_the_diagnosis(eunomia_parquet):
    ex = _load(f"omop:{eunomia_parquet}@{eunomia.BASELINE}", index="monthly")  # Parquet: the same rows, read fast
    days = ex.visits.loc[ex.visits["patient_id"] == "1001", "visit_date"]
    assert len(days) == eunomia.MONTHLY_1001 and days.min() == pd.Timestamp("2018-05-15")
    got = _by_visit(EligibilityOverTime(ex, PROTOCOL))
    assert {d: got[(1001, d)] for d in eunomia.EXPECTED_MONTHLY_1001} == eunomia.EXPECTED_MONTHLY_1001
    assert (ex.visits["visit_date"].dt.day == 15).all() and "1010" not in set(ex.visits["patient_id"])


def test_an_unknown_index_is_an_error_naming_the_choices(eunomia_cdm):
    with pytest.raises(ExtractError, match="visits or monthly"):
        _load(f"omop:{eunomia_cdm}", index="weekly")
    with pytest.raises(ExtractError, match="omop: or synthea:"):
        load_source("data/synthetic", index="visits")


def test_a_report_of_the_cdm_at_each_visit_writes_the_over_time_tables_with_the_hand_counts(
        eunomia_cdm, visits_extract, tmp_path):
    """`report --index visits` on the CDM, its tables only (no notebook): the series counted from the hand answers.

    Visits V1 (2021-09-15) and V2 (2022-01-15) of the 15 added persons with SLE, then every baseline (2022-06-15).
    At V1 8 are eligible, 7 of them at their first visit (1016's V0 was not assessable): 7 newly eligible, and up
    to 12 with the 4 not assessable (1005-1007, 1013) and 1016. At V2 7 are eligible (1008 has HIV), none newly,
    up to 4 (the same not assessable). At baseline 4 are eligible (EXPECTED), none newly, up to 2 (1006, 1007,
    not assessable before). Eligible at some visit of the 12 months: the 4, 1002, 1003, 1004, 1008, 1011 and
    1015; not assessable at some and eligible at none: 1005 and 1013.
    """
    from screening import screen
    from screening.views.report import build_report

    spec = f"omop:{eunomia_cdm}@{eunomia.BASELINE}#visits"  # what the notebooks re-read (report --index visits)
    out = build_report(spec, PROTOCOL, out=tmp_path / "report", small_cell=0, notebooks=False,
                       screening=screen(visits_extract, PROTOCOL), release_log=None)
    table = lambda name: pd.read_csv(out / "tables" / f"{name}.csv")  # noqa: E731
    status = table("over_time_status").set_index("status")
    assert status["last_visit"].to_dict() == {"patients": 44, "eligible": 4, "excluded": 38, "not_assessable": 2}
    assert status["any_visit_12_months"].to_dict() == {"patients": 44, "eligible": 10, "excluded": 32,
                                                       "not_assessable": 2}
    monthly = table("over_time_monthly").set_index("month")
    assert len(monthly) == 24 and monthly.index[-1] == "2022-06"  # 1016's V0 (2020-06) is 25 months back
    columns = ["visits", "eligible_visits", "newly_eligible", "newly_eligible_max"]
    assert monthly.loc[["2021-09", "2022-01", "2022-06"], columns].values.tolist() == \
        [[15, 8, 7, 12], [15, 7, 0, 4], [44, 4, 0, 2]]
    assert monthly[columns].to_numpy().sum() == 15 + 8 + 7 + 12 + 15 + 7 + 4 + 44 + 4 + 2  # no other month
    assert monthly["newly_eligible_so_far"].iloc[-1] == 7
    # eligible to excluded between visits: 1008's HIV (V1 to V2), 1002's rituximab, 1003's prednisone dose and
    # 1011's death (V2 to baseline), each the only criterion to turn
    turning = table("over_time_turning").set_index("criterion")
    assert turning.loc[turning["out_of"] > 0, ["out_of", "out_of_alone"]].to_dict("index") == {
        c: {"out_of": 1, "out_of_alone": 1} for c in ("alive", "chronic_infection", "glucocorticoid",
                                                      "other_biologic")}
    assert turning["into"].sum() == 0


# --- the SQL route: the baseline engine run on (person, index date) rows in the database ---------------

def _sql_by_visit(result: pd.DataFrame) -> dict:
    return {(int(p), str(pd.Timestamp(d).date())): (s, c or "")
            for p, d, b, s, c in result[["patient_id", "visit_date", "baseline", "status", "criterion"]]
            .itertuples(index=False) if not b}


def _assert_sql_agrees(result: pd.DataFrame, over: EligibilityOverTime) -> None:
    engine = over.visits
    assert len(result) == len(engine)
    assert (result["patient_id"].astype(str).to_numpy() == engine["patient_id"].astype(str).to_numpy()).all()
    assert (pd.to_datetime(result["visit_date"]).to_numpy() == engine["visit_date"].to_numpy()).all()
    assert (result["status"].to_numpy() == engine["status"].astype(str).to_numpy()).all()
    assert (result["criterion"].fillna("").to_numpy() == engine["criterion"].to_numpy()).all()
    states = result[over.screening.ids].to_numpy(dtype=np.int8)
    assert (states == over.screening.states).all()
    assert _sql_by_visit(result) == eunomia.EXPECTED_VISITS


def test_duckdb_evaluates_every_index_date_in_the_database_as_the_engine_does(visits_extract, over):
    import duckdb

    from screening.rules.baselines.per_index import load_index_tables, visit_funnel

    con = duckdb.connect()
    load_index_tables(con, visits_extract)
    _assert_sql_agrees(visit_funnel(con, PROTOCOL), over)


def test_postgresql_evaluates_every_index_date_in_the_database_as_the_engine_does(postgres, visits_extract, over):
    from screening.rules.baselines.dialects import POSTGRES
    from screening.rules.baselines.per_index import load_index_tables, visit_funnel

    postgres.execute("CREATE SCHEMA per_index_eunomia")
    postgres.execute("SET search_path TO per_index_eunomia")
    try:
        load_index_tables(postgres, visits_extract, POSTGRES)
        _assert_sql_agrees(visit_funnel(postgres, PROTOCOL, POSTGRES), over)
    finally:
        postgres.execute("DROP SCHEMA per_index_eunomia CASCADE")
        postgres.execute("SET search_path TO DEFAULT")


def test_the_cdm_in_postgresql_gives_the_same_index_dates(eunomia_postgres):
    """The OMOP reader's own queries (visit days, observation periods, first diagnosis) on PostgreSQL."""
    ex = _load(f"omop:{eunomia_postgres}@{eunomia.BASELINE}#visits", cdm_schema="eunomia",
               vocab_schema="eunomia_vocab")
    assert _by_visit(EligibilityOverTime(ex, PROTOCOL)) == eunomia.EXPECTED_VISITS


def test_the_command_line_refuses_index_dates_for_a_native_extract(capsys):
    from screening.cli import main

    assert main(["funnel", "--data", "data/synthetic", "--index", "visits"]) == 2
    err = capsys.readouterr().err
    assert "--index apply to omop: and synthea: sources" in err and "Traceback" not in err
