"""The synthetic registry's event tables, stage 6: malignancies and infections before baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.synth.draws import day_between, proportions

__all__ = ["infections", "malignancies"]


def malignancies(rng, p: dict) -> pd.DataFrame:
    n = p["n"]
    risk = (0.01 + 0.0008 * np.maximum(p["age"] - 40, 0) + 0.0004 * np.minimum(p["duration"], 20)
            + 0.01 * p["ever_cyc"])
    who = np.flatnonzero(rng.random(n) < risk)
    lo = np.maximum(p["diagnosis"][who], p["adult_from"][who])
    keep = lo < p["baseline"][who]  # a malignancy after diagnosis and in adulthood only
    who, lo = who[keep], lo[keep]
    k = len(who)
    kind = np.asarray(["basal_cell_skin", "squamous_cell_skin", "cervical_carcinoma_in_situ", "melanoma", "breast",
                       "lymphoma", "lung", "colorectal", "cervical_invasive", "other"], dtype=object)
    kind = kind[rng.choice(len(kind), size=k, p=proportions([28, 12, 18, 3, 13, 7, 4, 5, 3, 7]))]
    date = pd.array(day_between(rng, lo, p["baseline"][who] - np.timedelta64(1, "D")).astype("datetime64[s]"))
    date[rng.random(k) < 0.03] = pd.NaT
    return pd.DataFrame({"patient_id": p["id"][who], "malignancy_type": kind, "diagnosis_date": date})



def infections(rng, p: dict, meds: pd.DataFrame) -> pd.DataFrame:
    """Infections in the two years before baseline, more on immunosuppressants and steroids ≥ 7.5 mg/day."""
    n = p["n"]
    exposure = (1 + 1.5 * p["on_is"]) * (1 + 1.5 * (p["gc_dose"] >= 7.5)) * (1 + 0.5 * (p["age"] >= 60))
    blocks = []
    for kind, rate in (("herpes_zoster", 0.012), ("serious_infection", 0.02)):
        who = np.repeat(np.arange(n), rng.poisson(2 * rate * exposure))
        date = day_between(rng, np.maximum(p["baseline"][who] - np.timedelta64(730, "D"), p["diagnosis"][who]),
                        p["baseline"][who])
        date = pd.array(date.astype("datetime64[s]"))
        date[rng.random(len(who)) < 0.02] = pd.NaT
        blocks.append(pd.DataFrame({"patient_id": p["id"][who], "infection_type": kind, "onset_date": date}))
    return pd.concat(blocks, ignore_index=True).sort_values(["patient_id", "infection_type", "onset_date"],
                                                           ignore_index=True)

