"""The screening-funnel engine: one small object that evaluates a protocol on an extract.

Every counted criterion gives each patient one of three states: passes, fails,
or cannot be assessed (data missing). Each patient then ends in exactly one
place:

* **excluded** by the first criterion, in protocol order, that they fail. A
  missing value never hides a definite exclusion elsewhere;
* otherwise **not assessable**, attributed to the first criterion whose data
  are missing;
* otherwise **eligible**.

Hence the three totals do not depend on the order of the criteria; only the
step at which a patient leaves does. The ``policy`` decides what unknowns mean:
``"separate"`` (default) counts them apart, ``"exclude"`` treats them as
failing, ``"include"`` as passing.

Example
-------
>>> from screening import load_extract, screen
>>> s = screen(load_extract("data/synthetic"))
>>> table = s.attrition()
>>> table.loc[[0, 4, 24], ["criterion", "remaining"]].values.tolist()
[['extract', 5000], ['sledai', 1071], ['other_biologic', 90]]
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from screening.engine.composition import composition_along, differential_exclusion, leave_one_out_by
from screening.engine.counts import (
    Counts,
    attrition_table,
    count_states,
    criteria_table,
    headline_table,
    overlap_table,
    placement,
    summary_table,
)
from screening.engine.coverage import lacking, warn_absent, warn_lab_window
from screening.engine.describe import summary_html, summary_text
from screening.engine.enrolment import SCREEN_FAILURE_RANGE, expected_enrolment, screen_failure_range
from screening.engine.groups import attrition_by, band_labels, composition, group_of, outcome_by
from screening.engine.status import FAIL, PASS, POLICIES, STATUSES, UNKNOWN, Status
from screening.engine.sweeps import key_sweeps, sweep_counts
from screening.errors import ProtocolError
from screening.io.extract import Extract
from screening.rules.criteria import RULES
from screening.rules.protocol import Criterion, Protocol, as_overrides, load_protocol

__all__ = ["Screening", "screen", "mask_key", "screen_failure_range", "band_labels", "POLICIES", "PASS", "FAIL",
           "UNKNOWN", "STATUSES", "Status"]


def _key(c: Criterion) -> str:
    return c.rule + json.dumps(c.params, sort_keys=True, default=str)


def mask_key(c: Criterion) -> str:
    """What a criterion's per-patient states depend on: kind, rule and parameters (not its id or label).

    Two criteria with the same key, in one protocol or in two, are evaluated once (:class:`Screening` caches by it).
    """
    return c.kind + ":" + _key(c)


def _states(met: pd.arrays.BooleanArray, kind: str) -> np.ndarray:
    """Criterion result → per-patient state (pass / fail / unknown)."""
    unknown = np.asarray(met.isna())
    holds = np.asarray(met.fillna(False), dtype=bool)
    passes = holds if kind == "inclusion" else ~holds
    # In int8 throughout: a million patients per criterion, no int64 array in between.
    return np.where(unknown, np.int8(UNKNOWN), np.where(passes, np.int8(PASS), np.int8(FAIL)))


def _attrition(states: np.ndarray, crits: list[Criterion]) -> pd.DataFrame:
    """Sequential attrition of ``states`` whose columns are ``crits`` in funnel order."""
    return attrition_table(count_states(states), crits)


def screen(extract: Extract, protocol: Protocol | str = "misle-phase2", overrides: dict | str | None = None,
           policy: str = "separate") -> Screening:
    """Screen every patient of ``extract`` against ``protocol``.

    ``overrides`` is a mapping or its YAML/JSON text, as papermill passes ``-p overrides '{...}'``.

    Example
    -------
    >>> from screening import load_extract
    >>> s = screen(load_extract("data/synthetic"), "misle-phase2", {"sledai.min": 4})
    >>> s.summary()["patients"].tolist()
    [113, 4355, 532]
    """
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol)
    overrides = as_overrides(overrides)
    if overrides:
        protocol = protocol.with_overrides(overrides)
    return Screening(extract, protocol, policy)


class Screening:
    """A protocol evaluated on an extract; every table is a tidy DataFrame.

    Criterion results are cached by rule and parameters, so deriving a variant
    (:meth:`with_protocol`, :meth:`sweep`) only evaluates what changed.
    """

    def __init__(self, extract: Extract, protocol: Protocol, policy: str = "separate",
                 _cache: dict | None = None) -> None:
        if policy not in POLICIES:
            raise ProtocolError("policy", policy, "one of " + ", ".join(POLICIES))
        self.extract = extract
        self.protocol = protocol
        self.policy = policy
        self._cache: dict[str, np.ndarray] = {} if _cache is None else _cache
        self.criteria: list[Criterion] = protocol.counted
        if not self.criteria:
            raise ProtocolError(protocol.id, "criteria", "at least one counted (inclusion or exclusion) criterion")
        warn_absent(extract, protocol.id, self.criteria, stacklevel=3)
        warn_lab_window(extract, self.criteria, stacklevel=3)
        self.raw = np.column_stack([self._evaluate(c) for c in self.criteria]) if len(extract.patients) else \
            np.zeros((0, len(self.criteria)), dtype=np.int8)
        self.states = self._apply_policy(self.raw)
        self._counts: Counts | None = None

    def __repr__(self) -> str:
        return summary_text(self)

    def _repr_html_(self) -> str:
        return summary_html(self)

    # --- evaluation -----------------------------------------------------------------------------

    def _evaluate(self, c: Criterion) -> np.ndarray:
        key = mask_key(c)
        if key not in self._cache:
            wanted = RULES[c.rule].named_columns(c.params, free=True)  # extra columns it names, if any
            absent = [col for col in wanted if col not in self.extract.patients.columns]
            if absent:
                raise ProtocolError(self.protocol.id, f"{c.id}.column", "a column of the extract's patients table",
                                    hint=f"{', '.join(absent)} is not in {self.extract.path}.")
            if lacking(self.extract.absent, c):  # an absent table, or stop_date: no one can be assessed on it
                self._cache[key] = _states(pd.array([pd.NA] * self.extract.n_patients, dtype="boolean"), c.kind)
                return self._cache[key]
            try:
                met = RULES[c.rule](self.extract, **c.params)
            except (TypeError, ValueError) as exc:  # e.g. a text column compared with a number
                raise ProtocolError(self.protocol.id, f"{c.id}.params", "values comparable with the data they test",
                                    hint=str(exc).splitlines()[0]) from None
            self._cache[key] = _states(met, c.kind)
        return self._cache[key]

    def _apply_policy(self, raw: np.ndarray) -> np.ndarray:
        if self.policy == "separate":
            return raw
        return np.where(raw == UNKNOWN, FAIL if self.policy == "exclude" else PASS, raw).astype(np.int8)

    def with_protocol(self, protocol: Protocol, policy: str | None = None) -> Screening:
        """The same extract under another protocol, reusing every unchanged criterion."""
        return Screening(self.extract, protocol, policy or self.policy, _cache=self._cache)

    # --- per patient ------------------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.criteria]

    @property
    def labels(self) -> dict[str, str]:
        return {c.id: c.display_label for c in self.criteria}

    @property
    def assessed_at_visit(self) -> list[str]:
        """Labels of criteria no registry can answer: checked at the screening visit."""
        return [c.display_label for c in self.protocol.criteria if not c.counted]

    def outcome(self) -> pd.DataFrame:
        """One row per patient: status and the criterion that decided it. Holds ids: not for sharing."""
        status, where = placement(self.states)
        ids = np.array(self.ids + [""], dtype=object)
        return pd.DataFrame({
            "status": pd.Categorical.from_codes(status, STATUSES),
            "criterion": ids[where],
            "missing": self._missing_reasons(),
        }, index=self.extract.patients.index)

    def _missing_reasons(self) -> pd.Series:
        """For each patient, the criteria that could not be assessed, joined by '; '."""
        unknown = self.states == UNKNOWN
        joined = pd.Series("", index=self.extract.patients.index, dtype="string")
        for i, cid in enumerate(self.ids):  # one pass per criterion
            joined = joined + np.where(unknown[:, i], cid + "; ", "")
        return joined.str.removesuffix("; ")

    def eligible_ids(self) -> pd.Index:
        """Patient ids of the eligible pool."""
        status, _ = placement(self.states)
        return self.extract.patients.index[status == Status.ELIGIBLE]

    # --- headline tables ----------------------------------------------------------------------------

    @property
    def counts(self) -> Counts:
        """Funnel counts in protocol order (computed once)."""
        if self._counts is None:
            self._counts = count_states(self.states)
        return self._counts

    def summary(self) -> pd.DataFrame:
        """Patients by final status; the rows add up to the extract's patient count."""
        return summary_table(self.counts)

    def headline(self) -> pd.DataFrame:
        """The eligible pool and the range the not-assessable patients leave open."""
        return headline_table(self.counts)

    def expected_enrolment(self, consent_rate: float = 0.5,
                           screen_failure: float | tuple[float, float] = SCREEN_FAILURE_RANGE) -> pd.DataFrame:
        """Patients expected to enrol: pool × (1 − screen failure) × consent, over a range of screen failure.

        One row per pool: the eligible patients, then adding every not-assessable one.
        ``enrolment_low`` uses the highest screen-failure rate, ``enrolment_high`` the lowest
        (the default range: :data:`~screening.engine.enrolment.SCREEN_FAILURE_RANGE`).
        """
        c = self.summary().set_index("status")["patients"]
        return expected_enrolment(c["eligible"], c["not_assessable"], consent_rate, screen_failure)

    def missing_by_criterion(self) -> pd.DataFrame:
        """Among not-assessable patients, how many lack the data for each criterion (one patient may count twice)."""
        status, where = placement(self.states)
        pending = status == Status.NOT_ASSESSABLE
        unknown = (self.states == UNKNOWN) & pending[:, None]
        first = np.bincount(where[pending], minlength=len(self.ids)) if pending.any() else np.zeros(len(self.ids), int)
        table = pd.DataFrame({"criterion": self.ids, "label": [c.display_label for c in self.criteria],
                              "first_missing": first.astype(int), "missing_any": unknown.sum(axis=0).astype(int)})
        return table[table["missing_any"] > 0].sort_values("missing_any", ascending=False,
                                                           kind="stable").reset_index(drop=True)

    def attrition(self, order: list[str] | None = None) -> pd.DataFrame:
        """Sequential attrition: per step, patients entering, excluded, not assessable and remaining.

        *Remaining* means still in play, not "eligible so far": besides the patients
        who passed every criterion up to that step, it holds those an earlier
        criterion could not assess who go on to fail a later one. They leave the
        funnel at the step that excludes them, because a definite exclusion
        outranks missing data. A patient who is only ever unknown leaves as not
        assessable at the first unknown step.

        Step 0 is the whole extract. ``order`` gives any order of the criterion ids.
        """
        if order is None:
            return attrition_table(self.counts, self.criteria)
        idx = self._order(order)
        return _attrition(self.states[:, idx], [self.criteria[i] for i in idx])

    def criteria_table(self) -> pd.DataFrame:
        """Per criterion: removed alone, uniquely, in sequence; not assessable; gain if dropped."""
        return criteria_table(self.counts, self.criteria)

    def overlap(self, min_patients: int = 1) -> pd.DataFrame:
        """Patients excluded by each combination of criteria (failures only), largest first.

        One boolean column per criterion and a ``patients`` count: ready for an UpSet chart.
        """
        return overlap_table(self.counts, self.ids, min_patients)

    def leave_one_out(self) -> pd.DataFrame:
        """Eligible patients if each criterion in turn were dropped, and the gain."""
        table = self.criteria_table()
        base = int(self.summary().set_index("status").loc["eligible", "patients"])
        return pd.DataFrame({"criterion": table["criterion"], "label": table["label"],
                             "eligible_without": base + table["gain_if_dropped"],
                             "gain": table["gain_if_dropped"]}).sort_values("gain", ascending=False,
                                                                             kind="stable").reset_index(drop=True)

    # --- subgroups ---------------------------------------------------------------------------------

    def _groups(self, column: str, bins=None) -> pd.Series:
        return group_of(self.extract.patients, column, bins)

    def outcome_by(self, column: str, bins=None) -> pd.DataFrame:
        """Patients by final status in each group of ``column`` (missing values form their own group)."""
        return outcome_by(self.states, self._groups(column, bins), column)

    def attrition_by(self, column: str, bins=None) -> pd.DataFrame:
        """The sequential attrition table within each group of ``column``, stacked (tidy)."""
        return attrition_by(self.states, self._groups(column, bins), column, self.criteria)

    def composition(self, column: str, bins=None) -> pd.DataFrame:
        """Share of each group of ``column`` in the extract, the eligible pool and the not-assessable."""
        return composition(self.states, self._groups(column, bins), column)

    def composition_along(self, columns: list[str] | None = None, bins: dict | None = None) -> pd.DataFrame:
        """Make-up of the patients in play after every step, with SMDs (see :mod:`screening.engine.composition`)."""
        return composition_along(self, columns, bins)

    def differential_exclusion(self, column: str, bins=None) -> pd.DataFrame:
        """Per criterion and group of ``column``: share removed, its ratio to the overall share, pool shift."""
        return differential_exclusion(self, column, bins)

    def leave_one_out_by(self, column: str, bins=None) -> pd.DataFrame:
        """Each group's share of the eligible pool now and with each criterion dropped."""
        return leave_one_out_by(self, column, bins)

    # --- what-if -----------------------------------------------------------------------------------

    def sweepable(self) -> dict[str, list]:
        """The key threshold sweeps that apply to this protocol: parameter → values to try.

        A protocol that drops a criterion (the EHR protocol drops SLEDAI-2K) has no sweep for it.

        >>> from screening import load_extract, screen
        >>> list(screen(load_extract("data/synthetic"), "misle-phase2-ehr").sweepable())[:2]
        ['sle_diagnosis.min_records', 'observed.months']
        """
        return key_sweeps(self.protocol.parameters())

    def sweep(self, parameter: str, values) -> pd.DataFrame:
        """Eligible, excluded and not-assessable counts for each value of one parameter.

        Only the criterion that owns the parameter is re-evaluated.
        """
        cid, param = self.protocol.resolve(parameter)
        name, values = f"{cid}.{param}", list(values)
        if cid not in self.ids:  # a screening-visit criterion: its parameters change nothing counted
            counts = self.summary().set_index("status")["patients"]
            return pd.DataFrame([{"parameter": name, "value": v, **{k: int(counts[k]) for k in STATUSES}}
                                 for v in values])
        swept = [self._apply_policy(self._evaluate(self.protocol.with_overrides({name: v}).criterion(cid))[:, None])
                 [:, 0] for v in values]
        return sweep_counts(self.states, self.ids.index(cid), name, values, swept)

    def _order(self, order: list[str] | None) -> list[int]:
        if order is None:
            return list(range(len(self.criteria)))
        ids = self.ids
        if sorted(order) != sorted(ids):
            raise ProtocolError(self.protocol.id, "order", "every counted criterion exactly once: " + ", ".join(ids))
        return [ids.index(i) for i in order]

    # --- relaxations: every combination dropped, Shapley shares, near misses (screening.engine.relaxations) -----

    def subsets(self):
        """The exact table of every subset of criteria dropped, computed once (:mod:`screening.engine.relaxations`)."""
        if getattr(self, "_subsets", None) is None:
            from screening.engine.relaxations import relaxations_of

            self._subsets = relaxations_of(self.states, self.ids, self.labels)
        return self._subsets

    def relaxations(self, max_dropped: int | None = 3) -> pd.DataFrame:
        """Eligible, not assessable and excluded for every subset of at most ``max_dropped`` criteria dropped."""
        return self.subsets().table(max_dropped)

    def pool_if_dropped(self, dropped: list[str]) -> dict[str, int]:
        """Eligible, not assessable, excluded and the pool's upper end with ``dropped`` criteria dropped.

        >>> from screening import load_extract, screen
        >>> screen(load_extract("data/synthetic")).pool_if_dropped(["sledai", "glucocorticoid"])["eligible"] > 87
        True
        """
        return self.subsets().pool(dropped)

    def shapley(self) -> pd.DataFrame:
        """Each criterion's Shapley value in the exclusions, beside its alone / unique / in-sequence counts."""
        if getattr(self, "_shapley", None) is None:  # the report, its audit and the panel each ask for it
            from screening.engine.relaxations import shapley_table

            self._shapley = shapley_table(self)
        return self._shapley.copy()

    def near_misses(self) -> pd.DataFrame:
        """Per criterion: patients failing only it (all else passed) and their median distance to its threshold."""
        from screening.engine.near_misses import near_miss_summary

        return near_miss_summary(self)

    def near_miss_histogram(self) -> pd.DataFrame:
        """Per criterion: near misses per band of distance past the threshold, in the rule's units."""
        from screening.engine.near_misses import near_miss_histogram

        return near_miss_histogram(self)

    def near_miss_patients(self) -> pd.DataFrame:
        """Each near miss with its criterion and distance. Holds patient ids: for the site team, never shared."""
        from screening.engine.near_misses import near_miss_patients

        return near_miss_patients(self)

    def frontier(self, sets: int = 25) -> pd.DataFrame:
        """One to three criteria dropped or loosened: pool gained against make-up and risk shifts (computed once)."""
        if getattr(self, "_frontier", None) is None or self._frontier[0] != sets:
            from screening.engine.frontier import frontier

            self._frontier = (sets, frontier(self, sets))
        return self._frontier[1]

    def best_relaxations(self, top: int = 5) -> pd.DataFrame:
        """The ``top`` relaxations with 1, 2 and 3 changes by patients gained (see :meth:`frontier`)."""
        from screening.engine.frontier import best_relaxations

        return best_relaxations(self.frontier(), top)

    def plot_frontier(self, ax=None, against: str = "makeup", **kwargs):
        """Pool gained against the shift in make-up (or ``against="risk"``), the shipped protocol marked."""
        from screening.views.relax_charts import frontier_chart

        return frontier_chart(self.frontier(), ax=ax, against=against, **kwargs)

    # --- charts (thin wrappers; drawing lives in screening.views.charts) ----------------------------------

    def plot_funnel(self, ax=None, **kwargs):
        """Horizontal attrition bars with counts and percentages; returns the Axes."""
        from screening.views.charts import funnel_chart

        return funnel_chart(self.attrition(), ax=ax, **kwargs)
