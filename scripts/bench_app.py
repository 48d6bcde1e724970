"""Seconds from asking for the ``make app`` page to its headline, in Chromium, as a visitor waits for it.

    python scripts/bench_app.py             # the panel with Voilà's pre-heated kernel (app/voila.json), without
                                            # it, and a page holding one widget (Voilà's own floor)
    python scripts/bench_app.py --pages 5

Each server runs on a free port in its own process group and is stopped by its pid.
Between pages the script waits for the pool to refill, as a visitor arriving later
would find it. Wall time only: the work is split between Voilà, the kernel and the
browser; the 1-min load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_widget(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import ipywidgets as w\n"
                                          "w.HTML(\"<span class='whatif-eligible'>1</span>\")")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "whatif.ipynb")
    (folder / "voila.json").write_text((ROOT / "app" / "voila.json").read_text())
    return folder


def measure(app: Path, preheat: bool, pages: int, work: Path) -> list[float]:
    port = _port()
    args = [sys.executable, "-m", "voila", "whatif.ipynb", f"--port={port}", "--no-browser",
            "--Voila.ip=127.0.0.1", f"--preheat_kernel={preheat}"]
    env = {**os.environ, "SCREENING_DATA": str(ROOT / "data" / "synthetic"),
           "SCREENING_WHATIF_FOLDER": str(work / "what-if"), "SCREENING_RELEASE_LOG": str(work / "releases.jsonl")}
    log = work / f"voila-{app.name}-{preheat}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=app, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    times = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                "is filled with" in log.read_text() if preheat else "running at" in log.read_text()):
            time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            for _ in range(pages):
                filled = log.read_text().count("is filled with")
                page = browser.new_page()  # a new page has no cached scripts: a first visit
                start = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
                page.locator(".whatif-eligible").first.wait_for(timeout=180_000)
                times.append(time.perf_counter() - start)
                page.close()
                while preheat and log.read_text().count("is filled with") <= filled:
                    time.sleep(0.3)  # the next visitor finds the pool refilled
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    pool = json.loads((ROOT / "app" / "voila.json").read_text())["VoilaConfiguration"].get("preheat_kernel")
    print(f"app/voila.json: preheat_kernel = {pool}; {args.pages} first visits each, seconds to the headline")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        floor = _one_widget(Path(tempfile.mkdtemp(dir=tmp)))
        for label, app, preheat in (("panel, pre-heated kernel", ROOT / "app", True),
                                    ("panel, kernel started per visit", ROOT / "app", False),
                                    ("one widget, pre-heated (Voila's floor)", floor, True)):
            load = os.getloadavg()[0]
            times = sorted(measure(app, preheat, args.pages, work))
            print(f"{label:<40} median {times[len(times) // 2]:5.2f} s  (min {times[0]:.2f}, max {times[-1]:.2f});"
                  f" 1-min load {load:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)
    print("Target (issue 24): at most 2 s at 5,000 patients.")


if __name__ == "__main__":
    main()
