"""The rule library: each rule says, per patient, whether a condition holds.

A rule returns a nullable boolean array aligned with ``extract.patients``:
``True`` (the condition holds), ``False`` (it does not) or ``<NA>`` (not
assessable from the data). Whether holding it keeps or removes a patient is the
criterion's *kind* (inclusion or exclusion), set in the protocol file.

Rules are registered with their default parameters (the MiSLE protocol's values),
so a protocol file only names a rule and the parameters it changes.

Example
-------
>>> from screening.rules.criteria import RULES
>>> RULES["age"].defaults
{'min_age': 18, 'max_age': 65}
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import BILAG_DOMAINS, BILAG_GRADES, DRUG_CLASSES, LAB_DATES, MALIGNANCY_TYPES, TABLES
from screening.io.vocabulary import classes_of
from screening.rules.windows import (
    DAYS_PER_MONTH,
    PREDNISONE_EQUIVALENT,
    any_per_patient,
    covered_days,
    max_concurrent_per_patient,
    months_before,
    overlaps,
)

__all__ = ["Param", "Rule", "RULES", "rule"]


@dataclass(frozen=True)
class Param:
    """One parameter of a rule, declared beside it: default, meaning, unit and allowed values.

    ``kind`` names the type when the default (``None``) cannot; ``choices`` lists the
    values a parameter (or each item of a list parameter) may take.
    """

    default: object
    meaning: str
    unit: str = ""
    choices: tuple = ()
    kind: str = ""

    @property
    def type(self) -> str:
        """The parameter's type in words, for ``python -m screening rules``."""
        if self.kind:
            return self.kind
        d = self.default
        if isinstance(d, bool):
            return "true/false"
        if isinstance(d, int):
            return "whole number"
        if isinstance(d, float):
            return "number"
        if isinstance(d, list):
            return "list"
        return "text"


@dataclass(frozen=True)
class Rule:
    """A named, parameterised condition on an extract."""

    name: str
    func: Callable[..., pd.arrays.BooleanArray]
    params: dict[str, Param]
    doc: str
    #: patient columns and event tables the rule reads (for column pruning at scale); ``bilag_{domains}``
    #: stands for one column per value of the list parameter ``domains``
    reads: tuple[str, ...]

    @property
    def defaults(self) -> dict:
        """Parameter name → default value."""
        return {name: p.default for name, p in self.params.items()}

    def __call__(self, extract: Extract, **params) -> pd.arrays.BooleanArray:
        result = self.func(extract, **{**self.defaults, **params})
        return pd.array(result, dtype="boolean")


RULES: dict[str, Rule] = {}


def rule(name: str, reads: tuple[str, ...] = (), **params) -> Callable:
    """Register a rule under ``name``; each parameter is a :class:`Param` (or a bare default)."""

    def register(func: Callable) -> Callable:
        declared = {k: v if isinstance(v, Param) else Param(v, "") for k, v in params.items()}
        RULES[name] = Rule(name, func, declared, (func.__doc__ or "").strip().splitlines()[0], reads)
        return func

    return register


def _b(series: pd.Series) -> pd.arrays.BooleanArray:
    return pd.array(series, dtype="boolean")


