"""Benchmark: screening a generated OMOP CDM where it lives (Parquet folder, DuckDB file, PostgreSQL).

    python scripts/bench_omop.py                            # 200k persons, Parquet, 2M-concept vocabulary
    python scripts/bench_omop.py --persons 1000000 --routes parquet,duckdb,postgres

The CDM (about 30 measurements, 4 conditions and 4 prescriptions per person; a
2M-row concept table and a 10M-row concept_ancestor) is generated once, in
slices, and cached under bench-data/omop-<persons>/. Each route runs in a fresh
process, so its peak memory (sampled RSS) is its own; PostgreSQL runs on a
throw-away server started for the run and stopped afterwards. Every route must
give the same screening, or the script fails: the whole attrition table and every
person's state on every criterion (so every outcome), compared by digest and, on
a difference, person by person. Targets for 200k persons on a 2-core machine:
screening within 10 s and 1 GB.

The PostgreSQL route is split into time in the database and time in the client
(issue 24: the client at most 25% of the CPU). The client's CPU is the screening
process's own (user + sys, from reading to the funnel, less the thread sampling
its memory); the database's is what the throw-away cluster spent meanwhile, read
from /proc: the postmaster, every process it runs and every one it has reaped (a
backend or parallel worker that exited). The client's wall time is split into
waiting on the database (inside the driver's execute, or receiving the rows) and working on the
results.

    python scripts/bench_omop.py --routes postgres --runs 3 --profile /tmp/client.prof
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench-data"
SLICE = 100_000
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))


def ensure_cdm(persons: int, vocabulary: int) -> Path:
    """The generated CDM as a Parquet folder (one file per slice for the person tables)."""
    from screening.io.sources.synthetic_cdm import generate_cdm

    folder = CACHE / f"omop-{persons}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for k, first in enumerate(range(1, persons + 1, SLICE)):
        n = min(SLICE, persons - first + 1)
        tables = generate_cdm(n, seed=100 + k, vocabulary=vocabulary, first_id=first, with_vocabulary=k == 0,
                              sle_share=0.02)
        for name, table in tables.items():
            if name in ("concept", "concept_ancestor", "drug_strength"):
                table.to_parquet(folder / f"{name}.parquet", index=False)
            else:
                (folder / name).mkdir(exist_ok=True)
                table.to_parquet(folder / name / f"part-{k:03d}.parquet", index=False)
        print(f"generated persons {first:,}-{first + n - 1:,}", file=sys.stderr, flush=True)
    done.touch()
    return folder


def ensure_duckdb(folder: Path) -> Path:
    import duckdb

    path = folder.with_suffix(".duckdb")
    if path.exists():
        return path
    con = duckdb.connect(str(path) + ".tmp")
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        source = entry / "*.parquet" if entry.is_dir() else entry
        con.execute(f"CREATE TABLE {entry.stem} AS SELECT * FROM read_parquet('{source}')")
    con.close()
    os.rename(str(path) + ".tmp", path)
    return path


PROTOCOL = "misle-phase2-ehr"


class Waits:
    """Wall and CPU seconds this process spends inside the database driver: waiting on the database.

    Every statement SQLAlchemy sends (cursor execute; the rows are then converted outside it) and
    every result the PostgreSQL route receives as CSV text (``_Database.receive``) is timed.
    """

    def __init__(self) -> None:
        import sqlalchemy as sa

        from screening.io.sources import omop_connect

        self.wall = self.cpu = 0.0
        self.count = 0
        self._started: list[tuple[float, float]] = []
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._before)
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", self._after)
        receive = getattr(omop_connect._Database, "receive", None)
        if receive is not None:
            def timed(*args, **kwargs):
                self._before()
                try:
                    return receive(*args, **kwargs)
                finally:
                    self._after()
            omop_connect._Database.receive = timed

    def _before(self, *_) -> None:
        self._started.append((time.perf_counter(), time.thread_time()))

    def _after(self, *_) -> None:
        wall, cpu = self._started.pop()
        self.wall += time.perf_counter() - wall
        self.cpu += time.thread_time() - cpu
        self.count += 1


def sampler():
    """bench's peak-memory sampler, saying what CPU its own thread took (not the client's work: taken off)."""
    from bench import PeakSampler

    class Sampler(PeakSampler):
        cpu = 0.0

        def _run(self) -> None:
            super()._run()
            self.cpu = time.thread_time()

    return Sampler()


def child(spec: str, cdm_schema: str | None, vocab_schema: str | None, outcomes: str,
          profile: str | None = None) -> dict:
    """Read and screen in this process; time, CPU and peak memory of that work alone.

    Each person's state on every criterion is written to ``outcomes`` (Parquet, by person id) and
    digested, so the parent can compare routes person by person. ``profile`` names a file for
    cProfile's statistics of the reading and screening (which slows them).
    """
    import cProfile
    import hashlib
    import warnings

    from bench import _current_rss_mb

    from screening import load_protocol, screen
    from screening.io.sources import load_source

    warnings.simplefilter("ignore")
    protocol = load_protocol(PROTOCOL)
    waits = Waits()
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU: a loaded machine does not skew it
    before = _current_rss_mb()
    with sampler() as peak:
        cpu, start = os.times(), time.perf_counter()
        if profiler:
            profiler.enable()
        extract = load_source(spec, cdm_schema=cdm_schema, vocab_schema=vocab_schema, protocol=protocol)
        loaded = time.perf_counter() - start
        s = screen(extract, protocol)
        attrition = s.attrition()
        if profiler:
            profiler.disable()
        total, cpu_end = time.perf_counter() - start, os.times()
    if profiler:
        profiler.dump_stats(profile)
    states = pd.DataFrame(s.states, columns=s.ids, index=pd.to_numeric(extract.patients.index))
    states = states.join(s.outcome()[["status", "criterion"]].set_axis(states.index)).sort_index()
    states.index.name = "person_id"
    states.to_parquet(outcomes)
    digest = hashlib.sha256(pd.util.hash_pandas_object(states.astype(str), index=True).to_numpy().tobytes())
    return {"load_s": round(loaded, 2), "total_s": round(total, 2), "peak_mb": round(peak.peak),
            "start_mb": round(before), "persons": int(extract.n_patients), "outcomes": outcomes,
            "user_s": round(cpu_end.user - cpu.user - peak.cpu, 2), "sys_s": round(cpu_end.system - cpu.system, 2),
            "sampler_cpu_s": round(peak.cpu, 2),
            "wait_s": round(waits.wall, 2), "wait_cpu_s": round(waits.cpu, 2), "statements": waits.count,
            "outcome_sha256": digest.hexdigest(), "funnel": attrition.to_dict("records")}


def compare(results: dict) -> bool:
    """Whether every route gave the same attrition table and the same state for every person on every criterion."""
    names = list(results)
    first = results[names[0]]
    same = True
    for name in names[1:]:
        other = results[name]
        funnel = other["funnel"] == first["funnel"]
        persons = other["outcome_sha256"] == first["outcome_sha256"]
        print(f"{name} against {names[0]}: attrition table {'identical' if funnel else 'DIFFERENT'} "
              f"({len(first['funnel'])} steps), per-person states and outcomes "
              f"{'identical' if persons else 'DIFFERENT'} ({first['persons']:,} persons)")
        if not persons:  # say where: persons and criteria that differ
            a, b = pd.read_parquet(first["outcomes"]), pd.read_parquet(other["outcomes"])
            a, b = a.align(b, join="outer")
            differs = (a.astype(str) != b.astype(str))
            print(f"  {int(differs.any(axis=1).sum()):,} persons differ; by column: "
                  f"{differs.sum()[differs.sum() > 0].to_dict()}")
        same &= funnel and persons
    return same


def postmaster(url: str) -> int:
    """The pid of the server ``url`` reaches: the parent of the backend that serves a connection."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    status = Path(f"/proc/{backend}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def server_cpu(pid: int) -> dict:
    """CPU seconds the server ``pid`` has spent so far: user and sys, and which of them went to busy processes.

    The postmaster's own, each live child's (backends, parallel workers, checkpointer, autovacuum...)
    and, through the postmaster's cutime/cstime, every child it has reaped. ``sessions`` lists the live
    children serving a connection or a parallel query (a background process is the rest).
    """
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    sessions = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
            if int(entry.name) != pid and int(fields[1]) != pid:
                continue
            command = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):  # exited meanwhile: counted in the postmaster's cutime
            continue
        user += (int(fields[11]) + int(fields[13])) / tick  # utime + cutime (children it reaped)
        system += (int(fields[12]) + int(fields[14])) / tick
        if int(entry.name) != pid and ("parallel worker" in command or "127.0.0.1(" in command):
            sessions.append(int(entry.name))
    return {"user": user, "sys": system, "sessions": sessions}


