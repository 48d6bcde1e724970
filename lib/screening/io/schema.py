"""The extract's data dictionary, declared as data.

Each table is a list of :class:`Field`. The loader parses and checks an extract
against these declarations; ``data/README.md`` documents the same fields (a test
keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

__all__ = ["Field", "TABLES", "OPTIONAL_TABLES", "BILAG_DOMAINS", "DATED", "EVENT_DATES", "DOSE_UNITS",
           "DRUG_CLASSES", "LAB_DATES", "VISIT_FIELDS", "dtype_of", "fields_of"]

BILAG_DOMAINS = (
    "constitutional",
    "mucocutaneous",
    "neuropsychiatric",
    "musculoskeletal",
    "cardiorespiratory",
    "gastrointestinal",
    "ophthalmic",
    "renal",
    "haematological",
)
BILAG_GRADES = ("A", "B", "C", "D", "E")
SEXES = ("F", "M")
RACE_ETHNICITY = ("White", "Black", "Hispanic", "Asian", "Other")
NEPHRITIS_STATUS = ("never", "active", "remission")
CHEST_XRAY = ("normal", "tb_or_fungal", "other_abnormal")
#: ISN/RPS 2003 lupus nephritis classes, with class IV unspecified when a report omits segmental (S) or global
#: (G) and the mixed classes III/IV with V (Weening et al., J Am Soc Nephrol 2004;15:241-250).
BIOPSY_CLASSES = ("I", "II", "III", "IV", "IV-S", "IV-G", "V", "VI", "III+V", "IV+V", "IV-S+V", "IV-G+V")
#: Tuberculosis at screening: a negative test, latent infection (a positive IGRA or skin test without active
#: disease) or active tuberculosis.
TB_STATUS = ("negative", "latent", "active")
DRUG_CLASSES = ("glucocorticoid", "immunosuppressant", "antimalarial", "biologic")
#: Daily doses are mg/day; single administrations (infusions, pulses) are mg.
DOSE_UNITS = ("mg/day", "mg")
MALIGNANCY_TYPES = (
    "basal_cell_skin",
    "squamous_cell_skin",
    "cervical_carcinoma_in_situ",
    "melanoma",
    "breast",
    "lymphoma",
    "lung",
    "colorectal",
    "cervical_invasive",
    "other",
)
INFECTION_TYPES = ("herpes_zoster", "serious_infection")

#: The spellings a boolean cell may take, compared in lower case; anything else is an error.
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")

#: Lab values (and the weight) -> the optional column dating them (the AST/ALT date covers its ULN too).
LAB_DATES = {"weight_kg": "weight_date", "egfr": "egfr_date", "proteinuria_g_per_g": "proteinuria_date",
             "wbc": "wbc_date", "haemoglobin": "haemoglobin_date", "platelets": "platelets_date",
             "ast": "ast_date", "alt": "alt_date", "c3": "c3_date", "c4": "c4_date",
             "neutrophils": "neutrophils_date", "creatinine": "creatinine_date"}

#: A date in the patients row -> the values it dates: at a visit before that date they were not yet known.
DATED = {"ana_date": ("ana_titre",), "anti_dsdna_date": ("anti_dsdna_positive",),
         "anti_sm_date": ("anti_sm_positive",), "antiphospholipid_date": ("antiphospholipid_positive",),
         "renal_biopsy_date": ("renal_biopsy_class",), "nephritis_onset_date": ()} | \
    {date: (value, f"{value}_uln") if value in ("ast", "alt", "creatinine") else (value,)
     for value, date in LAB_DATES.items()}
#: Each event table's date: an event known to start after a visit had not happened at it.
EVENT_DATES = {"medications": "start_date", "malignancies": "diagnosis_date", "infections": "onset_date"}

#: Age is top-coded for de-identification: 90 stands for "90 or over".
AGE_TOP_CODE = 90


@dataclass(frozen=True)
class Field:
    """One column of an extract table.

    ``kind`` is one of ``id``, ``str`` (free text, held as a categorical with the
    values found), ``category`` (a fixed list of allowed values), ``int``,
    ``float``, ``bool``, ``date``. ``required`` columns may not be missing in any row;
    every other column may be empty, and empty means "not recorded". An ``optional``
    column may also be absent from the file: it is then read as not recorded. Any other column
    left out of a file is read the same way, blank in every row, unless ``blank_means`` gives a
    blank a meaning of its own (a blank ``stop_date`` is an ongoing course): a column left out
    then cannot stand for blanks, and the criteria that read it are not assessable.
    """

    name: str
    kind: str
    description: str
    unit: str = ""
    allowed: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    required: bool = False
    optional: bool = False
    #: the column in the same row that this date may not come after
    not_after: str | None = None
    #: the column in the same row that this date may not come before
    not_before: str | None = None
    #: what a blank value says, when not "not recorded"
    blank_means: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def expected(self) -> str:
        """Plain-language description of a valid value, for error messages."""
        if self.kind == "date":
            return "a date written YYYY-MM-DD"
        if self.kind == "bool":
            return "true or false (also accepted: 1/0, yes/no)"
        if self.allowed:
            return "one of " + ", ".join(self.allowed)
        if self.kind in ("int", "float"):
            word = "a whole number" if self.kind == "int" else "a number"
            if self.min is not None and self.max is not None:
                return f"{word} from {self.min:g} to {self.max:g}"
            if self.min is not None:
                return f"{word} of at least {self.min:g}"
            return word
        return "text"


def _patients() -> list[Field]:
    f = Field
    rows = [
        f("patient_id", "id", "Pseudonymous patient identifier, unique in the extract.", required=True),
        f("site", "str", "Registry site code (a single-site registry may leave it out)."),
        f("sex", "category", "Sex recorded at baseline.", allowed=SEXES),
        f("age_years", "int", "Age at the baseline visit; 90 means 90 or over (top-coded).", "years",
          min=0, max=AGE_TOP_CODE),
        f("race_ethnicity", "category", "Self-reported race/ethnicity group.", allowed=RACE_ETHNICITY),
        f("weight_kg", "float", "Body weight recorded nearest to baseline.", "kg", min=20, max=350),
        f("baseline_date", "date", "The baseline (index) visit; every look-back window counts back from it."),
        f("sle_diagnosis_date", "date", "Date SLE was diagnosed. May be absent from the file.",
          not_after="baseline_date", optional=True),
        f("acr_criteria_count", "int", "Number of the 11 ACR 1997 classification criteria ever met.",
          min=0, max=11),
        f("slicc_classified", "bool", "Meets the SLICC 2012 classification criteria."),
        f("ana_titre", "int", "Latest ANA titre as the denominator (80 means 1:80; 0 means negative).",
          min=0, max=100000),
        f("ana_date", "date", "Date of the latest ANA test.", not_after="baseline_date"),
        f("anti_dsdna_positive", "bool", "Latest anti-dsDNA result positive."),
        f("anti_dsdna_date", "date", "Date of the latest anti-dsDNA test.", not_after="baseline_date"),
        f("anti_sm_positive", "bool", "Latest anti-Sm result positive."),
        f("anti_sm_date", "date", "Date of the latest anti-Sm test.", not_after="baseline_date"),
        f("sledai_2k", "int", "SLEDAI-2K total at screening.", "points", min=0, max=105),
    ]
    rows += [
        f(f"bilag_{d}", "category", f"BILAG-2004 {d} domain grade at screening.", allowed=BILAG_GRADES)
        for d in BILAG_DOMAINS
    ]
    rows += [
        f("cns_lupus_active", "bool", "Active neuropsychiatric (CNS) lupus affecting mental status."),
        f("lupus_nephritis", "category", "Lupus nephritis status at baseline.", allowed=NEPHRITIS_STATUS),
        f("nephritis_onset_date", "date", "Start of the current nephritis episode.", not_after="baseline_date"),
        f("egfr", "float", "Estimated GFR nearest to baseline.", "mL/min/1.73 m²", min=0, max=200),
        f("proteinuria_g_per_g", "float", "Urine protein-to-creatinine ratio nearest to baseline.", "g/g",
          min=0, max=30),
        f("dialysis", "bool", "On dialysis at baseline."),
        f("wbc", "float", "White-cell count.", "×10³/mm³", min=0, max=200),
        f("haemoglobin", "float", "Haemoglobin.", "g/dL", min=0, max=25),
        f("platelets", "float", "Platelet count.", "/mm³", min=0, max=2_000_000),
        f("ast", "float", "Aspartate aminotransferase.", "U/L", min=0, max=20000),
        f("ast_uln", "float", "Laboratory upper limit of normal for AST.", "U/L", min=1, max=500),
        f("alt", "float", "Alanine aminotransferase.", "U/L", min=0, max=20000),
        f("alt_uln", "float", "Laboratory upper limit of normal for ALT.", "U/L", min=1, max=500),
        f("hiv_positive", "bool", "Positive HIV test."),
        f("hepatitis_b_positive", "bool", "Positive hepatitis B test (HBsAg or core antibody with DNA)."),
        f("hepatitis_c_positive", "bool", "Positive hepatitis C test (antibody with RNA)."),
        f("tb_positive", "bool", "Positive tuberculosis test (IGRA or tuberculin skin test)."),
        f("chest_xray", "category", "Latest chest X-ray finding.", allowed=CHEST_XRAY),
        f("pregnant", "bool", "Pregnant at baseline."),
        f("breastfeeding", "bool", "Breastfeeding at baseline."),
        f("childbearing_potential", "bool", "A woman of child-bearing potential."),
        f("contraception", "bool", "Using effective contraception."),
        f("organ_transplant", "bool", "History of a major organ transplant (kidney, liver, heart, lung)."),
        f("unstable_condition", "bool", "Registry flag for an unstable or clinically significant condition."),
    ]
    # Fields SLE trials read that many registries hold, optional (an extract without them loads as before).
    # PGA: the 0-3 visual analogue scale of SELENA-SLEDAI (Petri et al., N Engl J Med 2005;353:2550-2558).
    rows += [f(*spec, **limits, optional=True) for *spec, limits in [
        ("physician_global", "float", "Physician global assessment (PGA) at screening, 0 (none) to 3 (severe).",
         "0-3 VAS", {"min": 0, "max": 3}),
        ("c3", "float", "Complement C3 nearest to baseline. May be absent from the file.", "mg/dL",
         {"min": 0, "max": 1000}),
        ("c4", "float", "Complement C4 nearest to baseline. May be absent from the file.", "mg/dL",
         {"min": 0, "max": 500}),
        ("antiphospholipid_positive", "bool", "Latest antiphospholipid antibody result positive (lupus "
         "anticoagulant, anticardiolipin or anti-β2-glycoprotein I). May be absent from the file.", "", {}),
        ("antiphospholipid_date", "date", "Date of the latest antiphospholipid antibody test. May be absent "
         "from the file.", "", {"not_after": "baseline_date"}),
        ("renal_biopsy_class", "category", "ISN/RPS 2003 class of the latest kidney biopsy (IV when S or G is "
         "not stated). May be absent from the file.", "", {"allowed": BIOPSY_CLASSES}),
        ("renal_biopsy_date", "date", "Date of the latest kidney biopsy. May be absent from the file.", "",
         {"not_after": "baseline_date"}),
        ("neutrophils", "float", "Absolute neutrophil count. May be absent from the file.", "×10³/mm³",
         {"min": 0, "max": 200}),
        ("creatinine", "float", "Serum creatinine nearest to baseline. May be absent from the file.", "mg/dL",
         {"min": 0, "max": 30}),
        ("creatinine_uln", "float", "Laboratory upper limit of normal for serum creatinine. May be absent from "
         "the file.", "mg/dL", {"min": 0.1, "max": 10}),
        ("tb_status", "category", "Tuberculosis at screening: negative test, latent (positive IGRA or skin test "
         "without active disease) or active. May be absent from the file.", "", {"allowed": TB_STATUS}),
        ("latent_tb_treated", "bool", "Latent tuberculosis treatment started or completed. May be absent from "
         "the file.", "", {}),
    ]]
    # When each lab value and the weight were measured: optional, so a registry that records values "at
    # baseline" leaves them out; an EHR source fills them, and a protocol's recency limit then applies.
    rows += [f(date, "date", f"Date {name} was measured. May be absent from the file.", not_after="baseline_date",
               optional=True, extra={"dates": name})
             for name, date in LAB_DATES.items()]
    return rows


def _medications() -> list[Field]:
    f = Field
    return [
        f("patient_id", "id", "Patient the row belongs to.", required=True),
        f("drug", "str", "Ingredient (e.g. prednisone, mycophenolate, belimumab); brand names, case and "
          "spacing are read through the vocabulary.", required=True),
        f("drug_class", "category", "Therapeutic class used by the criteria.", allowed=DRUG_CLASSES,
          required=True),
        f("start_date", "date", "First day of this course, dose segment or administration."),
        f("stop_date", "date", "Last day; empty means ongoing at extraction. Equal to start for a single "
          "administration.", not_before="start_date", blank_means="ongoing at extraction"),
        f("dose", "float", "Dose of the segment.", "see dose_unit", min=0, max=100000),
        f("dose_unit", "category", "mg/day for daily doses, mg for a single administration.",
          allowed=DOSE_UNITS),
    ]


def _malignancies() -> list[Field]:
    f = Field
    return [
        f("patient_id", "id", "Patient the row belongs to.", required=True),
        f("malignancy_type", "category", "Type of malignancy.", allowed=MALIGNANCY_TYPES, required=True),
        f("diagnosis_date", "date", "Date of diagnosis."),
    ]


def _infections() -> list[Field]:
    f = Field
    return [
        f("patient_id", "id", "Patient the row belongs to.", required=True),
        f("infection_type", "category", "herpes_zoster, or serious_infection (needing hospital or IV/IM "
          "antibiotics).", allowed=INFECTION_TYPES, required=True),
        f("onset_date", "date", "Onset of the infection."),
    ]


#: Table name -> fields. Every table is one file: ``<name>.csv`` or ``<name>.parquet``.
TABLES: dict[str, list[Field]] = {
    "patients": _patients(),
    "medications": _medications(),
    "malignancies": _malignancies(),
    "infections": _infections(),
}

#: The patients table's fields that change from visit to visit: disease activity, labs, weight, pregnancy.
#: A visits table may hold any of them; the rest of a patient's row (demographics, history, serology with its
#: own dates) is read from the patients table at every visit.
VISIT_FIELDS = ("age_years", "weight_kg", "sledai_2k", *(f"bilag_{d}" for d in BILAG_DOMAINS), "physician_global",
                "cns_lupus_active", "lupus_nephritis", "egfr", "proteinuria_g_per_g", "dialysis", "wbc",
                "haemoglobin", "platelets", "neutrophils", "ast", "ast_uln", "alt", "alt_uln", "creatinine",
                "creatinine_uln", "c3", "c4", "pregnant", "breastfeeding", "contraception", "unstable_condition",
                # what an EHR source reads anew at each index date: serology with its date, a lab's own date
                # (taken on or before the visit), and conditions recorded by then
                "ana_titre", "ana_date", "anti_dsdna_positive", "anti_dsdna_date", *LAB_DATES.values(),
                "hiv_positive", "hepatitis_b_positive", "hepatitis_c_positive", "tb_positive", "organ_transplant")


def _visits() -> list[Field]:
    """One row per patient-visit: the visit's date and the per-visit fields recorded at it."""
    by_name = {f.name: f for f in TABLES["patients"]}
    return [Field("patient_id", "id", "Patient the visit belongs to.", required=True),
            Field("visit_date", "date", "Date of the visit. Not before the patient's `sle_diagnosis_date`, not "
                  "after their `baseline_date` (the patients row is the latest visit), once per patient and date.",
                  required=True)] + \
        [replace(by_name[name], optional=True, not_after="visit_date" if by_name[name].kind == "date" else None,
                 description=_VISIT_TEXT.get(name) or by_name[name].description
                 .replace(" May be absent from the file.", "")
                 .replace("the baseline visit", "the visit").replace("baseline", "the visit")
                 .replace("at screening", "at the visit"))
         for name in VISIT_FIELDS]


