"""CPU time (user + system) of whole fresh processes, with the load average beside it.

On a shared 2-core machine wall time swings two-fold from run to run; the CPU a
process spends does not, and its split shows where the time goes (kernel time is
the allocator fighting the kernel, not our code). Used by scripts/bench.py.

    python scripts/bench_cpu.py FOLDER            # ours / DuckDB / floors on one extract, median of 3
    python scripts/bench_cpu.py FOLDER --pools    # ours end to end under each Arrow memory pool
    python scripts/bench_cpu.py FOLDER --dask PARTS   # the Dask route (2 local workers) against in memory
    python scripts/bench_cpu.py FOLDER --cached       # ours from the validated cache against the floor
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
              "files = {{t: f'{folder}/{{t}}.parquet' for t in cols}}\n"  # optional columns may be absent
              "print(sum(pq.read_table(f, columns=[c for c in cols[t] if c in pq.read_schema(f).names]).num_rows "
              "for t, f in files.items()))"),
    "csv_floor": ("import pyarrow.csv as pc\n"
                  "from screening.rules.protocol import load_protocol\n"
                  "cols = load_protocol({protocol!r}).columns()\n"
                  "print(sum(pc.read_csv(f'{folder}/{{t}}.csv', convert_options=pc.ConvertOptions("
                  "include_columns=c, include_missing_columns=True)).num_rows for t, c in cols.items()))"),
    # The Dask route: a LocalCluster of 2 worker processes (reaped by this one, so their CPU counts here).
    "dask": ("from distributed import Client, LocalCluster\n"
             "from screening.engine.dask_funnel import dask_screen\n"
             "if __name__ == '__main__':\n"
             "    with LocalCluster(n_workers=2, threads_per_worker=1, processes={processes}) as c, Client(c):\n"
             "        s = dask_screen({folder!r}, {protocol!r})\n"
             "        s.attrition(), s.criteria_table(), s.overlap()\n"
             "    print(int(s.summary().set_index('status').loc['eligible', 'patients']))"),
}


def fresh(code: str, env: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter: its user, system and wall seconds, load average and last printed line."""
    load = os.getloadavg()[0]
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **(env or {})}, capture_output=True,
                         text=True)
    if out.returncode:
        sys.exit(f"a benchmark process failed:\n{code}\n{out.stderr}")
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


def end_to_end(folder: str, cache: str, runs: int = 3) -> dict[str, dict]:
    """Ours (first load from Parquet and from CSV, and from the validated cache), DuckDB and the two floors."""
    pq, csv = f"{folder}/parquet", f"{folder}/csv"
    off = {"SCREENING_CACHE": "off"}
    setups = {"ours": (CODE["ours"].format(protocol=PROTOCOL, folder=pq), off),
              "ours_cached": (CODE["ours"].format(protocol=PROTOCOL, folder=pq), {"SCREENING_CACHE": cache}),
              "duckdb": (CODE["duckdb"].format(protocol=PROTOCOL, folder=pq), off),
              "floor": (CODE["floor"].format(protocol=PROTOCOL, folder=pq), off),
              "ours_csv": (CODE["ours"].format(protocol=PROTOCOL, folder=csv), off),
              "csv_floor": (CODE["csv_floor"].format(protocol=PROTOCOL, folder=csv), off)}
    fresh(*setups["ours_cached"])  # fills the cache: the cached runs are the later loads
    out = measure(setups, runs)
    counts = {k: out[k]["out"] for k in ("ours", "ours_cached", "duckdb", "ours_csv")}
    if len(set(counts.values())) != 1:
        sys.exit(f"{folder}: end to end, the eligible counts differ: {counts}")
    return out


#: issue 24's targets: name, value from (end-to-end figures, in-process row), limit
TARGETS = (
    ("ours / DuckDB, CPU", lambda e, r: e["ours"]["cpu"] / e["duckdb"]["cpu"], 0.5),
    ("ours / floor, CPU", lambda e, r: e["ours"]["cpu"] / e["floor"]["cpu"], 2.0),
    ("CSV ours / CSV floor, CPU", lambda e, r: e["ours_csv"]["cpu"] / e["csv_floor"]["cpu"], 2.0),
    ("from cache / floor, CPU", lambda e, r: e["ours_cached"]["cpu"] / e["floor"]["cpu"], 1.2),
    ("load peak / tables", lambda e, r: r["load_peak_mb"] / r["tables_mb"], 2.0),
)

