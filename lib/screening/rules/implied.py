"""What one recorded field says about another left blank: the cross-field inferences every engine draws.

Two pairs of patients columns constrain each other, by the BILAG-2004 grade definitions
(A severe and B moderate activity, C mild stable activity, D inactive but previously
affected, E never affected: Isenberg DA et al., Rheumatology 2005;44:902-906):

* ``lupus_nephritis`` and ``bilag_renal``: never had nephritis -> renal E; in remission
  (not active, previously affected) -> C or D; active -> A, B or C. Read backwards, a
  renal grade narrows a blank nephritis status the same way (A or B -> active, C ->
  active or remission, D -> remission, E -> never). The synthetic registry draws them
  so (``screening.synth.calibration``: "renal grade agrees with nephritis history").
* ``bilag_neuropsychiatric`` and ``cns_lupus_active``: a neuropsychiatric grade of D
  or E (no current activity) -> CNS lupus not active; read backwards, active CNS lupus
  -> a neuropsychiatric grade of A, B or C.

A rule asking whether such a column holds one of some values answers from the column
when it is recorded and, when it is blank, from the values its partner leaves possible:
met when all of them are asked for, not met when none is, unknown otherwise. Nothing
else is inferred: a blank grade with a blank partner stays unknown, and no other pair
of fields is read together (a recorded value that contradicts its partner is taken as
recorded).

>>> import pandas as pd
>>> p = pd.DataFrame({"bilag_renal": pd.Categorical([None, None, None, "A"], categories=list("ABCDE")),
...                   "lupus_nephritis": pd.Categorical(["never", "remission", "active", None],
...                                                     categories=["never", "active", "remission"])})
>>> implied_in(p, "bilag_renal", ["A", "B"]).tolist(), implied_in(p, "lupus_nephritis", ["active"]).tolist()
([False, False, <NA>, True], [False, False, True, True])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.schema import BILAG_GRADES, NEPHRITIS_STATUS

__all__ = ["IMPLIED", "implied_in", "implied_in_naive", "implied_in_sql", "values_of"]

#: renal BILAG-2004 grades each lupus nephritis status allows
_RENAL = {"never": ("E",), "remission": ("C", "D"), "active": ("A", "B", "C")}
#: neuropsychiatric grades that leave CNS lupus not active
_CNS_QUIET = ("D", "E")

#: column -> (its partner, {partner's value: the values the column may then take}); values not listed allow all
IMPLIED: dict[str, tuple[str, dict]] = {
    "bilag_renal": ("lupus_nephritis", _RENAL),
    "lupus_nephritis": ("bilag_renal", {g: tuple(s for s in NEPHRITIS_STATUS if g in _RENAL[s])
                                        for g in BILAG_GRADES}),
    "cns_lupus_active": ("bilag_neuropsychiatric", {g: (False,) for g in _CNS_QUIET}),
    "bilag_neuropsychiatric": ("cns_lupus_active", {True: tuple(g for g in BILAG_GRADES if g not in _CNS_QUIET)}),
}


def values_of(column: str) -> tuple:
    """Every value ``column`` may take."""
    if column in ("cns_lupus_active",):
        return (True, False)
    return NEPHRITIS_STATUS if column == "lupus_nephritis" else BILAG_GRADES


def _verdict(possible: tuple, values) -> bool | None:
    """Whether a blank value, able to be any of ``possible``, is among ``values``."""
    hits = [v in values for v in possible]
    return True if all(hits) else False if not any(hits) else None


def _recorded_in(col: pd.Series, values) -> pd.arrays.BooleanArray:
    if isinstance(col.dtype, pd.CategoricalDtype):
        hit = np.append(col.cat.categories.isin(list(values)), False)
        codes = col.cat.codes.to_numpy()
        return pd.arrays.BooleanArray(hit[codes], codes < 0)
    return pd.array(col.isin(list(values)).where(col.notna()), dtype="boolean")


def implied_in(p: pd.DataFrame, column: str, values) -> pd.arrays.BooleanArray:
    """Three-valued ``p[column] in values``, a blank answered from its partner column where that settles it."""
    col = p[column]
    out = _recorded_in(col, values)
    if column not in IMPLIED or IMPLIED[column][0] not in p:
        return out
    partner, allows = IMPLIED[column]
    blank = col.isna().to_numpy()
    other = p[partner]
    for value, possible in allows.items():
        verdict = _verdict(possible, values)
        if verdict is None:
            continue
        at = blank & (other == value).fillna(False).to_numpy(dtype=bool)
        if at.any():
            out[at] = verdict
    return out


def implied_in_naive(patient, column: str, values) -> bool | None:
    """The row-wise form of :func:`implied_in` for one patient (``patient[column]``, ``patient.get``)."""
    v = patient[column]
    if not (v is None or v is pd.NA or (isinstance(v, float) and v != v)):
        return v in values
    if column not in IMPLIED:
        return None
    partner, allows = IMPLIED[column]
    other = patient.get(partner)
    if other is None or other is pd.NA or (isinstance(other, float) and other != other):
        return None
    return _verdict(allows[other], values) if other in allows else None


def _lit(v) -> str:
    return ("TRUE" if v else "FALSE") if isinstance(v, bool) else f"'{v}'"


def implied_in_sql(column: str, values, has=lambda c: True) -> str:
    """The SQL form of :func:`implied_in` over the patients row ``p`` (``has``: whether a column is there)."""
    listed = ", ".join(_lit(v) for v in values)
    recorded = f"(p.{column} IN ({listed}))" if values else "FALSE"
    if column not in IMPLIED or not has(IMPLIED[column][0]):
        return recorded
    partner, allows = IMPLIED[column]
    cases = [f"WHEN p.{partner} = {_lit(value)} THEN {_lit(verdict)}" for value, possible in allows.items()
             if (verdict := _verdict(possible, values)) is not None]
    if not cases:
        return recorded
    return f"(CASE WHEN p.{column} IS NOT NULL THEN {recorded} {' '.join(cases)} ELSE NULL END)"
