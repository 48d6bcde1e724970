"""Find an extract's table files and read one as text, the thorough path's way.

Each table is ``<name>.csv`` or ``<name>.parquet`` in the extract folder. The
CSV reader here keeps every cell as text (blank as missing) and turns the ways
a file can be malformed (wrong encoding, a short or long line, a file cut off
mid-line) into an :class:`~screening.errors.ExtractError` naming the line.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from screening.errors import ExtractError
from screening.io.sniff import refuse_binary

__all__ = ["read_header", "read_raw", "table_file"]


def table_file(folder: Path, name: str, optional: bool = False) -> Path | None:
    found = [folder / f"{name}{ext}" for ext in (".parquet", ".csv") if (folder / f"{name}{ext}").is_file()]
    if not found and optional:
        return None
    if not found:
        raise ExtractError(str(folder / f"{name}.csv"), None, f"the {name} table as {name}.csv or "
                           f"{name}.parquet", hint="An event table with no events still needs its header row.")
    if len(found) > 1:
        raise ExtractError(str(folder / name), None, f"one file for the {name} table, found both .csv and "
                           ".parquet", hint="Remove one of them so the extract is unambiguous.")
    return refuse_binary(found[0])  # from its first block, before any reader takes the whole file



def read_header(file: Path) -> list[str] | None:
    """The column names a table file declares, or None if it cannot be read (the loader then says why)."""
    try:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(file).names)
        import csv

        with open(file, encoding="utf-8-sig", newline="") as handle:
            return [h.strip() for h in next(csv.reader([handle.readline()]), [])]
    except Exception:  # noqa: BLE001 - unreadable files are reported by the reader itself
        return None



def read_raw(file: Path, columns: list[str] | None = None) -> pd.DataFrame:
    if file.suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pq.read_schema(file)
            if columns is not None:
                columns = [c for c in columns if c in schema.names]  # absent ones are reported below
            # Text columns (ids, labels) repeat across millions of rows: read them as dictionaries,
            # which pandas holds as categoricals, instead of one string per row.
            text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
            # One column at a time, freeing Arrow's buffers as each converts: the read never holds
            # more than the finished frame plus one column in flight.
            out = {}
            for name in (columns if columns is not None else schema.names):
                part = pq.read_table(file, columns=[name], read_dictionary=[name] if name in text else None)
                out[name] = part.to_pandas(split_blocks=True, self_destruct=True)[name]
            return pd.DataFrame(out, copy=False)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ExtractError(str(file), None, "a readable Parquet file", hint=f"Reader said: {exc}") from None
    try:
        wanted = None if columns is None else set(columns)
        if wanted is not None and set(read_header(file) or [None]) <= wanted:
            wanted = None  # every column (some dictionary ones absent): read whole, so a long row is caught
        with warnings.catch_warnings():
            # A first row longer than the header would silently become an index (values shifted one
            # column): index_col=False turns that into this warning, and the warning into an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                              skipinitialspace=True, index_col=False,
                              usecols=None if wanted is None else (lambda c: c in wanted))
    except UnicodeDecodeError as exc:
        raise ExtractError(str(file), None, "UTF-8 text", hint=f"Byte {exc.start} is not UTF-8: save the "
                           "file as UTF-8 (in Excel: CSV UTF-8).") from None
    except pd.errors.EmptyDataError:
        raise ExtractError(str(file), None, "a header row naming the columns, then one row per record",
                           hint="The file is empty.") from None
    except pd.errors.ParserWarning:
        raise ExtractError(str(file), None, "comma-separated rows with as many fields as the header",
                           hint="A row has more fields than the header: a value holding a comma needs quotes."
                           ) from None
    except pd.errors.ParserError as exc:
        raise ExtractError(str(file), None, "comma-separated rows with as many fields as the header",
                           hint=f"Reader said: {str(exc).strip()}. Is the file truncated or quoted badly?") from None
    _check_last_line(file, raw)
    if wanted is not None or (len(raw.columns) and raw[raw.columns[-1]].isna().any()):
        _check_short_rows(file)  # pandas pads a short row with blanks; only a row with blanks can be one
    return raw



def _check_short_rows(file: Path) -> None:
    """A row with fewer fields than the header would be read padded with blanks: name its lines instead.

    A row with more fields is refused here too: pandas drops extra fields that are empty without a
    word, so a row shifted by a stray comma before blank trailing columns would be read shifted.
    """
    import csv

    with open(file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        width = len(next(reader, []))
        short, values, n, long = [], [], 0, None
        for row in reader:
            if len(row) > width and long is None:
                long = reader.line_num
            if row and len(row) < width:  # blank lines are skipped, as the reader skips them
                n += 1
                if len(short) < 5:
                    short.append(reader.line_num)
                    values.append(",".join(row))
    if long is not None:
        raise ExtractError(str(file), None, "comma-separated rows with as many fields as the header", rows=[long],
                           row_word="line",
                           hint="A row has more fields than the header: a value holding a comma needs quotes.")
    if n:
        raise ExtractError(str(file), None, f"{width} comma-separated fields on every line, as in the header",
                           rows=short, values=values, n_rows=n, row_word="line",
                           hint="A short line would be read padded with blanks: export the file again, or add "
                                "the missing fields (empty ones stay as commas).")



def _check_last_line(file: Path, raw: pd.DataFrame) -> None:
    """A file cut off mid-row reads as a short last row padded with blanks: say so instead."""
    if raw.empty:
        return
    with open(file, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65536))
        tail = handle.read().decode("utf-8", errors="replace")
    if tail.endswith("\n"):
        return
    last = tail.rsplit("\n", 1)[-1]
    import csv

    try:
        fields = next(csv.reader([last]), [])
    except csv.Error:  # a stray carriage return or quote: as broken as a short line
        fields = []
    if len(fields) < len(raw.columns):
        line = len(raw) + 1
        raise ExtractError(str(file), None, f"{len(raw.columns)} fields on every line",
                           rows=[line], values=[last[:40]], row_word="line",
                           hint=f"The last line has {len(fields)} fields and no line end: the file looks "
                                "truncated. Export it again.")

