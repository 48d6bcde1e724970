"""Medical history before baseline: recent malignancy, recent infection (event look-backs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.dates import months_before
from screening.io.extract import Extract
from screening.io.schema import MALIGNANCY_TYPES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query, isin, lit
from screening.rules.masks import baseline, boolean, events
from screening.rules.masks import isin as isin_mask
from screening.rules.registry import Param, rule
from screening.rules.windows import any_per_patient


@rule("malignancy", reads=("baseline_date", "malignancies"), lookback=True,
      lookback_years=Param(5, "look-back before baseline", "years"),
      excepted=Param(["basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ"],
                     "malignancy types that do not count", choices=MALIGNANCY_TYPES))
def malignancy(ex: Extract, lookback_years: float, excepted: list[str]):
    """A malignancy diagnosed within lookback_years before baseline, other than the excepted types."""
    kind = ex.malignancies["malignancy_type"]
    # A type the vocabulary did not know might be an excepted one: it counts, but only possibly.
    counts = ~isin_mask(kind, excepted) if excepted else boolean(pd.Series(True, index=kind.index))
    keep = np.asarray(counts.fillna(True), dtype=bool)
    rows_of, rows = events(ex, "malignancies", keep)
    base = baseline(ex).iloc[rows].reset_index(drop=True)
    date = rows_of["diagnosis_date"].reset_index(drop=True)
    recent = boolean((date >= months_before(base, round(12 * lookback_years))) & (date <= base))
    recent[(date.isna() | base.isna()).to_numpy()] = pd.NA
    return any_per_patient(len(ex.patients), rows, recent & counts[keep])


@malignancy.naive_form
def malignancy_naive(patient: R.Patient, lookback_years: float, excepted: list[str]):
    base, hits = patient["baseline_date"], []
    for _, m in patient.malignancies.iterrows():
        kind = m["malignancy_type"]
        counts = (None if excepted else True) if R.na(kind) else kind not in excepted
        d = m["diagnosis_date"]
        hits.append(R.and_(counts, None if R.na(d) or R.na(base) else
                           R.months_before(base, round(12 * lookback_years)) <= d <= base))
    return R.any_(hits)


@malignancy.sql_form
def malignancy_sql(q: Query, lookback_years: float, excepted: list[str]) -> str:
    counts = f"(NOT {isin('x.malignancy_type', excepted)})"  # NULL for a type the vocabulary did not know
    src = (f"(SELECT x.patient_id, x.diagnosis_date AS d, b.baseline_date AS base, {counts} AS counts "
           f"FROM malignancies x JOIN patients b USING (patient_id) WHERE {counts} IS DISTINCT FROM FALSE)")
    since = q.months_before("base", round(12 * lookback_years))
    return q.any_event(f"(CASE WHEN d IS NULL OR base IS NULL THEN NULL ELSE d >= {since} AND d <= base END) "
                       f"AND counts", src)


@rule("recent_infection", reads=("baseline_date", "infections"), lookback=True,
      herpes_zoster_days=Param(90, "look-back for herpes zoster", "days"),
      serious_infection_days=Param(60, "look-back for a serious infection", "days"))
def recent_infection(ex: Extract, herpes_zoster_days: int, serious_infection_days: int):
    """Herpes zoster within herpes_zoster_days, or a serious infection within serious_infection_days."""
    rows_of, rows = events(ex, "infections")
    base = baseline(ex).iloc[rows].to_numpy()
    kind = rows_of["infection_type"]
    zoster, known = np.asarray(kind == "herpes_zoster", dtype=bool), kind.notna().to_numpy()
    days = np.where(zoster, herpes_zoster_days, serious_infection_days)
    # A type the vocabulary did not know: surely recent within the shorter look-back, possibly within the longer.
    shorter, longer = (np.where(known, days, bound(herpes_zoster_days, serious_infection_days)).astype("timedelta64[D]")
                       for bound in (min, max))
    onset = rows_of["onset_date"].to_numpy()
    sure = (onset >= base - shorter) & (onset <= base)
    maybe = (onset >= base - longer) & (onset <= base)
    hit = pd.arrays.BooleanArray(sure, ~sure & maybe | pd.isna(onset) | pd.isna(base))
    return any_per_patient(len(ex.patients), rows, hit)


@recent_infection.naive_form
def recent_infection_naive(patient: R.Patient, herpes_zoster_days: int, serious_infection_days: int):
    base, hits = patient["baseline_date"], []
    both = (herpes_zoster_days, serious_infection_days)
    for _, e in patient.infections.iterrows():
        if R.na(e["infection_type"]):  # either type: recent within the shorter look-back surely, the longer maybe
            shorter, longer = min(both), max(both)
        else:
            shorter = longer = both[0] if e["infection_type"] == "herpes_zoster" else both[1]
        d = e["onset_date"]
        if R.na(d) or R.na(base):
            hits.append(None)
        elif R.days_before(base, shorter) <= d <= base:
            hits.append(True)
        else:
            hits.append(None if R.days_before(base, longer) <= d <= base else False)
    return R.any_(hits)


@recent_infection.sql_form
def recent_infection_sql(q: Query, herpes_zoster_days: int, serious_infection_days: int) -> str:
    src = ("(SELECT x.patient_id, x.onset_date AS d, b.baseline_date AS base, x.infection_type AS t "
           "FROM infections x JOIN patients b USING (patient_id))")
    hz, si = herpes_zoster_days, serious_infection_days
    # A type the vocabulary did not know (NULL): the shorter look-back surely, the longer maybe.
    short = f"(CASE WHEN t IS NULL THEN {min(hz, si)} WHEN t = 'herpes_zoster' THEN {hz} ELSE {si} END)"
    long = f"(CASE WHEN t IS NULL THEN {max(hz, si)} WHEN t = 'herpes_zoster' THEN {hz} ELSE {si} END)"
    return q.any_event(f"CASE WHEN d IS NULL OR base IS NULL THEN NULL WHEN d >= {q.days_before('base', short)} "
                       f"AND d <= base THEN TRUE WHEN d >= {q.days_before('base', long)} AND d <= base THEN NULL "
                       f"ELSE FALSE END", src)


@rule("history_except", reads=("baseline_date", "malignancies"), lookback=True,
      lookback_years=Param(5, "look-back before baseline", "years"),
      excepted=Param(["basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ"],
                     "malignancy types excepted once long enough ago", choices=MALIGNANCY_TYPES),
      excepted_months=Param([3, 3, 12], "for each excepted type in order, the least time from its diagnosis to "
                            "baseline for the exception to apply", "months", kind="list of whole numbers"))
def history_except(ex: Extract, lookback_years: float, excepted: list[str], excepted_months: list[int]):
    """A malignancy within lookback_years, bar each excepted type diagnosed at least its excepted_months ago."""
    # The extract dates a malignancy by its diagnosis, not its treatment: the time asked for runs from it.
    rows_of, rows = events(ex, "malignancies")
    base = baseline(ex).iloc[rows].reset_index(drop=True)
    date = rows_of["diagnosis_date"].reset_index(drop=True)
    kind = rows_of["malignancy_type"].reset_index(drop=True)
    counts = boolean(pd.Series(True, index=date.index))
    for name, months in zip(excepted, excepted_months, strict=True):  # a loop over parameters, not patients
        this = np.asarray(kind == name, dtype=bool)
        counts[this] = boolean(date > months_before(base, months))[this]
    if excepted:  # a type the vocabulary did not know might be excepted: it counts surely only if too recent
        unknown = kind.isna().to_numpy()
        too_recent = np.asarray((date > months_before(base, min(excepted_months))).fillna(False), dtype=bool)
        counts[unknown & too_recent] = True
        counts[unknown & ~too_recent] = pd.NA
    within = boolean((date >= months_before(base, round(12 * lookback_years))) & (date <= base))
    within[(date.isna() | base.isna()).to_numpy()] = pd.NA
    counts[(date.isna() | base.isna()).to_numpy()] = pd.NA
    return any_per_patient(len(ex.patients), rows, within & counts)


@history_except.naive_form
def history_except_naive(patient: R.Patient, lookback_years: float, excepted: list[str],
                         excepted_months: list[int]):
    base, hits = patient["baseline_date"], []
    wait = dict(zip(excepted, excepted_months, strict=True))
    for _, m in patient.malignancies.iterrows():
        kind, d = m["malignancy_type"], m["diagnosis_date"]
        if R.na(d) or R.na(base):
            hits.append(None)
            continue
        if R.na(kind):
            counts = True if not wait or d > R.months_before(base, min(wait.values())) else None
        else:
            counts = kind not in wait or d > R.months_before(base, wait[kind])
        hits.append(R.and_(R.months_before(base, round(12 * lookback_years)) <= d <= base, counts))
    return R.any_(hits)


@history_except.sql_form
def history_except_sql(q: Query, lookback_years: float, excepted: list[str], excepted_months: list[int]) -> str:
    src = ("(SELECT x.patient_id, x.diagnosis_date AS d, b.baseline_date AS base, x.malignancy_type AS t "
           "FROM malignancies x JOIN patients b USING (patient_id))")
    whens = " ".join(f"WHEN t = {lit(name)} THEN d > {q.months_before('base', months)}"
                     for name, months in zip(excepted, excepted_months, strict=True))
    # A type the vocabulary did not know (NULL): counts surely only if too recent for every exception.
    unknown = (f"WHEN t IS NULL THEN (CASE WHEN d > {q.months_before('base', min(excepted_months))} THEN TRUE END)"
               if excepted else "")
    counts = f"(CASE WHEN d IS NULL OR base IS NULL THEN NULL {unknown} {whens} ELSE TRUE END)"
    since = q.months_before("base", round(12 * lookback_years))
    return q.any_event(f"(CASE WHEN d IS NULL OR base IS NULL THEN NULL ELSE d >= {since} AND d <= base END) "
                       f"AND {counts}", src)


@history_except.check_form
def history_except_check(params: dict):
    if len(params.get("excepted") or []) != len(params.get("excepted_months") or []):
        yield "excepted_months", "one number of months for each excepted type, in the same order"


@rule("tb_history", reads=("tb_status", "latent_tb_treated", "chest_xray"),
      latent=Param(True, "latent tuberculosis counts"),
      unless_treated=Param(True, "latent tuberculosis whose treatment has started does not count"),
      chest_xray=Param(True, "a chest X-ray consistent with tuberculosis (or a fungal infection) counts"))
def tb_history(ex: Extract, latent: bool, unless_treated: bool, chest_xray: bool):
    """Active tuberculosis, latent tuberculosis (untreated, if unless_treated), or a chest X-ray consistent with it."""
    p = ex.patients
    status = p["tb_status"]
    met = isin_mask(status, ["active"])
    if latent:
        met = met | (isin_mask(status, ["latent"]) & (~boolean(p["latent_tb_treated"]) if unless_treated else True))
    if chest_xray:
        met = met | isin_mask(p["chest_xray"], ["tb_or_fungal"])
    return met


@tb_history.naive_form
def tb_history_naive(patient: R.Patient, latent: bool, unless_treated: bool, chest_xray: bool):
    status = patient["tb_status"]
    active, is_latent = (None, None) if R.na(status) else (status == "active", status == "latent")
    untreated = R.not_(R.flag(patient["latent_tb_treated"])) if unless_treated else True
    xray = None if R.na(patient["chest_xray"]) else patient["chest_xray"] == "tb_or_fungal"
    return R.or_(active, R.and_(is_latent, untreated) if latent else False, xray if chest_xray else False)


@tb_history.sql_form
def tb_history_sql(q: Query, latent: bool, unless_treated: bool, chest_xray: bool) -> str:
    latent_sql = ("(p.tb_status = 'latent'" + (" AND NOT p.latent_tb_treated)" if unless_treated else ")")
                  if latent else "FALSE")
    xray = "(p.chest_xray = 'tb_or_fungal')" if chest_xray else "FALSE"
    return f"((p.tb_status = 'active') OR {latent_sql} OR {xray})"
