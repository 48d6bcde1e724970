"""Rewrite the calibration table in data/README.md from the bundled extract.

    python scripts/calibration.py          # after `make data`, when the generator changed

The table is what ``python -m screening synth --calibration`` prints; a test checks
the README holds exactly it, so the figures there cannot drift from the data.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "data" / "README.md"
START, END = "<!-- calibration table: start -->", "<!-- calibration table: end -->"


def main() -> int:
    from screening import load_extract
    from screening.synth.calibration import calibration_markdown, calibration_table

    extract = load_extract(ROOT / "data" / "synthetic")
    text = README.read_text(encoding="utf-8")
    block = f"{START}\n{calibration_markdown(extract)}{END}"
    README.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S),
                      encoding="utf-8")
    missed = calibration_table(extract).query("not met")
    for row in missed.itertuples():
        print(f"not met: {row.quantity}: {row.value} (tolerance {row.tolerance})", file=sys.stderr)
    return 1 if len(missed) else 0


if __name__ == "__main__":
    sys.exit(main())
