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


def child(spec: str, cdm_schema: str | None, vocab_schema: str | None, outcomes: str) -> dict:
    """Read and screen in this process; time and peak memory of that work alone.

    Each person's state on every criterion is written to ``outcomes`` (Parquet, by person id) and
    digested, so the parent can compare routes person by person.
    """
    import hashlib
    import warnings

    from bench import PeakSampler, _current_rss_mb

    from screening import load_protocol, screen
    from screening.io.sources import load_source

    warnings.simplefilter("ignore")
    protocol = load_protocol(PROTOCOL)
    before = _current_rss_mb()
    with PeakSampler() as peak:
        start = time.perf_counter()
        extract = load_source(spec, cdm_schema=cdm_schema, vocab_schema=vocab_schema, protocol=protocol)
        loaded = time.perf_counter() - start
        s = screen(extract, protocol)
        attrition = s.attrition()
        total = time.perf_counter() - start
    states = pd.DataFrame(s.states, columns=s.ids, index=pd.to_numeric(extract.patients.index))
    states = states.join(s.outcome()[["status", "criterion"]].set_axis(states.index)).sort_index()
    states.index.name = "person_id"
    states.to_parquet(outcomes)
    digest = hashlib.sha256(pd.util.hash_pandas_object(states.astype(str), index=True).to_numpy().tobytes())
    return {"load_s": round(loaded, 2), "total_s": round(total, 2), "peak_mb": round(peak.peak),
            "start_mb": round(before), "persons": int(extract.n_patients), "outcomes": outcomes,
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


def run(spec: str, cdm_schema: str | None = None, vocab_schema: str | None = None) -> dict:
    outcomes = tempfile.NamedTemporaryFile(prefix="bench-omop-", suffix=".parquet", delete=False).name
    args = [sys.executable, __file__, "--child", spec, "--outcomes", outcomes]
    if cdm_schema:
        args += ["--cdm-schema", cdm_schema, "--vocab-schema", vocab_schema]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {spec.split('@')[0][:60]}: {result['total_s']} s, peak {result['peak_mb']} MB "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)  # as each route ends: a long run may be cut
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--vocabulary", type=int, default=2_000_000)
    parser.add_argument("--routes", default="parquet")
    parser.add_argument("--child")
    parser.add_argument("--cdm-schema")
    parser.add_argument("--vocab-schema")
    parser.add_argument("--outcomes")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.cdm_schema, args.vocab_schema, args.outcomes)))
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
    if "postgres" in routes:
        import duckdb

        import postgres_server as pg

        with pg.running_postgres() as url:
            t = time.perf_counter()
            con = duckdb.connect()
            for entry in sorted(folder.iterdir()):
                if entry.name.startswith("."):
                    continue
                for part in sorted(entry.glob("*.parquet")) if entry.is_dir() else [entry]:  # slice by slice
                    pg.load_cdm(url, {entry.stem: con.execute(f"SELECT * FROM read_parquet('{part}')").df()},
                                "cdm", "vocab")
            import psycopg

            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
                conn.execute("ANALYZE")  # planner statistics, as a hospital's database would have
            print(f"PostgreSQL loaded in {time.perf_counter() - t:.0f} s")
            results["postgres"] = run(f"omop:{url}@2024-06-15", "cdm", "vocab")
    print(f"{'route':<10}{'persons':>10}{'load s':>9}{'total s':>9}{'peak MB':>9}")
    for name, r in results.items():
        print(f"{name:<10}{r['persons']:>10,}{r['load_s']:>9}{r['total_s']:>9}{r['peak_mb']:>9}")
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
