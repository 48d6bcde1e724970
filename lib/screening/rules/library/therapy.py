"""Standard therapy and wash-out: daily dose caps, stable use, and biologics washed out in half-lives.

Doses are read as the data dictionary records them, mg/day (single administrations, in mg,
have no daily dose); caps are written in mg/day, g/day, mg/week or g/week and converted.
Citations for every conversion are beside its table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query, is_drug, isin, lit, overlap
from screening.rules.masks import any_of, baseline, class_in, drug_pairs, gather, near_rows, window_rows
from screening.rules.masks import is_drug as is_drug_mask
from screening.rules.masks import per_drug as per_drug_mask
from screening.rules.registry import Param, rule
from screening.rules.windows import PREDNISONE_EQUIVALENT, any_per_patient, overlap_states

#: mg/day in one of each unit a cap may be written in
UNITS = {"mg/day": 1.0, "g/day": 1000.0, "mg/week": 1 / 7, "g/week": 1000 / 7}
#: mg of mycophenolate mofetil equivalent to 1 mg of mycophenolic acid: 1000 mg MMF ≈ 720 mg MPA, the labelled
#: kidney-transplant doses (Medscape "mycophenolate (Rx)": MMF 1 g q12h, MPA 720 mg q12h); the anifrolumab
#: records cap both in that ratio (NCT02962960: MMF ≤ 2 g/day or MPA ≤ 1.44 g/day). Not interchangeable
#: mg for mg (PDR, Myfortic). The vocabulary reads both salts as `mycophenolate`, in mg of mofetil.
MOFETIL_PER_MYCOPHENOLIC_ACID = 1000 / 720
#: cap names that are not one ingredient: every glucocorticoid in prednisone equivalents (rules/windows.py)
PREDNISONE = "prednisone_equivalent"
#: a dose larger than any, for a row whose dose (or drug) is not known
ANY_DOSE_MG = 1e9
#: terminal half-life (days) of the drugs a wash-out in half-lives can name.
#: belimumab IV 19.4 days: BENLYSTA US prescribing information §12.3, Table 2 (population PK in BLISS-52/-76);
#: rituximab 20.2 days: Ng CM et al. 2005 (RA population PK), Table 3 of Br J Clin Pharmacol 2019;85:2002,
#: doi:10.1111/bcp.13991. Anifrolumab has no single half-life (non-linear clearance; SAPHNELO Swiss product
#: information): it takes the fixed window. Sources: /work/research/facts.md §1.
HALF_LIFE_DAYS = {"belimumab": 19.4, "rituximab": 20.2}


def parse_caps(caps: list[str]) -> dict[str, tuple[dict[str, float], float]]:
    """Caps as written ("azathioprine 200 mg/day") -> cap name -> ({drug: mg counted per mg}, cap in mg/day).

    >>> round(parse_caps(["methotrexate 25 mg/week", "mycophenolic_acid 1.44 g/day"])["methotrexate"][1], 6)
    3.571429
    >>> round(parse_caps(["mycophenolic_acid 1.44 g/day"])["mycophenolate"][1], 6)
    2000.0
    """
    out: dict[str, tuple[dict[str, float], float]] = {}
    for text in caps:
        drug, amount, unit = _cap_parts(text)
        mg = float(amount) * UNITS[unit]
        if drug == PREDNISONE:
            out[drug] = (dict(PREDNISONE_EQUIVALENT), mg)
            continue
        if drug == "mycophenolic_acid":
            drug, mg = "mycophenolate", mg * MOFETIL_PER_MYCOPHENOLIC_ACID
        # Two caps on one ingredient (mofetil and acid, written in parallel): the lower holds.
        out[drug] = ({drug: 1.0}, min(mg, out[drug][1]) if drug in out else mg)
    return out


def _cap_parts(text: str) -> tuple[str, str, str]:
    parts = str(text).split()
    if len(parts) != 3:
        raise ValueError(f"cap {text!r}: write it as drug, amount and unit, e.g. 'azathioprine 200 mg/day'")
    return parts[0], parts[1], parts[2]


def _check_caps(caps: list[str]):
    for text in caps:
        parts = str(text).split()
        if len(parts) != 3 or parts[2] not in UNITS:
            yield "caps", f"caps written 'drug amount unit' with a unit of {', '.join(UNITS)} (got {text!r})"
            return
        try:
            if not float(parts[1]) >= 0:
                raise ValueError
        except ValueError:
            yield "caps", f"a cap amount that is a number of at least 0 (got {text!r})"
            return


@rule("dose_cap", reads=("baseline_date", "medications"),
      caps=Param([], "daily caps, each 'drug amount unit' (mg/day, g/day, mg/week, g/week); "
                 "prednisone_equivalent caps every glucocorticoid together, mycophenolic_acid is converted to "
                 "mycophenolate mofetil (720 mg ≈ 1000 mg)", kind="list of caps"))
def dose_cap(ex: Extract, caps: list[str]):
    """A capped drug taken on the baseline day at a total daily dose above its cap."""
    return any_of(above_caps(ex, list(parse_caps(caps).values())), len(ex.patients))


def above_caps(ex: Extract, caps: list[tuple[dict[str, float], float]], among: np.ndarray | None = None,
               pairs: tuple[pd.DataFrame, np.ndarray] | None = None) -> list[pd.arrays.BooleanArray]:
    """Per cap (as :func:`parse_caps` gives them): whether its drugs' total daily dose on the baseline day is
    above it, per patient.

    Only the rows that may be a capped drug, at a daily dose, on the baseline day are read: the others add to
    no total, sure or possible. ``among`` (positions) narrows the medication rows looked at to those a caller
    already knows hold all such rows; ``pairs`` is :func:`~screening.rules.masks.drug_pairs` if at hand.
    """
    n = len(ex.patients)
    meds = ex.medications
    grid, pair = drug_pairs(meds) if pairs is None else pairs
    capped = sorted({d for drugs, _ in caps for d in drugs})
    base = baseline(ex).to_numpy()
    if among is None:
        may = gather(is_drug_mask(grid, capped), pair).fillna(True).to_numpy(dtype=bool) & _maybe_daily(meds)
        at, rows, begin, end = window_rows(ex, base, base, may)
    else:
        may = gather(is_drug_mask(grid, capped), pair[among]).fillna(True).to_numpy(dtype=bool)
        may &= _maybe_daily(meds, among)
        at, rows, begin, end = near_rows(ex, among[may], base, base)
    sure_day, maybe_day = _split(overlap_states(meds["start_date"].to_numpy()[at], meds["stop_date"].to_numpy()[at],
                                                begin, end))
    unit = meds["dose_unit"].iloc[at]
    unit_sure = np.asarray(unit == "mg/day", dtype=bool)
    unit_maybe = unit_sure | unit.isna().to_numpy()
    dose = meds["dose"].array[at].to_numpy(dtype=float, na_value=np.nan)
    drug, pair = meds["drug"].iloc[at], pair[at]
    over = []
    for drugs, cap in caps:
        sure_member, maybe_member = _split(gather(is_drug_mask(grid, list(drugs)), pair))
        factor = per_drug(drug, drugs)
        mg = dose * factor
        sure = sure_day & sure_member & unit_sure & ~np.isnan(mg)
        maybe = maybe_day & maybe_member & unit_maybe
        total_sure = np.bincount(rows[sure], weights=mg[sure], minlength=n)
        most = np.where(np.isnan(mg), ANY_DOSE_MG, mg)
        total_maybe = np.bincount(rows[maybe], weights=most[maybe], minlength=n)
        above = total_sure > cap + 1e-9
        over.append(pd.arrays.BooleanArray(above, ~above & (total_maybe > cap + 1e-9)))
    return over


def _maybe_daily(meds: pd.DataFrame, at: np.ndarray | None = None) -> np.ndarray:
    """Rows (of those at positions ``at``) whose dose unit is mg/day or blank: they may be a daily dose."""
    unit = meds["dose_unit"] if at is None else meds["dose_unit"].iloc[at]
    return np.asarray(unit == "mg/day", dtype=bool) | unit.isna().to_numpy()


def per_drug(drug: pd.Series, values: dict[str, float]) -> np.ndarray:
    """Each row's value for its drug, NaN for a drug not listed or unrecorded.

    A categorical column is looked up once per category, not once per row.

    >>> per_drug(pd.Series(["azathioprine", None, "prednisone"], dtype="category"), {"prednisone": 1.0}).tolist()
    [nan, nan, 1.0]
    """
    if isinstance(drug.dtype, pd.CategoricalDtype):
        by_category = np.append(pd.Series(drug.cat.categories, dtype=object).map(values).to_numpy(dtype=float,
                                                                                                 na_value=np.nan),
                                np.nan)  # code -1 (unrecorded) takes the last
        return by_category[drug.cat.codes.to_numpy()]
    return drug.astype(object).map(values).to_numpy(dtype=float, na_value=np.nan)


def _split(answer) -> tuple[np.ndarray, np.ndarray]:
    """A three-valued answer as (surely true, possibly true)."""
    arr = pd.array(answer, dtype="boolean")
    sure = np.asarray(arr.fillna(False), dtype=bool)
    return sure, sure | np.asarray(arr.isna())


@dose_cap.naive_form
def dose_cap_naive(patient: R.Patient, caps: list[str]):
    base, found = patient["baseline_date"], []
    for drugs, cap in parse_caps(caps).values():
        sure = maybe = 0.0
        for _, m in patient.medications.iterrows():
            member = R.is_drug(m, list(drugs))
            on_day = R.overlaps(m["start_date"], m["stop_date"], base, base)
            unit = None if R.na(m["dose_unit"]) else m["dose_unit"] == "mg/day"
            taken = R.and_(member, on_day, unit)
            if taken is False:
                continue
            mg = None if R.na(m["dose"]) or R.na(m["drug"]) else m["dose"] * drugs[m["drug"]]
            if taken is True and mg is not None:
                sure += mg
            maybe += ANY_DOSE_MG if mg is None else mg
        found.append(True if sure > cap + 1e-9 else None if maybe > cap + 1e-9 else False)
    return R.any_(found)


@dose_cap.sql_form
def dose_cap_sql(q: Query, caps: list[str], tag: str = "cap") -> str:
    found = []
    for i, (drugs, cap) in enumerate(parse_caps(caps).values()):
        factor = "(CASE x.drug " + " ".join(f"WHEN {lit(d)} THEN {f!r}" for d, f in drugs.items()) + " END)"
        member = is_drug(list(drugs))
        on_day = overlap("x.start_date", "x.stop_date", "b.baseline_date", "b.baseline_date")
        unit = "(CASE WHEN x.dose_unit IS NULL THEN NULL ELSE x.dose_unit = 'mg/day' END)"
        taken = f"({member} AND {on_day} AND {unit})"
        mg = f"(x.dose * {factor})"
        name = q.cte(f"{tag}{i}", f"SELECT x.patient_id, "
                                f"sum(CASE WHEN {taken} AND {mg} IS NOT NULL THEN {mg} ELSE 0 END) AS sure, "
                                f"sum(CASE WHEN {taken} IS DISTINCT FROM FALSE THEN coalesce({mg}, {ANY_DOSE_MG!r}) "
                                f"ELSE 0 END) AS maybe FROM medications x JOIN patients b USING (patient_id) "
                                f"GROUP BY x.patient_id", join=True)
        found.append(f"(CASE WHEN coalesce({name}.sure, 0) > {cap + 1e-9!r} THEN TRUE "
                     f"WHEN coalesce({name}.maybe, 0) > {cap + 1e-9!r} THEN NULL ELSE FALSE END)")
    return "(FALSE OR " + " OR ".join(found) + ")" if found else "FALSE"


@dose_cap.check_form
def dose_cap_check(params: dict):
    yield from _check_caps(params["caps"])


def washout_days(drug: str | None, half_lives: float, fixed_days: int) -> int:
    """Days a drug must be washed out: ``half_lives`` of its tabled half-life (rounded up), else ``fixed_days``."""
    t = HALF_LIFE_DAYS.get(drug) if drug is not None else None
    return fixed_days if t is None else math.ceil(half_lives * t - 1e-9)


@rule("washout", reads=("baseline_date", "medications"), lookback=True,
      drugs=Param([], "drug ingredients that must be washed out (lower case)", kind="list of drug names"),
      classes=Param([], "drug classes that must be washed out", choices=("glucocorticoid", "immunosuppressant",
                                                                         "antimalarial", "biologic")),
      excepted=Param([], "drugs that never count, even in a listed class", kind="list of drug names"),
      half_lives=Param(5.0, "wash-out in half-lives of each drug (its half-life from the cited table)",
                       "half-lives"),
      fixed_days=Param(182, "wash-out for a drug without a tabled half-life", "days"))
def washout(ex: Extract, drugs: list[str], classes: list[str], excepted: list[str], half_lives: float,
            fixed_days: int):
    """A listed drug taken within its wash-out before baseline: half_lives of its half-life, else fixed_days."""
    meds = ex.medications
    pick = per_drug_mask(meds, lambda m: (is_drug_mask(m, drugs) | class_in(m, classes)) & ~is_drug_mask(m, excepted))
    # Each drug's wash-out once per name; a name the vocabulary did not know may be any drug: surely within
    # the shortest wash-out, maybe the longest.
    names = meds["drug"].cat.categories
    tabled = np.array([washout_days(d, half_lives, fixed_days) for d in names] + [0], dtype=np.int64)
    span = [washout_days(d, half_lives, fixed_days) for d in HALF_LIFE_DAYS] + [fixed_days]
    # Only rows that may meet the longest wash-out of all may meet their own.
    base = baseline(ex).to_numpy()
    at, rows, _, end = window_rows(ex, base - np.timedelta64(int(max(span + tabled.tolist())), "D"), base,
                                   pick.fillna(True).to_numpy(dtype=bool))
    code = meds["drug"].cat.codes.to_numpy()[at]
    unnamed = code < 0
    shortest = np.where(unnamed, min(span), tabled[code]).astype("timedelta64[D]")
    longest = np.where(unnamed, max(span), tabled[code]).astype("timedelta64[D]")
    start, stop = meds["start_date"].to_numpy()[at], meds["stop_date"].to_numpy()[at]
    sure_hit, _ = _split(overlap_states(start, stop, end - shortest, end))
    _, maybe_hit = _split(overlap_states(start, stop, end - longest, end))
    within = pd.arrays.BooleanArray(sure_hit, ~sure_hit & maybe_hit)
    return any_per_patient(len(ex.patients), rows, within & pick[at])


@washout.naive_form
def washout_naive(patient: R.Patient, drugs: list[str], classes: list[str], excepted: list[str],
                  half_lives: float, fixed_days: int):
    base, hits = patient["baseline_date"], []
    span = [washout_days(d, half_lives, fixed_days) for d in HALF_LIFE_DAYS] + [fixed_days]
    for _, m in patient.medications.iterrows():
        pick = R.and_(R.or_(R.is_drug(m, drugs), R.class_in(m, classes)), R.not_(R.is_drug(m, excepted)))
        if pick is False:
            continue
        if R.na(m["drug"]):
            shortest, longest = min(span), max(span)
        else:
            shortest = longest = washout_days(m["drug"], half_lives, fixed_days)
        if R.na(base):
            hits.append(R.and_(pick, None))
            continue
        sure = R.overlaps(m["start_date"], m["stop_date"], R.days_before(base, shortest), base)
        maybe = R.overlaps(m["start_date"], m["stop_date"], R.days_before(base, longest), base)
        within = True if sure is True else (False if maybe is False else None)
        hits.append(R.and_(pick, within))
    return R.any_(hits)


@washout.sql_form
def washout_sql(q: Query, drugs: list[str], classes: list[str], excepted: list[str], half_lives: float,
                fixed_days: int) -> str:
    pick = f"(({is_drug(drugs)} OR {isin('x.drug_class', classes)}) AND NOT {is_drug(excepted)})"
    span = [washout_days(d, half_lives, fixed_days) for d in HALF_LIFE_DAYS] + [fixed_days]
    tabled = " ".join(f"WHEN {lit(d)} THEN {washout_days(d, half_lives, fixed_days)}" for d in HALF_LIFE_DAYS)
    days = f"(CASE x.drug {tabled} ELSE {fixed_days} END)"
    src = (f"(SELECT x.patient_id, x.start_date AS s, x.stop_date AS e, b.baseline_date AS base, {pick} AS pick, "
           f"(CASE WHEN x.drug IS NULL THEN {min(span)} ELSE {days} END) AS short, "
           f"(CASE WHEN x.drug IS NULL THEN {max(span)} ELSE {days} END) AS long "
           f"FROM medications x JOIN patients b USING (patient_id) WHERE {pick} IS DISTINCT FROM FALSE)")
    sure = overlap("s", "e", q.days_before("base", "short"), "base")
    maybe = overlap("s", "e", q.days_before("base", "long"), "base")
    return q.any_event(f"pick AND (CASE WHEN {sure} THEN TRUE WHEN {maybe} IS DISTINCT FROM FALSE THEN NULL "
                       f"ELSE FALSE END)", src)


@washout.lint_form
def washout_lint(params: dict, dictionary: dict):
    if not params["drugs"] and not params["classes"]:
        yield "error", "drugs", "names no drug and no class: the criterion is never met"
