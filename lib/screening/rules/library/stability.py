"""Stable standard therapy: on a drug for at least N weeks at a dose unchanged for the last M weeks, and
the standard-therapy set (at least one named drug so taken, within its daily cap).

A course is written as dose segments (a new row at each change): rows of one drug that touch or
follow each other day by day are one course; a gap of a day breaks it. Only daily doses count
(mg/day; a single administration has no daily dose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import EARLY, Query, is_drug
from screening.rules.library.therapy import above_caps, dose_cap, dose_cap_naive, dose_cap_sql, parse_caps, per_drug
from screening.rules.masks import any_of, baseline, drug_pairs, gather, window_rows
from screening.rules.masks import is_drug as is_drug_mask
from screening.rules.registry import Param, rule
from screening.rules.windows import PREDNISONE_EQUIVALENT

_FAR = np.datetime64("1900-01-01", "D").astype(np.int64)
_NONE = np.iinfo(np.int64).min  # a missing day


def _day(values: np.ndarray) -> np.ndarray:
    """Dates as int day numbers; a missing date as the smallest int64."""
    out = np.full(len(values), _NONE, dtype=np.int64)
    known = ~np.isnat(values)
    out[known] = values[known].astype("datetime64[D]").astype(np.int64)
    return out


def _covers(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, end: np.ndarray, back: int, n: int) -> np.ndarray:
    """Per patient: whether their [lo, hi] day intervals, joined where they touch, cover [end - back, end] (``end``:
    each row's patient's baseline day).

    A patient's only interval is their only island: only patients with several are sorted and joined.
    """
    covered = np.zeros(n, dtype=bool)
    if len(rows) == 0:
        return covered
    alone = np.bincount(rows, minlength=n)[rows] == 1  # most patients, in a short look-back
    who, island_lo, island_hi, island_end = rows[alone], lo[alone], hi[alone], end[alone]
    if not alone.all():
        rows, lo, hi, end = rows[~alone], lo[~alone], hi[~alone], end[~alone]
        order = _by_patient_then_day(rows, lo, hi)
        rows, lo, hi, end = rows[order], lo[order], hi[order], end[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        # Furthest end so far within a patient: lifting each patient's ends above every earlier patient's
        # keeps one running maximum within patients.
        lift = rows.astype(np.int64) << 32
        reach = np.maximum.accumulate(lift + (hi - _FAR)) - lift + _FAR
        before = np.empty(len(rows), dtype=np.int64)
        before[1:] = reach[:-1]
        starts = np.flatnonzero(first | (lo > before + 1))
        who = np.concatenate([who, rows[starts]])
        island_lo = np.concatenate([island_lo, lo[starts]])
        island_hi = np.concatenate([island_hi, np.maximum.reduceat(hi, starts)])
        island_end = np.concatenate([island_end, end[starts]])
    covered[who[(island_lo <= island_end - back) & (island_hi >= island_end)]] = True
    return covered


def _by_patient_then_day(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The order of (patient, lo, hi): one int64 key sorted when the days fit 21 bits each, else a lexsort."""
    days_lo, days_hi = lo - _FAR, hi - _FAR
    if len(rows) and rows.max() < 2**21 and min(days_lo.min(), days_hi.min()) >= 0 \
            and max(days_lo.max(), days_hi.max()) < 2**21:
        return np.argsort((rows.astype(np.int64) << 42) | (days_lo << 21) | days_hi, kind="stable")
    return np.lexsort((hi, lo, rows))


