"""Kidney disease stated by numbers: severity (protein/creatinine ratio, eGFR, dialysis) and the kidney biopsy.

Lupus nephritis trials say "severe renal disease" as thresholds (a urine protein/creatinine
ratio, an eGFR, dialysis) and "biopsy-proven nephritis" as an ISN/RPS class seen on a biopsy
within some months. Each threshold is a parameter; one left as none is not checked.
"""

from __future__ import annotations

from screening.io.extract import Extract
from screening.io.schema import BIOPSY_CLASSES
from screening.rules.baselines import rows as R
from screening.rules.baselines.sqltext import Query, isin, lit
from screening.rules.masks import any_of, boolean, recency, recent, within
from screening.rules.masks import isin as isin_mask
from screening.rules.registry import Param, rule

#: proliferative (III, IV) and membranous (V) lupus nephritis, alone or mixed: the classes that call for
#: induction therapy (ISN/RPS 2003, Weening et al., J Am Soc Nephrol 2004;15:241-250); I, II and VI do not
ACTIVE_CLASSES = [c for c in BIOPSY_CLASSES if c not in ("I", "II", "VI")]
UPCR = "proteinuria_g_per_g"


def _threshold(meaning: str, unit: str) -> Param:
    return Param(None, f"{meaning} (none: not checked)", unit, kind="number or none")


@rule("renal_severity", reads=(f"{UPCR} if upcr_min", "egfr if egfr_below", "dialysis if dialysis"),
      upcr_min=_threshold("a urine protein/creatinine ratio at least this counts", "g/g"),
      egfr_below=_threshold("an eGFR below this counts", "mL/min/1.73 m²"),
      dialysis=Param(True, "being on dialysis at baseline counts"),
      within_months=recency("a protein/creatinine ratio or eGFR"))
def renal_severity(ex: Extract, upcr_min: float | None, egfr_below: float | None, dialysis: bool,
                   within_months: float | None):
    """Renal disease this severe: protein/creatinine ratio ≥ upcr_min, eGFR < egfr_below, or on dialysis."""
    p = ex.patients
    signs = []
    if upcr_min is not None:
        signs.append(boolean(recent(ex, UPCR, within_months) >= upcr_min))
    if egfr_below is not None:
        signs.append(boolean(recent(ex, "egfr", within_months) < egfr_below))
    if dialysis:
        signs.append(boolean(p["dialysis"]))
    # Any one sign settles it; a blank one leaves it open only while no other sign is present.
    return any_of(signs, len(p))


@renal_severity.naive_form
def renal_severity_naive(patient: R.Patient, upcr_min, egfr_below, dialysis: bool, within_months):
    signs = []
    if upcr_min is not None:
        signs.append(R.cmp(R.recent(patient, UPCR, within_months), ">=", upcr_min))
    if egfr_below is not None:
        signs.append(R.cmp(R.recent(patient, "egfr", within_months), "<", egfr_below))
    if dialysis:
        signs.append(R.flag(patient["dialysis"]))
    return R.any_(signs)


@renal_severity.sql_form
def renal_severity_sql(q: Query, upcr_min, egfr_below, dialysis: bool, within_months) -> str:
    signs = ["FALSE"]
    if upcr_min is not None:
        signs.append(f"{q.recent(UPCR, within_months)} >= {lit(upcr_min)}")
    if egfr_below is not None:
        signs.append(f"{q.recent('egfr', within_months)} < {lit(egfr_below)}")
    if dialysis:
        signs.append("p.dialysis")
    return "(" + " OR ".join(signs) + ")"


@renal_severity.check_form
def renal_severity_check(params: dict):
    if params.get("upcr_min") is None and params.get("egfr_below") is None and not params.get("dialysis"):
        yield "upcr_min", "a threshold (or egfr_below, or dialysis: true): with none the criterion is never met"


@rule("renal_biopsy", reads=("renal_biopsy_class", "renal_biopsy_date if months", "baseline_date",
                            f"{UPCR} if upcr_min"), lookback=True,
      classes=Param(ACTIVE_CLASSES, "ISN/RPS classes of the latest kidney biopsy that qualify",
                    choices=BIOPSY_CLASSES),
      months=Param(None, "how recent the biopsy must be, before baseline (none: any time)", "months",
                   kind="number or none"),
      upcr_min=_threshold("the protein/creatinine ratio needed as well", "g/g"),
      within_months=recency("the protein/creatinine ratio"))
def renal_biopsy(ex: Extract, classes: list[str], months: float | None, upcr_min: float | None,
                 within_months: float | None):
    """The latest kidney biopsy shows one of `classes`, within `months` before baseline, with UPCR ≥ upcr_min."""
    p = ex.patients
    # A blank class is unknown even when every class qualifies: the registry may hold no biopsy at all.
    met = isin_mask(p["renal_biopsy_class"], classes)
    if months is not None:
        met = met & within(p["renal_biopsy_date"], ex, months)
    if upcr_min is not None:
        met = met & boolean(recent(ex, UPCR, within_months) >= upcr_min)
    return met


@renal_biopsy.naive_form
def renal_biopsy_naive(patient: R.Patient, classes: list[str], months, upcr_min, within_months):
    kind = patient["renal_biopsy_class"]
    met = None if R.na(kind) else kind in classes
    if months is not None:
        met = R.and_(met, R.within(patient["renal_biopsy_date"], patient["baseline_date"], months))
    if upcr_min is not None:
        met = R.and_(met, R.cmp(R.recent(patient, UPCR, within_months), ">=", upcr_min))
    return met


@renal_biopsy.sql_form
def renal_biopsy_sql(q: Query, classes: list[str], months, upcr_min, within_months) -> str:
    parts = [isin("p.renal_biopsy_class", classes)]
    if months is not None:
        parts.append(q.within("p.renal_biopsy_date", months))
    if upcr_min is not None:
        parts.append(f"({q.recent(UPCR, within_months)} >= {lit(upcr_min)})")
    return "(" + " AND ".join(parts) + ")"


@renal_biopsy.check_form
def renal_biopsy_check(params: dict):
    if not params.get("classes"):
        yield "classes", "at least one ISN/RPS class"
