"""The optional visits table's checks across tables: each visit against its patient's row.

A visits table (``visits.csv`` or ``.parquet``, fields in :data:`screening.io.schema.OPTIONAL_TABLES`)
holds one row per patient-visit. Its columns are checked like any table's (format, range,
required); what only the patients table can tell is checked here, once both are read, on
either load path and on a cached load: a visit may not come before the patient's SLE
diagnosis nor after their baseline (the patients row is the latest visit), and a patient
has one visit per date. Unknown patient ids are the ``in_patients`` check every event table has.

Example
-------
>>> import pandas as pd
>>> patients = pd.DataFrame({"baseline_date": pd.to_datetime(["2024-06-01"]),
...                          "sle_diagnosis_date": pd.to_datetime(["2020-01-01"])}, index=["P1"])
>>> visits = pd.DataFrame({"visit_date": pd.to_datetime(["2019-05-01", "2024-01-01", "2024-01-01"])})
>>> [(e.column, e.check, e.n_rows) for e in visit_failures(visits, patients, [0, 0, 0], "visits.csv")]
[('visit_date', 'not_before', 1), ('visit_date', 'unique', 1)]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from screening.errors import ExtractError
from screening.io.checks import Check, failure
from screening.io.schema import TABLES, VISIT_FIELDS

__all__ = ["VISIT_CHECKS", "held_fields", "visit_failures"]

#: What a visit's date must be, said as the loader says every check ("expected ...").
VISIT_CHECKS = (
    (Check("not_before", "visit_date", "a visit date not before the patient's sle_diagnosis_date",
           {"other": "patients.sle_diagnosis_date"},
           hint="A visit before diagnosis cannot be screened for an SLE trial: correct the date or drop the row."),
     "sle_diagnosis_date", "before"),
    (Check("not_after", "visit_date", "a visit date not after the patient's baseline_date",
           {"other": "patients.baseline_date"},
           hint="The patients row describes the latest visit: move baseline_date to it, or drop the later rows."),
     "baseline_date", "after"),
)
_ONCE = Check("unique", "visit_date", "one visit per patient and date", shown="text",
              hint="Two rows for the same visit: merge them into one.")


def visit_failures(visits: pd.DataFrame, patients: pd.DataFrame, rows, file: str | Path) -> list[ExtractError]:
    """Every cross-table check the visits fail, as errors naming the file, the column and the lines.

    ``rows`` is each visit's position in ``patients`` (-1 for an unknown patient, named elsewhere).
    """
    rows = np.asarray(rows, dtype=np.int64)
    known = rows >= 0
    date = visits["visit_date"].to_numpy(dtype="datetime64[s]")
    row_word = "line" if str(file).endswith(".csv") else "row"
    out = []
    for check, column, how in VISIT_CHECKS:
        if column not in patients.columns:
            continue
        theirs = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[s]")
        theirs[known] = patients[column].to_numpy(dtype="datetime64[s]")[rows[known]]
        bad = (date < theirs) if how == "before" else (date > theirs)  # NaT compares False: not recorded is fine
        if bad.any():
            out.append(failure(check, Path(file), bad, visits["visit_date"].astype("string"), row_word))
    day = date.astype("int64")
    repeated = pd.DataFrame({"p": rows, "d": day}).duplicated().to_numpy() & known & ~np.isnat(date)
    if repeated.any():
        out.append(failure(_ONCE, Path(file), repeated, visits["visit_date"].astype("string"), row_word))
    return out


def held_fields(visits: pd.DataFrame, patients) -> list[str]:
    """The columns read from each visit: the per-visit fields the table holds, and any column beyond the
    data dictionary both tables hold (an EHR source's cohort-entry columns, such as ``in_observation``)."""
    known = {f.name for f in TABLES["patients"]}
    return [c for c in VISIT_FIELDS if c in visits.columns and c in patients] + \
        [c for c in visits.columns if c not in known and c not in ("patient_id", "visit_date") and c in patients]
