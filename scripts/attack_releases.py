"""The outsider's integer program over whole shareable reports: one release, then two one patient apart.

    python scripts/attack_releases.py             # the bundled extract's first 400 patients, then 2–401
    python scripts/attack_releases.py --size 1000

Prints what README ("Sharing safely", "Differencing two reports") states: the counts one default report
leaves pinned (none but the zeros the protocol forces), then the counts pinned in each of two reports whose
extracts differ by one patient out and one in, every pair of counts tied to differ by at most one, and the
differences pinned. Each report's cells are taken as ``build_report`` protects them (with the eligible-over-time
tables: 2,489 counts at 400 patients). A minute or two on a 2-core machine; the tests run cheaper versions
without the over-time tables (``tests/test_lp_attack.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import screening.disclosure.shareable as shareable  # noqa: E402
from lp_attack import differences_pinned, pinned  # noqa: E402
from screening import load_extract, screen  # noqa: E402
from screening.disclosure.rule import SHAREABLE  # noqa: E402
from screening.engine.over_time import EligibilityOverTime  # noqa: E402
from test_releases import _patients  # noqa: E402


def published(folder: Path):
    """The report's cells as ``build_report`` protects them: labels set, protection applied."""
    caught = {}
    render = shareable._render

    def keep(pub):
        caught["pub"] = pub
        return render(pub)

    shareable._render = keep
    try:
        extract = load_extract(folder)
        s = screen(extract)
        # As a report writes them: with the eligible-over-time tables when the extract has visits.
        over_time = EligibilityOverTime(extract, s.protocol, policy=s.policy) if extract.has_visits else None
        shareable.shareable_tables(s, SHAREABLE, over_time=over_time)
    finally:
        shareable._render = render
    return caught["pub"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400, help="patients per extract (default 400)")
    n = parser.parse_args().size
    with tempfile.TemporaryDirectory() as tmp:
        a = published(_patients(slice(0, n), Path(tmp) / "a"))
        b = published(_patients(slice(1, n + 1), Path(tmp) / "b"))
    start = time.perf_counter()
    print(f"one report, {len(a.cells.values):,} counts: pinned {pinned(a.cells)} "
          f"({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    found = differences_pinned(a, b)
    print(f"two reports one patient apart ({time.perf_counter() - start:.1f} s):")
    for tag, pub in (("a", a), ("b", b)):
        print(f"  pinned in {tag}: " + ", ".join(f"{name} = {v} (shown {pub.label(name)})" for name, v in found[tag]))
    print("  differences pinned (b − a): " + ", ".join(f"{name}: {d:+d}" for name, d in found["moved"]))


if __name__ == "__main__":
    main()
