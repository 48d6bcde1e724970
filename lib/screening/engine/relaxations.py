"""Every combination of criteria dropped, counted exactly, and each criterion's Shapley share of the exclusions.

Each patient carries two sets of criteria (bitmasks, bit *i* for the table's
*i*-th criterion): ``F``, the criteria they fail, and ``U``, those their data
cannot assess (after the missing-data policy: ``exclude`` turns unknowns into
failures, so ``U`` is empty; ``include`` turns them into passes). With the set
``D`` of criteria dropped, exactly as the funnel decides:

* **excluded** when ``F ⊄ D`` (a definite failure of a criterion still applied);
* **not assessable** when ``F ⊆ D`` but ``U ⊄ D`` (some completion of the missing
  values passes, another fails);
* **eligible** when ``F ∪ U ⊆ D``.

So ``eligible(D)`` counts patients whose ``F ∪ U`` is a subset of ``D``, and
``eligible(D) + not_assessable(D)`` those whose ``F`` is: two subset sums (the
zeta transform over the 2^k masks) of the patients' histograms of ``F ∪ U`` and
of ``F``. Each of the k passes adds one half of the array into the other, so the
whole table costs O(k·2^k) array additions, independent of the patients.

Only criteria that *bind* (someone fails them or cannot be assessed on them) get
a bit: dropping any other changes nothing. Beyond :data:`MAX_EXACT` binding
criteria the table keeps the :data:`MAX_EXACT` that touch the most patients and
holds the rest applied; ``held_bound`` is then the most patients any
combination could gain by also dropping held criteria (those failing or
unknown on at least one of them), so every pool in the table is exact for its
subset and at most ``held_bound`` short of the same subset with held criteria
dropped too.

Example
-------
>>> import numpy as np
>>> states = np.array([[1, 1], [0, 1], [0, 0], [-1, 1], [0, -1]], dtype=np.int8)
>>> r = relaxations_of(states, ["a", "b"])
>>> r.pool([])["eligible"], r.pool(["a"])["eligible"], r.pool(["a"])["not_assessable"]
(1, 3, 1)
>>> r.shapley()["shapley_excluded"].tolist()
[2.5, 0.5]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.engine.counts import FAIL, UNKNOWN, _bits
from screening.errors import ProtocolError

__all__ = ["Relaxations", "relaxations_of", "subset_sums", "MAX_EXACT", "apportion"]

#: Binding criteria in one exact table: 2^24 subsets, one int64 per subset (128 MiB).
MAX_EXACT = 24


def subset_sums(hist: np.ndarray, k: int) -> np.ndarray:
    """Zeta transform in place: ``out[D] = sum of hist[S] over every S ⊆ D``, for the 2^k masks ``D``.

    >>> subset_sums(np.array([1, 2, 3, 4]), 2).tolist()
    [1, 3, 4, 10]
    """
    for i in range(k):
        # Masks with bit i set receive the count of the same mask without it.
        halves = hist.reshape(-1, 2, 1 << i)
        halves[:, 1, :] += halves[:, 0, :]
    return hist


@dataclass
class Relaxations:
    """Exact counts for every subset of the binding criteria dropped (see the module's docstring).

    ``ids`` are the criteria with a bit (bit i = ``ids[i]``); ``never_bind`` the
    criteria nobody fails or misses; ``held`` the binding criteria left applied
    beyond :data:`MAX_EXACT`. ``eligible[D]`` and ``assessable_or_eligible[D]``
    hold, per mask ``D``, the patients with ``F ∪ U ⊆ D`` and with ``F ⊆ D``.
    """

    criteria: list[str]
    ids: list[str]
    never_bind: list[str]
    held: list[str]
    held_bound: int
    total: int
    eligible: np.ndarray
    eligible_or_unknown: np.ndarray
    labels: dict

    @property
    def k(self) -> int:
        return len(self.ids)

    def code(self, dropped: Iterable[str]) -> int:
        """The mask of ``dropped`` (criteria that never bind add nothing; a held one is refused)."""
        code = 0
        for cid in dropped:
            if cid in self.ids:
                code |= 1 << self.ids.index(cid)
            elif cid in self.held:
                raise ProtocolError("relaxations", cid, f"one of the {MAX_EXACT} criteria the exact table covers",
                                    hint=f"{cid} is held applied; dropping it too gains at most "
                                         f"{self.held_bound} more patients.")
            elif cid not in self.never_bind:
                raise ProtocolError("relaxations", cid, "a counted criterion: " + ", ".join(self.criteria))
        return code

    def pool(self, dropped: Iterable[str]) -> dict[str, int]:
        """Eligible, not assessable and excluded patients with ``dropped`` dropped, and the pool's upper end."""
        code = self.code(dropped)
        eligible, upper = int(self.eligible[code]), int(self.eligible_or_unknown[code])
        return {"eligible": eligible, "not_assessable": upper - eligible, "excluded": self.total - upper,
                "eligible_max": upper}

    def table(self, max_dropped: int | None = 3) -> pd.DataFrame:
        """One row per subset of at most ``max_dropped`` binding criteria (None: all 2^k), tidy.

        Columns: ``dropped`` (ids joined by " + ", empty for the protocol as it is),
        ``n_dropped``, ``eligible``, ``not_assessable``, ``excluded``, ``eligible_max``
        (eligible if every not-assessable patient qualified), ``gain`` and ``gain_max``
        against the protocol as it is. Sorted by size, then by gain, largest first.
        """
        codes = np.arange(1 << self.k, dtype=np.int64)
        size = np.bitwise_count(codes)
        if max_dropped is not None:
            codes = codes[size <= max_dropped]
            size = size[size <= max_dropped]
        eligible = self.eligible[codes].astype(np.int64)
        upper = self.eligible_or_unknown[codes].astype(np.int64)
        names = np.array(self.ids, dtype=object)
        bits = (codes[:, None] >> np.arange(self.k)) & 1
        dropped = [" + ".join(names[row.astype(bool)]) for row in bits]  # rows are subsets, not patients
        table = pd.DataFrame({"dropped": dropped, "n_dropped": size.astype(int), "eligible": eligible,
                              "not_assessable": upper - eligible, "excluded": self.total - upper,
                              "eligible_max": upper, "gain": eligible - int(self.eligible[0]),
                              "gain_max": upper - int(self.eligible_or_unknown[0])})
        return table.sort_values(["n_dropped", "gain", "gain_max", "dropped"], ascending=[True, False, False, True],
                                 kind="stable").reset_index(drop=True)

    def best(self, n_dropped: int, top: int = 5) -> pd.DataFrame:
        """The ``top`` subsets of exactly ``n_dropped`` criteria by patients gained (ties: upper end, names)."""
        table = self.table(n_dropped)
        return table[table["n_dropped"] == n_dropped].head(top).reset_index(drop=True)

    # --- Shapley ------------------------------------------------------------------------------------

    def _shapley(self, counts: np.ndarray) -> np.ndarray:
        """Shapley value of each bit in the game v(S) = patients stopped when only S is applied.

        v(S) = total − counts[complement of S] (counts[D]: patients untouched with D dropped), so
        v(S ∪ j) − v(S) = counts[T] − counts[T \\ j] for T = complement of S, which holds j. Each T
        carries the weight |S|! (k − |S| − 1)! / k! of the coalitions S it stands for.
        """
        k = self.k
        if k == 0:
            return np.zeros(0)
        weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
                          + [0.0])
        # Split each mask into high and low bits: a (2^hi, 2^lo) grid. Summing the grid by the popcount of the
        # other half (two matrix products, exact in float64 for counts this size) leaves small arrays only.
        lo = k // 2
        hi = k - lo
        high_pc = np.bitwise_count(np.arange(1 << hi, dtype=np.int64))
        low_pc = np.bitwise_count(np.arange(1 << lo, dtype=np.int64))
        grid = counts.reshape(1 << hi, 1 << lo)
        by_low = np.zeros((1 << hi, lo + 1))  # [r, s]: masks of high part r whose low part has s bits
        by_high = np.zeros((hi + 1, 1 << lo))  # [s, c]: masks of low part c whose high part has s bits
        one_low, one_high = np.eye(lo + 1)[low_pc], np.eye(hi + 1)[high_pc]
        step = max(1, (1 << 20) >> lo)  # about a million cells at a time
        for r in range(0, 1 << hi, step):  # blocks of the grid, not patients
            block = grid[r:r + step].astype(np.float64)
            by_low[r:r + step] = block @ one_low
            by_high += one_high[r:r + step].T @ block

        def weighted(size: np.ndarray, shift: int) -> np.ndarray:
            # T holds j: its coalition S is the complement, of size k − |T|; as T \ j it stands for size k − |T| − 1.
            s = k - size - shift
            return np.where(s >= 0, weight[np.clip(s, 0, k)], 0.0)

        size_r = high_pc[:, None] + np.arange(lo + 1)[None, :]
        size_c = np.arange(hi + 1)[:, None] + low_pc[None, :]
        rows_a, rows_b = (weighted(size_r, 0) * by_low).sum(axis=1), (weighted(size_r, 1) * by_low).sum(axis=1)
        cols_a, cols_b = (weighted(size_c, 0) * by_high).sum(axis=0), (weighted(size_c, 1) * by_high).sum(axis=0)
        out = np.empty(k)
        for j in range(k):  # per criterion: masks holding bit j (T), and those lacking it (T \ j)
            if j < lo:
                has = ((np.arange(1 << lo) >> j) & 1).astype(bool)
                out[j] = cols_a[has].sum() - cols_b[~has].sum()
            else:
                has = ((np.arange(1 << hi) >> (j - lo)) & 1).astype(bool)
                out[j] = rows_a[has].sum() - rows_b[~has].sum()
        return out

    def shapley(self) -> pd.DataFrame:
        """Each criterion's Shapley value in the exclusions, exact from the subset table.

        ``shapley_excluded``: the order-free share of the excluded patients (they add up
        to the excluded total); ``shapley_not_eligible``: the same for everyone not
        eligible (excluded or not assessable; they add up to both together).
        ``share_excluded`` is the first as a percentage of the excluded. Criteria
        that never bind score 0. Needs every binding criterion in the table.
        """
        if self.held:
            raise ProtocolError("relaxations", "shapley", f"at most {MAX_EXACT} binding criteria",
                                hint="held: " + ", ".join(self.held))
        excluded = self._shapley(self.eligible_or_unknown)
        ineligible = self._shapley(self.eligible)
        by_id = dict(zip(self.ids, zip(excluded, ineligible, strict=True), strict=True))
        rows = [(cid, self.labels.get(cid, cid), *by_id.get(cid, (0.0, 0.0))) for cid in self.criteria]
        table = pd.DataFrame(rows, columns=["criterion", "label", "shapley_excluded", "shapley_not_eligible"])
        total = self.total - int(self.eligible_or_unknown[0])
        table["share_excluded"] = np.round(100 * table["shapley_excluded"] / total, 1) if total else 0.0
        return table


