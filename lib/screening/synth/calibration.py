"""Calibration targets of the synthetic registry, each measured on an extract.

A :class:`Target` names a quantity, the published figure (or relation) it should
match with its source, or the word *assumption*, and the tolerance the generated
extract must meet. :func:`calibration_table` measures every target on an extract;
``python -m screening synth --calibration`` prints it as the Markdown table in
``data/README.md``, and a test checks the two are identical and every row is met.

Example
-------
>>> from screening import load_extract
>>> from screening.synth.calibration import calibration_table
>>> table = calibration_table(load_extract("data/synthetic"))
>>> bool(table["met"].all())
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import BILAG_DOMAINS
from screening.synth.calibration_fields import FIELD_TARGETS
from screening.synth.target import Target
from screening.synth.target import share as _share

__all__ = ["Target", "TARGETS", "calibration_table", "calibration_markdown"]


def _ab(p: pd.DataFrame, domain: str) -> pd.Series:
    col = p[f"bilag_{domain}"]
    return col.isin(["A", "B"]).where(col.notna())


def _sledai(p: pd.DataFrame) -> pd.Series:
    return p["sledai_2k"].astype("Float64")


def _years_since_diagnosis(p: pd.DataFrame) -> pd.Series:
    return (p["baseline_date"] - p["sle_diagnosis_date"]).dt.days / 365.25


def _age_pile_up(ex: Extract) -> float:
    """Largest ratio of one age's count to the mean of the three ages either side (where those hold ≥ 20)."""
    counts = ex.patients["age_years"].dropna().astype(int).value_counts().reindex(range(0, 91), fill_value=0)
    c = counts.to_numpy(dtype=float)
    ratios = [c[a] / np.mean(np.r_[c[a - 3:a], c[a + 1:a + 4]]) for a in range(3, 88)
              if np.mean(np.r_[c[a - 3:a], c[a + 1:a + 4]]) >= 20]
    return float(max(ratios))


def _events_before_diagnosis(ex: Extract) -> float:
    """Dated history (treatment, malignancy, infection, nephritis onset, tests) before SLE diagnosis."""
    p = ex.patients
    dx = p["sle_diagnosis_date"]
    count = 0
    for table, column in (("medications", "start_date"), ("malignancies", "diagnosis_date"),
                          ("infections", "onset_date")):
        events = ex.table(table)
        before = events[column].to_numpy() < dx.to_numpy()[ex.patient_rows(table)]
        count += int(np.sum(before))
    for column in ("nephritis_onset_date", "ana_date", "anti_dsdna_date", "anti_sm_date", "antiphospholipid_date",
                   "renal_biopsy_date"):
        if column in p.columns:
            count += int((p[column] < dx).sum())
    return float(count)


def _malignancy_under_18(ex: Extract) -> float:
    m = ex.malignancies
    rows = ex.patient_rows("malignancies")
    p = ex.patients
    years_before = (p["baseline_date"].to_numpy()[rows] - m["diagnosis_date"].to_numpy()) / np.timedelta64(1, "D")
    age_then = p["age_years"].to_numpy(dtype=float, na_value=np.nan)[rows] - years_before / 365.25
    return float(np.sum(age_then < 17))  # age is whole years at baseline: allow a year's rounding


def _renal_consistent(ex: Extract) -> float:
    p = ex.patients
    both = p["bilag_renal"].notna() & p["lupus_nephritis"].notna()
    allowed = {"never": {"E"}, "remission": {"C", "D"}, "active": {"A", "B", "C"}}
    ok = pd.Series(False, index=p.index)
    for status, grades in allowed.items():
        ok |= (p["lupus_nephritis"] == status).fillna(False) & p["bilag_renal"].isin(grades)
    return float(ok[both].mean())