def _dose_range(rows: np.ndarray, dose: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per patient, the highest and lowest known dose of the given rows (-inf, inf without one)."""
    high, low = np.full(n, -np.inf), np.full(n, np.inf)
    known = ~np.isnan(dose)
    np.maximum.at(high, rows[known], dose[known])
    np.minimum.at(low, rows[known], dose[known])
    return high, low


def _spread(rows: np.ndarray, dose: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per patient, among the given rows: (two different known doses, a dose that may differ from another)."""
    missing = np.zeros(n, dtype=bool)
    # One segment has one dose, even unrecorded: only patients with several can have doses that differ.
    several = np.bincount(rows, minlength=n)[rows] >= 2
    rows, dose = rows[several], dose[several]
    high, low = _dose_range(rows, dose, n)
    missing[rows[np.isnan(dose)]] = True
    return (high > low), missing


@dataclass(frozen=True)
class _Segments:
    """The medication rows that may be a daily dose of a drug some arm of a rule asks about, and may reach its
    look-back, with dates as day numbers: narrowed and converted once per rule, then read by each arm."""

    base: np.ndarray  # per patient: baseline day (_NONE without one)
    at: np.ndarray  # per row: its position in the medications, its patient's position
    rows: np.ndarray
    pairs: tuple[pd.DataFrame, np.ndarray]  # masks.drug_pairs of the medications, and each row's pair
    pair: np.ndarray
    drug: pd.Series  # per row: its drug, its unit surely mg/day or blank, its dates and dose
    daily: np.ndarray
    blank_unit: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    dose: np.ndarray


def _segments(ex: Extract, drugs: list[str], back_days: int) -> _Segments:
    """The rows of :class:`_Segments` for arms reading ``drugs`` at most ``back_days`` days before baseline.

    A row left out cannot change any arm's answer: it is surely none of ``drugs``, or surely not a daily
    dose, or, for a patient with a baseline, it surely stops before the look-back (it covers none of its
    days) or starts after baseline (it covers none before). A patient without a baseline keeps every row.
    """
    meds = ex.medications
    grid, pair = drug_pairs(meds)
    unit = meds["dose_unit"]
    daily = np.asarray(unit == "mg/day", dtype=bool)
    blank_unit = unit.isna().to_numpy()
    may = gather(is_drug_mask(grid, drugs), pair).fillna(True).to_numpy(dtype=bool) & (daily | blank_unit)
    base = _day(baseline(ex).to_numpy())
    dated = base != _NONE
    # The window in the dates' own unit; its end is the day after baseline (a start then is kept: harmless).
    first, last = (np.where(dated, base + shift, 0).astype("datetime64[D]").astype(meds["start_date"].dtype)
                   for shift in (-back_days, 1))
    first[~dated] = last[~dated] = np.datetime64("NaT")
    at, rows, _, _ = window_rows(ex, first, last, may)
    return _Segments(base, at, rows, (grid, pair), pair[at], meds["drug"].iloc[at], daily[at], blank_unit[at],
                     _day(meds["start_date"].to_numpy()[at]), _day(meds["stop_date"].to_numpy()[at]),
                     meds["dose"].array[at].to_numpy(dtype=float, na_value=np.nan))


def _back_days(*weeks: float) -> int:
    """Days the furthest of these windows (in weeks) reaches before baseline."""
    return max(round(7 * w) for w in weeks)


def stable_use(seg: _Segments, drugs: list[str], min_weeks: float, stable_weeks: float,
               over: dict[str, tuple[float, float]] | None = None) -> pd.arrays.BooleanArray:
    """Per patient: any of ``drugs`` (as one course) taken every day of the last min_weeks weeks, at one dose
    for the last stable_weeks weeks. ``seg`` holds the rows that may matter (:func:`_segments`)."""
    base = seg.base
    n = len(base)
    member = gather(is_drug_mask(seg.pairs[0], drugs), seg.pair)
    member_sure = member.to_numpy(dtype=bool, na_value=False)
    sure_row = member_sure & seg.daily
    maybe_row = (member_sure | np.asarray(member.isna())) & (seg.daily | seg.blank_unit)
    at = np.flatnonzero(maybe_row)  # this arm's rows: sure ones are among them
    sure_row, rows, start, stop, dose = sure_row[at], seg.rows[at], seg.start[at], seg.stop[at], seg.dose[at]
    maybe_row = np.ones(len(at), dtype=bool)
    if over:
        above = _over_on_the_day(seg.drug.iloc[at], rows, base, stop, dose, over)
        sure_row &= ~above  # surely taken on the day above its cap, it fails the cap whatever it covers
        maybe_row &= ~above
    dated = base != _NONE
    answers = {}
    steady = np.full(n, np.nan)  # per patient: the one known dose its sure rows take in the stable weeks
    for bound, pick in (("sure", sure_row), ("maybe", maybe_row)):
        pick = pick & dated[rows]
        r, s, e, d = rows[pick], start[pick], stop[pick], dose[pick]
        end = base[r]
        # A missing start: surely on its stop day only; possibly since long ago. A missing stop is ongoing.
        lo = np.where(s == _NONE, e if bound == "sure" else _FAR, s)
        hi = np.where(e == _NONE, end, np.minimum(e, end))
        ok = (lo != _NONE) & (hi >= lo)
        r, lo, hi, d = r[ok], lo[ok], hi[ok], d[ok]
        end = end[ok]
        touch = hi >= end - round(7 * stable_weeks)
        changed, missing = _spread(r[touch], d[touch], n)
        # A row that may count, at a known dose other than the sure rows' in the stable weeks and reaching them,
        # cannot help any completion qualify (counted, it changes the dose there): it covers nothing.
        helps = ~(touch & (d != steady[r]) & ~np.isnan(d) & ~np.isnan(steady[r]))
        # Taken every day of the weeks before baseline, and of the weeks stable: the longer of the two.
        covered = _covers(r[helps], lo[helps], hi[helps], end[helps], _back_days(min_weeks, stable_weeks), n)
        answers[bound] = (covered, changed, missing)
        if bound == "sure":
            steady = _one_dose(r[touch], d[touch], n)
    covered_sure, _, _ = answers["sure"]
    covered_maybe, changed_maybe, missing_maybe = answers["maybe"]
    _, changed_sure, _ = answers["sure"]
    sure = covered_sure & ~changed_maybe & ~missing_maybe
    maybe = covered_maybe & ~changed_sure
    # Without a baseline, any row that may be the drug may make it so.
    any_row = np.zeros(n, dtype=bool)
    any_row[rows[maybe_row]] = True
    maybe = np.where(dated, maybe, any_row)
    sure &= dated
    return pd.arrays.BooleanArray(sure, ~sure & maybe)


def _one_dose(rows: np.ndarray, dose: np.ndarray, n: int) -> np.ndarray:
    """Per patient, the dose of the given rows when they have exactly one known dose (else NaN)."""
    high, low = _dose_range(rows, dose, n)
    return np.where(high == low, high, np.nan)


def _over_on_the_day(drug: pd.Series, rows: np.ndarray, base: np.ndarray, stop: np.ndarray, dose: np.ndarray,
                     over: dict) -> np.ndarray:
    """Rows of a capped drug, at a dose above its cap, that run to baseline or past it (or are ongoing).

    Such a row either has begun by baseline, and is then on the baseline day (daily, it breaks the
    cap; a single administration is no daily use), or begins after baseline and covers none of the
    weeks before it. In no completion can it make the drug qualify, whatever its start or unit, so it
    is left out rather than left unknown.
    """
    reaches = (base[rows] != _NONE) & ((stop == _NONE) | (stop >= base[rows]))
    factor = per_drug(drug, {d: f for d, (f, _) in over.items()})
    cap = per_drug(drug, {d: c for d, (_, c) in over.items()})
    return reaches & (dose * factor > cap + 1e-9)


def _caps_by_drug(caps: list[str]) -> dict[str, tuple[float, float]]:
    """Drug -> (mg counted per mg, cap in mg/day) from caps as written."""
    out: dict[str, tuple[float, float]] = {}
    for drugs, cap in parse_caps(caps).values():
        for d, f in drugs.items():
            out.setdefault(d, (f, cap))
    return out


def _stable_naive(patient: R.Patient, drugs: list[str], min_weeks: float, stable_weeks: float,
                  over: dict | None = None):
    """Day by day: every day of the windows covered by a row surely (possibly) of the drug, and its doses."""
    base = patient["baseline_date"]
    rows = []
    for _, m in patient.medications.iterrows():
        unit = None if R.na(m["dose_unit"]) else m["dose_unit"] == "mg/day"
        taken = R.and_(R.is_drug(m, drugs), unit)
        if over and not R.na(m["drug"]) and m["drug"] in over and not R.na(m["dose"]) and not R.na(base) \
                and (R.na(m["stop_date"]) or m["stop_date"] >= base) \
                and m["dose"] * over[m["drug"]][0] > over[m["drug"]][1] + 1e-9:
            continue  # begun by baseline it breaks its cap (or is no daily use); begun after, it covers nothing
        if taken is not False:
            rows.append((taken, m["start_date"], m["stop_date"], None if R.na(m["dose"]) else m["dose"]))
    if not rows:
        return False
    if R.na(base):
        return None

    stable_from = R.days_before(base, round(7 * stable_weeks))

    def spans(bound):
        for taken, s, e, d in rows:
            if bound == "sure" and taken is not True:
                continue
            lo = (e if bound == "sure" else R.EARLY) if R.na(s) else s
            hi = base if R.na(e) else min(e, base)
            if not R.na(lo) and hi >= lo:
                yield lo, hi, d

    def doses(bound):
        return [d for lo, hi, d in spans(bound) if hi >= stable_from]

    sure_doses, maybe_doses = doses("sure"), doses("maybe")
    known = {d for d in sure_doses if d is not None}
    changed_sure = len(known) > 1
    steady = next(iter(known)) if len(known) == 1 else None

    def covered(bound, weeks):
        days = pd.date_range(R.days_before(base, round(7 * weeks)), base, freq="D")
        # Counted, a row at another known dose in the stable weeks would change it there: it helps no completion.
        found = [(lo, hi) for lo, hi, d in spans(bound)
                 if not (bound == "maybe" and steady is not None and d is not None and d != steady
                         and hi >= stable_from)]
        return all(any(lo <= day <= hi for lo, hi in found) for day in days)

    # One segment has one dose, even unrecorded: a missing dose matters only beside another segment.
    steady_maybe = len(maybe_doses) <= 1 or (None not in maybe_doses and len(set(maybe_doses)) == 1)
    if covered("sure", min_weeks) and covered("sure", stable_weeks) and steady_maybe:
        return True
    if covered("maybe", min_weeks) and covered("maybe", stable_weeks) and not changed_sure:
        return None
    return False


def _stable_sql(q: Query, drugs: list[str], min_weeks: float, stable_weeks: float, tag: str,
                over: dict | None = None) -> str:
    taken = (f"({is_drug(drugs)} AND (CASE WHEN x.dose_unit IS NULL THEN NULL ELSE x.dose_unit = 'mg/day' END))")
    if over:  # a row above its cap running to baseline cannot qualify (see _over_on_the_day)
        factor = "(CASE x.drug " + " ".join(f"WHEN '{d}' THEN {f!r}" for d, (f, _) in over.items()) + " END)"
        cap = "(CASE x.drug " + " ".join(f"WHEN '{d}' THEN {c + 1e-9!r}" for d, (_, c) in over.items()) + " END)"
        taken = (f"({taken} AND NOT coalesce(b.baseline_date IS NOT NULL AND "
                 f"(x.stop_date IS NULL OR x.stop_date >= b.baseline_date) AND x.dose * {factor} > {cap}, FALSE))")
    k = f"{q.key}_{tag}"
    q.cte(f"{tag}rows", f"SELECT x.patient_id, b.baseline_date AS base, x.start_date AS s, x.stop_date AS e, "
                        f"x.dose AS dose, {taken} AS sure FROM medications x JOIN patients b USING (patient_id) "
                        f"WHERE {taken} IS DISTINCT FROM FALSE")
    # Dates as DATE (a source may hold timestamps): a day is added to them below.
    clip = "CAST(CASE WHEN e IS NULL OR e > base THEN base ELSE e END AS DATE)"
    q.cte(f"{tag}seg", f"SELECT patient_id, CAST(base AS DATE) AS base, 'sure' AS bound, CAST(coalesce(s, e) AS DATE) "
                       f"AS lo, {clip} AS hi, dose FROM {k}rows WHERE sure AND base IS NOT NULL AND coalesce(s, e) "
                       f"IS NOT NULL UNION ALL SELECT patient_id, CAST(base AS DATE), 'maybe', "
                       f"CAST(coalesce(s, {EARLY}) AS DATE), {clip}, dose FROM {k}rows WHERE base IS NOT NULL")
    n_days, m_days = str(round(7 * min_weeks)), str(round(7 * stable_weeks))
    stable_from = q.days_before("base", m_days)
    # The one known dose of the sure rows in the stable weeks: a row that may count at another known dose
    # there would change it, so it covers nothing (as in stable_use).
    q.cte(f"{tag}steady", f"SELECT patient_id, min(dose) AS steady FROM {k}seg WHERE bound = 'sure' AND hi >= lo "
                          f"AND hi >= {stable_from} AND dose IS NOT NULL GROUP BY patient_id "
                          f"HAVING min(dose) = max(dose)")
    q.cte(f"{tag}reach", f"SELECT patient_id, base, bound, lo, hi, dose, max(hi) OVER (PARTITION BY patient_id, "
                         f"bound ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach "
                         f"FROM {k}seg LEFT JOIN {k}steady USING (patient_id) WHERE hi >= lo AND NOT coalesce("
                         f"bound = 'maybe' AND hi >= {stable_from} AND dose <> steady, FALSE)")
    q.cte(f"{tag}isl", f"SELECT patient_id, base, bound, lo, hi, sum(CASE WHEN reach IS NULL OR lo > reach + 1 "
                       f"THEN 1 ELSE 0 END) OVER (PARTITION BY patient_id, bound ORDER BY lo, hi ROWS UNBOUNDED "
                       f"PRECEDING) AS island FROM {k}reach")
    q.cte(f"{tag}cov", f"SELECT patient_id, base, bound, min(lo) AS lo, max(hi) AS hi FROM {k}isl "
                       f"GROUP BY patient_id, base, bound, island")
    q.cte(f"{tag}ok", f"SELECT patient_id, "
                      f"coalesce(bool_or(lo <= {q.days_before('base', n_days)} AND hi >= base) FILTER "
                      f"(WHERE bound = 'sure'), FALSE) AND coalesce(bool_or(lo <= {q.days_before('base', m_days)} "
                      f"AND hi >= base) FILTER (WHERE bound = 'sure'), FALSE) AS sure, "
                      f"coalesce(bool_or(lo <= {q.days_before('base', n_days)} AND hi >= base) FILTER "
                      f"(WHERE bound = 'maybe'), FALSE) AND coalesce(bool_or(lo <= {q.days_before('base', m_days)} "
                      f"AND hi >= base) FILTER (WHERE bound = 'maybe'), FALSE) AS maybe "
                      f"FROM {k}cov GROUP BY patient_id", join=True)
    q.cte(f"{tag}dose", f"SELECT patient_id, "
                        f"coalesce(max(dose) FILTER (WHERE bound = 'sure') > min(dose) FILTER (WHERE bound = 'sure'), "
                        f"FALSE) AS changed_sure, coalesce(max(dose) FILTER (WHERE bound = 'maybe') > min(dose) "
                        f"FILTER (WHERE bound = 'maybe'), FALSE) OR (bool_or(bound = 'maybe' AND dose IS NULL) AND "
                        f"count(*) FILTER (WHERE bound = 'maybe') >= 2) "
                        f"AS unsteady FROM {k}seg WHERE hi >= lo AND hi >= {q.days_before('base', m_days)} "
                        f"GROUP BY patient_id", join=True)
    q.cte(f"{tag}any", f"SELECT DISTINCT patient_id, TRUE AS seen FROM {k}rows", join=True)
    return (f"(CASE WHEN p.baseline_date IS NULL THEN (CASE WHEN {k}any.seen THEN NULL ELSE FALSE END) "
            f"WHEN coalesce({k}ok.sure, FALSE) AND NOT coalesce({k}dose.unsteady, FALSE) THEN TRUE "
            f"WHEN coalesce({k}ok.maybe, FALSE) AND NOT coalesce({k}dose.changed_sure, FALSE) THEN NULL "
            f"ELSE FALSE END)")


@rule("on_drug_stable", reads=("baseline_date", "medications"), lookback=True,
      drugs=Param([], "drug ingredients, any one of which counts (lower case)", kind="list of drug names"),
      min_weeks=Param(12, "weeks the drug has been taken, every day up to baseline", "weeks"),
      stable_weeks=Param(8, "weeks its daily dose has not changed, up to baseline", "weeks"))
def on_drug_stable(ex: Extract, drugs: list[str], min_weeks: float, stable_weeks: float):
    """One of `drugs` taken every day of the min_weeks weeks before baseline, its dose unchanged for stable_weeks."""
    seg = _segments(ex, drugs, _back_days(min_weeks, stable_weeks))
    return any_of([stable_use(seg, [d], min_weeks, stable_weeks) for d in drugs], len(ex.patients))


@on_drug_stable.naive_form
def on_drug_stable_naive(patient: R.Patient, drugs: list[str], min_weeks: float, stable_weeks: float):
    return R.any_(_stable_naive(patient, [d], min_weeks, stable_weeks) for d in drugs)


@on_drug_stable.sql_form
def on_drug_stable_sql(q: Query, drugs: list[str], min_weeks: float, stable_weeks: float) -> str:
    return "(FALSE OR " + " OR ".join(_stable_sql(q, [d], min_weeks, stable_weeks, f"s{j}")
                                      for j, d in enumerate(drugs)) + ")"


def _arms(drugs: list[str], min_weeks: float, stable_weeks: float, glucocorticoid_min_weeks: float | None,
          glucocorticoid_stable_weeks: float, caps: list[str]) -> list[tuple[list[str], float, float, list[str]]]:
    """The ways to qualify: (drugs taken as one course, weeks taken, weeks stable, the caps that apply)."""
    arms = [([d], min_weeks, stable_weeks) for d in drugs]
    if glucocorticoid_min_weeks is not None:
        arms.append((list(PREDNISONE_EQUIVALENT), glucocorticoid_min_weeks, glucocorticoid_stable_weeks))
    parsed = [(text, set(parse_caps([text]).popitem()[1][0])) for text in caps]
    return [(ds, lo, st, [text for text, covers in parsed if covers & set(ds)]) for ds, lo, st in arms]


@rule("standard_therapy", reads=("baseline_date", "medications"), lookback=True,
      drugs=Param([], "drug ingredients, any one of which qualifies (lower case)", kind="list of drug names"),
      min_weeks=Param(12, "weeks such a drug has been taken, every day up to baseline", "weeks"),
      stable_weeks=Param(8, "weeks its daily dose has not changed, up to baseline", "weeks"),
      glucocorticoid_min_weeks=Param(None, "weeks an oral glucocorticoid has been taken, for it to qualify "
                                     "(none: glucocorticoids do not qualify)", "weeks", kind="number or none"),
      glucocorticoid_stable_weeks=Param(2, "weeks the glucocorticoid dose has not changed", "weeks"),
      caps=Param([], "daily caps, each 'drug amount unit' (as for dose_cap); a qualifying drug must be within "
                 "its cap on the baseline day", kind="list of caps"))
def standard_therapy(ex: Extract, drugs: list[str], min_weeks: float, stable_weeks: float,
                     glucocorticoid_min_weeks: float | None, glucocorticoid_stable_weeks: float, caps: list[str]):
    """At least one of `drugs` (or a glucocorticoid) taken long enough, at a stable dose, within its cap."""
    arms = _arms(drugs, min_weeks, stable_weeks, glucocorticoid_min_weeks, glucocorticoid_stable_weeks, caps)
    # Each distinct cap once, for every arm it applies to (an arm's caps: dose_cap of them), on the rows of the
    # arms and the caps' drugs: every row that may be a capped drug at a daily dose on the baseline day is there.
    distinct = {repr(c): c for _, _, _, own in arms for c in parse_caps(own).values()}
    named = [d for ds, _, _, _ in arms for d in ds] + [d for capped, _ in distinct.values() for d in capped]
    seg = _segments(ex, named, _back_days(*(w for a in arms for w in a[1:3])))
    above = dict(zip(distinct, above_caps(ex, list(distinct.values()), seg.at, seg.pairs), strict=True))
    found = []
    for ds, lo, st, own in arms:
        ok = stable_use(seg, ds, lo, st, _caps_by_drug(own))
        found.append(ok & ~any_of([above[repr(c)] for c in parse_caps(own).values()], len(ex.patients))
                     if own else ok)
    return any_of(found, len(ex.patients))


@standard_therapy.naive_form
def standard_therapy_naive(patient: R.Patient, drugs: list[str], min_weeks: float, stable_weeks: float,
                           glucocorticoid_min_weeks: float | None, glucocorticoid_stable_weeks: float,
                           caps: list[str]):
    found = []
    for ds, lo, st, own in _arms(drugs, min_weeks, stable_weeks, glucocorticoid_min_weeks,
                                 glucocorticoid_stable_weeks, caps):
        ok = _stable_naive(patient, ds, lo, st, _caps_by_drug(own))
        found.append(R.and_(ok, R.not_(dose_cap_naive(patient, own))) if own else ok)
    return R.any_(found)


@standard_therapy.sql_form
def standard_therapy_sql(q: Query, drugs: list[str], min_weeks: float, stable_weeks: float,
                         glucocorticoid_min_weeks: float | None, glucocorticoid_stable_weeks: float,
                         caps: list[str]) -> str:
    found = []
    for j, (ds, lo, st, own) in enumerate(_arms(drugs, min_weeks, stable_weeks, glucocorticoid_min_weeks,
                                                glucocorticoid_stable_weeks, caps)):
        ok = _stable_sql(q, ds, lo, st, f"s{j}", _caps_by_drug(own))
        found.append(f"({ok} AND NOT {dose_cap_sql(q, own, tag=f'c{j}')})" if own else ok)
    return "(FALSE OR " + " OR ".join(found) + ")"


@standard_therapy.check_form
def standard_therapy_check(params: dict):
    if not params["drugs"] and params["glucocorticoid_min_weeks"] is None:
        yield "drugs", "at least one drug, or glucocorticoid_min_weeks"
    yield from dose_cap.check(params)