#: How a visits table's dated fields read (an EHR source writes them; a registry may leave them out).
_VISIT_TEXT = {"ana_titre": "Latest ANA titre by the visit (80 means 1:80; 0 means negative).",
               "ana_date": "Date of the latest ANA test by the visit. Not after `visit_date`.",
               "anti_dsdna_positive": "Latest anti-dsDNA result by the visit positive.",
               "anti_dsdna_date": "Date of the latest anti-dsDNA test by the visit. Not after `visit_date`."} | {
    date: f"Date the visit's `{value}` was measured, not after `visit_date`; left blank (or out), the value was "
          "measured at the visit. A protocol's recency limit counts back from the visit."
    for value, date in LAB_DATES.items()}


#: Tables an extract may hold or leave out altogether; without them everything reads as before.
OPTIONAL_TABLES: dict[str, list[Field]] = {"visits": _visits()}

#: pandas dtype each kind becomes after loading. Nullable types keep "missing"
#: distinct from any value, which three-valued screening relies on.
KIND_DTYPES = {
    "id": "string",
    "str": "category",
    "category": "category",
    "int": "Int32",
    "float": "Float64",
    "bool": "boolean",
    "date": "datetime64[s]",
}


def fields_of(table: str, columns: list[str] | None = None) -> list[Field]:
    """The dictionary's fields of ``table``, only those in ``columns`` when given, in dictionary order."""
    fields = TABLES[table] if table in TABLES else OPTIONAL_TABLES[table]
    return fields if columns is None else [f for f in fields if f.name in columns]


def dtype_of(f: Field):
    """The pandas dtype of a loaded column."""
    if f.kind == "category":
        return pd.CategoricalDtype(list(f.allowed))
    return KIND_DTYPES[f.kind]
