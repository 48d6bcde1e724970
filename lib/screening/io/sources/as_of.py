"""A source's records read as of any date: each person's index dates and what was known on each.

An EHR has no baseline row: what a patient "is" depends on the day asked. :class:`AsOf`
holds index rows (a person and a date each, one per person for the baseline, or one per
visit) and answers, for every row at once, the questions :func:`~screening.io.sources.common.build_extract`
asks of the events: the latest measurement on or before the date (within a look-back),
whether an event fell in a window ending on it, the first event by then, how many days
carried a record. Each is a sorted search over the events (one ``searchsorted`` or
``merge_asof``), never a loop over persons, so a person's hundred visits cost little more
than their baseline.

:func:`index_dates` gives those rows for screening at every index date: each
``visit_occurrence`` (Synthea: encounter) of a person in the SLE cohort, or a monthly grid
stepping back from the baseline, from the first SLE diagnosis on.

Example
-------
>>> import pandas as pd
>>> at = AsOf(pd.Index(["1", "2"]), ["1", "1", "2"], pd.to_datetime(["2022-01-10", "2022-06-15", "2022-06-15"]))
>>> events = pd.DataFrame({"person_id": ["1", "1", "2"], "date": pd.to_datetime(["2022-01-01", "2022-03-01",
...                                                                                "2021-01-01"])})
>>> at.any_within(events, days=30).tolist(), at.count_days(events).tolist()
([True, False, False], [1, 2, 1])
>>> at.first(events).astype("datetime64[D]").astype(str).tolist()
['2022-01-01', '2022-01-01', '2021-01-01']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.dates import months_before

__all__ = ["AsOf", "INDEX_KINDS", "index_dates"]

#: How index dates are chosen: every visit, or a monthly grid back from the baseline.
INDEX_KINDS = ("visits", "monthly")
_SPAN = 1 << 21  # days per person in a sort key: ±2,800 years around 1970


def _days(dates) -> np.ndarray:
    d = np.asarray(dates, dtype="datetime64[s]")
    return np.where(np.isnat(d), 0, d.astype("datetime64[D]").astype(np.int64))


class AsOf:
    """Index rows ``(person, date)`` over the persons ``ids``; every lookup returns one value per row."""

    def __init__(self, ids: pd.Index, persons, dates) -> None:
        self.ids = ids
        # One row per person in order (the baseline rows) needs no look-up of a million ids
        self.code = np.arange(len(ids)) if persons is ids else ids.get_indexer(pd.Index(persons))
        self.date = np.asarray(dates, dtype="datetime64[s]")
        self.known = ~np.isnat(self.date) & (self.code >= 0)
        self.day = _days(self.date)

    def __len__(self) -> int:
        return len(self.date)

    def _key(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        return code.astype(np.int64) * (2 * _SPAN) + (day + _SPAN)

    def _sorted(self, events: pd.DataFrame, unique: bool = False) -> np.ndarray:
        code = self.ids.get_indexer(pd.Index(events["person_id"]))
        date = np.asarray(events["date"], dtype="datetime64[s]")
        ok = (code >= 0) & ~np.isnat(date)  # an undated record is on no day: it was never "by then"
        keys = np.sort(self._key(code[ok], _days(date[ok])))
        return np.unique(keys) if unique else keys

    def _count(self, keys: np.ndarray, days: int | None) -> np.ndarray:
        hi = np.searchsorted(keys, self._key(self.code, self.day), side="right")
        first = self.day - days if days is not None else np.full(len(self), -_SPAN + 1)
        lo = np.searchsorted(keys, self._key(self.code, first), side="left")
        return np.where(self.known, hi - lo, 0)

    def any_within(self, events: pd.DataFrame, days: int | None = None) -> np.ndarray:
        """Whether the row's person has an event on or before its date (and at most ``days`` before it)."""
        return self._count(self._sorted(events), days) > 0

    def count_days(self, events: pd.DataFrame) -> np.ndarray:
        """How many distinct days on or before the row's date carry an event of its person."""
        return self._count(self._sorted(events, unique=True), None)

    def first(self, events: pd.DataFrame) -> np.ndarray:
        """The person's first event date, where it is on or before the row's date (else NaT)."""
        code = self.ids.get_indexer(pd.Index(events["person_id"]))
        date = np.asarray(events["date"], dtype="datetime64[s]")
        ok = (code >= 0) & ~np.isnat(date)
        first = np.full(len(self.ids), np.datetime64("NaT"), dtype="datetime64[s]")
        order = np.lexsort((date[ok], code[ok]))
        c, d = code[ok][order], date[ok][order]
        start = np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, dtype=bool)
        first[c[start]] = d[start]
        out = np.full(len(self), np.datetime64("NaT"), dtype="datetime64[s]")
        mine = first[np.where(self.code >= 0, self.code, 0)]
        by_then = self.known & (mine <= self.date)
        out[by_then] = mine[by_then]
        return out

    def latest(self, m: pd.DataFrame, months: float | None = None) -> pd.DataFrame:
        """The latest of ``m``'s rows (person_id, date, value, range_high, positive) on or before each row's date.

        Two results on the same day: the higher known value, so the choice never depends on the order a
        database returned the rows in. ``months``: a result older than that many months is not used.
        """
        m = m[m["date"].notna()]
        m = m.sort_values(["person_id", "date", "value", "range_high", "positive"], kind="stable",
                          na_position="first").drop_duplicates(["person_id", "date"], keep="last")
        right = pd.DataFrame({"person": self.ids.get_indexer(pd.Index(m["person_id"])),
                              "taken": m["date"].to_numpy(dtype="datetime64[s]"),
                              "value": m["value"].to_numpy(), "range_high": m["range_high"].to_numpy(),
                              "positive": m["positive"].array})
        right = right[right["person"] >= 0].sort_values("taken", kind="stable")
        measured = np.zeros(len(self.ids), dtype=bool)
        measured[right["person"].to_numpy()] = True
        # Only rows of a person with a result are searched: in a CDM most persons are outside the cohort whose
        # results were read, and a row without any result stays empty either way.
        rows = np.flatnonzero(self.known & measured[np.maximum(self.code, 0)])
        left = pd.DataFrame({"row": rows, "person": self.code[rows], "date": self.date[rows]})
        found = pd.merge_asof(left.sort_values("date", kind="stable"), right, left_on="date", right_on="taken",
                              by="person", direction="backward", allow_exact_matches=True)
        hit = found["taken"].notna().to_numpy()
        if months is not None and len(found):
            hit = hit & ~(found["taken"] < months_before(found["date"], months)).to_numpy()
        # Written into arrays over every row at once: a row without a (recent enough) result stays empty.
        at, n = found["row"].to_numpy()[hit], len(self)
        value, high = np.full(n, np.nan), np.full(n, np.nan)
        taken = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
        value[at] = found["value"].to_numpy(dtype=float, na_value=np.nan)[hit]
        high[at] = found["range_high"].to_numpy(dtype=float, na_value=np.nan)[hit]
        taken[at] = found["taken"].to_numpy(dtype="datetime64[s]")[hit]
        positive = found["positive"].astype("boolean").array[hit]
        known, unknown = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
        known[at], unknown[at] = positive.fillna(False).to_numpy(dtype=bool), positive.isna()
        return pd.DataFrame({"value": pd.array(value, dtype="Float64"), "date": taken, "range_high": high,
                             "positive": pd.arrays.BooleanArray(known, unknown)})


