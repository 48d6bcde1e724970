"""Where an OMOP CDM lives: a folder of CSV/Parquet tables, a DuckDB file, or a database SQLAlchemy reaches.

Each connection finds the CDM's tables (any letter case), says which are there
(``found``: table -> columns), and runs the SQLAlchemy statements of
:mod:`screening.io.sources.omop_sql`. Exports as sites ship them are checked on
the way in: a vocabulary table with a header and no rows is treated as absent,
a value a CSV table cannot hold in its column's CDM type (``2019-02-30``,
``60 kg`` as a number) becomes unknown and is named with its file, column,
line and value, and a schema the user named must exist.

Example
-------
>>> from screening.io.sources.omop_connect import split_url
>>> split_url("postgresql://me@host/db?cdm_schema=cdm")
('postgresql://me@host/db', {'cdm_schema': 'cdm'})
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

from screening.errors import ExtractError, ExtractWarning
from screening.io.sources import omop_postgres

__all__ = ["OMOP_TABLES", "VOCABULARY", "PASSWORD_ENV", "connect", "split_url"]

OMOP_TABLES = ("person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
               "measurement", "observation", "procedure_occurrence", "death", "concept", "concept_ancestor",
               "drug_strength")
VOCABULARY = ("concept", "concept_ancestor", "drug_strength")
#: Environment variable holding a database password, so it never appears in a spec or a notebook.
PASSWORD_ENV = "SCREENING_DB_PASSWORD"
#: Columns named ``*_id`` that hold text in the CDM (vocabulary tables).
_TEXT_IDS = ("vocabulary_id", "domain_id", "concept_class_id", "relationship_id")
_NUMBER = ("value_as_number", "range_high", "range_low", "quantity", "days_supply", "amount_value",
           "year_of_birth", "month_of_birth", "day_of_birth", "refills")
_EXPECTED = {"DATE": "a date YYYY-MM-DD", "TIMESTAMP": "a date and time", "BIGINT": "a whole number",
             "DOUBLE": "a number"}
#: Lines shown per column when a CSV table holds values its column's type cannot hold.
_SHOWN = 3


def split_url(text: str) -> tuple[str, dict[str, str]]:
    """A database URL without this package's own options (``?cdm_schema=...&vocab_schema=...``), and them.

    >>> split_url("postgresql://u:pw@host/db?cdm_schema=cdm&vocab_schema=vocab&sslmode=require")
    ('postgresql://u:pw@host/db?sslmode=require', {'cdm_schema': 'cdm', 'vocab_schema': 'vocab'})
    """
    base, _, query = text.partition("?")
    ours, theirs = {}, []
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        if key in ("cdm_schema", "vocab_schema"):
            ours[key] = value
        else:
            theirs.append(part)
    return base + ("?" + "&".join(theirs) if theirs else ""), ours


def connect(source: str, cdm_schema: str | None, vocab_schema: str | None):
    """The connection for ``source``: a database URL, a ``.duckdb`` file or a folder of tables."""
    if "://" in source:
        return _Database(source, cdm_schema, vocab_schema)
    named = [f"--{flag}-schema {value}" for flag, value in (("cdm", cdm_schema), ("vocab", vocab_schema)) if value]
    if named:  # a file or folder holds one set of tables: a schema named for it would be silently ignored
        raise ExtractError(source, None, "a database URL for " + " and ".join(named),
                           hint="A folder or .duckdb file holds one set of CDM tables and has no schemas to "
                                "choose: drop the option, or give the database as postgresql://user@host/db.")
    if source.endswith((".duckdb", ".db")) and Path(source).is_file():
        return _DuckDB(source)
    if Path(source).is_dir():
        return _DuckDB(source)
    raise ExtractError(source, None, "an OMOP CDM folder of tables, a .duckdb file or a database URL")


class _DuckDB:
    """A DuckDB connection over a folder of CSV/Parquet tables or a ``.duckdb`` file."""

    schemas: dict = {}
    schema_hint = ""

    def __init__(self, source: str) -> None:
        import duckdb

        self.source = source
        if Path(source).is_dir():
            self.con = duckdb.connect()
            self.found = self._views(Path(source))
            self.names = {t: t for t in self.found}
        else:
            self.con = duckdb.connect(source, read_only=True)
            rows = self.con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                                    "WHERE table_schema = current_schema() ORDER BY ordinal_position").fetchall()
            self.found, self.names, text = {}, {}, {}
            for table, column, kind in rows:  # any letter case: looked up by the lower-case CDM name
                if table.lower() in OMOP_TABLES:
                    self.found.setdefault(table.lower(), []).append(column)
                    self.names[table.lower()] = table
                    text.setdefault(table.lower(), []).append(kind == "VARCHAR")
            for name, flags in text.items():
                if any(flag and _kind(c) for flag, c in zip(flags, self.found[name], strict=True)):
                    self._typed_view(name, flags)
        from sqlalchemy.dialects import postgresql

        self.dialect = postgresql.dialect()

    def _views(self, folder: Path) -> dict[str, list[str]]:
        """One view per table file, named and typed as the CDM says whatever the file's spelling."""
        files: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            name, suffix = path.stem.lower(), path.suffix.lower()
            if name in OMOP_TABLES and suffix in (".csv", ".parquet") and (name not in files or suffix == ".parquet"):
                files[name] = path
            elif path.is_dir() and path.name.lower() in OMOP_TABLES and any(path.glob("*.parquet")):
                files[path.name.lower()] = path
        found = {}
        for name, path in files.items():
            csv = path.is_file() and path.suffix.lower() == ".csv"
            if path.is_dir():
                reader = f"read_parquet('{_quote(str(path / '*.parquet'))}')"
            elif not csv:
                reader = f"read_parquet('{_quote(str(path))}')"
            else:
                reader = f"read_csv('{_quote(str(path))}', header=true, all_varchar=true)"
            try:
                described = self.con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            except Exception as exc:  # a damaged file: say which
                raise ExtractError(str(path), None, "a readable OMOP table", hint=str(exc).splitlines()[0]) from None
            columns = [r[0] for r in described]
            text = [csv or r[1] == "VARCHAR" for r in described]  # a Parquet file may hold dates as text too
            self._report_unreadable(path, reader, [c for c, t in zip(columns, text, strict=True) if t],
                                    word="line" if csv else "row")
            select = ", ".join(_typed(c, t) for c, t in zip(columns, text, strict=True))
            self.con.execute(f'CREATE VIEW "{name}" AS SELECT {select} FROM {reader}')
            found[name] = [c.lower() for c in columns]
        return found

    def _typed_view(self, name: str, text: list[bool]) -> None:
        """A DuckDB table holding CDM dates or numbers as text: read through a typed view, as a CSV file is."""
        table, columns = f'"{self.names[name]}"', self.found[name]
        self._report_unreadable(f"{self.source}, table {self.names[name]}", table,
                                [c for c, flag in zip(columns, text, strict=True) if flag], word="row")
        select = ", ".join(_typed(c, flag) if flag else f'{_ident(c)} AS "{c.lower()}"'
                           for c, flag in zip(columns, text, strict=True))
        self.con.execute(f'CREATE TEMPORARY VIEW "screening_{name}" AS SELECT {select} FROM {table}')
        self.names[name] = f"screening_{name}"
        self.found[name] = [c.lower() for c in columns]

    def _report_unreadable(self, path, reader: str, columns: list[str], word: str = "line") -> None:
        """Warn, with file, column, line and value, about each text value its CDM type cannot hold.

        The view reads such a value as NULL (unknown), so one bad cell never stops a run; this
        says which. One pass counts them per column; only a column with some is read again, with
        line numbers (the header is line 1; a database table's rows count from 1), for the first few.
        """
        first = 2 if word == "line" else 1
        typed = [(c, _kind(c)) for c in columns]
        typed = [(c, k) for c, k in typed if k is not None]
        if not typed:
            return
        bad = {c: _bad(c, k) for c, k in typed}
        counts = self.con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in bad.values())
                                  + f" FROM {reader}").fetchone()
        for (column, kind), n in zip(typed, counts, strict=True):
            if not n:
                continue
            quoted = _ident(column)
            rows = self.con.execute(f"SELECT line, value FROM (SELECT row_number() OVER () + {first - 1} AS line, "
                                    f"{quoted} AS "
                                    f"value FROM {reader}) WHERE {_bad('value', kind)} ORDER BY line "
                                    f"LIMIT {_SHOWN}").fetchall()
            shown = ", ".join(f"{word} {line} ({value!r})" for line, value in rows)
            more = f" and {n - len(rows)} more" if n > len(rows) else ""
            warnings.warn(ExtractWarning(
                f"{path}, column '{column.lower()}': {n} value{'s' if n > 1 else ''} not {_EXPECTED[kind]}, read as "
                f"unknown: {shown}{more}."), stacklevel=4)

    def is_empty(self, stmt) -> bool:
        return not self.con.execute(self.sql(stmt)).fetchall()

    def sql(self, stmt) -> str:
        return str(stmt.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))

    def execute(self, stmt) -> None:
        self.con.execute(self.sql(stmt))

    def fetch(self, stmt) -> pd.DataFrame:
        return self.con.execute(self.sql(stmt)).df()

    def load(self, table, frame: pd.DataFrame) -> None:
        self.con.register("screening_frame", frame)
        # Typed as declared: a column of NULLs (no lab limit) must still compare as a date.
        typed = ", ".join(f'CAST("{c.name}" AS {c.type.compile(dialect=self.dialect)}) AS "{c.name}"'
                          for c in table.columns)
        self.con.execute(f"CREATE TEMPORARY TABLE {table.name} AS SELECT {typed} FROM screening_frame")
        self.con.unregister("screening_frame")

    def create(self, table) -> None:
        from sqlalchemy.schema import CreateTable

        self.con.execute(str(CreateTable(table).compile(dialect=self.dialect)))

    def close(self) -> None:
        self.con.close()


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _ident(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _kind(column: str) -> str | None:
    """The CDM type of a column, by the CDM's naming (None: text)."""
    low = column.lower()
    if low.endswith("_date"):
        return "DATE"
    if low.endswith("_datetime"):
        return "TIMESTAMP"
    if low.endswith("_id") and low not in _TEXT_IDS:
        return "BIGINT"
    if low in _NUMBER:
        return "DOUBLE"
    return None


def _cast(quoted: str, kind: str) -> str:
    # nullif(x, chr(0)) keeps DuckDB from pushing the cast into the CSV reader, where a TRY_CAST
    # becomes a strict one and a single 2019-02-30 stops the whole query.
    return f"TRY_CAST(nullif({quoted}, chr(0)) AS {kind})"


def _bad(column: str, kind: str) -> str:
    quoted = _ident(column) if column != "value" else "value"
    return f"(nullif(trim({quoted}), '') IS NOT NULL AND {_cast(quoted, kind)} IS NULL)"


def _typed(column: str, text: bool) -> str:
    """``column`` read as its CDM type, named in lower case."""
    low, quoted, kind = column.lower(), _ident(column), _kind(column)
    if kind is None or (not text and kind != "DATE"):
        return f'{quoted} AS "{low}"'
    if not text:  # a typed file's date or timestamp: no text reader to keep the cast out of
        return f'TRY_CAST({quoted} AS DATE) AS "{low}"'
    return f'{_cast(quoted, kind)} AS "{low}"'


class _Database:
    """A SQLAlchemy connection (one session, so temporary tables live across the queries)."""

    def __init__(self, url: str, cdm_schema: str | None, vocab_schema: str | None) -> None:
        import sqlalchemy as sa

        url, options = split_url(url)
        cdm_schema = cdm_schema or options.get("cdm_schema") or None
        vocab_schema = vocab_schema or options.get("vocab_schema") or cdm_schema
        try:
            parsed = sa.engine.make_url(url)
        except Exception:
            raise ExtractError(url, None, "a database URL such as postgresql://user@host:5432/database") from None
        if parsed.password is None and os.environ.get(PASSWORD_ENV):
            parsed = parsed.set(password=os.environ[PASSWORD_ENV])
        shown = parsed.render_as_string(hide_password=True)
        self.source = shown
        try:
            engine = sa.create_engine(parsed)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise ExtractError(shown, None, f"a database driver for {parsed.drivername}",
                               hint=f"Install it ({exc}); PostgreSQL needs psycopg (pinned in requirements.txt).") \
                from None
        try:
            self.conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise ExtractError(shown, None, "a database server that accepts the connection",
                               hint=f"The server said: {reason}") from None
        except ImportError as exc:
            raise ExtractError(shown, None, f"a database driver for {parsed.drivername}", hint=str(exc)) from None
        self.engine = engine
        self.dialect = engine.dialect
        inspector = sa.inspect(self.conn)
        try:
            self._check_schemas(inspector, shown, cdm_schema, vocab_schema)
        except ExtractError:
            self.close()  # not left for the garbage collector, which may find the server gone
            raise
        where = f" in schema '{cdm_schema}'" if cdm_schema else ""
        self.schema_hint = where
        self.found, self.schemas, self.names = {}, {}, {}
        for schema, wanted in ((cdm_schema, OMOP_TABLES), (vocab_schema, VOCABULARY)):
            try:
                tables = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
            except sa.exc.SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise ExtractError(shown, None, f"a readable schema {schema!r}", hint=reason) from None
            for table in tables:
                low = table.lower()
                if low in wanted and (low not in self.found or schema == vocab_schema and low in VOCABULARY):
                    self.found[low] = [c["name"] for c in inspector.get_columns(table, schema=schema)]
                    self.schemas[low], self.names[low] = schema, table

    def _check_schemas(self, inspector, shown: str, cdm_schema: str | None, vocab_schema: str | None) -> None:
        """A schema the user named must exist: an absent one would otherwise read as a CDM without its tables."""
        import sqlalchemy as sa

        named = [(flag, value) for flag, value in (("cdm", cdm_schema), ("vocab", vocab_schema)) if value]
        if not named:
            return
        try:
            present = inspector.get_schema_names()
        except (sa.exc.SQLAlchemyError, NotImplementedError):
            return  # a database without schemas (SQLite): the table look-up says what is missing
        lower = {s.lower(): s for s in present}
        for flag, value in named:
            if value not in present and value.lower() not in lower:
                listed = ", ".join(s for s in present if s not in ("information_schema",)
                                   and not s.startswith("pg_"))
                raise ExtractError(shown, None, f"the schema '{value}' named by --{flag}-schema",
                                   hint=f"The database has no schema '{value}'; its schemas are: {listed}.")

    def is_empty(self, stmt) -> bool:
        return self.conn.execute(stmt).first() is None

    def execute(self, stmt) -> None:
        self.conn.execute(stmt)

    def fetch(self, stmt) -> pd.DataFrame:
        if omop_postgres.is_postgres(self.conn):  # the rows as CSV texts the database writes, parsed by Arrow
            frame = omop_postgres.frame(self.sql(stmt), self.receive)
            if frame is not None:
                return frame
        return pd.read_sql(stmt, self.conn)

    def receive(self, sql: str) -> tuple[list[str], list[int], bytes] | None:
        """The rows of ``sql`` as the database writes them in CSV: the time the client waits on it."""
        import psycopg
        import sqlalchemy as sa

        try:
            return omop_postgres.receive(self.conn, sql)
        except psycopg.Error as exc:  # said as any other statement's error is
            raise sa.exc.DBAPIError(sql, None, exc) from None

    def sql(self, stmt) -> str:
        return str(stmt.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))

    def create(self, table) -> None:
        table.create(self.conn)

    def load(self, table, frame: pd.DataFrame) -> None:
        table.create(self.conn)
        if not len(frame):
            return
        rows = frame.astype(object).where(frame.notna(), None)
        if omop_postgres.is_postgres(self.conn):  # one COPY rather than an INSERT per row
            omop_postgres.send(self.conn, table, rows)
        else:
            self.conn.execute(table.insert(), rows.to_dict("records"))

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()
