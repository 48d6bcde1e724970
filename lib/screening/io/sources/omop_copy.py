"""PostgreSQL through psycopg: query results read, and the cohort written, by COPY instead of row by row.

``pandas.read_sql`` through SQLAlchemy makes a Python object of every value and a row
object of every row, and an INSERT per row writes a table: with the one row per person
of a large CDM, that is client time spent on what the database hands over, not on
screening. ``COPY (...) TO STDOUT`` sends the same rows as CSV, which Arrow parses in
C++. The frame holds what ``read_sql`` gives (whole numbers as int64, or float64 with a
NULL among them; text as str; a column of NULLs as None), but dates as datetime64
rather than a ``datetime.date`` object each, as DuckDB gives them. Anything the CSV
reader cannot take (a date PostgreSQL writes as ``infinity``) is read the ordinary way
instead, with the ordinary error.

Example
-------
>>> from screening.io.sources.omop_copy import arrow_type
>>> str(arrow_type(1082)), str(arrow_type(20)), str(arrow_type(25))
('date32[day]', 'int64', 'string')
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["arrow_type", "copy_frame", "can_copy", "receive", "send"]

#: PostgreSQL type OIDs (pg_type) read as something other than text.
_TYPES = {16: pa.bool_(), 20: pa.int64(), 21: pa.int64(), 23: pa.int64(), 26: pa.int64(),
          700: pa.float64(), 701: pa.float64(), 1700: pa.float64(), 1082: pa.date32(),
          1114: pa.timestamp("us")}


def arrow_type(oid: int) -> pa.DataType:
    """How a column of PostgreSQL type ``oid`` is parsed (text for any type not listed)."""
    return _TYPES.get(oid, pa.string())


def can_copy(connection) -> bool:
    """Whether a SQLAlchemy connection is PostgreSQL through psycopg 3, which streams COPY."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def copy_frame(sql: str, receive) -> pd.DataFrame | None:
    """The rows of ``sql`` as ``read_sql`` would give them, or None when the CSV cannot be read as typed.

    ``receive(sql) -> (columns, oids, csv bytes)`` runs the COPY (the time spent waiting on the database).
    """
    names, oids, data = receive(sql)
    types = {f"c{i}": arrow_type(oid) for i, oid in enumerate(oids)}
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=list(types), use_threads=True),
            # Only an unquoted empty field is NULL: PostgreSQL quotes an empty text, and "NA" is a value.
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                                 quoted_strings_can_be_null=False, true_values=["t"],
                                                 false_values=["f"]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    frame = table.to_pandas(date_as_object=False)
    frame.columns = names
    for i, column in enumerate(table.columns):
        if len(column) and column.null_count == len(column):  # read_sql finds no type in a column of NULLs
            frame.isetitem(i, pd.Series([None] * len(frame), index=frame.index, dtype=object))
    return frame


def receive(connection, sql: str) -> tuple[list[str], list[int], bytes]:
    """Column names, type OIDs and the CSV text of ``sql``, on the connection's own session and transaction."""
    raw = connection.connection.driver_connection
    with raw.cursor() as cur:
        # ISO dates and round-trip floats whatever the server's defaults (older servers print 15 digits)
        cur.execute("SET LOCAL datestyle = ISO, YMD")
        cur.execute("SET LOCAL extra_float_digits = 3")
        cur.execute(f"SELECT * FROM ({sql}) AS screening_rows LIMIT 0")
        names = [d.name for d in cur.description]
        oids = [d.type_code for d in cur.description]
        out = bytearray()
        with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                out += block
    return names, oids, bytes(out)


def send(connection, table, rows: pd.DataFrame) -> None:
    """``rows`` (Python values, None for NULL) into the new table ``table`` by one COPY on the connection's session."""
    quote = connection.dialect.identifier_preparer
    names = [c.name for c in table.columns]
    columns = ", ".join(quote.quote(name) for name in names)
    with connection.connection.driver_connection.cursor() as cur, \
            cur.copy(f"COPY {quote.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in rows[names].itertuples(index=False, name=None):
            copy.write_row(row)
