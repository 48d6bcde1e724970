"""A seeded synthetic SLE registry whose fields relate the way patients' do.

Each patient is drawn along a small causal chain, every stage vectorised over
all patients at once:

1. demographics: site, sex, race/ethnicity, age at diagnosis and disease duration
   (so age, the diagnosis date and the baseline date agree);
2. organ history: which ACR manifestations were ever present, lupus nephritis
   (more frequent in Black, Asian and Hispanic, male and young-onset patients),
   its onset after diagnosis, end-stage renal disease;
3. current activity: a latent activity level per patient sets BILAG-2004 grades
   (only an organ ever involved can be graded A–D; never involved is E), serology,
   and the SLEDAI-2K total is summed from the items those grades and labs imply;
4. labs: sex- and age-specific haemoglobin, counts tied to haematological
   activity, eGFR falling with age and with nephritis, dialysis;
5. treatment: steroid use and dose follow activity, immunosuppressants follow
   nephritis and activity, no teratogenic drug in pregnancy, contraception with
   teratogenic drugs; every course starts after diagnosis;
6. events: infections more frequent under immunosuppression and steroids,
   malignancies after diagnosis and in adulthood;
7. missingness by site and by field;
8. the optional SLE fields (PGA, C3/C4, antiphospholipid antibodies, kidney biopsy, neutrophils,
   creatinine, TB status), from a random stream of their own so the fields above stay as they were.

The figures, their sources and the generator's values are listed in
``data/README.md`` (section "Calibration"), printed by
``python -m screening synth --calibration`` (:mod:`screening.synth.calibration`).

The stages live in :mod:`screening.synth.disease` (1-4), :mod:`screening.synth.treatment` (5),
:mod:`screening.synth.events` (6), :mod:`screening.synth.patients_table` (7) and
:mod:`screening.synth.sle_fields` (8);
:mod:`screening.synth.writer` writes the tables as files.

Example
-------
>>> from screening.synth.synthetic import generate
>>> tables = generate(200, seed=1)
>>> sorted(tables)
['infections', 'malignancies', 'medications', 'patients']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.schema import TABLES
from screening.synth.disease import activity, blood_and_kidney, demographics, organ_history, sledai
from screening.synth.draws import DEFAULT_PATIENTS, DEFAULT_SEED
from screening.synth.events import infections, malignancies
from screening.synth.patients_table import patients_table
from screening.synth.sle_fields import field_stream, sle_fields
from screening.synth.treatment import TERATOGENIC, fertility, liver, medications
from screening.synth.writer import write_extract

__all__ = ["generate", "write_extract", "DEFAULT_SEED", "DEFAULT_PATIENTS", "TERATOGENIC"]


def generate(n: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, history: float = 4.0,
             visits: bool = False, visit_years: float = 4.0) -> dict[str, pd.DataFrame]:
    """Generate the four extract tables for ``n`` patients (and a visits table with ``visits``).

    The visits come from a random stream of their own (:mod:`screening.synth.visits`): without
    ``visits`` the four tables are exactly what they were before visits existed. Each patient is
    followed for up to ``visit_years`` before baseline. With visits, the patients, malignancies and
    infections tables are the same, and the medication table changes: the glucocorticoid courses
    that new flares at the visits started replace those that ended before the baseline and began
    within the follow-up (:mod:`screening.synth.visit_treatment`); the ongoing ones stay.

    ``history`` is the mean number of past prednisone courses per patient (more for
    longer disease); it sets the size of the medication table (about 6 rows per
    patient at 4.0, 10 at 7.7).

    Example
    -------
    >>> t = generate(50, seed=3)
    >>> len(t["patients"]), t["patients"]["patient_id"].is_unique
    (50, True)
    """
    rng = np.random.default_rng(seed)
    p = demographics(rng, n)
    organ_history(rng, p)
    activity(rng, p)
    blood_and_kidney(rng, p)
    sledai(rng, p)
    fertility(rng, p)
    meds = medications(rng, p, history)
    liver(rng, p)
    patients = patients_table(rng, p)
    tables = {
        "patients": patients,
        "medications": meds,
        "malignancies": malignancies(rng, p),
        "infections": infections(rng, p, meds),
    }
    sle_fields(field_stream(seed), p, patients)
    # Registry values are "at baseline": the optional lab dates are not generated.
    out = {name: table[[f.name for f in TABLES[name] if f.name in table.columns or not f.optional]]
           for name, table in tables.items()}
    if visits:
        from screening.synth.visit_treatment import with_flare_courses
        from screening.synth.visits import visits_table

        out["visits"], courses = visits_table(seed, out["patients"], p["diagnosis"], visit_years)
        out["medications"] = with_flare_courses(out["medications"], courses, out["visits"], out["patients"])
    return out
