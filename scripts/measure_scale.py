"""Time and peak memory to generate and to load a large synthetic extract (prints figures).

Usage: python scripts/measure_scale.py [PATIENTS] [csv|parquet]
Each phase runs in a fresh process so its peak RSS is its own.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile


def phase(code: str) -> tuple[float, float]:
    wrapped = ("import resource, time\nt = time.perf_counter()\n" + code +
               "\nprint(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", wrapped], check=True, capture_output=True, text=True).stdout
    seconds, peak_mb = out.split()[-2:]
    return float(seconds), float(peak_mb)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    fmt = sys.argv[2] if len(sys.argv) > 2 else "parquet"
    folder = tempfile.mkdtemp(prefix="scale-")
    gen = phase(f"from screening.synth.synthetic import generate, write_extract\n"
                f"write_extract(generate({n}), {folder!r}, {fmt!r})")
    load = phase(f"from screening import load_extract\nex = load_extract({folder!r})\n"
                 f"assert ex.n_patients == {n}")
    print(f"{n:,} patients ({fmt}): generate+write {gen[0]:.1f} s, peak {gen[1]:,.0f} MB; "
          f"load+validate {load[0]:.1f} s, peak {load[1]:,.0f} MB")


if __name__ == "__main__":
    main()
