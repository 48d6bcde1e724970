"""Near misses: patients who fail one criterion only, and by how much, in the rule's own units.

A patient is a *near miss* on criterion j when j is the only criterion they fail
and every other criterion is assessed and passed: dropping (or loosening) j alone
makes them eligible. Those failing only j but unknown elsewhere are counted
apart (``fail_only_unknown_elsewhere``): dropping j leaves them not assessable.

The distance is how far the patient's value lies past the threshold, in the
rule's units: SLEDAI-2K 5 against "at least 6" is 1 point short; belimumab
stopped 55 days before baseline against a 60-day look-back is 5 days inside the
window; eGFR 25 against "below 30 excludes" is 5 mL/min/1.73 m² short. A
threshold on the sweep grid (:meth:`~screening.engine.funnel.Screening.sweepable`)
without its own measure gets the smallest loosening on the grid that admits the
patient (a glucocorticoid peak needing 0.6 mg/kg/day against 0.5 is 0.1). A
yes/no criterion (dialysis, a positive HIV test) has no distance.

The per-patient list names patients: it is for the site team, never shared
(:func:`near_miss_patients`). The histogram (:func:`near_miss_histogram`) holds
counts only, protected like every count when shared.

Example
-------
>>> from screening import load_extract, screen
>>> s = screen(load_extract("data/synthetic"))
>>> h = near_miss_histogram(s)
>>> t = near_miss_summary(s).set_index("criterion")
>>> int(h[h["criterion"] == "sledai"]["patients"].sum()) == int(t.loc["sledai", "near_misses"])
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from screening.engine.counts import FAIL, PASS, UNKNOWN
from screening.engine.frontier import looser
from screening.io.dates import months_before
from screening.io.extract import Extract
from screening.io.schema import TABLES

__all__ = ["near_miss_patients", "near_miss_summary", "near_miss_histogram", "distance", "DISTANCES"]

#: rule name → function(extract, params) → (distance per patient, unit); NaN where it says nothing
DISTANCES: dict[str, Callable[[Extract, dict], tuple[np.ndarray, str]]] = {}
_UNITS = {f.name: f.unit for f in TABLES["patients"]}
#: Histogram bin edges in days: a week, a fortnight, a month, two, three, six months, a year, more.
DAY_EDGES = [0, 8, 15, 31, 61, 91, 183, 366, np.inf]
#: Bin edges for whole-number distances (SLEDAI points, years, ACR criteria): 1, 2, 3, 4–5, 6 or more.
WHOLE_EDGES = [0.5, 1.5, 2.5, 3.5, 5.5, np.inf]
WHOLE_UNITS = ("points", "years", "ACR criteria")


def _measure(name: str):
    def register(func):
        DISTANCES[name] = func
        return func
    return register


def _float(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float, na_value=np.nan)


@_measure("age")
def _age(ex: Extract, p: dict):
    age = _float(ex.patients["age_years"])
    return np.where(age < p["min_age"], p["min_age"] - age, age - p["max_age"]), "years"


@_measure("sledai")
def _sledai(ex: Extract, p: dict):
    score = _float(ex.patients["sledai_2k"])
    above = score - p["max"] if p.get("max") is not None else np.full(len(score), np.nan)
    return np.where(score < p["min"], p["min"] - score, above), "points"


@_measure("classification")
def _classification(ex: Extract, p: dict):
    return p["acr_min"] - _float(ex.patients["acr_criteria_count"]), "ACR criteria"


@_measure("lab_value")
def _lab(ex: Extract, p: dict):
    x = _float(ex.patients[p["column"]])
    # Excluded when "x op value" holds: how far x lies on the excluded side.
    gap = p["value"] - x if p["op"] in ("<", "<=") else x - p["value"]
    return gap, _UNITS.get(p["column"], "")


@_measure("column")
def _column(ex: Extract, p: dict):
    if p["op"] not in ("<", "<=", ">", ">="):
        raise KeyError(p["op"])  # yes/no or a list of values: no distance
    return _lab(ex, p)


@_measure("liver_enzymes")
def _liver(ex: Extract, p: dict):
    q = ex.patients
    ratio = np.fmax(_float(q["ast"]) / _float(q["ast_uln"]), _float(q["alt"]) / _float(q["alt_uln"]))
    return ratio - p["uln_multiple"], "× ULN"


def _days_inside(ex: Extract, table: str, keep: np.ndarray, last: np.ndarray, begin_of) -> np.ndarray:
    """Per patient, the most days any kept event lies inside its window [begin, baseline] (NaN: none)."""
    rows = ex.patient_rows(table)[keep]
    base = ex.patients["baseline_date"].to_numpy()[rows]
    begin = begin_of(rows)
    last = np.minimum(last[keep], base)
    days = (last - begin).astype("timedelta64[D]").astype(float)
    days[np.isnat(last) | np.isnat(begin) | (days < 0)] = np.nan
    out = np.full(len(ex.patients), np.nan)
    ok = ~np.isnan(days)
    np.fmax.at(out, rows[ok], days[ok])
    return out


def _begin(ex: Extract, months: float):
    begin = months_before(ex.patients["baseline_date"], months).to_numpy()
    return lambda rows: begin[rows]


@_measure("drug_exposure")
def _drug(ex: Extract, p: dict):
    from screening.rules.masks import class_in, is_drug

    meds = ex.medications
    pick = (is_drug(meds, p["drugs"]) | class_in(meds, p["classes"])) & ~is_drug(meds, p["excepted"])
    stop, start = meds["stop_date"].to_numpy(), meds["start_date"].to_numpy()
    base = ex.patients["baseline_date"].to_numpy()[ex.patient_rows("medications")]
    keep = np.asarray(pick.fillna(False), dtype=bool) & ~(start > base)  # a course starting after baseline: none
    last = np.where(np.isnat(stop), base, stop)  # an ongoing course runs up to baseline
    return _days_inside(ex, "medications", keep, last, _begin(ex, p["months"])), "days"


@_measure("regimen_change")
def _regimen(ex: Extract, p: dict):
    from screening.rules.masks import class_in

    keep = np.asarray(class_in(ex.medications, p["classes"]).fillna(False), dtype=bool)
    meds = ex.medications
    begin = _begin(ex, p["months"])
    base = ex.patients["baseline_date"].to_numpy()[ex.patient_rows("medications")]
    start, stop = meds["start_date"].to_numpy(), meds["stop_date"].to_numpy()
    # The latest change inside the window: a stop before baseline, else a start.
    stopped = ~np.isnat(stop) & (stop < base)
    return _days_inside(ex, "medications", keep, np.where(stopped, stop, start), begin), "days"


@_measure("malignancy")
def _malignancy(ex: Extract, p: dict):
    from screening.rules.masks import isin

    kind = ex.malignancies["malignancy_type"]
    keep = np.asarray((~isin(kind, p["excepted"]) if p["excepted"] else pd.Series(True, index=kind.index))
                      .fillna(False), dtype=bool)
    date = ex.malignancies["diagnosis_date"].to_numpy()
    return _days_inside(ex, "malignancies", keep, date, _begin(ex, 12 * p["lookback_years"])), "days"


@_measure("recent_infection")
def _infection(ex: Extract, p: dict):
    events = ex.infections
    zoster = np.asarray(events["infection_type"] == "herpes_zoster", dtype=bool)
    known = events["infection_type"].notna().to_numpy()
    window = np.where(zoster, p["herpes_zoster_days"], p["serious_infection_days"]).astype("timedelta64[D]")
    base = ex.patients["baseline_date"].to_numpy()
    return _days_inside(ex, "infections", known, events["onset_date"].to_numpy(),
                        lambda kept: base[kept] - window[known]), "days"


def _grid(s, j: int) -> tuple[np.ndarray, str, list]:
    """The smallest loosening on the sweep grid that admits each patient, in the parameter's units."""
    c = s.criteria[j]
    current = s.states[:, j]
    for name, values in s.sweepable().items():
        cid, param = s.protocol.resolve(name)
        if cid != c.id:
            continue
        now = c.params[param]
        out = np.full(len(current), np.nan)
        steps = []
        for v in sorted(values, key=lambda v: abs(v - now)):  # grid values: a handful, nearest first
            if not looser(param, v, now):
                continue
            state = s._apply_policy(s._evaluate(s.protocol.with_overrides({name: v}).criterion(cid))[:, None])[:, 0]
            if ((state != PASS) & (current == PASS)).any():
                continue  # turns someone away: not a pure loosening
            step = round(abs(v - now), 9)  # 0.6 − 0.5 is 0.1, not 0.0999…
            steps.append(step)
            out[np.isnan(out) & (state == PASS)] = step
        return out, "", sorted(steps)
    return np.full(len(current), np.nan), "", []


