"""Time the portfolio of every shipped trial against one protocol alone, on one loaded extract.

Prints wall and CPU (user + sys, this process and its threads) for: loading the extract, screening
one protocol (misle-phase2) with its protected funnel table, and screening the portfolio (each
protocol on a fresh cache) with its protected tables; and the load average beside them. Then the
portfolio's distinct criteria by cost (each evaluated once, as the portfolio does), with the trials
that use each: where the portfolio's time goes.

    .venv/bin/python scripts/bench_portfolio.py [EXTRACT]     # default: the bundled extract
"""

from __future__ import annotations

import os
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from screening.disclosure.portfolio import portfolio_tables  # noqa: E402
from screening.disclosure.shareable import funnel_table  # noqa: E402
from screening.engine.funnel import Screening, mask_key  # noqa: E402
from screening.engine.portfolio import Portfolio  # noqa: E402
from screening.io.extract import load_extract  # noqa: E402
from screening.rules.protocol import load_protocol  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(label: str, work):
    wall, cpu = time.perf_counter(), _cpu()
    out = work()
    print(f"{label:<44} wall {time.perf_counter() - wall:7.2f} s   CPU {_cpu() - cpu:7.2f} s   "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    return out


class TimedCache(dict):
    """The portfolio's cache of criteria, timing each criterion from the miss that starts it to its entry."""

    def __init__(self) -> None:
        super().__init__()
        self.cost: dict[str, tuple[float, float]] = {}
        self._began: tuple | None = None

    def __contains__(self, key) -> bool:
        held = super().__contains__(key)
        if not held:
            self._began = (key, time.perf_counter(), _cpu())
        return held

    def __setitem__(self, key, value) -> None:
        if self._began is not None and self._began[0] == key:
            self.cost[key] = (time.perf_counter() - self._began[1], _cpu() - self._began[2])
        super().__setitem__(key, value)


def by_criterion(portfolio: Portfolio, cache: TimedCache, top: int = 15) -> None:
    """The distinct criteria by CPU, largest first, each with the trials (and their criterion ids) using it."""
    users: dict[str, list[str]] = {}
    for pid, s in portfolio.screenings.items():
        for c in s.criteria:
            users.setdefault(mask_key(c), []).append(f"{pid}:{c.id}")
    total = sum(cpu for _, cpu in cache.cost.values())
    print(f"distinct criteria by CPU (of {total:.2f} s in {len(cache.cost)} criteria; top {top})")
    for key, (wall, cpu) in sorted(cache.cost.items(), key=lambda kv: -kv[1][1])[:top]:
        rule = key.split(":", 1)[1].split("{", 1)[0]
        print(f"  {cpu:6.2f} s CPU {wall:6.2f} s wall  {rule:<20} {len(users.get(key, []))} uses: "
              f"{', '.join(users.get(key, []))}")


def main(path: str = "data/synthetic") -> None:
    warnings.simplefilter("ignore")
    print(f"{path}: load average before {os.getloadavg()}")
    extract = timed("load the extract", lambda: load_extract(path))
    print(f"{extract.n_patients:,} patients")
    one = load_protocol("misle-phase2")
    single = timed("one protocol (misle-phase2): screen", lambda: Screening(extract, one))
    timed("one protocol: protected funnel table", lambda: funnel_table(single))
    cache = TimedCache()
    portfolio = timed("portfolio of every shipped trial: screen", lambda: Portfolio(extract, _cache=cache))
    timed("portfolio: protected tables", lambda: portfolio_tables(portfolio))
    counted = sum(len(s.criteria) for s in portfolio.screenings.values())
    print(f"{len(portfolio.ids)} trials, {counted} criteria, {len(portfolio.cache)} evaluated (distinct rule and "
          f"parameters); load average after {os.getloadavg()}")
    by_criterion(portfolio, cache)


if __name__ == "__main__":
    main(*sys.argv[1:])
