"""Three-valued screening is sound: missing data never decide an answer, and never hide one.

For every registered rule, on extracts with many missing values:

* a definite answer (met / not met) holds for every admissible completion of the
  missing values (``tests/completion.py``): no completion flips it;
* an unknown answer is justified: among the completions tried, some meet the
  rule and some do not (checked for patients with a baseline date).

Completions are drawn to land on window edges and thresholds, so a handful of
them find both answers wherever both exist; more are drawn while an unknown has
not yet been shown to go both ways.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from completion import blank, complete, stack
from screening import load_extract, load_protocol
from screening.rules.criteria import RULES
from screening.rules.protocol import Criterion, shipped_protocols
from screening.synth.synthetic import generate, write_extract

#: (rule, parameters): every criterion of the shipped protocols, plus variants that move windows.
CASES = sorted({(c.rule, repr(c.params)): (c.rule, c.params)
                for name in shipped_protocols() for c in load_protocol(name).criteria}.values(),
               key=repr)
CASES += [
    ("drug_exposure", {**RULES["drug_exposure"].defaults, "drugs": ["belimumab"], "months": 12}),
    ("regimen_change", {**RULES["regimen_change"].defaults, "months": 12}),
    ("nephritis_therapy", {**RULES["nephritis_therapy"].defaults, "total_months": 3}),
    ("glucocorticoid_dose", {**RULES["glucocorticoid_dose"].defaults, "max_mg_per_kg": 0.2, "months": 3}),
    ("malignancy", {**RULES["malignancy"].defaults, "lookback_years": 1}),
    ("history_except", RULES["history_except"].defaults),
    ("column", {"column": "age_years", "op": ">=", "value": 50}),
    ("lab_vs_uln", RULES["lab_vs_uln"].defaults),
    ("tb_history", RULES["tb_history"].defaults),
    ("tb_history", {**RULES["tb_history"].defaults, "unless_treated": False}),
    ("bilag_count", RULES["bilag_count"].defaults),
    ("autoantibody_any", RULES["autoantibody_any"].defaults),
    ("autoantibody_any", {**RULES["autoantibody_any"].defaults, "antibodies": ["ana", "anti_sm"],
                          "anti_sm_months": None, "ana_months": 24}),
    ("renal_severity", {"upcr_min": 3.0, "egfr_below": 30, "dialysis": True, "within_months": 12}),
    ("renal_biopsy", {"classes": ["III", "IV-G", "V", "IV-S+V"], "months": 24, "upcr_min": 1.5,
                      "within_months": None}),
    ("disease_duration", RULES["disease_duration"].defaults),
    ("disease_duration", {"min_weeks": 520}),
    ("dose_cap", {"caps": ["prednisone_equivalent 10 mg/day", "mycophenolic_acid 1.44 g/day",
                           "methotrexate 15 mg/week", "azathioprine 100 mg/day"]}),
    ("washout", {**RULES["washout"].defaults, "classes": ["biologic"]}),
    ("washout", {**RULES["washout"].defaults, "drugs": ["belimumab", "cyclophosphamide"], "half_lives": 10,
                 "fixed_days": 365}),
    ("on_drug_stable", {"drugs": ["azathioprine", "mycophenolate", "hydroxychloroquine", "prednisone"],
                        "min_weeks": 12, "stable_weeks": 8}),
    ("standard_therapy", {"drugs": ["azathioprine", "hydroxychloroquine", "mycophenolate", "methotrexate"],
                          "min_weeks": 12, "stable_weeks": 8, "glucocorticoid_min_weeks": 2,
                          "glucocorticoid_stable_weeks": 2,
                          "caps": ["prednisone_equivalent 10 mg/day", "azathioprine 100 mg/day",
                                   "mycophenolate 2 g/day", "methotrexate 25 mg/week"]}),
]
#: Rules whose unknown is their meaning, not a gap in the data.
ALWAYS_UNKNOWN = {"screening_visit"}
_EXTRACTS: dict = {}
TRIES, MAX_TRIES = 10, 160
#: completions screened together, stacked as one extract (``completion.stack``): a tenth of the rules' passes
BATCH = 10


def _extract(seed: int, tmp_root):
    if seed not in _EXTRACTS:
        _EXTRACTS[seed] = load_extract(write_extract(generate(120, seed), tmp_root / f"sound{seed}"))
    return _EXTRACTS[seed]


def test_every_rule_has_a_soundness_case():
    assert {name for name, _ in CASES} == set(RULES)


#: (seed, share, draw): the eight examples ``derandomize`` drew from this test's source before its completions
#: were batched, kept as they were (left to the source's digest, any edit would draw another eight), and one that
#: found stable use left unknown where every completion fails: a row of unknown start at another known dose than
#: the sure row in the stable weeks (extract seed 3; see tests/spec/test_on_drug_stable.py); and one where only a
#: missing dose equal to the drug's *last* other dose qualifies, which completions once never drew (seed 0).
EXAMPLES = [(0, 0.05, 0), (1, 0.2, 5429), (2, 0.2, 12739), (0, 0.2, 156962), (0, 0.05, 127487208), (0, 0.05, 609),
            (2, 0.5, 9543845), (1, 0.5, 221), (3, 0.2, 152428), (0, 0.05, 118956382)]
SETTINGS = settings(max_examples=len(EXAMPLES), deadline=None, derandomize=True, phases=[Phase.explicit],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ALL_PARAMS = {f"{i}.{k}": v for i, (_, params) in enumerate(CASES) for k, v in params.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _reads_present(ex, rule: str, params: dict) -> bool:
    wanted = Criterion("c", "c", "inclusion", rule, params).columns()
    return all(col in ex.table(table) or table != "patients" for table, cols in wanted.items() for col in cols)


def _state(answer: pd.arrays.BooleanArray) -> np.ndarray:
    return np.asarray(answer.astype("Int8").fillna(-1), dtype=np.int8)


def _examples(test):
    for seed, share, draw in reversed(EXAMPLES):
        test = example(seed=seed, share=share, draw=draw)(test)
    return test


@SETTINGS
@given(seed=st.integers(0, 3), share=st.sampled_from([0.05, 0.2, 0.5]), draw=st.integers(0, 2**32 - 1))
@_examples
def test_missing_values_never_decide_or_hide_an_answer(tmp_path_factory, seed, share, draw):
    rng = np.random.default_rng(draw)
    ex = blank(_extract(seed, tmp_path_factory.getbasetemp()), rng, share)
    ids = ex.patients.index
    # Without a baseline, window rules answer unknown for any event a window could hold; they do
    # not reason about how late the baseline could be, so those unknowns are not checked.
    dated = ex.patients["baseline_date"].notna().to_numpy().copy()
    # An unrecognised drug name counts as each drug it might be at once (nephritis therapy takes one
    # such row as both induction and maintenance): sound, but its unknowns are not checked either.
    unnamed = np.zeros(len(ex.patients), dtype=bool)
    unnamed[ex.patient_rows("medications")[ex.medications["drug"].isna().to_numpy()]] = True
    dated &= ~unnamed
    said = np.stack([_state(RULES[rule](ex, **params)) for rule, params in CASES])
    # A rule reading a column this extract lacks (an EHR-only field) is unknown by absence, not by gaps.
    checked = np.array([rule not in ALWAYS_UNKNOWN and _reads_present(ex, rule, params)
                        for rule, params in CASES])[:, None]
    seen_met, seen_not = np.zeros_like(said, dtype=bool), np.zeros_like(said, dtype=bool)
    rows, n = np.arange(len(CASES)), len(ids)
    # Completions are screened BATCH at a time, stacked as one extract (each answered as on its own).
    for tried in range(BATCH, MAX_TRIES + 1, BATCH):
        done = stack([complete(ex, rng, ALL_PARAMS) for _ in range(BATCH)])
        got = np.full((len(CASES), BATCH, n), -1, dtype=np.int8)
        got[rows] = np.stack([_state(RULES[CASES[i][0]](done, **CASES[i][1])) for i in rows]).reshape(-1, BATCH, n)
        flipped = ((said[:, None] >= 0) & (got >= 0) & (got != said[:, None])).any(axis=1)
        for i in np.flatnonzero(flipped.any(axis=1)):
            rule, params = CASES[i]
            raise AssertionError(f"{rule} {params}: a completion flips the definite answer of "
                                 f"{list(ids[flipped[i]])}")
        seen_met |= (got == 1).any(axis=1)
        seen_not |= (got == 0).any(axis=1)
        # Keep completing while some unknown has not yet been shown to go both ways.
        open_ = (said < 0) & ~(seen_met & seen_not) & checked & dated
        if tried >= TRIES:
            if not open_.any():
                return
            # Every case has met TRIES completions without a flip; the extra ones serve the open unknowns.
            rows = np.flatnonzero(open_.any(axis=1))
    for i in np.flatnonzero(open_.any(axis=1)):
        rule, params = CASES[i]
        raise AssertionError(f"{rule} {params}: unknown, yet {MAX_TRIES} completions all agree, for "
                             f"{list(ids[open_[i]])}")


def test_a_mans_blank_pregnancy_record_is_settled_by_every_completion(tmp_path_factory):
    """Targeted case: every completion makes a man not pregnant, so the sex-aware rule may say so."""
    ex = _extract(0, tmp_path_factory.getbasetemp())
    men = (ex.patients["sex"] == "M").fillna(False).to_numpy()
    blanked = ex.patients.assign(pregnant=ex.patients["pregnant"].mask(men))
    ex = replace(ex, patients=blanked, _rows=dict(ex._rows))
    assert men.any()
    said = _state(RULES["pregnancy_recorded"](ex))
    assert (said[men] == 0).all()
    assert (_state(RULES["column"](ex, column="pregnant", op="is", value=True))[men] == -1).all()
    rng = np.random.default_rng(0)
    for _ in range(8):
        assert (_state(RULES["pregnancy_recorded"](complete(ex, rng, {})))[men] == 0).all()
