"""PostgreSQL through psycopg: query results read as CSV text the database writes, the cohort written by COPY.

``pandas.read_sql`` through SQLAlchemy makes a Python object of every value and a row
object of every row, and an INSERT per row writes a table; even ``COPY ... TO STDOUT``
hands the client one message per row. With the one row per person of a large CDM, that
per-row work was most of the client's time. Here the database writes each row as a CSV
line and joins the lines into a few large texts (:data:`CHUNK` rows each), which Arrow
parses in C++: the client's share of reading 1M persons falls from about 1.5 s of CPU
to 0.1 s, and the database takes on about as much as the client gives up (casting each
value to text, as COPY would). The frame holds what ``read_sql`` gives (whole numbers
as int64, or float64 with a NULL among them; text as str; a column of NULLs as None),
but dates as datetime64 rather than a ``datetime.date`` object each, as DuckDB gives
them. Anything the CSV reader cannot take (a date PostgreSQL writes as ``infinity``) is
read the ordinary way instead, with the ordinary error.

Example
-------
>>> from screening.io.sources.omop_postgres import arrow_type, csv_field
>>> str(arrow_type(1082)), str(arrow_type(20)), str(arrow_type(25))
('date32[day]', 'int64', 'string')
>>> csv_field('"day"', 1082)
'coalesce(("day")::text, \\'\\')'
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["CHUNK", "arrow_type", "is_postgres", "csv_field", "frame", "receive", "send"]

#: Rows per text the database sends.
CHUNK = 50_000
#: PostgreSQL type OIDs (pg_type) read as something other than text.
_TYPES = {16: pa.bool_(), 20: pa.int64(), 21: pa.int64(), 23: pa.int64(), 26: pa.int64(),
          700: pa.float64(), 701: pa.float64(), 1700: pa.float64(), 1082: pa.date32(),
          1114: pa.timestamp("us")}


def arrow_type(oid: int) -> pa.DataType:
    """How a column of PostgreSQL type ``oid`` is parsed (text for any type not listed)."""
    return _TYPES.get(oid, pa.string())


def csv_field(column: str, oid: int) -> str:
    """SQL writing ``column`` (of type ``oid``) as one CSV field: NULL as nothing, text always quoted.

    Quoting every text keeps an empty text apart from NULL, and a comma, quote or line break inside it.
    """
    if oid in _TYPES:
        return f"coalesce(({column})::text, '')"
    return f"""coalesce('"' || replace(({column})::text, '"', '""') || '"', '')"""


def is_postgres(connection) -> bool:
    """Whether a SQLAlchemy connection is PostgreSQL through psycopg 3."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def frame(sql: str, receive) -> pd.DataFrame | None:
    """The rows of ``sql`` as ``read_sql`` would give them, or None when the text cannot be read as typed.

    ``receive(sql) -> (columns, oids, csv bytes)`` asks the database (the time spent waiting on it), or
    gives None where it cannot write the rows as CSV.
    """
    received = receive(sql)
    if received is None:
        return None
    names, oids, data = received
    types = {f"c{i}": arrow_type(oid) for i, oid in enumerate(oids)}
    if not data:
        table = pa.table({name: pa.array([], type=kind) for name, kind in types.items()})
    else:
        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=list(types)),
                parse_options=pacsv.ParseOptions(newlines_in_values=pa.string() in types.values()),
                # Only an unquoted empty field is NULL: a text is always quoted, and "NA" is a value.
                convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                                     quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    out = table.to_pandas(date_as_object=False)
    out.columns = names
    for i, column in enumerate(table.columns):
        if len(column) and column.null_count == len(column):  # read_sql finds no type in a column of NULLs
            out.isetitem(i, pd.Series(np.full(len(out), None, dtype=object), index=out.index))
    return out


def receive(connection, sql: str) -> tuple[list[str], list[int], bytes] | None:
    """Column names, type OIDs and the rows of ``sql`` as CSV, on the connection's own session and transaction.

    None when the columns' names repeat (no line can name them apart).
    """
    raw = connection.connection.driver_connection
    with raw.cursor(binary=True) as cur:
        # ISO dates and round-trip floats whatever the server's defaults (older servers print 15 digits)
        cur.execute("SET LOCAL datestyle = ISO, YMD")
        cur.execute("SET LOCAL extra_float_digits = 3")
        cur.execute(f"SELECT * FROM ({sql}) AS screening_rows LIMIT 0")
        names = [d.name for d in cur.description]
        oids = [d.type_code for d in cur.description]
        if len(set(names)) < len(names):
            return None
        line = " || ',' || ".join(csv_field('screening_rows."' + name.replace('"', '""') + '"', oid)
                                  for name, oid in zip(names, oids, strict=True))
        # row_number() / CHUNK numbers the texts without sorting any row; the texts come in that order, so the
        # rows come in the order the query gave them, as read_sql would have them
        cur.execute(f"SELECT convert_to(string_agg(screening_line, E'\\n'), 'UTF8') FROM (SELECT {line} AS "
                    f"screening_line, row_number() OVER () / {CHUNK} AS screening_chunk FROM ({sql}) AS "
                    f"screening_rows) AS screening_lines GROUP BY screening_chunk ORDER BY screening_chunk")
        chunks = [bytes(row[0]) for row in cur.fetchall()]
    return names, oids, b"\n".join(chunks)


def send(connection, table, rows: pd.DataFrame) -> None:
    """``rows`` (Python values, None for NULL) into the new table ``table`` by one COPY on the connection's session."""
    quote = connection.dialect.identifier_preparer
    names = [c.name for c in table.columns]
    columns = ", ".join(quote.quote(name) for name in names)
    with connection.connection.driver_connection.cursor() as cur, \
            cur.copy(f"COPY {quote.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in rows[names].itertuples(index=False, name=None):
            copy.write_row(row)