def relaxations_of(states: np.ndarray, ids: list[str], labels: dict | None = None,
                   max_exact: int = MAX_EXACT) -> Relaxations:
    """The subset table of a patients × criteria matrix of states (1 pass, 0 fail, -1 unknown)."""
    n, k = states.shape
    fail, unknown = states == FAIL, states == UNKNOWN
    touched = (fail | unknown).sum(axis=0)
    binding = [j for j in range(k) if touched[j]]
    # Beyond the cap, keep the criteria touching the most patients (ties: protocol order).
    kept = sorted(sorted(binding, key=lambda j: -touched[j])[:max_exact])
    held = [j for j in binding if j not in kept]
    fail_bits, unknown_bits = _bits(fail[:, kept]), _bits(unknown[:, kept])
    either = fail_bits | unknown_bits
    width = 1 << len(kept)
    if held:
        # A patient failing (or unknown on) a held criterion never enters the table's counts.
        on_held = (fail | unknown)[:, held].any(axis=1)
        fails_held = fail[:, held].any(axis=1)
        held_bound = int(on_held.sum())
        eligible = np.bincount(either[~on_held], minlength=width)
        upper = np.bincount(fail_bits[~fails_held], minlength=width)
    else:
        held_bound = 0
        eligible = np.bincount(either, minlength=width)
        upper = np.bincount(fail_bits, minlength=width)
    # Both histograms in one int64 per mask, the upper count in the high 32 bits: counts never reach 2^32,
    # so the halves never carry into each other and one transform sums both.
    packed = upper
    packed <<= 32
    packed |= eligible
    del eligible
    subset_sums(packed, len(kept))
    low, high = (0, 1) if sys.byteorder == "little" else (1, 0)
    halves = packed.view(np.int32)  # the two halves of each int64, as strided views (no copy)
    return Relaxations(
        criteria=list(ids), ids=[ids[j] for j in kept], never_bind=[ids[j] for j in range(k) if not touched[j]],
        held=[ids[j] for j in held], held_bound=held_bound, total=n,
        eligible=halves[low::2], eligible_or_unknown=halves[high::2], labels=dict(labels or {}))


