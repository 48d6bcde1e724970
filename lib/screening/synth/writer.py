"""Write synthetic extract tables to files, as the bundled extract is written (or messy, as registries write)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from screening.synth.draws import DEFAULT_SEED

__all__ = ["write_extract"]


def write_extract(tables: dict[str, pd.DataFrame], folder: str | Path, fmt: str = "csv", messy: bool = False,
                  seed: int = DEFAULT_SEED) -> Path:
    """Write extract tables as ``<table>.csv`` or ``<table>.parquet`` into ``folder``.

    CSV dates are written YYYY-MM-DD, booleans true/false, missing values empty,
    so the files read back exactly and hash the same on every run. ``messy``
    writes them as registries do instead (see :mod:`screening.synth.messy`; ``seed``
    draws the spellings).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if messy:
        from screening.synth.messy import messy_tables

        written = messy_tables(tables, seed)
    else:
        written = {name: _clean_text(table) for name, table in tables.items()}
    for name, table in tables.items():
        target = folder / f"{name}.{fmt}"
        tmp = target.with_suffix(target.suffix + ".tmp")
        if fmt == "csv":
            written[name].to_csv(tmp, index=False, lineterminator="\n")
        else:
            (written[name] if messy else table).to_parquet(tmp, index=False)
        tmp.replace(target)
    return folder



def _clean_text(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(out[col]) or str(out[col].dtype) == "boolean":
            out[col] = out[col].map({True: "true", False: "false"})
    return out

