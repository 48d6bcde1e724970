"""Every count a shareable report publishes, taken from a screening in one pass.

:func:`report_counts` reads the screening once for every per-patient table a
report breaks down (outcome by subgroup, composition, missing data, the pool's
make-up along the funnel, the what-if comparison and sweeps) and hands back
plain counts and tables (:class:`ReportCounts`). Disclosure control
(:mod:`screening.disclosure.shareable`) registers, protects and renders them
without reaching back into the screening: screening → counts → disclosure → views.

Example
-------
>>> from screening import load_extract, screen
>>> c = report_counts(screen(load_extract("data/synthetic")), ("site", None), whatif=False)
>>> c.outcome["total"].sum() == c.counts.total, c.makeup is None
(np.True_, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from screening.engine.composition import Makeup, makeup_tables
from screening.engine.counts import Counts
from screening.engine.groups import AGE_BINS
from screening.engine.quality import missingness
from screening.engine.status import STATUSES
from screening.errors import ProtocolError
from screening.rules.protocol import Protocol, load_protocol

__all__ = ["ReportCounts", "report_counts", "COMPOSITION"]

#: The characteristics a report's composition table describes (with their bands).
COMPOSITION = {"sex": None, "race_ethnicity": None, "age_years": AGE_BINS}


@dataclass
class ReportCounts:
    """A screening's counts and tables as a report publishes them, before disclosure control (exact counts).

    ``outcome`` is None when the extract lacks the subgroup's column; ``levels`` is how many
    groups that column has. ``makeup``, ``comparison`` and ``sweeps`` are None when not asked for.
    """

    counts: Counts
    protocol: Protocol
    criteria: list
    policy: str
    outcome: pd.DataFrame | None
    levels: int
    composition: pd.DataFrame
    not_assessable: pd.DataFrame
    missingness: pd.DataFrame
    makeup: Makeup | None = None
    #: the variant's totals by status, each patient's move, the criteria that changed, and the variant's id
    comparison: tuple[pd.Series, pd.DataFrame, pd.DataFrame, str] | None = None
    #: the protocol compared with
    variant: Protocol | None = None
    #: totals per value of each swept parameter, and the protocol's own value of each
    sweeps: tuple[pd.DataFrame, dict] | None = None
    #: the funnel within each subgroup (internal reports only)
    attrition_by: pd.DataFrame | None = None

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.criteria]


def report_counts(s, subgroup: tuple[str, list | None], *, makeup: tuple[tuple, tuple, int] | None = None,
                  whatif: bool = True, variant=None, sweeps: dict | None = None,
                  attrition_by: bool = False) -> ReportCounts:
    """The counts of ``s`` a report publishes: outcome by the ``subgroup`` (column, bins), composition,
    missing data, and on request the make-up (characteristics along, characteristics by, smallest group),
    the what-if comparison with ``variant`` and ``sweeps`` (default: the protocol's key sweeps),
    and the funnel within each subgroup.
    """
    column, bins = subgroup
    patients = s.extract.patients
    present = column in patients.columns
    levels = (patients[column].nunique() if bins is None else len(bins)) if present else 0
    out = ReportCounts(
        counts=s.counts, protocol=s.protocol, criteria=list(s.criteria), policy=s.policy,
        outcome=s.outcome_by(column, bins) if present else None, levels=levels,
        composition=_composition(s), not_assessable=s.missing_by_criterion().drop(columns=["first_missing"]),
        missingness=missingness(s.extract))
    if makeup is not None:
        out.makeup = makeup_tables(s, *makeup)
    if whatif:
        out.variant = load_protocol(variant) if isinstance(variant, str) else variant
        out.comparison = _comparison(s, out.variant)
        out.sweeps = _sweeps(s, sweeps if sweeps is not None else s.sweepable())
    if attrition_by and present:
        out.attrition_by = s.attrition_by(column, bins)
    return out


def _composition(s) -> pd.DataFrame:
    """Composition by sex, race/ethnicity and age band, stacked: column, group, population, patients."""
    parts = [s.composition(c, bins=bins).rename(columns={c: "group"}).assign(column=c)
             for c, bins in COMPOSITION.items()]
    return pd.concat(parts, ignore_index=True)[["column", "group", "population", "patients"]]


def _comparison(s, variant: Protocol) -> tuple:
    from screening.engine.whatif import compare

    cmp = compare(s.extract, s.protocol, variant, s.policy)
    by = cmp.by_criterion
    by = by[by["changed"]].drop(columns=["changed", "excluded_difference"]).reset_index(drop=True)
    return cmp.b.summary().set_index("status")["patients"], cmp.transitions, by, cmp.name_b


def _sweeps(s, sweeps: dict) -> tuple[pd.DataFrame, dict]:
    """Each sweep over the values this protocol accepts (a pilot's SLEDAI maximum caps its minimum, say)."""
    parts, current = [], {}
    for name, values in sweeps.items():
        try:
            cid, param = s.protocol.resolve(name)
        except ProtocolError:
            continue  # a protocol without this criterion
        accepted = []
        for v in values:
            try:
                s.protocol.with_overrides({name: v})
            except ProtocolError:
                continue
            accepted.append(v)
        if accepted:
            parts.append(s.sweep(name, accepted))
            current[f"{cid}.{param}"] = s.protocol.criterion(cid).params[param]
    columns = ["parameter", "value", *STATUSES]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)), current