def apportion(values: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers within 1 of ``values`` that add up to ``total`` (largest remainders get the extra ones).

    Shapley values are fractions of patients; apportioned, each stays between its
    floor and ceiling (so within any whole-number bounds of the fraction) and the
    sum is exactly the excluded count, a relation the disclosure audit can state.

    >>> apportion(np.array([2.5, 0.5]), 3).tolist()
    [3, 0]
    """
    values = np.asarray(values, dtype=float)
    floor = np.floor(values + 1e-9).astype(np.int64)
    short = int(total - floor.sum())
    order = np.argsort(-(values - floor), kind="stable")
    out = floor.copy()
    out[order[:short]] += 1
    return out


def shapley_table(s) -> pd.DataFrame:
    """Shapley values of a screening's criteria beside its alone / unique / in-sequence counts.

    ``shapley_whole`` is the Shapley value apportioned to whole patients
    (:func:`apportion`): they add up to the excluded count exactly.
    """
    table = s.subsets().shapley()
    counts = s.criteria_table().set_index("criterion")
    table["shapley_whole"] = apportion(table["shapley_excluded"].to_numpy(), int(s.counts.status[1]))
    for column in ("excluded_alone", "excluded_uniquely", "excluded_in_sequence"):
        table[column] = counts.loc[table["criterion"], column].to_numpy().astype(int)
    table["rank_shapley"] = table["shapley_excluded"].rank(method="first", ascending=False).astype(int)
    table["rank_in_sequence"] = table["excluded_in_sequence"].rank(method="first", ascending=False).astype(int)
    return table
