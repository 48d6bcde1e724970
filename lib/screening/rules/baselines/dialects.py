"""The few places where DuckDB and PostgreSQL write the rules' SQL differently, as hooks of one class.

Everything else the SQL forms write is shared SQL that both databases read alike
(``CASE``, ``coalesce``, ``bool_or``, ``FILTER``, window functions, ``IS DISTINCT FROM``).
A dialect only answers: how to step back calendar months or days from a date, the
name of a small integer type, the 1-based position of a value in a list, and how to
send a query and read its rows. This is the shape of ``omop_sql.AsDate`` (one
hook per database) and of ehrQL's ``date_add_months``: a new database is a
subclass overriding these hooks.

Look-backs count calendar months, clipped to the month's end, as pandas does
(:func:`screening.io.dates.months_before`), and fall back to days for a
fractional month count. The spec tests pin 31 March and 29 February baselines
on every dialect.

>>> DUCKDB.months_before("p.baseline_date", 1), POSTGRES.months_before("p.baseline_date", 1)
('(p.baseline_date - INTERVAL 1 MONTH)', "CAST(p.baseline_date - INTERVAL '1 month' AS DATE)")
>>> POSTGRES.first_position(['"a"', '"b"'], 0)
'array_position(ARRAY["a", "b"], 0)'
"""

from __future__ import annotations

import io

import pandas as pd

from screening.io.dates import DAYS_PER_MONTH

__all__ = ["DUCKDB", "POSTGRES", "Dialect", "DuckDB", "PostgreSQL", "dialect", "sql_type"]


class Dialect:
    """The hooks a database must answer for the rules' SQL; every method returns SQL text (or runs it)."""

    name = "generic"

    def months_before(self, date: str, months: float) -> str:
        """``date`` stepped back ``months`` calendar months (a fractional count: that many days of 365.25/12)."""
        if float(months).is_integer():
            return self._minus_months(date, int(months))
        return self.days_before(date, str(round(months * DAYS_PER_MONTH)))

    def _minus_months(self, date: str, months: int) -> str:
        raise NotImplementedError

    def days_before(self, date: str, days: str) -> str:
        """``date`` stepped back ``days`` days; ``days`` is an SQL integer expression."""
        raise NotImplementedError

    tiny_int = "SMALLINT"

    def first_position(self, items: list[str], value: int) -> str:
        """1-based position of the first of ``items`` (SQL expressions) equal to ``value``; NULL if none is."""
        raise NotImplementedError

    def execute(self, con, sql: str) -> None:
        con.execute(sql)

    def frame(self, con, sql: str) -> pd.DataFrame:
        """The query's rows as a DataFrame."""
        cur = con.execute(sql)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    def create_table(self, con, name: str, frame: pd.DataFrame) -> None:
        """Create table ``name`` typed from ``frame``'s columns and fill it with its rows."""
        types = {c: sql_type(frame[c]) for c in frame.columns}
        self.execute(con, f"CREATE TABLE {name} (" + ", ".join(f'"{c}" {t}' for c, t in types.items()) + ")")
        self._insert(con, name, frame)

    def _insert(self, con, name: str, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def columns(self, con, table: str) -> list[str]:
        """The columns a table (or view) of the connected database holds."""
        cur = con.execute(f"SELECT * FROM {table} WHERE FALSE")
        cur.fetchall()
        return [d[0] for d in cur.description]


class DuckDB(Dialect):
    name = "duckdb"
    tiny_int = "TINYINT"

    def _minus_months(self, date: str, months: int) -> str:
        return f"({date} - INTERVAL {months} MONTH)"

    def days_before(self, date: str, days: str) -> str:
        if days.isdigit():
            return f"({date} - INTERVAL {days} DAY)"
        return f"({date} - to_days({days}))"

    def first_position(self, items: list[str], value: int) -> str:
        return f"list_position(list_value({', '.join(items)}), {value})"

    def frame(self, con, sql: str) -> pd.DataFrame:
        return con.execute(sql).df()

    def _insert(self, con, name: str, frame: pd.DataFrame) -> None:
        plain = frame.copy()
        for c in plain.columns:
            if isinstance(plain[c].dtype, pd.CategoricalDtype):
                plain[c] = plain[c].astype(object).where(plain[c].notna(), None)
        con.register("_frame", plain)
        try:
            con.execute(f"INSERT INTO {name} SELECT * FROM _frame")
        finally:
            con.unregister("_frame")


class PostgreSQL(Dialect):
    """PostgreSQL: ``date - interval`` is a timestamp, so look-backs are cast back to dates."""

    name = "postgresql"

    def _minus_months(self, date: str, months: int) -> str:
        return f"CAST({date} - INTERVAL '{months} month' AS DATE)"

    def days_before(self, date: str, days: str) -> str:
        return f"({date} - CAST({days} AS INTEGER))"  # date - integer is a date

    def first_position(self, items: list[str], value: int) -> str:
        return f"array_position(ARRAY[{', '.join(items)}], {value})"

    def _insert(self, con, name: str, frame: pd.DataFrame) -> None:
        out = frame.copy()
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%d")
        text = io.StringIO()
        out.to_csv(text, index=False, header=False)
        with con.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(text.getvalue())


DUCKDB, POSTGRES = DuckDB(), PostgreSQL()


def sql_type(column: pd.Series) -> str:
    """The SQL type (read alike by DuckDB and PostgreSQL) that holds a loaded extract's column."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return "DATE"
    if pd.api.types.is_bool_dtype(column) or pd.api.types.infer_dtype(column, skipna=True) == "boolean":
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(column):
        return "BIGINT"
    if pd.api.types.is_float_dtype(column):
        return "DOUBLE PRECISION"
    return "VARCHAR"


def dialect(name: str | Dialect) -> Dialect:
    """A dialect by name (``duckdb``, ``postgresql``) or as given."""
    if isinstance(name, Dialect):
        return name
    known = {d.name: d for d in (DUCKDB, POSTGRES)} | {"postgres": POSTGRES}
    if name not in known:
        raise ValueError(f"no SQL dialect {name!r} (known: duckdb, postgresql)")
    return known[name]