def _isin(col: pd.Series, values) -> pd.arrays.BooleanArray:
    """Three-valued ``col in values``: unknown where the value is missing. Fast on categoricals."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        return pd.arrays.BooleanArray(_in_categories(col, values), codes < 0)
    return _b(col.isin(list(values)).where(col.notna()))


def _in_categories(col: pd.Series, values) -> np.ndarray:
    """Two-valued ``col in values`` for a categorical (missing is False): one lookup per category, one gather."""
    hit = np.append(col.cat.categories.isin(list(values)), False)  # code -1 (missing) reads the last entry
    return hit[col.cat.codes.to_numpy()]


def _any(results: list[pd.arrays.BooleanArray], n: int) -> pd.arrays.BooleanArray:
    """Three-valued "any" across several conditions of the same patients."""
    hit = np.zeros(n, dtype=bool)
    unsure = np.zeros(n, dtype=bool)
    for r in results:
        hit |= np.asarray(r.fillna(False), dtype=bool)
        unsure |= np.asarray(r.isna())
    return pd.arrays.BooleanArray(hit, ~hit & unsure)


def _baseline(ex: Extract) -> pd.Series:
    return ex.patients["baseline_date"]


def _within(dates: pd.Series, ex: Extract, months: float) -> pd.Series:
    """Date falls in [baseline - months, baseline]; unknown if either date is missing."""
    base = _baseline(ex)
    out = _b((dates >= months_before(base, months)) & (dates <= base))
    out[(dates.isna() | base.isna()).to_numpy()] = pd.NA
    return out


def _recent(ex: Extract, column: str, months: float | None) -> pd.Series:
    """``column``'s values, unknown where the extract dates them more than ``months`` before baseline.

    A lab value or weight is only used when recent enough: an EHR holds a weight from 2001 for a
    2024 baseline. A value without a date (a registry's baseline value) and ``months=None`` (no
    limit) are used as they are.
    """
    values = ex.patients[column]
    dated = LAB_DATES.get(column)
    if months is None or dated not in ex.patients.columns:
        return values
    stale = (ex.patients[dated] < months_before(_baseline(ex), months)).fillna(False)
    return values.mask(stale.to_numpy(dtype=bool)) if stale.any() else values


def _recency(meaning: str) -> Param:
    return Param(12, f"how recent {meaning} must be: one dated more than this many months before baseline is "
                 "unknown (none: no limit; an undated value is used)", "months", kind="number or none")


def _events(ex: Extract, table: str, mask: pd.Series | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Event rows (optionally filtered) and each row's patient position."""
    events = ex.table(table)
    rows = ex.patient_rows(table)
    if mask is not None:
        keep = np.asarray(mask, dtype=bool)
        events, rows = events[keep], rows[keep]
    return events, rows


# --- cohort entry (EHR sources) ------------------------------------------------------------------
# An EHR database holds everyone, not an SLE registry: these rules read columns that the OMOP and
# Synthea readers add. A native registry extract without them is not assessable on them.

def _entry_column(ex: Extract, name: str) -> pd.Series:
    p = ex.patients
    return p[name] if name in p.columns else pd.Series(pd.NA, index=p.index, dtype="object")


@rule("diagnosis_recorded", reads=("sle_diagnoses",),
      min_records=Param(1, "fewest SLE diagnosis records (distinct days) by baseline; 2 asks for a confirming one",
                        "records"))
def diagnosis_recorded(ex: Extract, min_records: int):
    """At least min_records SLE diagnosis records (distinct days) on or before baseline.

    ``min_records: 2`` asks for a second, confirming diagnosis.
    """
    count = pd.to_numeric(_entry_column(ex, "sle_diagnoses"), errors="coerce")
    return _b((count >= min_records).where(count.notna()))


@rule("alive_at_baseline", reads=("death_date", "baseline_date"))
def alive_at_baseline(ex: Extract):
    """No death recorded on or before baseline (unknown without a death table or a baseline)."""
    p = ex.patients
    if "death_date" not in p.columns:
        return _b(pd.Series(pd.NA, index=p.index, dtype="boolean"))
    death, base = p["death_date"], _baseline(ex)
    alive = _b(~(death <= base))
    alive[base.isna().to_numpy()] = pd.NA
    return alive


@rule("observed_before_baseline", reads=("in_observation", "observation_start", "baseline_date"),
      months=Param(12, "how long before baseline the observation period must have begun", "months"))
def observed_before_baseline(ex: Extract, months: float):
    """Baseline falls in an observation period that began at least `months` before it."""
    inside = _b(_entry_column(ex, "in_observation"))
    p = ex.patients
    if "observation_start" not in p.columns:
        return inside & _b(pd.Series(pd.NA, index=p.index, dtype="boolean"))
    start, base = p["observation_start"], _baseline(ex)
    long_enough = _b(start <= months_before(base, months))
    long_enough[(start.isna() | base.isna()).to_numpy()] = pd.NA
    return inside & long_enough


