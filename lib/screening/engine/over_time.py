"""Eligible over time: a protocol screened at every visit, and who becomes eligible when and where.

Each visit is screened as a baseline (:mod:`screening.engine.visit_frame`): its own
disease activity and labs, windows counted back from it, medications as taken then.
From the per-visit statuses come the counts a feasibility questionnaire asks for:
eligible at the last visit (the extract's own screening), eligible at any visit in a
look-back window, first-eligible visits, **newly eligible per month and per site**
(with the range the not-assessable visits leave open), and which criterion turns
patients eligible or ineligible between visits.

*Newly eligible* at a visit: eligible there, and the patient's previous visit was not
(a patient's first visit counts when eligible: the site sees an eligible patient it
had not seen). The settled count takes only definite statuses; ``newly_eligible_max``
resolves every not-assessable visit the way that adds most, so the truth lies between.

Example
-------
>>> from screening import load_extract
>>> over = EligibilityOverTime(load_extract("data/synthetic"), "misle-phase2")
>>> over.at_last_visit["patients"].tolist()  # the baseline: the extract's own funnel
[90, 4535, 375]
>>> over.any_visit(12)["patients"].tolist()  # eligible at some visit of the 12 months before it
[229, 3677, 1094]
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd

from screening.engine.counts import placement
from screening.engine.funnel import Screening, _states, mask_key
from screening.engine.status import FAIL, PASS, STATUSES, UNKNOWN, Status
from screening.engine.visit_frame import older_ages, per_visit_extract, visit_rows
from screening.io.dates import months_before
from screening.io.extract import Extract
from screening.rules.absence import lacking
from screening.rules.criteria import RULES
from screening.rules.protocol import Protocol, as_overrides, load_protocol

__all__ = ["EligibilityOverTime"]

_ELIG, _EXCL, _NA = int(Status.ELIGIBLE), int(Status.EXCLUDED), int(Status.NOT_ASSESSABLE)


class EligibilityOverTime:
    """A protocol evaluated at every visit of every patient; each table is a tidy DataFrame.

    Tables holding patient ids (:attr:`visits`, :attr:`first_eligible`) are for the site
    team; the counts (:attr:`at_last_visit`, :meth:`any_visit`, :meth:`monthly`,
    :meth:`turning`) are what a report shares, under its disclosure rule.
    """

    def __init__(self, extract: Extract, protocol: Protocol | str = "misle-phase2",
                 overrides: dict | str | None = None, policy: str = "separate", *, _like=None) -> None:
        if not isinstance(protocol, Protocol):
            protocol = load_protocol(protocol)
        if as_overrides(overrides):
            protocol = protocol.with_overrides(as_overrides(overrides))
        self.extract, self.protocol = extract, protocol
        if _like is None:
            self._rows = visit_rows(extract)
            self._older = older_ages(extract, self._rows)
            #: what depends on the visits alone (their months, sites, look-back windows), computed once
            self._shared: dict = {}
            #: the funnel over patient-visits (its ``states`` hold one row per visit)
            self.screening = Screening(per_visit_extract(extract, self._rows), protocol, policy)
        else:  # the visit frame and criterion results of another screening of the same visits
            self._rows, self._older, self._shared = _like._rows, _like._older, _like._shared
            self.screening = _like.screening.with_protocol(protocol, policy)
        self._settle_age(self._older)
        self._status, self._where = placement(self.screening.states)
        patient = self._rows["patient"].to_numpy()
        self._first = np.r_[True, patient[1:] != patient[:-1]]
        self._last = np.r_[patient[1:] != patient[:-1], True]

    def under(self, protocol: Protocol, policy: str = "separate") -> EligibilityOverTime:
        """The same visits screened under another protocol or policy, reusing the per-visit frame and every
        unchanged criterion's results (the what-if panel redraws from it)."""
        return EligibilityOverTime(self.extract, protocol, policy=policy, _like=self)

    def status_key(self) -> bytes:
        """A digest of every visit's status: screenings of the same visits with equal keys place each visit alike
        (so agree on every count but :meth:`turning`'s, which reads the criteria too)."""
        return hashlib.blake2b(self._status.astype(np.int8).tobytes(), digest_size=16).digest()

    def _settle_age(self, older: np.ndarray | None) -> None:
        """Re-evaluate age-reading criteria at each visit's other possible age; where the answers differ, unknown.

        An answer is settled only when every completion agrees: a patient whose age at the visit is
        64 or 65 is settled by "18 to 65", not by "18 to 64".
        """
        s = self.screening
        which = [j for j, c in enumerate(s.criteria) if "age_years" in c.columns().get("patients", ())
                 and not lacking(s.extract.absent, c)]
        if older is None or not which or np.isnan(older).all():
            return
        settled = self._shared.setdefault("settled", {})  # by rule and parameters, as the funnel caches them
        for j in which:
            c = s.criteria[j]
            if mask_key(c) not in settled:
                again = _states(RULES[c.rule](self._aged(older), **c.params), c.kind)
                settled[mask_key(c)] = np.where(s.raw[:, j] == again, s.raw[:, j], UNKNOWN)
            s.raw[:, j] = settled[mask_key(c)]
        # the funnel's own arrays, updated in place: this screening is this object's, not shared
        s.states, s._counts = s._apply_policy(s.raw), None

    def _aged(self, older: np.ndarray) -> Extract:
        """The visit frame with each visit's other possible age (built once, shared by each screening)."""
        if "aged" not in self._shared:
            frame = self.screening.extract
            age = frame.patients["age_years"].copy()
            other = ~np.isnan(older)
            age[other] = pd.array(older[other], dtype="Float64").astype("Int32")
            self._shared["aged"] = replace(frame, patients=frame.patients.assign(age_years=age), _rows=frame._rows)
        return self._shared["aged"]

    def __repr__(self) -> str:
        counts = dict(zip(STATUSES, np.bincount(self._status[self._last], minlength=3).tolist(), strict=True))
        return (f"EligibilityOverTime({self.protocol.id}: {len(self._rows):,} visits of "
                f"{self.extract.n_patients:,} patients; at the last visit {counts})")

    # --- per visit (ids: not for sharing) -----------------------------------------------------------

    @property
    def visits(self) -> pd.DataFrame:
        """One row per screened visit: patient, site, date, whether it is the baseline, status, deciding criterion."""
        ids = self.extract.patients.index
        patient = self._rows["patient"].to_numpy()
        criteria = np.array(self.screening.ids + [""], dtype=object)
        return pd.DataFrame({"patient_id": ids[patient], "site": self._site(), "visit_date": self._rows["visit_date"],
                             "baseline": self._rows["baseline"],
                             "status": pd.Categorical.from_codes(self._status, STATUSES),
                             "criterion": criteria[self._where]})

    @property
    def first_eligible(self) -> pd.DataFrame:
        """Each patient eligible at some visit, with the date of the first such visit."""
        v = self.visits[self._status == _ELIG]
        return v.groupby("patient_id", sort=False, observed=True)[["site", "visit_date"]].first().reset_index()

    # --- counts -------------------------------------------------------------------------------------

    @property
    def at_last_visit(self) -> pd.DataFrame:
        """Patients by status at their last visit (the baseline): the extract's own funnel."""
        return _summary(self._status[self._last])

    def any_visit(self, months: float = 12) -> pd.DataFrame:
        """Patients by status over their visits in the ``months`` before their last visit.

        Eligible if eligible at any of them; otherwise not assessable if any was; otherwise excluded.
        """
        patient = self._rows["patient"].to_numpy()
        inside = self._shared.get(("inside", months))
        if inside is None:  # which visits lie in the window: the same under every protocol
            date = self._rows["visit_date"].to_numpy(dtype="datetime64[s]")
            last = pd.Series(date[self._last][patient])  # each visit's patient's baseline
            # the closed window [last − months, last] of every look-back (calendar months, as the rules count)
            start = months_before(last, months).to_numpy(dtype="datetime64[s]")
            inside = self._shared[("inside", months)] = self._rows["baseline"].to_numpy() | (date >= start)
        n = self.extract.n_patients
        hit = np.zeros((3, n), dtype=bool)
        for code in (_ELIG, _NA):
            hit[code, patient[inside & (self._status == code)]] = True
        status = np.where(hit[_ELIG], _ELIG, np.where(hit[_NA], _NA, _EXCL))
        return _summary(status)

    def newly(self) -> pd.DataFrame:
        """Per visit: whether the patient is newly eligible there (settled, and at most)."""
        low, high = self._newly()
        return pd.DataFrame({"newly_eligible": low, "newly_eligible_max": high})

    def _newly(self) -> tuple[np.ndarray, np.ndarray]:
        s = self._status
        prev = np.r_[_EXCL, s[:-1]]
        prev[self._first] = _EXCL  # first visit: nothing seen before
        return (s == _ELIG) & (prev == _EXCL), (s != _EXCL) & (prev != _ELIG)

    def monthly(self, by_site: bool = False) -> pd.DataFrame:
        """Newly eligible patients per calendar month (and site): every month from the first visit to the last.

        Columns: ``month``, [``site``], ``visits``, ``eligible`` (visits eligible), ``newly_eligible``
        (settled) and ``newly_eligible_max`` (every not-assessable visit resolved to add most).
        """
        month, dated, site, sites = self._calendar()
        low, high = self._newly()
        counted = {"visits": None, "eligible": self._status == _ELIG, "newly_eligible": low,
                   "newly_eligible_max": high}
        first, last = (int(month[dated].min()), int(month[dated].max())) if dated.any() else (0, -1)
        months = pd.PeriodIndex.from_ordinals(np.arange(first, last + 1), freq="M", name="month")
        width = len(sites) if by_site else 1
        # one bin per month (and site), every month of the range: a count per bin, not a group-by
        cell = ((month - first) * width + (site if by_site else 0))[dated]
        sums = {name: np.bincount(cell if which is None else cell[which[dated]], minlength=len(months) * width)
                for name, which in counted.items()}
        grid = pd.MultiIndex.from_product([months, sites], names=["month", "site"]) if by_site else months
        return pd.DataFrame(sums, index=grid).reset_index()

    def _calendar(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Per visit: its month (a monthly Period's ordinal), whether it is dated, and its site's position in the
        sorted sites of the dated visits; those sites. Computed once for the visits, shared by each screening."""
        if "calendar" not in self._shared:
            date = self._rows["visit_date"].to_numpy(dtype="datetime64[s]")
            dated = ~np.isnat(date)
            sites, at = np.unique(self._site().to_numpy(dtype=object)[dated], return_inverse=True)
            site = np.zeros(len(date), dtype=np.int64)
            site[dated] = at
            self._shared["calendar"] = (date.astype("datetime64[M]").astype(np.int64), dated, site, sites.tolist())
        return self._shared["calendar"]

    def turning(self) -> pd.DataFrame:
        """Per criterion: between consecutive visits, how often it turns a patient eligible or ineligible.

        ``into`` counts a patient's step from excluded to eligible in which the criterion went from
        failing to passing, ``out_of`` the step from eligible to excluded in which it went from passing
        to failing; ``*_alone`` those in which it was the only criterion to change so.
        """
        s, states = self._status, self.screening.states
        pair = np.flatnonzero(~self._first)  # each visit with a previous one of the same patient
        before, after = states[pair - 1], states[pair]
        into = (s[pair - 1] == _EXCL) & (s[pair] == _ELIG)
        out = (s[pair - 1] == _ELIG) & (s[pair] == _EXCL)
        rose, fell = (before == FAIL) & (after == PASS), (before == PASS) & (after == FAIL)
        alone_rose, alone_fell = rose & (rose.sum(axis=1) == 1)[:, None], fell & (fell.sum(axis=1) == 1)[:, None]
        return pd.DataFrame({"criterion": self.screening.ids,
                             "label": [c.display_label for c in self.screening.criteria],
                             "into": rose[into].sum(axis=0), "into_alone": alone_rose[into].sum(axis=0),
                             "out_of": fell[out].sum(axis=0), "out_of_alone": alone_fell[out].sum(axis=0)})

    def projection(self, window: int = 12, target: int | None = None, months: int = 12, **ranges):
        """Expected enrolment per site over ``window`` months and the time to ``target`` (MiSLE's 81 by default).

        From the last ``months`` of :meth:`monthly` by site; see :func:`screening.engine.projection.project`.
        """
        from screening.engine.projection import MISLE_TARGET, project

        return project(self.monthly(by_site=True), window, target or MISLE_TARGET, months, **ranges)

    # --- charts ---------------------------------------------------------------------------------------

    def plot_monthly(self, ax=None):
        """Newly eligible patients per month, the not-assessable range shaded; returns the Axes."""
        import matplotlib.pyplot as plt

        table = self.monthly()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        x = table["month"].dt.to_timestamp()
        ax.fill_between(x, table["newly_eligible"], table["newly_eligible_max"], step="mid", alpha=0.25,
                        label="range left open by not-assessable visits")
        ax.step(x, table["newly_eligible"], where="mid", label="newly eligible (settled)")
        ax.set_ylabel("patients per month")
        ax.set_title(f"Newly eligible per month: {self.protocol.id}")
        ax.legend(loc="upper left", frameon=False)
        return ax

    def plot_by_site(self, ax=None):
        """Newly eligible patients per month, one line per site; returns the Axes."""
        import matplotlib.pyplot as plt

        table = self.monthly(by_site=True)
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        for site, part in table.groupby("site", observed=True):
            ax.step(part["month"].dt.to_timestamp(), part["newly_eligible"], where="mid", label=str(site))
        ax.set_ylabel("patients per month")
        ax.set_title("Newly eligible per month, by site")
        ax.legend(loc="upper left", frameon=False, ncol=4, fontsize="small")
        return ax

    def _site(self) -> pd.Series:
        p = self.extract.patients
        sites = p["site"].astype("string") if "site" in p.columns else pd.Series("", index=p.index, dtype="string")
        return pd.Series(sites.to_numpy()[self._rows["patient"].to_numpy()], dtype="string").fillna("(missing)")


def _summary(status: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"status": list(STATUSES), "patients": np.bincount(status, minlength=3).astype(int)})