def settled_server_cpu(pid: int) -> dict:
    """:func:`server_cpu` once the sessions of a client that has gone are over (their CPU then reaped)."""
    for _ in range(100):
        now = server_cpu(pid)
        if not now["sessions"]:
            return now
        time.sleep(0.1)
    return now


def run(spec: str, cdm_schema: str | None = None, vocab_schema: str | None = None, server: int | None = None,
        profile: str | None = None) -> dict:
    """One route in a fresh process; with ``server`` (a postmaster pid), that server's CPU over the run too."""
    outcomes = tempfile.NamedTemporaryFile(prefix="bench-omop-", suffix=".parquet", delete=False).name
    args = [sys.executable, __file__, "--child", spec, "--outcomes", outcomes]
    if cdm_schema:
        args += ["--cdm-schema", cdm_schema, "--vocab-schema", vocab_schema]
    if profile:
        args += ["--profile", profile]
    load = os.getloadavg()[0]
    before = settled_server_cpu(server) if server else None
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load"] = [round(load, 1), round(os.getloadavg()[0], 1)]
    print(f"  {spec.split('@')[0][:60]}: {result['total_s']} s, CPU {result['user_s'] + result['sys_s']:.1f} s, "
          f"peak {result['peak_mb']} MB (load average {os.getloadavg()[0]:.1f})", flush=True)  # a long run may be cut
    if server:
        after = settled_server_cpu(server)
        result["db_user_s"], result["db_sys_s"] = (round(after[k] - before[k], 2) for k in ("user", "sys"))
        split(result)
    return result


