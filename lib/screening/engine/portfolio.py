"""Several trials screened on one extract in one pass: which trials a site's patients fit, and who fits several.

A site choosing between trials asks, per trial, how many patients are eligible,
how many the registry cannot assess, the range those leave open, and which
criteria stop the most; then how many patients qualify for more than one trial
(an UpSet across trials). :class:`Portfolio` answers with tidy DataFrames.

Trials share many criteria (age limits, antibody rules, laboratory exclusions):
the same rule with the same parameters is evaluated once and reused by every
protocol, because each protocol's :class:`~screening.engine.funnel.Screening`
reads one shared cache of per-patient states.

Example
-------
>>> from screening import load_extract, screen
>>> ex = load_extract("data/synthetic")
>>> p = Portfolio(ex, ["misle-phase2", "misle-phase1-pilot", "belimumab-bliss52"])
>>> list(p.summary.columns)
['protocol', 'title', 'eligible', 'not_assessable', 'excluded', 'eligible_upper', 'binding']
>>> bool(p.summary["eligible"][0] == screen(ex, "misle-phase2").summary()["patients"][0])  # the funnel's count
True
>>> o = p.overlap  # each trial's eligible patients, split by the other trials they also fit
>>> bool((o[p.ids].mul(o["patients"], axis=0).sum() == p.summary.set_index("protocol")["eligible"]).all())
True
>>> p.headline["measure"].tolist()[1:4]
['eligible for at least one trial', 'eligible for exactly one trial', 'eligible for two or more trials']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.engine.counts import _bits, combination_table, placement
from screening.engine.funnel import Screening, mask_key
from screening.engine.status import Status
from screening.errors import ProtocolError
from screening.io.extract import Extract
from screening.rules.protocol import Protocol, load_protocol, shipped_protocols

__all__ = ["Portfolio", "default_protocols", "beside", "mask_key", "FOR_EHR", "MEASURES", "BINDING"]

#: Shipped protocols that restate a trial for EHR data (omop:, synthea:): on a registry extract their cohort
#: entry (coded diagnoses, death, observation periods) is blank, so they would list the same trial twice,
#: once with no one eligible.
FOR_EHR = ("misle-phase2-ehr",)

#: The portfolio's headline rows, in order.
MEASURES = ("patients in extract", "eligible for at least one trial", "eligible for exactly one trial",
            "eligible for two or more trials", "eligible for none")

#: How many criteria per trial the summary names.
BINDING = 3


def default_protocols(converted: bool = False) -> list[str]:
    """Every shipped protocol; on a registry extract (not ``converted`` from EHR data) less those in :data:`FOR_EHR`.

    >>> "misle-phase2-ehr" in default_protocols(), "misle-phase2-ehr" in default_protocols(converted=True)
    (False, True)
    """
    return [p for p in shipped_protocols() if converted or p not in FOR_EHR]


def beside(protocol: Protocol, converted: bool = False) -> list[Protocol | str]:
    """The default protocols with ``protocol`` in place of the shipped one of its id (or added): a report's portfolio.

    >>> chosen = beside(load_protocol("misle-phase2", {"sledai.min": 4}))
    >>> [p.overrides for p in chosen if not isinstance(p, str)], len(chosen) == len(default_protocols())
    ([{'sledai.min': 4}], True)
    """
    names = default_protocols(converted)
    return [protocol if n == protocol.id else n for n in names] + ([] if protocol.id in names else [protocol])


class Portfolio:
    """Every protocol of ``protocols`` screened on ``extract``, criteria with the same rule and parameters once.

    ``protocols`` are shipped names, YAML paths or :class:`~screening.rules.protocol.Protocol` objects
    (default :func:`default_protocols`). ``screenings`` maps each protocol id to its screening.
    """

    def __init__(self, extract: Extract, protocols=None, policy: str = "separate", _cache: dict | None = None) -> None:
        if protocols is None:
            protocols = default_protocols(extract.format == "converted")
        loaded = [p if isinstance(p, Protocol) else load_protocol(p) for p in protocols]
        if not loaded:
            raise ProtocolError("portfolio", "protocols", "at least one protocol")
        seen = [p.id for p in loaded]
        twice = sorted({i for i in seen if seen.count(i) > 1})
        if twice:
            raise ProtocolError("portfolio", "protocols", "each protocol once",
                                hint=f"{', '.join(twice)} is given more than once.")
        if len(loaded) > 62:  # one bit per trial in an int64, as the funnel does per criterion
            raise ProtocolError("portfolio", "protocols", "at most 62 protocols")
        self.extract, self.policy = extract, policy
        self.cache: dict[str, np.ndarray] = {} if _cache is None else _cache
        self.screenings: dict[str, Screening] = {p.id: Screening(extract, p, policy, _cache=self.cache)
                                                 for p in loaded}
        status = np.column_stack([placement(s.states)[0] for s in self.screenings.values()]) \
            if extract.n_patients else np.zeros((0, len(loaded)), dtype=np.int64)
        eligible = _bits(status == Status.ELIGIBLE)
        self._patterns = pd.Series(eligible[eligible != 0]).value_counts(sort=False).astype(np.int64)
        self._trials = np.bitwise_count(eligible)

    def __repr__(self) -> str:
        h = self.headline.set_index("measure")["patients"]
        return (f"Portfolio of {len(self.ids)} trials on {h.iloc[0]:,} patients: {h.iloc[1]:,} eligible for at "
                f"least one, {h.iloc[3]:,} for two or more ({len(self.cache)} distinct criteria evaluated)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.summary.to_html(index=False)

    @property
    def ids(self) -> list[str]:
        return list(self.screenings)

    @property
    def summary(self) -> pd.DataFrame:
        """Per trial: eligible, not assessable, excluded, the pool's upper end, and the criteria that exclude most."""
        rows = []
        for pid, s in self.screenings.items():
            eligible, excluded, unknown = (int(v) for v in s.counts.status)
            rows.append({"protocol": pid, "title": s.protocol.title, "eligible": eligible,
                         "not_assessable": unknown, "excluded": excluded, "eligible_upper": eligible + unknown,
                         "binding": "; ".join(self.binding.query("protocol == @pid")["criterion"])})
        return pd.DataFrame(rows)

    @property
    def binding(self) -> pd.DataFrame:
        """Per trial, the :data:`BINDING` criteria that exclude the most patients (each alone), largest first.

        ``gain_if_dropped`` is how many more patients would be eligible without the criterion.
        """
        parts = []
        for pid in self.screenings:
            table = self.criteria(pid).head(BINDING)
            parts.append(table.assign(protocol=pid, rank=np.arange(1, len(table) + 1)))
        return pd.concat(parts, ignore_index=True)[["protocol", "rank", "criterion", "label", "excluded_alone",
                                                    "gain_if_dropped"]]

    def criteria(self, protocol: str) -> pd.DataFrame:
        """One trial's criteria by patients each excludes alone, largest first (ties in protocol order)."""
        table = self.screenings[protocol].criteria_table()
        return table.sort_values("excluded_alone", ascending=False, kind="stable").reset_index(drop=True)

    @property
    def overlap(self) -> pd.DataFrame:
        """Patients per combination of trials they are eligible for (one boolean column per trial), largest first.

        Every combination with at least one patient; ``trials`` counts the trials in it. A trial's
        eligible count is the sum over the combinations that hold it: ready for an UpSet chart.
        """
        return combination_table(self._patterns, self.ids, size="trials")

    @property
    def headline(self) -> pd.DataFrame:
        """Patients in the extract, eligible for at least one trial, for exactly one, for two or more, for none."""
        n = int(self.extract.n_patients)
        one, several = int((self._trials == 1).sum()), int((self._trials >= 2).sum())
        return pd.DataFrame({"measure": list(MEASURES), "patients": [n, one + several, one, several,
                                                                     n - one - several]})

    def eligible_ids(self, protocol: str) -> pd.Index:
        """Patient ids eligible for one trial (for the site team: never shared)."""
        return self.screenings[protocol].eligible_ids()

    def plot_overlap(self, ax=None, top: int = 15, **kwargs):
        """An UpSet chart across trials: patients per combination of trials, dots for its trials; returns the Axes."""
        from screening.views.portfolio import overlap_chart

        return overlap_chart(self.overlap, {pid: pid for pid in self.ids}, ax=ax, top=top, **kwargs)

    def plot_summary(self, ax=None, **kwargs):
        """Eligible per trial, with the range the not-assessable patients leave open; returns the Axes."""
        from screening.views.portfolio import range_chart

        return range_chart(self.summary, ax=ax, **kwargs)
