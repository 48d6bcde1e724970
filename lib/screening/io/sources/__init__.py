"""Where an extract comes from: the native folder format, or an OMOP CDM or Synthea export.

``load_source`` takes a native folder, ``omop:DIR`` (a CDM folder, ``.duckdb``
file or database URL) or ``synthea:DIR``. Converted sources take their baseline
from each person's last visit up to today, or from a fixed date written after
``@``: ``omop:path/to/cdm@2024-06-15``; ``#visits`` (or ``#monthly``) at the end adds index dates
(:mod:`screening.io.sources.as_of`). A database URL may name its schemas,
``omop:postgresql://me@host/db?cdm_schema=cdm&vocab_schema=vocab@2024-06-15``, and
its password may come from the ``SCREENING_DB_PASSWORD`` environment variable
instead of the URL.

Example
-------
>>> from screening.io.sources import load_source
>>> load_source("data/synthetic").n_patients
5000
>>> ex = load_source("omop:path/to/cdm@2024-06-15")     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from screening.errors import ExtractError
from screening.io.extract import Extract, load_extract

__all__ = ["load_source", "absolute_spec", "index_of", "source_kind", "with_index", "with_schemas",
           "without_password"]

_KINDS = ("omop", "synthea", "native")


def _split(spec: str) -> tuple[str, str, str | None]:
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in _KINDS or rest.startswith("//"):
        return "native", spec, None
    rest, _ = _index_part(rest)
    path, at, date = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if at and "://" in rest and ("/" in date or "?" in date or "://" not in path):
        return kind, rest, None  # the @ of user:password@host, not a baseline date
    return kind, path, date or None


def _index_part(rest: str) -> tuple[str, str]:
    """``rest`` without a trailing ``#visits`` / ``#monthly[:MONTHS]``, and that suffix (with its ``#``)."""
    head, hash_, tail = rest.rpartition("#")
    if hash_ and tail.partition(":")[0] in ("visits", "monthly"):
        return head, f"#{tail}"
    return rest, ""


def index_of(spec: str | Path) -> tuple[str | None, int | None]:
    """The index dates a converted source's spec asks for: ``omop:cdm@2024-06-15#visits`` or ``#monthly:36``.

    >>> index_of("omop:cdm@2024-06-15#monthly:36"), index_of("omop:cdm")
    (('monthly', 36), (None, None))
    """
    kind, sep, rest = str(spec).partition(":")
    if not sep or kind not in _KINDS:
        return None, None
    suffix = _index_part(rest)[1]
    if not suffix:
        return None, None
    name, _, months = suffix[1:].partition(":")
    return name, int(months) if months.isdigit() else None


def with_index(spec: str, index: str | None, months: int | None = None) -> str:
    """``spec`` asking for index dates (what a report's notebooks re-read); unchanged without ``index``.

    >>> with_index("omop:cdm@2024-06-15", "visits", 24)
    'omop:cdm@2024-06-15#visits:24'
    """
    if not index:
        return spec
    return spec + f"#{index}" + (f":{months}" if months else "")


def source_kind(spec: str | Path) -> str:
    """``native``, ``omop`` or ``synthea``: how ``spec`` will be read.

    Example
    -------
    >>> source_kind("omop:cdm@2024-06-15"), source_kind("data/synthetic")
    ('omop', 'native')
    """
    return _split(str(spec))[0]


def with_schemas(spec: str, cdm_schema: str | None, vocab_schema: str | None) -> str:
    """``spec`` with its database URL naming the CDM and vocabulary schemas (what notebooks re-read).

    >>> with_schemas("omop:postgresql://me@host/db@2024-06-15", "cdm", "vocab")
    'omop:postgresql://me@host/db?cdm_schema=cdm&vocab_schema=vocab@2024-06-15'
    """
    kind, path, date = _split(spec)
    suffix = _index_part(spec.partition(":")[2])[1] if kind != "native" else ""
    if not (cdm_schema or vocab_schema):
        return spec
    if "://" not in path:
        _no_schemas(kind, path, cdm_schema, vocab_schema)
    options = "&".join(f"{k}={v}" for k, v in (("cdm_schema", cdm_schema), ("vocab_schema", vocab_schema)) if v)
    path = path + ("&" if "?" in path else "?") + options
    return f"{kind}:{path}" + (f"@{date}" if date else "") + suffix


