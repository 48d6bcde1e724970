"""PostgreSQL rows as CSV the database writes, parsed by Arrow: the values read_sql gives, NULL and text apart."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from screening.io.sources import omop_postgres

# Every kind of value the CDM queries return, and the texts a CSV reader would be tempted to read as
# something else: an empty text, "NA", a comma and quotes, a line break, a number written as text.
ROWS = """SELECT * FROM (VALUES
    (1::bigint, 'NA'::text, ''::text, DATE '2024-01-02', 1.5::numeric, 2.25::float8, true, NULL::bigint,
     E'012\n3'::varchar),
    (NULL, 'x,"y"', NULL, NULL, NULL, 0.1, false, NULL, NULL)
) AS t(id, word, blank, day, amount, value, flag, nothing, code)"""


@pytest.fixture(scope="module")
def conn(postgres_url):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_csv_rows_read_each_value_as_read_sql_does(conn):
    assert omop_postgres.is_postgres(conn)
    got = omop_postgres.frame(ROWS, lambda sql: omop_postgres.receive(conn, sql))
    assert got["id"].tolist()[0] == 1 and np.isnan(got["id"].tolist()[1])
    assert got["word"].tolist() == ["NA", 'x,"y"']
    assert got["blank"].iloc[0] == "" and pd.isna(got["blank"].iloc[1])  # an empty text is not NULL
    assert got["day"].tolist()[0] == pd.Timestamp("2024-01-02") and pd.isna(got["day"].iloc[1])
    assert got["amount"].tolist()[0] == 1.5 and got["value"].tolist() == [2.25, 0.1]
    assert got["flag"].tolist() == [True, False]
    assert got["nothing"].tolist() == [None, None]  # no value at all: no type, as read_sql gives it
    assert got["code"].iloc[0] == "012\n3"  # text that looks like a number stays text, line break and all
    expected = pd.read_sql(ROWS, conn)
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:  # the same values; dates as datetime64 instead of datetime.date objects
        same = expected[column].map(lambda v: pd.Timestamp(v) if isinstance(v, datetime.date) else v)
        pd.testing.assert_series_equal(got[column].astype(object), same.astype(object), check_names=False)


def test_rows_come_in_chunks_and_none_is_an_empty_frame(conn, monkeypatch):
    def read(sql):
        return omop_postgres.frame(sql, lambda text: omop_postgres.receive(conn, text))

    monkeypatch.setattr(omop_postgres, "CHUNK", 2)
    got = read("SELECT g AS n, 'a' || g AS word FROM generate_series(1, 5) AS g")
    assert sorted(zip(got["n"], got["word"], strict=True)) == [(k, f"a{k}") for k in range(1, 6)]
    empty = read("SELECT 1::bigint AS n WHERE false")
    assert list(empty.columns) == ["n"] and len(empty) == 0


def test_what_the_csv_reader_cannot_take_is_left_to_read_sql(conn):
    def read(sql):
        return omop_postgres.frame(sql, lambda text: omop_postgres.receive(conn, text))

    assert read("SELECT DATE 'infinity' AS day") is None
    assert read("SELECT 1 AS a, 2 AS a") is None  # columns no CSV line can tell apart


def test_send_writes_text_numbers_dates_and_nulls_as_given(conn):
    import sqlalchemy as sa

    table = sa.Table("screening_sent", sa.MetaData(), sa.Column("code", sa.String(8)), sa.Column("id", sa.BigInteger),
                     sa.Column("day", sa.Date), prefixes=["TEMPORARY"])
    table.create(conn)
    rows = pd.DataFrame({"code": ["", None, "a,\"b\"\t\\"], "id": [1, None, 3],
                         "day": [datetime.date(2024, 6, 15), None, datetime.date(1999, 12, 31)]}, dtype=object)
    omop_postgres.send(conn, table, rows)
    back = conn.execute(sa.select(table)).all()
    assert [tuple(r) for r in back] == [("", 1, datetime.date(2024, 6, 15)), (None, None, None),
                                        ('a,"b"\t\\', 3, datetime.date(1999, 12, 31))]
