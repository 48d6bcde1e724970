"""The best relaxations: one to three criteria dropped or loosened, against what they do to the pool.

A *change* drops a criterion or loosens one of its thresholds to a value of the
sweep grid (:meth:`~screening.engine.funnel.Screening.sweepable`; a value counts
as a loosening only when it admits everyone the protocol's value admits). A
relaxation is one to three changes to different criteria. For each, exactly:

* the pool: ``eligible`` (definite) and ``eligible_max`` (the not-assessable
  patients too), and the ``gain`` over the shipped protocol's pool;
* the make-up: for sex, race/ethnicity, age band and disease activity (SLEDAI-2K
  band), the largest standardised difference (SMD, Austin 2009; see
  :mod:`screening.engine.composition`) between a group's share of the relaxed pool
  and of the shipped pool (``smd_<characteristic>``, ``smd_max`` over all four);
* clinical risk: the share of the pool carrying each flag the registry holds
  (:data:`RISK_FLAGS`), its change in percentage points, and the largest SMD
  (``risk_smd_max``).

Which relaxations are tried: every single change; for two and three changes,
the criterion sets whose dropping gains the most (the exact subset table,
:mod:`screening.engine.relaxations`, ``sets`` of each size), each with every
combination of its criteria's changes. Relaxing only adds patients, so a
relaxed pool is the shipped pool plus those gained; only patients whose failed
and unknown criteria all lie in the set are looked at.

The frontier marks the relaxations gaining patients that no other beats on both
axes (at least as many gained for no larger shift, better on one), and the
shipped protocol: ``frontier_makeup`` against ``smd_max``, ``frontier_risk``
against ``risk_smd_max``.

Example
-------
>>> from screening import load_extract, screen
>>> f = screen(load_extract("data/synthetic")).frontier()
>>> f.loc[0, "changes"], int(f.loc[0, "gain"]), bool(f["gain"].max() > 0)
('as shipped', 0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from screening.engine.composition import smd
from screening.engine.counts import FAIL, PASS, UNKNOWN
from screening.engine.groups import AGE_BINS, CLINICAL_BANDS

__all__ = ["Change", "changes_of", "frontier", "best_relaxations", "risk_flags", "looser", "MAKEUP", "RISK_FLAGS"]

#: Characteristics whose make-up a relaxation is judged by: column → bands (None: the column's own values).
MAKEUP = {"sex": None, "race_ethnicity": None, "age_years": AGE_BINS, "sledai_2k": CLINICAL_BANDS["sledai_2k"]}

#: Clinical risk flags read from the registry: name → (rule, parameters, meaning).
RISK_FLAGS = {
    # KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1-150): eGFR below 60 is stage G3a or worse.
    "egfr_below_60": ("lab_value", {"column": "egfr", "op": "<", "value": 60, "within_months": 12},
                      "eGFR < 60 mL/min/1.73 m² (CKD G3a or worse)"),
    # A serious infection or zoster within a year before baseline.
    "infection_past_year": ("recent_infection", {"herpes_zoster_days": 365, "serious_infection_days": 365},
                            "zoster or serious infection within 12 months"),
    # EULAR 2019 SLE recommendations (Fanouriakis et al., Ann Rheum Dis 2019;78:736-45): keep maintenance
    # glucocorticoids at or below 7.5 mg/day prednisone equivalent; 0.125 mg/kg/day is 7.5 mg/day at 60 kg.
    "glucocorticoid_above_7_5mg": ("glucocorticoid_dose", {"max_mg_per_kg": 0.125, "months": 1,
                                                            "weight_months": 12},
                                   "prednisone-eq. > 0.125 mg/kg/day (7.5 mg/day at 60 kg) within 1 month"),
}


def looser(param: str, value, now) -> bool:
    """Whether ``value`` loosens a swept threshold set at ``now``: a higher maximum, a lower minimum or look-back.

    Every sweepable parameter is a maximum (``max_*``: higher admits more) or a minimum, a count of records
    or a look-back in months (lower admits more).

    >>> looser("max_mg_per_kg", 0.6, 0.5), looser("months", 1, 2), looser("min", 7, 6)
    (True, True, False)
    """
    return value > now if param.startswith("max") else value < now


@dataclass(frozen=True)
class Change:
    """One relaxation step: drop criterion ``criterion``, or set ``parameter`` to ``value``."""

    criterion: str
    parameter: str = ""  # empty: dropped
    value: object = None

    @property
    def text(self) -> str:
        return f"drop {self.criterion}" if not self.parameter else f"{self.criterion}.{self.parameter} = {self.value:g}"


@dataclass
class _Options:
    """Per binding criterion: its changes and, per change, who passes it (a drop passes everyone)."""

    changes: dict[int, list[Change]] = field(default_factory=dict)
    passes: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    known: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


def changes_of(s) -> _Options:
    """Every change worth trying: drop each binding criterion, or loosen it to a looser grid value."""
    out = _Options()
    binding = [j for j in range(len(s.ids)) if (s.states[:, j] != PASS).any()]
    loosen: dict[str, list[tuple[str, object]]] = {}
    for name, values in s.sweepable().items():
        cid, param = s.protocol.resolve(name)
        loosen.setdefault(cid, []).extend((param, v) for v in values)
    for j in binding:
        cid = s.ids[j]
        out.changes[j] = [Change(cid)]
        out.passes[(j, 0)] = np.ones(len(s.states), dtype=bool)
        out.known[(j, 0)] = np.ones(len(s.states), dtype=bool)
        current = s.states[:, j]
        for param, value in loosen.get(cid, []):
            if not looser(param, value, s.criteria[j].params[param]):
                continue
            variant = s.protocol.with_overrides({f"{cid}.{param}": value}).criterion(cid)
            state = s._apply_policy(s._evaluate(variant)[:, None])[:, 0]
            if ((current == PASS) & (state != PASS)).any() or ((current != FAIL) & (state == FAIL)).any():
                continue  # a rule whose looser value still turns someone away: not a pure relaxation
            if (state == current).all():
                continue  # changes no one
            i = len(out.changes[j])
            out.changes[j].append(Change(cid, param, value))
            out.passes[(j, i)], out.known[(j, i)] = state == PASS, state != UNKNOWN
    return out


def risk_flags(s) -> pd.DataFrame:
    """Per patient, each :data:`RISK_FLAGS` flag: True, False or <NA> (missing data)."""
    from screening.rules.criteria import RULES

    flags = {}
    for name, (rule, params, _) in RISK_FLAGS.items():
        try:
            flags[name] = RULES[rule](s.extract, **params)
        except KeyError:  # the extract lacks what the flag reads
            flags[name] = pd.array([pd.NA] * len(s.extract.patients), dtype="boolean")
    return pd.DataFrame(flags, index=s.extract.patients.index)


def _codes(s) -> dict[str, tuple[np.ndarray, int]]:
    from screening.engine.composition import characteristic_groups

    out = {}
    for column, bins in MAKEUP.items():
        if column in s.extract.patients.columns:
            codes, levels = pd.factorize(characteristic_groups(s, column, bins), sort=True)
            out[column] = (codes, len(levels))
    return out


def frontier(s, sets: int = 25, max_changes: int = 3) -> pd.DataFrame:
    """Every relaxation tried (see the module's docstring), one row each, the shipped protocol first."""
    options = changes_of(s)
    either = (s.states != PASS)
    base = ~either.any(axis=1)
    base_upper = ~(s.states == FAIL).any(axis=1)
    codes = _codes(s)
    flags = risk_flags(s)
    flag_true = {n: np.asarray(flags[n].fillna(False), dtype=bool) for n in flags}
    flag_known = {n: ~np.asarray(flags[n].isna()) for n in flags}
    base_shares = {c: np.bincount(code[base], minlength=m) / max(base.sum(), 1) for c, (code, m) in codes.items()}
    base_risk = {n: flag_true[n][base].sum() / max((flag_known[n] & base).sum(), 1) for n in flags}
    # Criterion sets to try: every single one; the best-gaining pairs and triples of the exact table.
    table = s.subsets().table(max_changes)
    chosen = [tuple(s.ids.index(c) for c in row.split(" + ")) for size in range(2, max_changes + 1)
              for row in table.loc[(table["n_dropped"] == size) & (table["gain_max"] > 0), "dropped"].head(sets)]
    chosen = [(j,) for j in options.changes] + [js for js in chosen if all(j in options.changes for j in js)]
    rows = [_row(s, (), base, base_upper, base, codes, base_shares, flag_true, flag_known, base_risk)]
    for js in chosen:  # criterion sets: tens, each with a handful of combinations of changes
        others = np.delete(either, js, axis=1).any(axis=1)
        fails_other = (np.delete(s.states, js, axis=1) == FAIL).any(axis=1)
        idx = np.flatnonzero(~fails_other)  # only these can enter the relaxed pool, or its upper end
        for picks in product(*[range(len(options.changes[j])) for j in js]):
            ok = ~others[idx]
            upper = np.ones(len(idx), dtype=bool)
            for j, i in zip(js, picks, strict=True):
                ok &= options.passes[(j, i)][idx]
                upper &= options.passes[(j, i)][idx] | ~options.known[(j, i)][idx]
            pool = np.zeros(len(base), dtype=bool)
            pool[idx[ok]] = True
            upper_pool = base_upper.copy()
            upper_pool[idx[upper & ~ok]] = True
            upper_pool |= pool
            changes = tuple(options.changes[j][i] for j, i in zip(js, picks, strict=True))
            rows.append(_row(s, changes, pool, upper_pool, base, codes, base_shares, flag_true, flag_known,
                             base_risk))
    out = pd.DataFrame(rows).drop_duplicates("changes").reset_index(drop=True)
    gains = out["gain"].to_numpy()
    shipped = out["n_changes"].to_numpy() == 0
    # A relaxation gaining no one ties the shipped protocol: only the shipped one stands for that point.
    out["frontier_makeup"] = shipped | ((gains > 0) & _pareto(gains, out["smd_max"].to_numpy()))
    out["frontier_risk"] = shipped | ((gains > 0) & _pareto(gains, out["risk_smd_max"].to_numpy()))
    return out


def _row(s, changes, pool, upper, base, codes, base_shares, flag_true, flag_known, base_risk) -> dict:
    n_pool = int(pool.sum())
    row = {"changes": "; ".join(c.text for c in changes) or "as shipped", "n_changes": len(changes),
           "dropped": tuple(c.criterion for c in changes if not c.parameter),
           "set": {f"{c.criterion}.{c.parameter}": c.value for c in changes if c.parameter},
           "eligible": n_pool, "eligible_max": int(upper.sum()), "gain": n_pool - int(base.sum())}
    worst = 0.0
    for column, (code, m) in codes.items():
        share = np.bincount(code[pool], minlength=m) / max(n_pool, 1)
        d = np.nanmax(np.abs(smd(share, base_shares[column]))) if n_pool else np.nan
        row[f"smd_{column}"] = round(float(d), 3)
        worst = np.nanmax([worst, d])
    row["smd_max"] = round(float(worst), 3)
    risk_worst = 0.0
    for name in flag_true:
        known = flag_known[name] & pool
        share = flag_true[name][pool].sum() / max(known.sum(), 1)
        row[f"risk_{name}_pp"] = round(100 * (share - base_risk[name]), 1) + 0.0
        risk_worst = np.nanmax([risk_worst, abs(float(smd(share, base_risk[name])))])
    row["risk_smd_max"] = round(float(risk_worst), 3)
    return row


def _pareto(gain: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Points no other point beats: at least as much gain for no more cost, better in one."""
    cost = np.where(np.isnan(cost), np.inf, cost)
    better = (gain[None, :] >= gain[:, None]) & (cost[None, :] <= cost[:, None]) & \
        ((gain[None, :] > gain[:, None]) | (cost[None, :] < cost[:, None]))
    return ~better.any(axis=1)  # relaxations tried: thousands at most, so the square is small


def best_relaxations(f: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The ``top`` relaxations of each size (1, 2, 3 changes) by patients gained; ties: smaller make-up shift."""
    ranked = f[f["n_changes"] > 0].sort_values(["n_changes", "gain", "smd_max", "changes"],
                                                 ascending=[True, False, True, True], kind="stable")
    return ranked.groupby("n_changes", sort=True).head(top).reset_index(drop=True)
