"""Benchmark: the SQL route screening every index date in the database (issue 26 item 5), beside pandas.

    python scripts/bench_index_sql.py                    # 20,000 patients, about 12 visits each
    python scripts/bench_index_sql.py --patients 5000

The extract with visits is the one ``scripts/bench_visits.py`` generates (kept under bench-data/).
Timed in this process after loading, each step's wall and CPU (user + system of this process,
every DuckDB thread included): loading the tables into DuckDB and deriving the per-index rows in
SQL (:func:`~screening.rules.baselines.per_index.load_index_tables`), the states and placement of
every (person, index date) row in SQL (:func:`~screening.rules.baselines.per_index.visit_funnel`),
and the pandas over-time engine on the same visits. Both must place every row alike.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_visits import Clock, visits_extract  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--protocol", default="misle-phase2")
    args = parser.parse_args()
    import duckdb
    import numpy as np

    from screening import load_extract
    from screening.engine.over_time import EligibilityOverTime
    from screening.rules.baselines.per_index import load_index_tables, visit_funnel

    ex = load_extract(visits_extract(args.patients))
    rows = ex.n_patients + len(ex.visits)
    print(f"{ex.n_patients:,} patients, {len(ex.visits):,} visits: up to {rows:,} index rows; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, DuckDB {duckdb.__version__}")
    con = duckdb.connect()
    with Clock() as tables:
        load_index_tables(con, ex)
    with Clock() as sql:
        result = visit_funnel(con, args.protocol)
    with Clock() as engine:
        over = EligibilityOverTime(ex, args.protocol)
    same = (result["status"].to_numpy() == over.visits["status"].astype(str).to_numpy()).all() and \
        (result[over.screening.ids].to_numpy(dtype=np.int8) == over.screening.states).all()
    n = len(result)
    print(f"DuckDB: load tables and derive the per-index rows: wall {tables.wall:.2f} s, CPU {tables.cpu:.2f} s")
    print(f"DuckDB: states and placement of {n:,} index rows: wall {sql.wall:.2f} s, CPU {sql.cpu:.2f} s "
          f"({1e6 * sql.cpu / n:.1f} µs of CPU per index row)")
    print(f"pandas over-time engine on the same rows: wall {engine.wall:.2f} s, CPU {engine.cpu:.2f} s")
    print(f"every index row placed alike: {'yes' if same else 'NO'}; load average after {os.getloadavg()[0]:.1f}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