# --- inclusion ---------------------------------------------------------------------------------

@rule("age", reads=("age_years",),
      min_age=Param(18, "youngest age allowed, inclusive", "years"),
      max_age=Param(65, "oldest age allowed, inclusive", "years"))
def age_between(ex: Extract, min_age: float, max_age: float):
    """Age at baseline from min_age to max_age years, both inclusive."""
    age = ex.patients["age_years"]
    return _b((age >= min_age) & (age <= max_age))


@rule("classification", reads=("acr_criteria_count", "slicc_classified"),
      acr_min=Param(4, "fewest of the 11 ACR 1997 criteria met", "criteria"),
      accept_slicc=Param(False, "also accept SLICC 2012 classification"))
def classified_sle(ex: Extract, acr_min: int, accept_slicc: bool):
    """At least acr_min of the 11 ACR 1997 criteria (or SLICC 2012 classification if accepted)."""
    acr = _b(ex.patients["acr_criteria_count"] >= acr_min)
    if accept_slicc:
        return acr | _b(ex.patients["slicc_classified"])
    return acr


@rule("autoantibody", reads=("ana_titre", "ana_date", "anti_dsdna_positive", "anti_dsdna_date", "baseline_date"),
      ana_min_titre=Param(80, "lowest positive ANA titre, as the denominator of 1:n"),
      months=Param(6, "how recent the test must be, before baseline", "months"))
def positive_autoantibody(ex: Extract, ana_min_titre: int, months: float):
    """Positive ANA (titre at least 1:ana_min_titre) or anti-dsDNA, tested within `months` before baseline."""
    p = ex.patients
    ana = _b(p["ana_titre"] >= ana_min_titre) & _within(p["ana_date"], ex, months)
    dsdna = _b(p["anti_dsdna_positive"]) & _within(p["anti_dsdna_date"], ex, months)
    return ana | dsdna


@rule("sledai", reads=("sledai_2k",),
      min=Param(6, "lowest SLEDAI-2K allowed, inclusive", "points"),
      max=Param(None, "highest SLEDAI-2K allowed, inclusive (none: no upper limit)", "points",
                kind="number or none"))
def sledai_in_range(ex: Extract, min: float, max: float | None):
    """SLEDAI-2K at screening at least `min` (and at most `max` when given)."""
    score = ex.patients["sledai_2k"]
    ok = _b(score >= min)
    if max is not None:
        ok = ok & _b(score <= max)
    return ok


def _renal_grade(p: pd.DataFrame) -> pd.Series:
    """Renal BILAG grade; E (never involved) when not scored for a patient who never had nephritis.

    Uses ``lupus_nephritis`` when the extract holds it (not a required read: without it, unknown stays unknown).
    """
    renal = p["bilag_renal"]
    if "lupus_nephritis" not in p:
        return renal
    never = (renal.isna() & (p["lupus_nephritis"] == "never")).fillna(False)
    return renal.mask(never, "E") if never.any() else renal


@rule("bilag_active", reads=("bilag_{domains}",),
      grades=Param(["A", "B"], "grades that count as active", choices=BILAG_GRADES),
      domains=Param(list(BILAG_DOMAINS), "BILAG-2004 domains looked at", choices=BILAG_DOMAINS))
def bilag_active(ex: Extract, grades: list[str], domains: list[str]):
    """At least one BILAG-2004 domain graded in `grades` at screening."""
    p = ex.patients
    return _any([_isin(_renal_grade(p) if d == "renal" else p[f"bilag_{d}"], grades) for d in domains], len(p))


@rule("bilag_count", reads=("bilag_{domains}",),
      a_min=Param(1, "fewest domains graded A", "domains"),
      b_min=Param(2, "fewest domains graded A or B", "domains"),
      domains=Param(list(BILAG_DOMAINS), "BILAG-2004 domains counted", choices=BILAG_DOMAINS))