def _no_schemas(kind: str, path: str, cdm_schema: str | None, vocab_schema: str | None) -> None:
    """A schema named for a folder or file would be ignored: say so instead of screening without it."""
    if kind == "omop":
        from screening.io.sources.omop_connect import connect

        connect(path, cdm_schema, vocab_schema)  # raises, naming the option
    named = " and ".join(f"--{f}-schema" for f, v in (("cdm", cdm_schema), ("vocab", vocab_schema)) if v)
    raise ExtractError(f"{kind}:{path}" if kind != "native" else path, None, f"an omop: database URL for {named}",
                       hint="Schemas name where an OMOP database keeps its tables; drop the option for this source.")


def without_password(spec: str) -> tuple[str, str | None]:
    """``spec`` with any database password taken out, and the password (for ``SCREENING_DB_PASSWORD``).

    Notebook parameters are saved in the report: a password must not be one.

    >>> without_password("omop:postgresql://me:secret@host/db@2024-06-15")
    ('omop:postgresql://me@host/db@2024-06-15', 'secret')
    """
    kind, path, date = _split(spec)
    suffix = _index_part(spec.partition(":")[2])[1] if kind != "native" else ""
    if "://" not in path:
        return spec, None
    scheme, _, rest = path.partition("://")
    login, at, host = rest.rpartition("@")
    if not at or ":" not in login:
        return spec, None
    user, _, password = login.partition(":")
    return f"{kind}:{scheme}://{user}@{host}" + (f"@{date}" if date else "") + suffix, password


def absolute_spec(spec: str | Path) -> str:
    """The same source with its path made absolute (notebooks run from another folder)."""
    kind, path, date = _split(str(spec))
    if "://" in path:
        return str(spec)
    full = str(Path(path).resolve())
    if kind == "native":
        return full
    return f"{kind}:{full}" + (f"@{date}" if date else "") + _index_part(str(spec).partition(":")[2])[1]


def load_source(spec: str | Path, baseline: str | None = None, before: str | None = None,
                cdm_schema: str | None = None, vocab_schema: str | None = None, strict: bool = False,
                protocol=None, index: str | None = None, index_months: int | None = None) -> Extract:
    """Load an extract from ``DIR``, ``omop:DIR[@DATE]`` or ``synthea:DIR[@DATE]``.

    ``baseline`` (a date or ``"last_visit"``) and ``before`` override what the spec says;
    ``cdm_schema`` and ``vocab_schema`` name an OMOP database's schemas. ``strict`` makes a coded
    value the vocabulary does not know (a drug name, a sex code, ...) an error (native extracts). ``protocol`` (a
    :class:`~screening.rules.protocol.Protocol`) sets how far back an OMOP database is asked for lab
    values and weight: its longest recency limit (:meth:`~screening.rules.protocol.Protocol.lab_months`).
    ``index`` (``visits`` or ``monthly``, or ``#visits`` at the end of the spec) adds a visits table of
    index dates to a converted source, at most ``index_months`` before baseline
    (:mod:`screening.io.sources.as_of`).
    """
    kind, path, date = _split(str(spec))
    named, months = index_of(spec)
    index, index_months = index or named, index_months or months
    if index and kind == "native":
        raise ExtractError(str(spec), "index", "an omop: or synthea: source",
                           hint="A native extract brings its own visits table (visits.csv); drop the option.")
    if (cdm_schema or vocab_schema) and (kind != "omop" or "://" not in path):
        _no_schemas(kind, path, cdm_schema, vocab_schema)
    if kind == "native":
        return load_extract(path, strict=strict)
    base = baseline or date or "last_visit"
    if kind == "omop":
        from screening.io.sources.omop import LAB_MONTHS, read_omop

        labs = {} if protocol is None else {"lab_months": protocol.lab_months(LAB_MONTHS)}
        return read_omop(path, baseline=base, before=before, cdm_schema=cdm_schema, vocab_schema=vocab_schema,
                         index=index, index_months=index_months, **labs)
    from screening.io.sources.synthea import read_synthea

    return read_synthea(path, baseline=base, before=before, index=index, index_months=index_months)
