"""Small-cell protection across every shareable table at once, checked by the attack itself.

Each count a report publishes is a cell. Counts in different tables are tied
by sums: a funnel step's entering = excluded + not assessable + remaining, site
counts add up to the total, the headline totals add up the funnel, a column's
missing count equals the patients a one-column criterion cannot assess. A reader
knows these relations and what each label means:

* a number is exact;
* ``<11`` (threshold 10) is a count from 1 to 10;
* ``*`` is a count hidden to protect another. Only counts above the threshold
  are hidden that way, so it means "at least 11".

:func:`audit` is that reader's best attack: for every small hidden count it
solves two linear programs (smallest and largest value consistent with all
published cells) over every relation. A count is protected when the attack
leaves it at least :data:`MIN_VALUES` possible values. It can never be
recovered, nor pinned to "1 or 2". (The attack may narrow "<11" to, say, "5 to
10", when five small site counts add up to one small total: that bound follows
from "<11" meaning at least 1, and hiding it would need zeros hidden too.)
:func:`protect` starts from primary suppression and hides more cells (complementary
suppression, smallest counts first) until the audit finds nothing.

Example
-------
>>> cells = Cells(threshold=10)
>>> a, b, total = cells.add("t", 0, "a", 3), cells.add("t", 0, "b", 40), cells.add("t", 0, "total", 43)
>>> cells.relate({total: 1, a: -1, b: -1})
>>> protect(cells)  # cells hidden besides the small one
1
>>> cells.label(a), cells.label(b), cells.label(total)
('<11', '*', '43')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import DisclosureError

__all__ = ["Cells", "audit", "protect", "HIDDEN"]

HIDDEN = "*"
VISIBLE, PRIMARY, COMPLEMENT, WITHHELD = 0, 1, 2, 3
#: The fewest values a hidden small count may be left with by any attack.
MIN_VALUES = 3


@dataclass
class Cells:
    """Published counts (true values), how each is shown, and the sums that tie them."""

    threshold: int = 10
    values: list[int] = field(default_factory=list)
    names: list[tuple] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    locked: set[int] = field(default_factory=set)
    relations: list[dict[int, float]] = field(default_factory=list)
    _index: dict[tuple, int] = field(default_factory=dict)

    def add(self, table: str, row, column: str, value: int, locked: bool = False) -> int:
        """Register a published count; small ones start hidden (primary suppression)."""
        key = (table, row, column)
        if key in self._index:
            return self._index[key]
        idx = len(self.values)
        self._index[key] = idx
        self.values.append(int(value))
        self.names.append(key)
        self.state.append(PRIMARY if 1 <= value <= self.threshold else VISIBLE)
        if locked:
            self.locked.add(idx)
        return idx

    def relate(self, coefficients: dict[int, float]) -> None:
        """Publish the relation sum(coefficient × cell) = 0 (true of the values, known to readers)."""
        assert abs(sum(c * self.values[i] for i, c in coefficients.items())) < 1e-9, coefficients
        self.relations.append(coefficients)

    def withhold(self, match) -> None:
        """Stop publishing every cell whose name ``match(name)`` accepts."""
        for i, name in enumerate(self.names):
            if match(name):
                self.state[i] = WITHHELD

    def label(self, idx: int) -> str:
        if self.state[idx] == WITHHELD:
            return ""
        if self.state[idx] == PRIMARY:
            return f"<{self.threshold + 1}"
        if self.state[idx] == COMPLEMENT:
            return HIDDEN
        return str(self.values[idx])

    def hidden(self, idx: int) -> bool:
        return self.state[idx] != VISIBLE

    def bounds(self) -> list[tuple[float, float]]:
        """What a reader knows of each cell from its label alone."""
        top = max(self.values, default=0) * 4 + self.threshold + 1  # finite: keeps the LPs bounded
        out = []
        for v, s in zip(self.values, self.state, strict=True):
            if s == VISIBLE:
                out.append((v, v))
            elif s == PRIMARY:
                out.append((1, self.threshold))
            elif s == WITHHELD:  # not published at all: the reader knows nothing of it
                out.append((0, top))
            else:
                out.append((self.threshold + 1, top))
        return out


def audit(cells: Cells) -> list[tuple[int, float, float]]:
    """Small hidden counts the attack pins down: (cell, smallest, largest value it can still be)."""
    primary = [i for i, s in enumerate(cells.state) if s == PRIMARY]
    leaks = []
    for i, (smallest, largest) in _ranges(cells, primary).items():
        if np.floor(largest + 1e-6) - np.ceil(smallest - 1e-6) + 1 < MIN_VALUES:
            leaks.append((i, smallest, largest))
    return leaks


def _ranges(cells: Cells, targets: list[int]) -> dict[int, tuple[float, float]]:
    """Smallest and largest value each target cell can take given every published cell and relation."""
    from scipy.optimize import linprog
    from scipy.sparse import lil_matrix

    relevant = [r for r in cells.relations if any(cells.hidden(i) for i in r)]
    used = sorted({i for r in relevant for i in r})
    pos = {c: j for j, c in enumerate(used)}
    out = {}
    if not relevant:
        return out
    a = lil_matrix((len(relevant), len(used)))
    for k, r in enumerate(relevant):
        for i, coef in r.items():
            a[k, pos[i]] = coef
    a = a.tocsr()
    b = np.zeros(len(relevant))
    all_bounds = cells.bounds()
    bounds = [all_bounds[i] for i in used]
    for i in targets:
        if i not in pos:
            continue
        c = np.zeros(len(used))
        c[pos[i]] = 1.0
        lo = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        if lo.status != 0 or hi.status != 0:
            raise RuntimeError(f"disclosure audit failed to solve for {cells.names[i]}")
        out[i] = (lo.fun, -hi.fun)
    return out


def _reveal_derivable(cells: Cells) -> None:
    """Show hidden-to-protect counts that the relations pin exactly anyway: hiding them protects nothing."""
    while True:
        complements = [i for i, s in enumerate(cells.state) if s == COMPLEMENT]
        pinned = [i for i, (lo, hi) in _ranges(cells, complements).items() if hi - lo < 0.5]
        if not pinned:
            return
        for i in pinned:
            cells.state[i] = VISIBLE


def protect(cells: Cells, max_rounds: int = 200) -> int:
    """Hide more cells until :func:`audit` narrows no small count; returns how many stay hidden to protect."""
    for _ in range(max_rounds):
        leaks = audit(cells)
        if not leaks:
            _reveal_derivable(cells)
            return sum(1 for s in cells.state if s == COMPLEMENT)
        chosen = set()
        for i, _, _ in leaks:
            pick = _complement_for(cells, i)
            if pick is not None and pick not in chosen:
                chosen.add(pick)
        if not chosen:
            where = ", ".join(f"{t} {r} {c}" for t, r, c in (cells.names[i] for i, _, _ in leaks[:3]))
            raise DisclosureError(
                f"Counts this small cannot be shared at a small-cell threshold of {cells.threshold}: nearly every "
                f"count is under it, so hiding more cannot stop subtraction (e.g. {where}). Share a larger "
                "extract, or use --small-cell 0 for a report kept internal.",
                cells=[cells.names[i] for i, _, _ in leaks])
        for j in chosen:
            cells.state[j] = COMPLEMENT
    raise RuntimeError("small-cell protection did not converge")


def _complement_for(cells: Cells, i: int) -> int | None:
    """A visible count to hide for cell i: the nearest one in the web of relations, above the threshold.

    Nearest first, because a cell in i's own relations breaks the attack most directly.
    """
    by_cell: dict[int, list[dict]] = {}
    for r in cells.relations:
        for j in r:
            by_cell.setdefault(j, []).append(r)
    frontier, seen = [i], {i}
    while frontier:
        candidates, nxt = [], []
        for c in frontier:
            for r in by_cell.get(c, []):
                for j in r:
                    if j in seen:
                        continue
                    seen.add(j)
                    usable = cells.state[j] == VISIBLE and j not in cells.locked and cells.values[j] > cells.threshold
                    if usable:
                        candidates.append(j)
                    elif cells.hidden(j):
                        nxt.append(j)  # look further through hidden cells only: visible ones pin nothing
        if candidates:
            # Fewest relations first (hiding a well-connected count forces more hiding), then smallest.
            return min(candidates, key=lambda j: (len(by_cell.get(j, [])), cells.values[j]))
        frontier = nxt
    return None