def index_dates(kind: str, base: pd.Series, first_sle: pd.Series, visits: pd.DataFrame,
                months: int | None = None) -> pd.DataFrame:
    """Each SLE person's index dates before their baseline: ``person_id``, ``date``, oldest first.

    ``kind`` ``visits``: the days of their visits (``visits``: person_id, date); ``monthly``: the baseline
    stepped back one calendar month at a time. Only dates from the first SLE diagnosis (``first_sle``) to the
    day before the baseline count (the baseline is the patients row itself), and, with ``months``, no more
    than that many months before the baseline.
    """
    if kind not in INDEX_KINDS:
        raise ValueError(f"index {kind!r}: expected one of {', '.join(INDEX_KINDS)}")
    cohort = pd.DataFrame({"base": base, "first": first_sle.reindex(base.index)}).dropna()
    oldest = cohort["first"]
    if months is not None:
        oldest = np.maximum(oldest, months_before(cohort["base"], months))
    if kind == "visits":
        v = visits[visits["person_id"].isin(cohort.index)]
        rows = pd.DataFrame({"person_id": v["person_id"].to_numpy(), "date": v["date"].to_numpy(dtype="datetime64[s]")})
    else:
        span = (cohort["base"].dt.year - cohort["first"].dt.year) * 12 + 13  # enough steps to pass the diagnosis
        if months is not None:
            span = np.minimum(span, months)
        step = np.concatenate([np.arange(1, k + 1) for k in span.astype(int)]) if len(span) else np.zeros(0, int)
        person = np.repeat(cohort.index.to_numpy(), span.astype(int))
        based = pd.Series(np.repeat(cohort["base"].to_numpy(dtype="datetime64[s]"), span.astype(int)))
        dates = np.full(len(step), np.datetime64("NaT"), dtype="datetime64[s]")
        for k in np.unique(step):  # one calendar shift per distance (a few dozen), not per person
            mine = step == k
            dates[mine] = months_before(based[mine], int(k)).to_numpy(dtype="datetime64[s]")
        rows = pd.DataFrame({"person_id": person, "date": dates})
    rows = rows[rows["date"].notna()]
    person = rows["person_id"].to_numpy()
    keep = (rows["date"].to_numpy() < cohort["base"].reindex(person).to_numpy()) & \
        (rows["date"].to_numpy() >= oldest.reindex(person).to_numpy())
    rows = rows[keep].drop_duplicates()
    return rows.sort_values(["person_id", "date"], kind="stable").reset_index(drop=True)
