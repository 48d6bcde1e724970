"""A report's notebooks share one kernel, yet each runs as in a kernel of its own (views/notebook_runner.py)."""

from __future__ import annotations

import os

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from screening.io.sources.omop_connect import PASSWORD_ENV
from screening.views.notebook_kernels import NotebookKernels

FIRST = ["leaked = 'from the first notebook'",
         "import matplotlib\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"
         "matplotlib.rcParams['lines.linewidth'] = 9\npd.set_option('display.max_rows', 3)\nfig = plt.figure()",
         "print(x)"]
SECOND = ["import matplotlib\nimport matplotlib.pyplot as plt\nimport pandas as pd",
          "print('leaked' in globals(), 'fig' in globals(), plt.get_fignums())",
          "print(matplotlib.rcParams['lines.linewidth'], pd.get_option('display.max_rows'))",
          "print(x)"]


def _notebook(path, cells: list[str]) -> None:
    nb = new_notebook(cells=[new_code_cell("x = 0", metadata={"tags": ["parameters"]})]
                      + [new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _printed(nb) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout").strip()
            for c in nb.cells if c.cell_type == "code"]


#: Processes this pytest process already ran before the test (a session PostgreSQL server, say): not the test's.
_BEFORE: set[int] = set()


def _processes_under_us() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if p.pid not in _BEFORE and p.status() != psutil.STATUS_ZOMBIE
            and "resource_tracker" not in " ".join(p.cmdline())]


def test_the_second_notebook_sees_nothing_the_first_left_and_a_failure_ends_the_kernel(tmp_path):
    _BEFORE.update(p.pid for p in psutil.Process().children(recursive=True))
    source, out = tmp_path / "source", tmp_path / "out"
    source.mkdir()
    out.mkdir()
    _notebook(source / "a.ipynb", FIRST)
    _notebook(source / "b.ipynb", SECOND)
    _notebook(source / "c.ipynb", ["raise ValueError('in the notebook')"])
    assert PASSWORD_ENV not in os.environ
    password = {PASSWORD_ENV: "for-the-kernels-only"}  # a database password: the kernels get it, we do not keep it
    with pytest.raises(Exception, match="in the notebook"), \
            NotebookKernels(1, cwd=tmp_path, environment=password) as kernels:
        assert PASSWORD_ENV not in os.environ
        kernels.run(out, {"x": 7}, False, {}, False, source=source, names=("a.ipynb", "b.ipynb"))
        second = nbformat.read(out / "b.ipynb", as_version=4)
        # Numbered from 1 as in a new kernel: the parameters cell, papermill's injected one, then the notebook's.
        assert [c.execution_count for c in second.cells] == [1, 2, 3, 4, 5, 6]
        assert _printed(second)[3:] == ["False False []", "1.5 60", "7"]  # matplotlib's and pandas' defaults
        assert _printed(nbformat.read(out / "a.ipynb", as_version=4))[-1] == "7"
        assert (out / "b.html").exists()
        kernel = [p for p in _processes_under_us() if "ipykernel" in " ".join(p.cmdline())]
        assert len(kernel) == 1  # one kernel for both
        assert kernel[0].environ().get(PASSWORD_ENV) == password[PASSWORD_ENV]
        kernels.run(out, {}, False, {}, False, source=source, names=("c.ipynb",))
    assert not _processes_under_us()  # the worker and its kernel ended with the error
