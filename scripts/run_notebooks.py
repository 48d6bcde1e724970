"""Sync each notebook with its Jupytext pair, execute it in place on the synthetic extract, sync again.

The notebooks are their own source: edit the ``.ipynb`` in JupyterLab or its
``.py`` twin (percent format) in an editor; the newer of the two wins the sync.
Run by ``make notebooks``; commit both files afterwards (nbval compares the outputs).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from screening.views.notebook_runner import socket_kernels

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
APP = ROOT / "app" / "whatif.ipynb"  # kept without outputs: Voila runs it for each visitor


def sync(paths: list[Path]) -> None:
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet", *map(str, paths)], check=True)


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    # Widget state is per run (model ids) and thousands of lines: a kernel redraws the panel anyway.
    with tempfile.TemporaryDirectory(prefix="screening-kernel-") as sockets:
        NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                       kernel_manager_class=socket_kernels(sockets),
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timings would make every re-run a diff
    nbformat.write(nb, path)
    print(f"executed notebooks/{path.name}", file=sys.stderr)


def main(names: list[str]) -> None:
    paths = [NOTEBOOKS / n for n in names] if names else sorted(NOTEBOOKS.glob("*.ipynb"))
    sync(paths + [APP])
    for path in paths:
        execute(path)
    sync(paths)


if __name__ == "__main__":
    main(sys.argv[1:])
