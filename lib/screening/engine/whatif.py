"""What-if: compare two protocols on the same extract, patient by patient.

Sweeps of one parameter and leave-one-out live on :class:`~screening.engine.funnel.Screening`
(``sweep``, ``leave_one_out``); this module holds the two-protocol comparison.

Example
-------
>>> from screening import load_extract, load_protocol
>>> from screening.engine.whatif import compare
>>> cmp = compare(load_extract("data/synthetic"), load_protocol("misle-phase2"),
...               load_protocol("misle-phase1-pilot"))
>>> cmp.counts()
{'eligible_a': 90, 'eligible_b': 99, 'gained': 33, 'lost': 24}
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from screening.engine.funnel import Screening
from screening.engine.status import STATUSES
from screening.io.extract import Extract
from screening.rules.protocol import Protocol

__all__ = ["Comparison", "compare"]


@dataclass
class Comparison:
    """Two screenings of one extract. ``a`` is the reference, ``b`` the variant."""

    a: Screening
    b: Screening

    @property
    def name_a(self) -> str:
        return self.a.protocol.id

    @property
    def name_b(self) -> str:
        """The variant's column name; told apart from the reference even when both share an id."""
        return self.b.protocol.id if self.b.protocol.id != self.name_a else f"{self.name_a} (variant)"

    @property
    def summary(self) -> pd.DataFrame:
        """Patients by status under each protocol, and the difference (b − a)."""
        sa = self.a.summary().set_index("status")["patients"]
        sb = self.b.summary().set_index("status")["patients"]
        return pd.DataFrame({"status": list(STATUSES), self.name_a: sa.to_numpy(),
                             self.name_b: sb.to_numpy(), "difference": (sb - sa).to_numpy()})

    @property
    def transitions(self) -> pd.DataFrame:
        """Cross-table of each patient's status under a (rows) and b (columns)."""
        oa, ob = self.a.outcome()["status"], self.b.outcome()["status"]
        table = pd.crosstab(oa, ob, dropna=False).reindex(index=list(STATUSES), columns=list(STATUSES), fill_value=0)
        table.index.name, table.columns.name = self.name_a, self.name_b
        return table

    def _eligible(self, s: Screening) -> pd.Index:
        return s.eligible_ids()

    @property
    def gained(self) -> pd.Index:
        """Patients eligible under b but not under a. Holds ids: not for sharing."""
        return self._eligible(self.b).difference(self._eligible(self.a))

    @property
    def lost(self) -> pd.Index:
        """Patients eligible under a but not under b. Holds ids: not for sharing."""
        return self._eligible(self.a).difference(self._eligible(self.b))

    @property
    def by_criterion(self) -> pd.DataFrame:
        """Per criterion: parameters and patients excluded alone under each protocol."""
        ta = self.a.criteria_table().set_index("criterion")
        tb = self.b.criteria_table().set_index("criterion")
        ids = list(dict.fromkeys(list(ta.index) + list(tb.index)))
        pa = {c.id: c for c in self.a.criteria}
        pb = {c.id: c for c in self.b.criteria}
        rows = []
        for cid in ids:
            ca, cb = pa.get(cid), pb.get(cid)
            rows.append({
                "criterion": cid,
                "label_a": ca.display_label if ca else "(absent)",
                "label_b": cb.display_label if cb else "(absent)",
                "changed": (ca is None) != (cb is None) or (ca is not None and ca.params != cb.params),
                "excluded_alone_a": int(ta["excluded_alone"].get(cid, 0)),
                "excluded_alone_b": int(tb["excluded_alone"].get(cid, 0)),
                "not_assessable_alone_a": int(ta["not_assessable_alone"].get(cid, 0)),
                "not_assessable_alone_b": int(tb["not_assessable_alone"].get(cid, 0)),
            })
        table = pd.DataFrame(rows)
        table["excluded_difference"] = table["excluded_alone_b"] - table["excluded_alone_a"]
        return table

    def counts(self) -> dict[str, int]:
        """Headline numbers: eligible under each protocol, gained and lost."""
        return {"eligible_a": len(self._eligible(self.a)), "eligible_b": len(self._eligible(self.b)),
                "gained": len(self.gained), "lost": len(self.lost)}


def compare(extract: Extract, a: Protocol, b: Protocol, policy: str = "separate") -> Comparison:
    """Screen ``extract`` under protocols ``a`` and ``b``; unchanged criteria are evaluated once."""
    first = Screening(extract, a, policy)
    return Comparison(first, first.with_protocol(b))