def _domain_rank(ex: Extract) -> float:
    """Whether musculoskeletal and mucocutaneous are the two commonest A/B domains (1 yes, 0 no)."""
    shares = {d: _share(_ab(ex.patients, d)) for d in BILAG_DOMAINS}
    top = sorted(shares, key=shares.get, reverse=True)[:2]
    return float(set(top) == {"musculoskeletal", "mucocutaneous"})


def _rare_domains(ex: Extract) -> float:
    return max(_share(_ab(ex.patients, d)) for d in ("neuropsychiatric", "ophthalmic", "gastrointestinal"))


def _any_ab(p: pd.DataFrame) -> pd.Series:
    grades = p[[f"bilag_{d}" for d in BILAG_DOMAINS]]
    scored = grades.notna().all(axis=1)
    return grades.isin(["A", "B"]).any(axis=1).where(scored)


def _nephritis_ratio(ex: Extract) -> float:
    p = ex.patients
    ever = p["lupus_nephritis"].isin(["active", "remission"]).where(p["lupus_nephritis"].notna())
    white = (p["race_ethnicity"] == "White").fillna(False)
    other = (p["race_ethnicity"] != "White").fillna(False)
    return _share(ever, other) / _share(ever, white)


def _hb_gap(ex: Extract) -> float:
    p = ex.patients
    hb = p["haemoglobin"]
    return float(hb[(p["sex"] == "M").fillna(False)].mean() - hb[(p["sex"] == "F").fillna(False)].mean())


def _cytopenia_in_haem_ab(ex: Extract) -> float:
    p = ex.patients
    low = (p["platelets"] < 50_000) | (p["wbc"] < 2.0) | (p["haemoglobin"] < 10)
    return _share(low, _ab(p, "haematological"))


def _egfr_slope(ex: Extract) -> float:
    """Least-squares eGFR change per year of age, in patients who never had nephritis."""
    p = ex.patients
    keep = (p["lupus_nephritis"] == "never").fillna(False) & p["egfr"].notna() & p["age_years"].between(20, 80)
    age = p.loc[keep, "age_years"].to_numpy(dtype=float)
    egfr = p.loc[keep, "egfr"].to_numpy(dtype=float)
    return float(np.polyfit(age, egfr, 1)[0])


def _egfr_nephritis_gap(ex: Extract) -> float:
    p = ex.patients
    never = p.loc[(p["lupus_nephritis"] == "never").fillna(False), "egfr"].mean()
    ever = p.loc[p["lupus_nephritis"].isin(["active", "remission"]), "egfr"].mean()
    return float(never - ever)


def _current_gc(ex: Extract) -> pd.DataFrame:
    """Per patient: on a glucocorticoid at baseline, and its prednisone-equivalent daily dose."""
    m = ex.medications
    rows = ex.patient_rows("medications")
    base = ex.patients["baseline_date"].to_numpy()[rows]
    ongoing = (m["drug_class"] == "glucocorticoid").to_numpy() & m["stop_date"].isna().to_numpy() \
        & (m["start_date"].to_numpy() <= base)
    dose = m["dose"].to_numpy(dtype=float, na_value=np.nan) * np.where(m["drug"] == "methylprednisolone", 1.25, 1.0)
    n = ex.n_patients
    on = np.zeros(n, dtype=bool)
    on[rows[ongoing]] = True
    mg = np.full(n, np.nan)
    mg[rows[ongoing]] = dose[ongoing]
    return pd.DataFrame({"on": on, "mg": mg}, index=ex.patients.index)


def _gc_use(ex: Extract, active: bool) -> float:
    s = _sledai(ex.patients)
    group = (s >= 6) if active else (s < 6)
    return _share(pd.Series(_current_gc(ex)["on"], index=s.index), group)


def _gc_high(ex: Extract) -> float:
    s = _sledai(ex.patients)
    gc = _current_gc(ex)
    high = pd.Series(gc["mg"] >= 10, index=s.index).where(~(gc["on"] & np.isnan(gc["mg"])))
    return _share(high, s >= 6)


