"""The notebooks run as parameterised reports (papermill), and their committed outputs come from the synthetic extract.

nbval itself re-executes every committed notebook in `make test` and compares the outputs.
Each notebook is paired with a Jupytext percent script; the two must hold the same cells.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import papermill as pm
import pytest

from screening import load_extract

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAIRED = NOTEBOOKS + [ROOT / "app" / "whatif.ipynb"]


def _run(name: str, tmp_path: Path, **params) -> nbformat.NotebookNode:
    out = tmp_path / name
    pm.execute_notebook(str(ROOT / "notebooks" / name), str(out), parameters=params, kernel_name="python3",
                        cwd=str(ROOT / "notebooks"), progress_bar=False)
    return nbformat.read(out, as_version=4)


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            parts.append(data.get("text/plain", "") if isinstance(data.get("text/plain", ""), str)
                         else "".join(data["text/plain"]))
            parts.append(data.get("text/markdown", "") if isinstance(data.get("text/markdown", ""), str)
                         else "".join(data["text/markdown"]))
            parts.append("".join(output.get("text", "")))
    return "\n".join(parts)


def _headline(nb, measure: str) -> str:
    match = re.search(rf"{re.escape(measure)}\s+(\S+)", _text(nb))
    assert match, f"'{measure}' not found in the notebook output"
    return match.group(1)


def test_notebooks_are_numbered_and_parameterised():
    assert [p.name for p in NOTEBOOKS] == ["01-eligible-pool.ipynb", "02-screening-funnel.ipynb",
                                           "03-changing-criteria.ipynb", "04-network.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        assert nb.metadata["kernelspec"]["name"] == "python3"


def test_papermill_knows_every_parameter_a_report_passes():
    # papermill reads a parameter only from an annotation it can parse (not `dict | str`); one it cannot
    # read is still injected, but with a "Passed unknown parameter" line on every report run.
    report = {"extract_path", "protocol", "overrides", "policy", "subgroup", "small_cell", "shared"}
    for path in NOTEBOOKS[:3]:
        assert report <= set(pm.inspect_notebook(str(path))), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_outputs_come_from_the_synthetic_extract(path):
    synthetic = load_extract(ROOT / "data" / "synthetic").hash
    hashes = set(re.findall(r"extract SHA-256 \| `([0-9a-f]{64})`", _text(nbformat.read(path, as_version=4))))
    assert hashes == {synthetic}, f"{path.name} carries outputs from another extract: re-run `make notebooks`"


def _cells(nb) -> list[tuple[str, str, list]]:
    return [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells]


@pytest.mark.parametrize("path", PAIRED, ids=[p.name for p in PAIRED])
def test_each_notebook_and_its_text_pair_hold_the_same_cells(path):
    pair = path.with_suffix(".py")
    assert pair.exists(), f"{pair.name} is missing: run `make notebooks` (Jupytext pairs every notebook)"
    assert _cells(jupytext.read(pair)) == _cells(nbformat.read(path, as_version=4)), \
        f"{path.name} and {pair.name} differ: run `make notebooks` and commit both"


@pytest.mark.parametrize("overrides", [{"sledai.min": 4}, '{"sledai.min": 4}'],
                         ids=["dict", "text (papermill -p)"])
def test_lower_sledai_minimum_raises_the_eligible_count(tmp_path, overrides):
    default = nbformat.read(ROOT / "notebooks" / "01-eligible-pool.ipynb", as_version=4)
    lowered = _run("01-eligible-pool.ipynb", tmp_path, overrides=overrides)
    assert int(_headline(lowered, "eligible on registry data")) > int(_headline(default, "eligible on registry data"))
    assert "`sledai.min` = 4" in _text(lowered)


def test_include_policy_leaves_nobody_not_assessable(tmp_path):
    nb = _run("02-screening-funnel.ipynb", tmp_path, policy="include")
    assert _headline(nb, "not assessable (data missing)") == "0"
    assert "| missing data policy | include |" in _text(nb)


def test_comparing_a_protocol_with_itself_changes_nothing(tmp_path):
    nb = _run("03-changing-criteria.ipynb", tmp_path, variant="misle-phase2")
    summary = next(o["data"]["text/plain"] for c in nb.cells if 'compared["comparison"]' in c.source
                   for o in c.get("outputs", []) if o["output_type"] == "execute_result")
    assert re.findall(r"\s(-?\d+)\s*$", summary, flags=re.M) == ["0", "0", "0"]