NAMES = {"ours": "ours (first load)", "ours_cached": "ours from the cache", "duckdb": "DuckDB",
         "floor": "floor (pyarrow, Parquet)", "ours_csv": "ours from CSV", "csv_floor": "floor (pyarrow, CSV)"}


def report(n: int, e: dict[str, dict], r: dict) -> None:
    """The CPU and wall table for one size, then each target met or missed."""
    runs = e["ours"]["runs"]
    print(f"\nEnd to end at {n:,} patients: files -> funnel tables, whole fresh processes, median of {runs} "
          f"(load = highest 1-min load average seen, on {os.cpu_count()} cores)")
    print(HEAD)
    for k, name in NAMES.items():
        print(row(name, e[k]))
    print(f"Targets at {n:,} (issue 24; CPU = user + sys)")
    for name, value, limit in TARGETS:
        v = value(e, r)
        print(f"  {name:<28} {v:>6.2f}  target <= {limit:<4}  {'met' if v <= limit else 'MISSED'}")


def pools(folder: str, runs: int) -> None:
    """Ours end to end (first load) under each of Arrow's memory pools."""
    code = CODE["ours"].format(protocol=PROTOCOL, folder=f"{folder}/parquet")
    setups = {pool: (code, {"ARROW_DEFAULT_MEMORY_POOL": pool, "SCREENING_CACHE": "off"})
              for pool in ("mimalloc", "jemalloc", "system")}
    print(f"ours end to end, {folder}, median of {runs} fresh processes (load = 1-min average, highest seen)")
    print(HEAD)
    for pool, m in measure(setups, runs).items():
        print(row(pool, m))


def cached(folder: str, runs: int) -> None:
    """Ours from the validated cache (a cache of its own, filled first) against the floor: issue 24's <= 1.2."""
    import tempfile

    pq = f"{folder}/parquet"
    with tempfile.TemporaryDirectory() as cache:
        setups = {"ours_cached": (CODE["ours"].format(protocol=PROTOCOL, folder=pq), {"SCREENING_CACHE": cache}),
                  "floor": (CODE["floor"].format(protocol=PROTOCOL, folder=pq), {"SCREENING_CACHE": "off"})}
        fresh(*setups["ours_cached"])  # fills the cache: the cached runs are the later loads
        out = measure(setups, runs)
    print(f"ours from the validated cache vs the floor, {folder}, median of {runs} fresh processes")
    print(HEAD)
    for k, m in out.items():
        print(row(NAMES[k], m))
    ratio = out["ours_cached"]["cpu"] / out["floor"]["cpu"]
    print(f"from cache / floor, CPU {ratio:.2f} (target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'})")


def dask(folder: str, parts: str, runs: int) -> None:
    """The Dask route (a folder written by write_partitioned) against ours in memory on the same extract."""
    off = {"SCREENING_CACHE": "off"}
    setups = {"in memory": (CODE["ours"].format(protocol=PROTOCOL, folder=f"{folder}/parquet"), off),
              # Worker processes start, import and allocate on their own (a fixed ~5 s); threads in this process
              # share all that, and the screening is mostly pandas/Arrow kernels that let go of the GIL.
              "dask, 2 worker processes": (CODE["dask"].format(protocol=PROTOCOL, folder=parts, processes=True), off),
              "dask, 2 worker threads": (CODE["dask"].format(protocol=PROTOCOL, folder=parts, processes=False), off)}
    out = measure(setups, runs)
    if len({m["out"] for m in out.values()}) != 1:
        sys.exit(f"the Dask route and ours disagree: {out}")
    print(f"Dask route vs in memory, median of {runs} fresh processes (CPU includes the workers')")
    print(HEAD)
    for name, m in out.items():
        print(row(name, m))
    for name in ("dask, 2 worker processes", "dask, 2 worker threads"):
        ratio = out[name]["cpu"] / out["in memory"]["cpu"]
        print(f"{name} / in memory, CPU {ratio:.2f} (target <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", help="a bench-data/nN-version folder (holding parquet/ and csv/)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pools", action="store_true")
    parser.add_argument("--dask", metavar="PARTS", help="a partitioned copy of FOLDER (write_partitioned)")
    parser.add_argument("--cached", action="store_true", help="ours from the validated cache against the floor")
    args = parser.parse_args()
    if args.cached:
        cached(args.folder, args.runs)
    if args.pools:
        pools(args.folder, args.runs)
    if args.dask:
        dask(args.folder, args.dask, args.runs)