def bilag_count(ex: Extract, a_min: int, b_min: int, domains: list[str]):
    """At least a_min BILAG-2004 domains graded A, or at least b_min graded A or B, at screening."""
    p = ex.patients
    n = len(p)
    n_a, n_ab, n_missing = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    for d in domains:  # one pass per domain, vectorised over patients
        grade = _renal_grade(p) if d == "renal" else p[f"bilag_{d}"]
        n_a += np.asarray(_isin(grade, ["A"]).fillna(False), dtype=bool)
        n_ab += np.asarray(_isin(grade, ["A", "B"]).fillna(False), dtype=bool)
        n_missing += np.asarray(grade.isna(), dtype=bool)
    met = (n_a >= a_min) | (n_ab >= b_min)
    # Unknown only if grading the missing domains A could still meet it.
    reachable = (n_a + n_missing >= a_min) | (n_ab + n_missing >= b_min)
    return pd.arrays.BooleanArray(met, ~met & reachable)


@rule("nephritis_therapy", reads=("bilag_renal", "lupus_nephritis", "nephritis_onset_date", "baseline_date",
                                  "medications"),
      total_months=Param(6, "nephritis therapy needed in the current episode", "months"),
      cyclophosphamide_months=Param(3, "cyclophosphamide needed before maintenance counts", "months"),
      grades=Param(["A", "B"], "renal BILAG grades that make the criterion apply", choices=BILAG_GRADES))
def nephritis_therapy_done(ex: Extract, total_months: float, cyclophosphamide_months: float, grades: list[str]):
    """If renal BILAG is in `grades`: at least total_months of nephritis therapy for the current episode.

    Therapy is mycophenolate for total_months, or cyclophosphamide for at least
    cyclophosphamide_months followed by mycophenolate or azathioprine, adding up
    to total_months. Patients without renal activity meet the criterion.
    """
    p = ex.patients
    applies = _isin(_renal_grade(p), grades)
    onset, base = p["nephritis_onset_date"].to_numpy(), _baseline(ex).to_numpy()
    # Therapy matters only where the criterion may apply: the other patients meet it whatever they took.
    may_apply = np.asarray(applies.fillna(True), dtype=bool)[ex.patient_rows("medications")]
    therapy = _is_drug(ex.medications, _NEPHRITIS_DRUGS)
    meds, rows = _events(ex, "medications", may_apply & np.asarray(therapy.fillna(True), dtype=bool))
    drug, start, stop = meds["drug"].to_numpy(), meds["start_date"].to_numpy(), meds["stop_date"].to_numpy()
    # A drug name the vocabulary did not know may be any of the three: possibly, it is each.
    wild = np.asarray(meds["drug"].isna())
    is_cyc = drug == "cyclophosphamide"
    # Certain: rows with a known start, inside a known episode (NaT propagates), up to a known baseline.
    sure = _therapy_done(rows, drug, np.maximum(start, onset[rows]),
                         np.minimum(np.where(np.isnat(stop), base[rows], stop), base[rows]),
                         start >= _first(rows, np.where(is_cyc, start, _NAT), len(p))[rows],
                         len(p), total_months, cyclophosphamide_months)
    # Possible: every unknown date at its most favourable (start and onset long ago, baseline far ahead).
    start_hi = np.where(np.isnat(start), _EARLY, start)
    base_hi = np.where(np.isnat(base), _LATE, base)[rows]
    first_hi = _first(rows, np.where(is_cyc | wild, start_hi, _NAT), len(p))[rows]
    maybe = _therapy_done(rows, drug, np.maximum(start_hi, np.where(np.isnat(onset), _EARLY, onset)[rows]),
                          np.minimum(np.where(np.isnat(stop), base_hi, stop), base_hi),
                          ~np.isnat(first_hi) & (np.isnat(start) | (start >= first_hi)), len(p), total_months,
                          cyclophosphamide_months, wild)
    completed = pd.arrays.BooleanArray(sure, ~sure & maybe)
    return ~applies | completed


_NAT = np.datetime64("NaT", "s")
_NEPHRITIS_DRUGS = ["mycophenolate", "azathioprine", "cyclophosphamide"]
#: stand-ins for "as early / as late as it could be" when a date is missing
_EARLY, _LATE = np.datetime64("1900-01-01", "s"), np.datetime64("2999-12-31", "s")


