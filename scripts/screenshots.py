"""Screenshot a report's pages at 1,400 px into docs/screenshots/, one PNG per section a reader looks at.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, as the browser tests do). Each shot starts at a
section heading and is cut to a few screens, then reduced to a 256-colour palette so the PNGs stay small.

    python scripts/screenshots.py reports/latest reports/network

The second folder (``make network``'s merged report) is optional; without it the network page is skipped.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
WIDTH = 1400
#: (file, page, heading the shot starts at ("" for the top), height in px)
SHOTS = [
    ("01-eligible-pool.png", "01-eligible-pool", "", 2000),
    ("01-eligible-over-time.png", "01-eligible-pool", "Eligible over time", 3200),
    ("02-funnel.png", "02-screening-funnel", "The funnel, in protocol order", 2300),
    ("02-subgroup-and-composition.png", "02-screening-funnel", "By subgroup", 2100),
    ("02-who-each-criterion-excludes.png", "02-screening-funnel", "Who each criterion excludes", 3000),
    ("03-variant-and-sweeps.png", "03-changing-criteria", "This protocol against another", 2200),
    ("03-leave-one-out-and-relax.png", "03-changing-criteria", "Leave one out", 1800),
    ("04-network.png", "04-network", "", 2600),
]


def main(report: Path, network: Path | None = None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        for name, html, heading, height in SHOTS:
            folder = network if html.startswith("04-") else report
            if folder is None:
                continue
            page.goto((folder / f"{html}.html").resolve().as_uri())
            top = 0 if not heading else page.evaluate(
                """h => { const e = [...document.querySelectorAll('h1,h2')].find(x => x.textContent.includes(h));
                          return e ? e.getBoundingClientRect().top + window.scrollY - 10 : 0; }""", heading)
            full = page.evaluate("document.body.scrollHeight")
            clip = {"x": 0, "y": top, "width": WIDTH, "height": min(height, full - top)}
            png = page.screenshot(full_page=True, clip=clip)
            image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256)
            image.save(OUT / name, optimize=True)
            print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KB", file=sys.stderr)
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "reports" / "latest"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else None)