CLIENT_SHARE = 0.25  # issue 24: the client's share of the CPU the PostgreSQL route spends


def split(r: dict) -> None:
    """The PostgreSQL route's time in the database against time in the client, and the target."""
    client, db = r["user_s"] + r["sys_s"], r["db_user_s"] + r["db_sys_s"]
    share = client / (client + db) if client + db else 0.0
    print(f"    database CPU {db:.1f} s (user {r['db_user_s']:.1f}, sys {r['db_sys_s']:.1f}); "
          f"client CPU {client:.1f} s (user {r['user_s']:.1f}, sys {r['sys_s']:.1f}); wall {r['total_s']:.1f} s, "
          f"of which the client waited on the database {r['wait_s']:.1f} s ({r['statements']} statements, "
          f"{r['wait_cpu_s']:.1f} s CPU of its own meanwhile) and worked {r['total_s'] - r['wait_s']:.1f} s")
    print(f"    client share of the CPU {share:.0%}: target <= {CLIENT_SHARE:.0%} "
          f"{'met' if share <= CLIENT_SHARE else 'MISSED'} (1-min load {r['load'][0]:.1f} before, "
          f"{r['load'][1]:.1f} after, on {os.cpu_count()} cores)", flush=True)


def load_postgres(url: str, folder: Path) -> None:
    """The CDM of ``folder`` into the server ``url`` (schemas cdm and vocab), slice by slice, then vacuumed."""
    import duckdb
    import psycopg

    import postgres_server as pg

    t = time.perf_counter()
    con = duckdb.connect()
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        for part in sorted(entry.glob("*.parquet")) if entry.is_dir() else [entry]:  # slice by slice
            pg.load_cdm(url, {entry.stem: con.execute(f"SELECT * FROM read_parquet('{part}')").df()},
                        "cdm", "vocab")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        # Planner statistics and hint bits set, as a hospital's database would have them; and nothing
        # left for autovacuum to do on the new rows while the client's run is measured.
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
    print(f"PostgreSQL loaded in {time.perf_counter() - t:.0f} s", flush=True)


def postgres_runs(url: str, runs: int, profile: str | None) -> dict:
    """The PostgreSQL route ``runs`` times on the server ``url``: the first run's result (each is printed)."""
    try:
        server = postmaster(url)
    except FileNotFoundError:  # a server on another machine: its CPU cannot be read from here
        server = None
    first = None
    for k in range(runs):
        r = run(f"omop:{url}@2024-06-15", "cdm", "vocab", server, profile if k == runs - 1 else None)
        if first is None:
            first = r
        else:
            Path(r["outcomes"]).unlink()
    return first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--vocabulary", type=int, default=2_000_000)
    parser.add_argument("--routes", default="parquet")
    parser.add_argument("--child")
    parser.add_argument("--cdm-schema")
    parser.add_argument("--vocab-schema")
    parser.add_argument("--outcomes")
    parser.add_argument("--runs", type=int, default=1, help="PostgreSQL route: runs on the loaded server")
    parser.add_argument("--profile", help="PostgreSQL route: cProfile statistics of the client to this file")
    parser.add_argument("--postgres", help="PostgreSQL route: a server URL already holding this CDM (schemas cdm, "
                                           "vocab) instead of a throw-away one")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.cdm_schema, args.vocab_schema, args.outcomes, args.profile)))
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    t = time.perf_counter()
    folder = ensure_cdm(args.persons, args.vocabulary)
    print(f"CDM ready in {time.perf_counter() - t:.0f} s: {folder}")
    results = {}
    routes = args.routes.split(",")
    if "parquet" in routes:
        results["parquet"] = run(f"omop:{folder}@2024-06-15")
    if "duckdb" in routes:
        results["duckdb"] = run(f"omop:{ensure_duckdb(folder)}@2024-06-15")
    if "postgres" in routes and args.postgres:  # a server already holding this CDM
        results["postgres"] = postgres_runs(args.postgres, args.runs, args.profile)
    elif "postgres" in routes:
        import postgres_server as pg

        with pg.running_postgres() as url:
            load_postgres(url, folder)
            results["postgres"] = postgres_runs(url, args.runs, args.profile)
    print(f"{'route':<10}{'persons':>10}{'load s':>9}{'total s':>9}{'CPU s':>9}{'peak MB':>9}")
    for name, r in results.items():
        print(f"{name:<10}{r['persons']:>10,}{r['load_s']:>9}{r['total_s']:>9}{r['user_s'] + r['sys_s']:>9.1f}"
              f"{r['peak_mb']:>9}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    try:
        same = compare(results) if len(results) > 1 else True
    finally:
        for r in results.values():
            Path(r["outcomes"]).unlink(missing_ok=True)
    print("funnel:", [(row["criterion"], row["remaining"]) for row in next(iter(results.values()))["funnel"]])
    if not same:
        sys.exit("the routes gave different screenings")


if __name__ == "__main__":
    main()