def distance(s, j: int) -> tuple[np.ndarray, str, list]:
    """Distance past criterion j's threshold for every patient, its unit, and the grid steps (if by grid)."""
    c = s.criteria[j]
    if c.rule in DISTANCES:
        try:
            values, unit = DISTANCES[c.rule](s.extract, c.params)
            return np.asarray(values, dtype=float), unit, []
        except (KeyError, AttributeError):  # a column or table the extract lacks: nothing to measure
            return np.full(len(s.states), np.nan), "", []
    values, unit, steps = _grid(s, j)
    if steps:
        from screening.rules.criteria import RULES

        param = s.protocol.resolve(next(n for n in s.sweepable() if n.startswith(c.id + ".")))[1]
        unit = RULES[c.rule].params[param].unit or param
    return values, unit, steps


def _only(s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per patient: the one criterion failed (−1 if not exactly one), and whether anything else is unknown."""
    fail = s.states == FAIL
    single = fail.sum(axis=1) == 1
    which = np.where(single, fail.argmax(axis=1), -1)
    unknown_elsewhere = (s.states == UNKNOWN).any(axis=1)
    return which, single & ~unknown_elsewhere, single & unknown_elsewhere


def near_miss_patients(s) -> pd.DataFrame:
    """One row per near miss: criterion, distance and unit. Holds patient ids: internal, never shared."""
    which, near, _ = _only(s)
    rows = []
    for j in np.unique(which[near]):  # one pass per criterion
        members = near & (which == j)
        values, unit, _ = distance(s, int(j))
        rows.append(pd.DataFrame({"criterion": s.ids[j], "label": s.criteria[j].display_label,
                                  "distance": values[members], "unit": unit},
                                 index=s.extract.patients.index[members]))
    if not rows:
        return pd.DataFrame(columns=["criterion", "label", "distance", "unit"])
    return pd.concat(rows).sort_values(["criterion", "distance"], kind="stable")


def near_miss_summary(s) -> pd.DataFrame:
    """Per criterion: near misses (fail only it, all else passed), those also unknown elsewhere, median distance."""
    which, near, unsure = _only(s)
    k = len(s.ids)
    table = pd.DataFrame({"criterion": s.ids, "label": [c.display_label for c in s.criteria],
                          "near_misses": np.bincount(which[near], minlength=k).astype(int),
                          "fail_only_unknown_elsewhere": np.bincount(which[unsure], minlength=k).astype(int)})
    medians, units = [], []
    for j in range(k):
        members = near & (which == j)
        values, unit, _ = distance(s, j) if members.any() else (np.array([np.nan]), "", [])
        picked = values[members] if members.any() else values
        medians.append(float(np.nanmedian(picked)) if np.isfinite(picked).any() else np.nan)
        units.append(unit)
    table["median_distance"], table["unit"] = np.round(medians, 2), units
    return table


def _bins(values: np.ndarray, unit: str, steps: list, threshold) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Bin index per value, the bins' labels and their (from, to) distances, chosen for the rule's units.

    Whole-number bands (points, years, days) hold ``from`` to ``to`` inclusive; NaN where a band says
    nothing of the distance; a grid step's band is the step; "beyond the grid" starts at infinity
    (no grid value admits it).
    """
    if steps:  # the grid's own steps
        labels = [f"{step:g} {unit}".strip() for step in steps]
        index = np.searchsorted(np.array(steps, dtype=float), values)
        ranges = np.array([[step, step] for step in steps] + [[np.inf, np.inf]])
        return np.where(np.isnan(values), len(labels), index), labels + ["beyond the grid"], ranges
    if unit == "days":
        edges = DAY_EDGES
    elif unit in WHOLE_UNITS:
        edges = WHOLE_EDGES
    elif unit and isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold:
        edges = [0, 0.1 * abs(threshold), 0.25 * abs(threshold), 0.5 * abs(threshold), np.inf]
    else:
        return np.zeros(len(values), dtype=int), ["(yes/no criterion)"], np.array([[np.nan, np.nan]])
    index = np.clip(np.searchsorted(np.array(edges[1:-1]), values, side="right"), 0, len(edges) - 2)
    labels = [_label(lo, hi, unit) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    whole = unit == "days" or unit in WHOLE_UNITS
    ranges = np.array([[np.ceil(lo), np.floor(hi - 1e-9) if np.isfinite(hi) else np.inf] if whole else [lo, hi]
                       for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [[np.nan, np.nan]])
    return np.where(np.isnan(values), len(labels), index), labels + ["(not measured)"], ranges


def _label(lo: float, hi: float, unit: str) -> str:
    whole = unit == "days" or unit in WHOLE_UNITS
    lo_t = f"{int(np.ceil(lo)) if whole else lo:g}"
    if np.isinf(hi):
        return f"{lo_t}+ {unit}".strip()
    hi_t = f"{int(np.floor(hi - 1e-9)) if whole else hi:g}"
    if whole and hi_t == lo_t:
        return f"{lo_t} {unit}".strip()
    return f"{lo_t}–{hi_t} {unit}".strip()


def near_miss_histogram(s) -> pd.DataFrame:
    """Per criterion: patients per band of distance past the threshold (counts only).

    Bands are chosen per unit: 1, 2, 3, 4–5, 6+ points or years; in days a week, a
    fortnight, one, two, three and six months, a year, more; up to 10%, 25%, 50% of a lab threshold, more;
    each grid step of a swept parameter. Every criterion's bands add up to its near misses.
    """
    which, near, _ = _only(s)
    parts = []
    for j in range(len(s.ids)):
        members = near & (which == j)
        values, unit, steps = distance(s, j)
        c = s.criteria[j]
        threshold = c.params.get("value", c.params.get("uln_multiple"))
        index, labels, ranges = _bins(values[members], unit, steps, threshold)
        counts = np.bincount(index, minlength=len(labels))
        # Every band is listed, empty or not: a band listed only when it held someone would say so.
        parts.append(pd.DataFrame({"criterion": c.id, "label": c.display_label, "band": labels,
                                   "distance_from": ranges[:, 0], "distance_to": ranges[:, 1],
                                   "patients": counts.astype(int)}))
    if not parts:
        return pd.DataFrame(columns=["criterion", "label", "band", "distance_from", "distance_to", "patients"])
    return pd.concat(parts, ignore_index=True)
