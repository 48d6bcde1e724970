"""Benchmark: screening at every visit (issue 26). Prints wall and CPU time per step, with the load average.

    python scripts/bench_visits.py                    # 100,000 patients, about 12 visits each
    python scripts/bench_visits.py --patients 20000   # smaller

The extract (with ``synth --visits``, follow-up stretched to give about 12 visits per
patient) is generated once and kept under bench-data/ as Parquet. Timed in this
process after loading: the per-visit frame (:mod:`screening.engine.visit_frame`),
the funnel over every patient-visit, and the derived tables of
:class:`~screening.engine.over_time.EligibilityOverTime`. CPU is user + system time
of this process (both cores count), so CPU above wall means the work ran in parallel.
Issue 26's target: the per-visit screening at 100k patients x 12 visits in at most 10 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0


class Clock:
    """Wall and CPU (user + system) seconds of one step."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime


def visits_extract(patients: int) -> Path:
    """The benchmarks' synthetic extract with visits (six years each), written once under bench-data/; no cache."""
    from screening.synth.synthetic import generate, write_extract

    folder = ROOT / "bench-data" / f"visits-{patients}"
    if not (folder / "visits.parquet").is_file():
        write_extract(generate(patients, visits=True, visit_years=6.0), folder, "parquet")
    os.environ.setdefault("SCREENING_CACHE", "off")  # every run times a first load
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--protocol", default="misle-phase2")
    args = parser.parse_args()
    from screening import load_extract
    from screening.engine.over_time import EligibilityOverTime
    from screening.engine.visit_frame import per_visit_extract, visit_rows

    folder = visits_extract(args.patients)
    with Clock() as load:
        ex = load_extract(folder)
    print(f"{ex.n_patients:,} patients, {len(ex.visits):,} visits ({len(ex.visits) / ex.n_patients + 1:.1f} "
          f"screened per patient with the baseline), {len(ex.medications):,} medication rows; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    steps = []
    with Clock() as frame:
        rows = visit_rows(ex)
        per_visit_extract(ex, rows)
    steps.append(("per-visit frame (visit rows, overlay, events repeated)", frame))
    with Clock() as whole:
        over = EligibilityOverTime(ex, args.protocol)
    steps.append(("per-visit screening (frame + funnel over every visit)", whole))
    with Clock() as derived:
        over.at_last_visit, over.any_visit(12), over.monthly(), over.monthly(by_site=True), over.turning()
    steps.append(("derived tables (last, any in 12 months, monthly, by site, turning)", derived))
    print(f"load (Parquet, no cache): wall {load.wall:.2f} s, CPU {load.cpu:.2f} s")
    for name, clock in steps:
        print(f"{name}: wall {clock.wall:.2f} s, CPU {clock.cpu:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    total = whole.wall + derived.wall
    print(f"per-visit screening with its tables: {total:.2f} s against a target of {TARGET_S:g} s: "
          f"{'met' if total <= TARGET_S else 'missed'}")


if __name__ == "__main__":
    main()
