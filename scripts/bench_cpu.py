"""CPU time (user + system) of whole fresh processes, with the load average beside it.

On a shared 2-core machine wall time swings two-fold from run to run; the CPU a
process spends does not, and its split shows where the time goes (kernel time is
the allocator fighting the kernel, not our code). Used by scripts/bench.py.

    python scripts/bench_cpu.py FOLDER            # ours / DuckDB / floors on one extract, median of 3
    python scripts/bench_cpu.py FOLDER --pools    # ours end to end under each Arrow memory pool
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

PROTOCOL = "misle-phase2"

# Whole processes, files to funnel tables; each prints a count so the runs can be checked against each other.
CODE = {
    "ours": ("from screening import load_extract, load_protocol\n"
             "from screening.engine.funnel import Screening\n"
             "p = load_protocol({protocol!r})\n"
             "s = Screening(load_extract({folder!r}, columns=p.columns()), p)\n"
             "s.attrition(), s.criteria_table(), s.overlap()\n"
             "print(int(s.summary().set_index('status').loc['eligible', 'patients']))"),
    "duckdb": ("from screening.rules.baselines.sql import connect, run_funnel\n"
               "from screening.rules.protocol import load_protocol\n"
               "p = load_protocol({protocol!r})\n"
               "print(len(run_funnel(connect({folder!r}, p.columns()), p)['eligible']))"),
    # The floor: pyarrow reading only the protocol's columns, imports included (nothing parsed or checked).
    "floor": ("import pyarrow.parquet as pq\n"
              "from screening.rules.protocol import load_protocol\n"
              "cols = load_protocol({protocol!r}).columns()\n"
              "print(sum(pq.read_table(f'{folder}/{{t}}.parquet', columns=c).num_rows for t, c in cols.items()))"),
    "csv_floor": ("import pyarrow.csv as pc\n"
                  "from screening.rules.protocol import load_protocol\n"
                  "cols = load_protocol({protocol!r}).columns()\n"
                  "print(sum(pc.read_csv(f'{folder}/{{t}}.csv', convert_options=pc.ConvertOptions("
                  "include_columns=c)).num_rows for t, c in cols.items()))"),
}


def fresh(code: str, env: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter: its user, system and wall seconds, load average and last printed line."""
    load = os.getloadavg()[0]
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **(env or {})}, check=True,
                         capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime, "wall": wall,
            "load": max(load, os.getloadavg()[0]), "out": out.stdout.split()[-1]}


def median(runs: list[dict]) -> dict:
    """Medians of user, system, CPU and wall over fresh runs; the highest load seen; the runs' common output."""
    outs = {r["out"] for r in runs}
    if len(outs) != 1:
        sys.exit(f"runs of one setup printed different results: {outs}")
    return {"user": statistics.median(r["user"] for r in runs), "sys": statistics.median(r["sys"] for r in runs),
            "cpu": statistics.median(r["user"] + r["sys"] for r in runs),
            "wall": statistics.median(r["wall"] for r in runs), "load": max(r["load"] for r in runs),
            "out": outs.pop(), "runs": len(runs)}


def measure(setups: dict[str, tuple[str, dict]], runs: int = 3) -> dict[str, dict]:
    """Median figures per setup (name -> (code, env)), the setups taken in turn so a load swing hits them alike."""
    raw = {k: [] for k in setups}
    for _ in range(runs):
        for k, (code, env) in setups.items():
            raw[k].append(fresh(code, env))
    return {k: median(v) for k, v in raw.items()}


def row(name: str, m: dict) -> str:
    return (f"{name:<26} {m['user']:>7.2f}s {m['sys']:>7.2f}s {m['cpu']:>7.2f}s {m['wall']:>7.2f}s "
            f"{m['load']:>6.1f}")


HEAD = f"{'':<26} {'user':>8} {'sys':>8} {'CPU':>8} {'wall':>8} {'load':>6}"


def pools(folder: str, runs: int) -> None:
    """Ours end to end (first load) under each of Arrow's memory pools."""
    code = CODE["ours"].format(protocol=PROTOCOL, folder=f"{folder}/parquet")
    setups = {pool: (code, {"ARROW_DEFAULT_MEMORY_POOL": pool, "SCREENING_CACHE": "off"})
              for pool in ("mimalloc", "jemalloc", "system")}
    print(f"ours end to end, {folder}, median of {runs} fresh processes (load = 1-min average, highest seen)")
    print(HEAD)
    for pool, m in measure(setups, runs).items():
        print(row(pool, m))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", help="a bench-data/nN-version folder (holding parquet/ and csv/)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pools", action="store_true")
    args = parser.parse_args()
    if args.pools:
        pools(args.folder, args.runs)
