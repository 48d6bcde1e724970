"""Benchmark: the full subset table (every combination of criteria dropped) for misle-phase2, at 5k and 1M.

    python scripts/bench_relax.py                 # the bundled 5k extract and a generated 1M one
    python scripts/bench_relax.py --sizes 5000    # 5k only

The 1M extract is generated once with the synthetic generator and cached under
bench-data/ (gitignored). Loading and screening are timed apart from the table:
the figure the targets apply to (5k ≤ 2 s, 1M ≤ 30 s) is the subset table alone,
built from the screened states (packing each patient's failed and unknown
criteria into masks, two histograms, the zeta transform over all 2^k masks).
Shapley values from the table are timed too. Each figure is wall time and CPU
time (user + system, this process), the median of three runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench-data"
TARGET = {5000: 2.0, 1_000_000: 30.0}


def timed(func, runs: int = 3):
    """Median wall and CPU (user + sys) seconds of ``runs`` calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), os.times()
        out = func()
        c1 = os.times()
        walls.append(time.perf_counter() - t0)
        cpus.append((c1.user - c0.user) + (c1.system - c0.system))
    return statistics.median(walls), statistics.median(cpus), out


def extract_folder(n: int) -> Path:
    if n == 5000:
        return ROOT / "data" / "synthetic"
    folder = CACHE / f"relax-n{n}" / "parquet"
    if not (folder / "patients.parquet").exists():
        from screening.synth.synthetic import generate, write_extract

        print(f"generating {n:,} patients into {folder} ...", file=sys.stderr, flush=True)
        write_extract(generate(n, seed=7), folder, "parquet")
    return folder


def run(n: int) -> dict:
    from screening import load_extract, load_protocol, screen
    from screening.engine.relaxations import relaxations_of

    protocol = load_protocol("misle-phase2")
    folder = extract_folder(n)
    load_wall, load_cpu, ex = timed(lambda: load_extract(folder, columns=protocol.columns()), runs=1)
    screen_wall, screen_cpu, s = timed(lambda: screen(ex, protocol), runs=1)
    table_wall, table_cpu, r = timed(lambda: relaxations_of(s.states, s.ids, s.labels))
    shap_wall, shap_cpu, _ = timed(r.shapley)
    return {"n": n, "k": r.k, "subsets": 1 << r.k, "load": (load_wall, load_cpu), "screen": (screen_wall, screen_cpu),
            "table": (table_wall, table_cpu), "shapley": (shap_wall, shap_cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,1000000", help="comma-separated patient counts")
    sizes = [int(x) for x in parser.parse_args().sizes.split(",")]
    sys.path.insert(0, str(ROOT / "lib"))
    os.environ.setdefault("SCREENING_CACHE", "off")
    print(f"{'patients':>10} {'k':>3} {'subsets':>11}  {'load wall/cpu':>14}  {'screen wall/cpu':>16}  "
          f"{'subset table wall/cpu':>22}  {'Shapley wall/cpu':>17}  target")
    for n in sizes:
        r = run(n)
        load = os.getloadavg()[0]  # wall time on a shared machine stretches with the load; CPU time does not

        def pair(key: str) -> str:
            return f"{r[key][0]:.2f}s/{r[key][1]:.2f}s"

        target = TARGET.get(n)
        verdict = "" if target is None else (f"≤ {target:g} s: wall {'met' if r['table'][0] <= target else 'MISSED'}"
                                             f", CPU {'met' if r['table'][1] <= target else 'MISSED'}")
        print(f"{n:>10,} {r['k']:>3} {r['subsets']:>11,}  {pair('load'):>14}  {pair('screen'):>16}  "
              f"{pair('table'):>22}  {pair('shapley'):>17}  {verdict} (load {load:.1f})", flush=True)


if __name__ == "__main__":
    main()