def _first(rows: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    """Earliest date per patient (NaT where none)."""
    return pd.Series(dates).groupby(rows).min().reindex(range(n)).to_numpy(dtype="datetime64[s]")


def _therapy_done(rows, drug, start, stop, after_cyc, n, total_months, cyclophosphamide_months,
                  wild: np.ndarray | None = None) -> np.ndarray:
    """Whether the therapy rows [start, stop] add up to a completed nephritis course, per patient.

    ``wild`` rows (drug unknown) count as every therapy drug.
    """
    usable = ~np.isnat(start) & ~np.isnat(stop) & (stop >= start)

    def days(drugs: list[str], extra: np.ndarray | None = None) -> np.ndarray:
        keep = usable & (np.isin(drug, drugs) if wild is None else (np.isin(drug, drugs) | wild))
        if extra is not None:
            keep &= extra
        return covered_days(rows[keep], pd.Series(start[keep]), pd.Series(stop[keep]), n)

    mmf = days(["mycophenolate"])
    cyc = days(["cyclophosphamide"])
    maintenance = days(["mycophenolate", "azathioprine"], after_cyc)
    need = total_months * DAYS_PER_MONTH
    return (mmf >= need) | ((cyc >= cyclophosphamide_months * DAYS_PER_MONTH) & (cyc + maintenance >= need))


# --- exclusion: patient-level flags and labs ---------------------------------------------------

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}


@rule("column",
      column=Param(None, "the patients column compared", kind="column name"),
      op=Param("==", "comparison", choices=("<", "<=", ">", ">=", "==", "!=", "in", "is")),
      value=Param(None, "what the column is compared with (a list for in, true/false for is)",
                  kind="number, text, true/false or list"))
def column_rule(ex: Extract, column: str, op: str, value):
    """A simple comparison of one patient column with a value: `column op value` (op also `in`)."""
    col = ex.patients[column]
    if op == "in":
        return _isin(col, value)
    if op == "is":
        return _b(col) if value is True else ~_b(col)
    try:
        return _b(_OPS[op](col, value))
    except (TypeError, ValueError) as exc:  # pandas' own message names neither the column nor the comparison
        held = (f"the values {', '.join(map(repr, list(col.cat.categories[:4])))}"
                if isinstance(col.dtype, pd.CategoricalDtype) else f"{col.dtype} values")
        raise TypeError(f"column {column} {op} {value!r}: {column} holds {held}, which {op} cannot compare with "
                        f"{value!r}; use == or in for labels, or a number for a numeric column") from exc


@rule("lab_value",
      column=Param("egfr", "the lab value compared", choices=tuple(LAB_DATES)),
      op=Param("<", "comparison", choices=("<", "<=", ">", ">=")),
      value=Param(None, "the threshold", kind="number"),
      within_months=_recency("the value"))
def lab_value(ex: Extract, column: str, op: str, value: float, within_months: float | None):
    """A lab value (or the weight) compared with a threshold, `column op value`, if measured recently enough."""
    return _b(_OPS[op](_recent(ex, column, within_months), value))


@rule("any_flag", columns=Param([], "boolean patients columns, any of which true meets the rule",
                                 kind="list of column names"))
def any_flag(ex: Extract, columns: list[str]):
    """Any of the boolean patient `columns` is true (unknown if none is true and one is missing)."""
    return _any([_b(ex.patients[column]) for column in columns], len(ex.patients))


@rule("liver_enzymes", reads=("ast", "ast_uln", "alt", "alt_uln"),
      uln_multiple=Param(4.0, "multiple of the upper limit of normal that is too high", "× ULN"),
      within_months=_recency("an AST or ALT result"))
def liver_enzymes_high(ex: Extract, uln_multiple: float, within_months: float | None):
    """AST or ALT above uln_multiple times its laboratory upper limit of normal."""
    p = ex.patients
    ast, alt = _recent(ex, "ast", within_months), _recent(ex, "alt", within_months)
    return _b(ast > uln_multiple * p["ast_uln"]) | _b(alt > uln_multiple * p["alt_uln"])


