"""Sync each notebook with its Jupytext pair, execute it in place on the synthetic extract, sync again.

The notebooks are their own source: edit the ``.ipynb`` in JupyterLab or its
``.py`` twin (percent format) in an editor; the newer of the two wins the sync.
Run by ``make notebooks``; commit both files afterwards (nbval compares the outputs).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def sync(paths: list[Path]) -> None:
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet", *map(str, paths)], check=True)


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timings would make every re-run a diff
    nbformat.write(nb, path)
    print(f"executed notebooks/{path.name}", file=sys.stderr)


def main(names: list[str]) -> None:
    paths = [NOTEBOOKS / n for n in names] if names else sorted(NOTEBOOKS.glob("*.ipynb"))
    sync(paths)
    for path in paths:
        execute(path)
    sync(paths)


if __name__ == "__main__":
    main(sys.argv[1:])