def _pregnant_exposed(ex: Extract) -> float:
    """Pregnant women using contraception or exposed to a teratogenic drug in the 3 months before baseline."""
    from screening.synth.synthetic import TERATOGENIC

    p = ex.patients
    pregnant = p["pregnant"].fillna(False).to_numpy(dtype=bool)
    m = ex.medications
    rows = ex.patient_rows("medications")
    base = p["baseline_date"].to_numpy()[rows]
    stop = m["stop_date"].to_numpy()
    recent = m["drug"].isin(TERATOGENIC).to_numpy() & (np.isnat(stop) | (stop >= base - np.timedelta64(90, "D")))
    exposed = np.zeros(len(p), dtype=bool)
    exposed[rows[recent]] = True
    contraception = p["contraception"].fillna(False).to_numpy(dtype=bool)
    return float(np.sum(pregnant & (exposed | contraception)))


def _infection_ratio(ex: Extract) -> float:
    """Serious-infection share in two years: immunosuppressed or on ≥ 7.5 mg/day, over neither."""
    p = ex.patients
    inf = ex.infections
    rows = ex.patient_rows("infections")
    serious = np.zeros(len(p), dtype=bool)
    serious[rows[(inf["infection_type"] == "serious_infection").to_numpy()]] = True
    m = ex.medications
    is_rows = ex.patient_rows("medications")[((m["drug_class"] == "immunosuppressant") & m["stop_date"].isna())
                                             .to_numpy()]
    exposed = np.zeros(len(p), dtype=bool)
    exposed[is_rows] = True
    exposed |= np.nan_to_num(_current_gc(ex)["mg"].to_numpy()) >= 7.5
    return float(serious[exposed].mean() / serious[~exposed].mean())


def _hcq(ex: Extract) -> float:
    m = ex.medications
    on = np.zeros(ex.n_patients, dtype=bool)
    on[ex.patient_rows("medications")[(m["drug"] == "hydroxychloroquine").to_numpy()]] = True
    return float(on.mean())


def _missing(column: str) -> Callable[[Extract], float]:
    return lambda ex: float(ex.patients[column].isna().mean())


def _bilag_missing_at_nonscoring_sites(ex: Extract) -> float:
    p = ex.patients
    by_site = p["bilag_renal"].isna().groupby(p["site"].astype(str)).mean()
    return float(by_site.nlargest(2).min())


_APLC = "Golder et al., Frequency and predictors of the lupus low disease activity state in a multi-national " \
        "and multi-ethnic cohort (Asia-Pacific Lupus Collaboration), Arthritis Res Ther 2016"
_SWEDEN = "Swedish SLE cohort, Table 1 (SLEDAI-2K median 4, IQR 0–7; renal BILAG A/B 42 of 405), " \
          "Lupus Sci Med 2018;5:e000260"
_YEE = "Yee et al., British Isles Lupus Assessment Group 2004 index is valid for assessment of disease " \
       "activity in SLE, Arthritis Rheum 2007 (369 patients)"
_HANLY = "Hanly et al., The frequency and outcome of lupus nephritis: results from an international " \
         "inception cohort study, Rheumatology 2016"
_TULIP = "Pooled TULIP-1/TULIP-2 baseline table (726 patients), Lupus Sci Med, " \
         "https://lupus.bmj.com/highwire/markup/141661"
_BLISS_DOMAINS = "Manzi et al., Effects of belimumab on organ domain-specific SLE disease activity " \
                 "(BLISS-52/76 post hoc), Ann Rheum Dis 2012"