@rule("pregnancy", reads=("sex", "pregnant", "breastfeeding", "childbearing_potential", "contraception"))
def pregnancy_risk(ex: Extract):
    """Pregnant, breastfeeding, or a woman of child-bearing potential not using contraception."""
    p = ex.patients
    risk = _b(p["pregnant"]) | _b(p["breastfeeding"]) | (_b(p["childbearing_potential"]) & ~_b(p["contraception"]))
    risk[(p["sex"] == "M").fillna(False).to_numpy()] = False
    return risk


@rule("pregnancy_recorded", reads=("sex", "pregnant"))
def pregnancy_recorded(ex: Extract):
    """Pregnant at baseline, as recorded; a man is never pregnant, whatever the record holds.

    The coded part of the pregnancy exclusion, for sources that record pregnancy but
    not breastfeeding or contraception (EHR data).
    """
    p = ex.patients
    pregnant = _b(p["pregnant"])
    pregnant[(p["sex"] == "M").fillna(False).to_numpy()] = False
    return pregnant


# --- exclusion: event look-backs ---------------------------------------------------------------

@rule("malignancy", reads=("baseline_date", "malignancies"),
      lookback_years=Param(5, "look-back before baseline", "years"),
      excepted=Param(["basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ"],
                     "malignancy types that do not count", choices=MALIGNANCY_TYPES))
def recent_malignancy(ex: Extract, lookback_years: float, excepted: list[str]):
    """A malignancy diagnosed within lookback_years before baseline, other than the excepted types."""
    kind = ex.malignancies["malignancy_type"]
    # A type the vocabulary did not know might be an excepted one: it counts, but only possibly.
    counts = ~_isin(kind, excepted) if excepted else _b(pd.Series(True, index=kind.index))
    keep = np.asarray(counts.fillna(True), dtype=bool)
    events, rows = _events(ex, "malignancies", keep)
    base = _baseline(ex).iloc[rows].to_numpy()
    date = events["diagnosis_date"].to_numpy()
    recent = _b(pd.Series((date >= (pd.Series(base) - pd.DateOffset(months=round(12 * lookback_years))).to_numpy())
                          & (date <= base)))
    recent[pd.isna(date) | pd.isna(base)] = pd.NA
    return any_per_patient(len(ex.patients), rows, recent & counts[keep])


@rule("recent_infection", reads=("baseline_date", "infections"),
      herpes_zoster_days=Param(90, "look-back for herpes zoster", "days"),
      serious_infection_days=Param(60, "look-back for a serious infection", "days"))
def recent_infection(ex: Extract, herpes_zoster_days: int, serious_infection_days: int):
    """Herpes zoster within herpes_zoster_days, or a serious infection within serious_infection_days."""
    events, rows = _events(ex, "infections")
    base = _baseline(ex).iloc[rows].to_numpy()
    kind = events["infection_type"]
    zoster, known = np.asarray(kind == "herpes_zoster", dtype=bool), kind.notna().to_numpy()
    days = np.where(zoster, herpes_zoster_days, serious_infection_days)
    # A type the vocabulary did not know: surely recent within the shorter look-back, possibly within the longer.
    shorter, longer = (np.where(known, days, bound(herpes_zoster_days, serious_infection_days)).astype("timedelta64[D]")
                       for bound in (min, max))
    onset = events["onset_date"].to_numpy()
    sure = (onset >= base - shorter) & (onset <= base)
    maybe = (onset >= base - longer) & (onset <= base)
    hit = pd.arrays.BooleanArray(sure, ~sure & maybe | pd.isna(onset) | pd.isna(base))
    return any_per_patient(len(ex.patients), rows, hit)


@rule("drug_exposure", reads=("baseline_date", "medications"),
      drugs=Param([], "drug ingredients that count (lower case)", kind="list of drug names"),
      classes=Param([], "drug classes that count", choices=DRUG_CLASSES),
      excepted=Param([], "drugs that never count, even in a listed class", kind="list of drug names"),
      months=Param(6, "look-back before baseline (0: taken on the baseline day)", "months"))
