"""Time the portfolio of every shipped trial against one protocol alone, on one loaded extract.

Prints wall and CPU (user + sys, this process and its threads) for: loading the extract, screening
one protocol (misle-phase2) with its protected funnel table, and screening the portfolio (each
protocol on a fresh cache) with its protected tables; and the load average beside them.

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
from screening.engine.funnel import Screening  # noqa: E402
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


def main(path: str = "data/synthetic") -> None:
    warnings.simplefilter("ignore")
    print(f"{path}: load average before {os.getloadavg()}")
    extract = timed("load the extract", lambda: load_extract(path))
    print(f"{extract.n_patients:,} patients")
    one = load_protocol("misle-phase2")
    single = timed("one protocol (misle-phase2): screen", lambda: Screening(extract, one))
    timed("one protocol: protected funnel table", lambda: funnel_table(single))
    portfolio = timed("portfolio of every shipped trial: screen", lambda: Portfolio(extract))
    timed("portfolio: protected tables", lambda: portfolio_tables(portfolio))
    counted = sum(len(s.criteria) for s in portfolio.screenings.values())
    print(f"{len(portfolio.ids)} trials, {counted} criteria, {len(portfolio.cache)} evaluated (distinct rule and "
          f"parameters); load average after {os.getloadavg()}")


if __name__ == "__main__":
    main(*sys.argv[1:])