TARGETS: tuple[Target, ...] = (
    Target("female", "89%", _HANLY, lambda ex: _share(ex.patients["sex"] == "F"), 0.87, 0.91),
    Target("age at baseline, mean (years)", "41.6 ± 13.2", _YEE,
           lambda ex: float(ex.patients["age_years"].mean()), 39, 45, ""),
    Target("disease duration, mean (years)", "8.8 ± 7.7", _YEE,
           lambda ex: float(_years_since_diagnosis(ex.patients).mean()), 7.8, 9.8, ""),
    Target("largest pile-up at one age (count ÷ mean of the 3 ages either side)", "no pile-up",
           "assumption", _age_pile_up, 0, 1.6, ""),
    Target("dated history before SLE diagnosis (events, courses, tests)", "none", "assumption",
           _events_before_diagnosis, 0, 0, "n"),
    Target("malignancies diagnosed before age 17", "none", "assumption", _malignancy_under_18, 0, 0, "n"),
    Target("lupus nephritis ever", "38.3%", _HANLY,
           lambda ex: _share(ex.patients["lupus_nephritis"].isin(["active", "remission"])
                             .where(ex.patients["lupus_nephritis"].notna())), 0.33, 0.43),
    Target("nephritis ever, non-White ÷ White", "more frequent in African, Asian, Hispanic patients", _HANLY,
           _nephritis_ratio, 1.4, 2.4, ""),
    Target("ACR 1997 criteria met, mean", "5.07 ± 1.39", _APLC,
           lambda ex: float(ex.patients["acr_criteria_count"].mean()), 4.6, 5.5, ""),
    Target("SLEDAI-2K ≥ 6", "about 24% (median 4, IQR 2–6 in APLC; 0–7 in Sweden)", f"{_APLC}; {_SWEDEN}",
           lambda ex: _share(_sledai(ex.patients) >= 6), 0.18, 0.30),
    Target("SLEDAI-2K = 0", "lower quartile 0", _SWEDEN, lambda ex: _share(_sledai(ex.patients) == 0), 0.20, 0.40),
    Target("SLEDAI-2K median", "4", f"{_APLC}; {_SWEDEN}", lambda ex: float(_sledai(ex.patients).median()), 3, 5, "n"),
    Target("musculoskeletal and mucocutaneous the two commonest BILAG A/B domains (1 = yes)",
           "dominate", _BLISS_DOMAINS, _domain_rank, 1, 1, ""),
    Target("largest BILAG A/B share of CNS, ophthalmic, gastrointestinal", "≤ 3% (≤ 16% in trial patients)",
           f"{_BLISS_DOMAINS}; ≤ 3% in a registry is an assumption", _rare_domains, 0, 0.03),
    Target("renal BILAG A/B", "10.4%", _SWEDEN, lambda ex: _share(_ab(ex.patients, "renal")), 0.07, 0.14),
    Target("renal grade agrees with nephritis history (never E; remission C/D; active A/B/C)", "all",
           "BILAG-2004 grade definitions (E never involved, D previously involved), " + _YEE,
           _renal_consistent, 1, 1),
    Target("≥ 1 BILAG A/B among SLEDAI-2K ≥ 6", "90.6%", "BLISS-52/76 SRI responders and non-responders, baseline "
           "table (1,684 patients), Lupus Sci Med, https://lupus.bmj.com/highwire/markup/135674",
           lambda ex: _share(_any_ab(ex.patients), _sledai(ex.patients) >= 6), 0.80, 0.97),
    Target("≥ 1 BILAG A/B among SLEDAI-2K = 0", "none expected", "assumption",
           lambda ex: _share(_any_ab(ex.patients), _sledai(ex.patients) == 0), 0, 0.03),
    Target("anti-dsDNA latest positive", "35–56%", "54% of 850 patients at diagnosis (J Rheumatol, Table 1, "
           "https://www.jrheum.org/highwire/markup/33751); 56% of 87 patients (PMC6475618)",
           lambda ex: _share(ex.patients["anti_dsdna_positive"]), 0.35, 0.50),
    Target("ANA ≥ 1:80", "97.8%", "Leuchten et al., Arthritis Care Res 2018",
           lambda ex: _share(ex.patients["ana_titre"] >= 80), 0.96, 0.99),
    Target("haemoglobin, men minus women (g/dL)", "about 1–2 g/dL", "Cruickshank, Some variations in the "
           "normal haemoglobin concentration, Br J Haematol 1970", _hb_gap, 0.8, 2.0, ""),
    Target("low count (platelets < 50k, WBC < 2, Hb < 10) among haematological A/B", "all",
           "BILAG-2004 haematological grade definitions", _cytopenia_in_haem_ab, 0.95, 1),
    Target("eGFR change per year of age, no nephritis (mL/min/1.73 m²)", "−0.7 to −1.0 per year",
           "Delanaye et al., CKD: a call for an age-adapted definition, J Am Soc Nephrol 2019", _egfr_slope,
           -1.2, -0.6, ""),
    Target("eGFR, never minus ever nephritis (mL/min/1.73 m²)", "lower after nephritis", "assumption",
           _egfr_nephritis_gap, 10, 40, ""),
    Target("on a glucocorticoid, SLEDAI-2K ≥ 6", "80.8–83.1%", _TULIP, lambda ex: _gc_use(ex, True), 0.70, 0.90),
    Target("on a glucocorticoid, SLEDAI-2K < 6", "lower than in active disease (56% overall in GRA)",
           "COVID-19 Global Rheumatology Alliance SLE cohort, Table 1 (PMC8882632)",
           lambda ex: _gc_use(ex, False), 0.35, 0.60),
    Target("≥ 10 mg/day among SLEDAI-2K ≥ 6", "50.5–52.8%", _TULIP, _gc_high, 0.40, 0.65),
    Target("pregnant women using contraception or exposed to a teratogenic drug in 3 months", "none",
           "Andreoli et al., EULAR recommendations for women's health ... in SLE and/or APS, Ann Rheum Dis 2017",
           _pregnant_exposed, 0, 0, "n"),
    Target("serious infection in 2 years, immunosuppressed or ≥ 7.5 mg/day ÷ neither", "HR 3.1–4.6 (steroids)",
           "Herrinton et al., Risk of serious infection for patients with SLE starting glucocorticoids with or "
           "without antimalarials, J Rheumatol 2016", _infection_ratio, 1.8, 5, ""),
    Target("hydroxychloroquine", "83–93% within a year of diagnosis", "Eviatar et al., Lupus Sci Med 2024", _hcq,
           0.75, 0.88),
    Target("SLEDAI-2K not recorded", "17.1% disease activity missing",
           "COVID-19 Global Rheumatology Alliance SLE cohort, Table 1 (PMC8882632); site mix an assumption",
           _missing("sledai_2k"), 0.08, 0.20),
    Target("BILAG not recorded at the two sites that do not score it", "most", "assumption",
           _bilag_missing_at_nonscoring_sites, 0.80, 1),
    Target("race/ethnicity not recorded", "9.4%", "COVID-19 Global Rheumatology Alliance SLE cohort (PMC8882632)",
           _missing("race_ethnicity"), 0.04, 0.11),
) + FIELD_TARGETS


def calibration_table(extract: Extract) -> pd.DataFrame:
    """Every target measured on ``extract``: value, tolerance and whether it is met (visits' targets with visits)."""
    from screening.synth.calibration_visits import VISIT_TARGETS

    rows = []
    for t in TARGETS + (VISIT_TARGETS if extract.visits is not None else ()):
        value = t.measure(extract)
        rows.append({"quantity": t.quantity, "target": t.figure, "tolerance": t.tolerance(), "source": t.source,
                     "value": t.shown(value), "met": bool(t.lo - 1e-9 <= value <= t.hi + 1e-9)})
    return pd.DataFrame(rows)


def calibration_markdown(extract: Extract) -> str:
    """The calibration table as Markdown, as it stands in ``data/README.md``."""
    table = calibration_table(extract)
    lines = ["| quantity | target | tolerance | source | synthetic value |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.quantity} | {r.target} | {r.tolerance} | {r.source} | {r.value} |" for r in table.itertuples()]
    return "\n".join(lines) + "\n"