def drug_exposure(ex: Extract, drugs: list[str], classes: list[str], excepted: list[str], months: float):
    """Any listed drug (or drug of a listed class, bar `excepted`) taken within `months` before baseline."""
    meds = ex.medications
    pick = (_is_drug(meds, drugs) | _class_in(meds, classes)) & ~_is_drug(meds, excepted)
    events, rows = _events(ex, "medications", pick.fillna(True))
    base = _baseline(ex)
    end = base.iloc[rows].reset_index(drop=True)
    begin = months_before(end, months)
    hit = overlaps(events["start_date"].reset_index(drop=True), events["stop_date"].reset_index(drop=True),
                   begin, end)
    return any_per_patient(len(ex.patients), rows, hit & pick[np.asarray(pick.fillna(True), dtype=bool)])


def _is_drug(meds: pd.DataFrame, drugs: list[str]) -> pd.arrays.BooleanArray:
    """Row's drug is one of ``drugs``; for a name the vocabulary did not know, unknown if its class holds one.

    A row whose class is unknown too (the vocabulary knew neither) may be any drug.
    """
    drug, klass = meds["drug"], meds["drug_class"]  # both categoricals, whichever way the extract was read
    holds = classes_of(drugs)
    unnamed = (drug.cat.codes.to_numpy() < 0) & (_in_categories(klass, holds) | (klass.cat.codes.to_numpy() < 0)) \
        if holds else np.zeros(len(meds), dtype=bool)
    return pd.arrays.BooleanArray(_in_categories(drug, drugs), unnamed)


def _class_in(meds: pd.DataFrame, classes: list[str]) -> pd.arrays.BooleanArray:
    """Row's drug class is one of ``classes``; unknown for a class the vocabulary did not know."""
    klass = meds["drug_class"]
    return pd.arrays.BooleanArray(_in_categories(klass, classes), (klass.cat.codes.to_numpy() < 0) & bool(classes))


@rule("regimen_change", reads=("baseline_date", "medications"),
      classes=Param(["immunosuppressant"], "drug classes whose changes count", choices=DRUG_CLASSES),
      months=Param(3, "look-back before baseline", "months"))
def regimen_change(ex: Extract, classes: list[str], months: float):
    """A drug of `classes` started, stopped or changed dose within `months` before baseline."""
    member = _class_in(ex.medications, classes)
    keep = np.asarray(member.fillna(True), dtype=bool)
    events, rows = _events(ex, "medications", keep)
    end = _baseline(ex).iloc[rows].reset_index(drop=True)
    begin = months_before(end, months)
    start = events["start_date"].reset_index(drop=True)
    stop = events["stop_date"].reset_index(drop=True)
    started = _b((start >= begin) & (start <= end))
    # A missing start lies on or before its stop: a stop before the window rules a start in it out.
    started[(start.isna() & ~(stop < begin)).to_numpy()] = pd.NA
    # A course stopping before baseline is a change; one that runs past baseline is not.
    stopped = _b((stop >= begin) & (stop < end)).fillna(False)
    changed = started | stopped
    changed[end.isna().to_numpy()] = pd.NA  # no baseline, no window
    return any_per_patient(len(ex.patients), rows, changed & member[keep])


@rule("glucocorticoid_dose", reads=("baseline_date", "weight_kg", "medications"),
      max_mg_per_kg=Param(0.5, "highest prednisone-equivalent dose allowed, inclusive", "mg/kg/day"),
      months=Param(1, "look-back before baseline", "months"),
      weight_months=_recency("the weight"))
def glucocorticoid_above(ex: Extract, max_mg_per_kg: float, months: float, weight_months: float | None):
    """Prednisone-equivalent dose above max_mg_per_kg mg/kg/day on any day within `months` before baseline.

    Doses of overlapping glucocorticoid rows are added; other glucocorticoids are
    converted with the prednisone-equivalence table in ``screening.rules.windows``.
    """
    n = len(ex.patients)
    meds = ex.medications
    rows = ex.patient_rows("medications")
    base = _baseline(ex)
    # Window bounds once per patient, then gathered onto events: a calendar-month offset per
    # event would cost more than the whole rule.
    end = base.to_numpy()[rows]
    begin = months_before(base, months).to_numpy()[rows]
    start, stop = meds["start_date"].to_numpy(), meds["stop_date"].to_numpy()
    # Keep only rows that may touch the window (a missing date may; a missing stop is ongoing).
    # A row of unknown class (its drug unknown too: the loader takes a known drug's class from the
    # vocabulary) may be a glucocorticoid: it counts towards the possible peak only.
    unsure = meds["drug_class"].isna().to_numpy()
    near = (np.asarray(meds["drug_class"] == "glucocorticoid", dtype=bool) | unsure) \
        & (np.isnat(stop) | np.isnat(begin) | (stop >= begin)) & (np.isnat(start) | np.isnat(end) | (start <= end))
    idx = np.flatnonzero(near)
    rows, start, stop, begin, end = rows[idx], start[idx], stop[idx], begin[idx], end[idx]
    drug = meds["drug"].iloc[idx].astype("category")
    # An unrecognised name (missing) is some glucocorticoid: at least the weakest, at most the strongest.
    factor = np.array([PREDNISONE_EQUIVALENT.get(d, np.nan) for d in drug.cat.categories] + [np.nan])
    factor = factor[drug.cat.codes.to_numpy()]
    unnamed = drug.isna().to_numpy()
    dose = meds["dose"].iloc[idx].to_numpy(dtype=float, na_value=np.nan)
    mg = np.where(unsure[idx], np.nan, dose * np.where(unnamed, min(PREDNISONE_EQUIVALENT.values()), factor))
    mg_most = dose * np.where(unnamed, max(PREDNISONE_EQUIVALENT.values()), factor)
    ongoing = np.isnat(stop)
    # Surely taken: known dose and start, clipped to a known window; a row missing its start
    # surely ran on its stop day.
    lo = np.maximum(np.where(np.isnat(start), stop, start), begin)
    hi = np.minimum(np.where(ongoing, end, stop), end)
    peak_sure = _peak(rows, lo, hi, mg, n)
    # Possibly taken: a missing start from long ago, a missing baseline anywhere, a missing dose
    # or unknown drug as large as any.
    begin_hi, end_hi = np.where(np.isnat(begin), _EARLY, begin), np.where(np.isnat(end), _LATE, end)
    lo = np.maximum(np.where(np.isnat(start), _EARLY, start), begin_hi)
    hi = np.minimum(np.where(ongoing, end_hi, stop), end_hi)
    peak_maybe = _peak(rows, lo, hi, np.where(np.isnan(mg_most), _ANY_DOSE_MG, mg_most), n)
    weight = _recent(ex, "weight_kg", weight_months).to_numpy(dtype=float, na_value=np.nan)
    light, heavy = (np.where(np.isnan(weight), bound, weight) for bound in _WEIGHT_RANGE)
    above = peak_sure / heavy > max_mg_per_kg
    maybe = peak_maybe / light > max_mg_per_kg
    return pd.arrays.BooleanArray(above, ~above & maybe)


#: the weights a missing weight could be (the data dictionary's range)
_WEIGHT_RANGE = next((f.min, f.max) for f in TABLES["patients"] if f.name == "weight_kg")
#: a dose larger than any, for a row whose dose is missing
_ANY_DOSE_MG = 1e9


def _peak(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, mg: np.ndarray, n: int) -> np.ndarray:
    """Largest daily total of ``mg`` over the rows' day intervals [lo, hi], per patient (NaN/NaT rows skipped)."""
    keep = ~np.isnat(lo) & ~np.isnat(hi) & ~np.isnan(mg) & (hi >= lo)
    day = [d[keep].astype("datetime64[D]").astype(np.int64) for d in (lo, hi)]
    return max_concurrent_per_patient(rows[keep], day[0], day[1], mg[keep], n)


@rule("screening_visit")
def assessed_at_visit(ex: Extract):
    """Not knowable from registry data: assessed at the screening visit, never counted."""
    return pd.array([pd.NA] * len(ex.patients), dtype="boolean")
