"""The shareable screening report: suppressed tables (CSV, JSON), executed notebooks and HTML.

A report folder is built in a temporary folder beside the target and renamed
into place at the end, so an interrupted run leaves no half-written report. An
existing report is only replaced when ``overwrite=True``. Tables carry no
patient identifiers or dates, and every count from 1 to ``small_cell`` is
suppressed.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> out = build_report("data/synthetic", "misle-phase2", out=Path(tempfile.mkdtemp()) / "demo", notebooks=False)
>>> sorted(p.name for p in (out / "tables").glob("*.json"))[:3]
['attrition.json', 'composition.json', 'criteria.json']
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from . import __version__
from .bundle import check_site_label, write_manifest
from .errors import ScreeningError
from .funnel import Screening, screen_failure_range
from .protocol import Protocol, load_protocol
from .shareable import disclosure_rule, shareable_tables
from .sources import absolute_spec, load_source, without_password
from .sources.omop import PASSWORD_ENV

__all__ = ["build_report", "report_tables", "enrolment_table", "provenance", "notebook_state", "NOTEBOOKS"]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("01-eligible-pool.ipynb", "02-screening-funnel.ipynb", "03-changing-criteria.ipynb")


def provenance(screening: Screening, small_cell: int, site_label: str | None = None) -> dict:
    """What produced a result: extract hash, protocol, every parameter, policy, disclosure rule, package version."""
    p = screening.protocol
    site = {"site_label": check_site_label(site_label)} if site_label is not None else {}
    return site | {
        "extract_sha256": screening.extract.hash,
        "extract_format": screening.extract.format,
        "patients": int(screening.extract.n_patients),
        "protocol_id": p.id,
        "protocol_title": p.title,
        "protocol_fingerprint": p.fingerprint(),
        "overrides": {k: v for k, v in p.overrides.items()},
        "parameters": p.parameters(),
        "criteria": [{"id": c.id, "label": c.display_label, "kind": c.kind} for c in p.criteria],
        "unknown_policy": screening.policy,
        "small_cell_threshold": small_cell,
        "disclosure": disclosure_rule(small_cell),
        "package_version": __version__,
    }


def provenance_markdown(meta: dict) -> str:
    """The provenance block shown at the top of every notebook and report."""
    changed = ", ".join(f"`{k}={v}`" for k, v in meta["overrides"].items()) or "none (protocol defaults)"
    return "\n".join([
        "| | |", "| --- | --- |",
        f"| extract SHA-256 | `{meta['extract_sha256']}` |",
        f"| patients in extract | {meta['patients']:,} |",
        f"| protocol | {meta['protocol_title']} (`{meta['protocol_id']}`, "
        f"fingerprint `{meta['protocol_fingerprint']}`) |",
        f"| parameter overrides | {changed} |",
        f"| missing data policy | {meta['unknown_policy']} |",
        f"| small-cell threshold | counts from 1 to {meta['small_cell_threshold']} hidden |",
        f"| package | screening {meta['package_version']} |",
    ])


def parameters_table(meta: dict) -> pd.DataFrame:
    """Every criterion parameter and its value, for the report's appendix."""
    rows = [{"criterion": k.split(".", 1)[0], "parameter": k.split(".", 1)[1], "value": _text(v)}
            for k, v in meta["parameters"].items()]
    return pd.DataFrame(rows)


def _text(value) -> str:
    # Unlike a label, the appendix keeps each value as it is stored (2.0 stays 2.0).
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def enrolment_table(screening: Screening, consent_rate: float, screen_failure: float | tuple[float, float],
                    headline: pd.DataFrame) -> pd.DataFrame:
    """Expected enrolment over the screen-failure range, from the shareable headline.

    A hidden pool hides its estimate too.
    """
    table = screening.expected_enrolment(consent_rate, screen_failure)
    shown = headline.set_index("measure")["patients"].astype(str)
    pools = [shown["eligible on registry data"], shown["eligible if every not-assessable patient qualified"]]
    low_sf, high_sf = screen_failure_range(screen_failure)

    def estimate(rate: float) -> list[str]:
        return [str(round(int(p) * (1 - rate) * consent_rate, 1)) if p.isdigit() else "*" for p in pools]

    return pd.DataFrame({"scenario": table["scenario"], "pool": pools,
                         f"enrolment if {high_sf:.0%} fail screening": estimate(high_sf),
                         f"enrolment if {low_sf:.0%} fail screening": estimate(low_sf)})


def report_tables(screening: Screening, small_cell: int = 10, subgroup: str = "site") -> dict[str, pd.DataFrame]:
    """Every shareable table, protected together (see :mod:`screening.shareable`). The notebooks show these.

    ``tables.attrs`` is not used: what was withheld, and how many counts hide to
    protect others, come back under the keys starting with ``_`` (not written as tables).
    """
    return shareable_tables(screening, small_cell, subgroup)


def _write_tables(tables: dict[str, pd.DataFrame], meta: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if "_protection" in tables:
        meta["counts_hidden_to_protect_others"] = int(tables["_protection"]["also_hidden"].iloc[0])
    if "_withheld" in tables:
        meta["withheld_breakdowns"] = tables["_withheld"]["withheld"].tolist()
    for stem, table in tables.items():
        if stem.startswith("_"):
            continue
        table.to_csv(folder / f"{stem}.csv", index=False, lineterminator="\n")
        payload = {"provenance": meta, "table": json.loads(table.to_json(orient="records", force_ascii=False))}
        (folder / f"{stem}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                             encoding="utf-8")
    (folder / "provenance.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                            encoding="utf-8")


def notebook_state(extract_path: str, protocol: str, overrides: dict | str, policy: str, subgroup: str,
                   small_cell: int, shared: str = "") -> tuple[Screening, dict, dict[str, pd.DataFrame]]:
    """A notebook's screening, provenance and shareable tables: handed over by a report run, or computed here.

    A report screens once and protects the tables once, then hands every
    notebook the same result through ``shared`` (a pickle in a private
    temporary folder, never in the report). It is used only if it was made from
    these very parameters; a notebook run on its own computes its own.

    Example
    -------
    >>> s, meta, tables = notebook_state("data/synthetic", "misle-phase2", {}, "separate", "site", 10)
    >>> meta["patients"], "attrition" in tables
    (5000, True)
    """
    params = {"extract_path": extract_path, "protocol": protocol, "overrides": overrides, "policy": policy,
              "subgroup": subgroup, "small_cell": small_cell}
    if shared and Path(shared).is_file():
        import pickle

        with open(shared, "rb") as handle:
            state = pickle.load(handle)  # written by build_report in this run's private folder
        if state["params"] == params:
            return state["screening"], state["meta"], state["tables"]
    from .funnel import screen

    s = screen(load_source(extract_path), protocol, overrides, policy)
    return s, provenance(s, small_cell), report_tables(s, small_cell, subgroup)


def _share(folder: Path, params: dict, screening: Screening, meta: dict, tables: dict) -> str:
    import pickle

    path = folder / "state.pickle"
    with open(path, "wb") as handle:
        pickle.dump({"params": params, "screening": screening, "meta": meta, "tables": tables}, handle,
                    protocol=pickle.HIGHEST_PROTOCOL)
    return str(path)


def _run_notebook(name: str, folder: Path, params: dict, cwd: Path = ROOT / "notebooks") -> float:
    """Execute one notebook with papermill and export its HTML; returns the seconds it took."""
    import time

    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    start = time.perf_counter()
    target = folder / name
    pm.execute_notebook(str(ROOT / "notebooks" / name), str(target), parameters=params, kernel_name="python3",
                        cwd=str(cwd), progress_bar=False, log_output=False)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    nb = nbformat.read(target, as_version=4)
    # The what-if panel needs a live kernel; its saved widget state would only pull a widget
    # script from the network into the HTML, which then shows the panel's text fallback.
    if nb.metadata.pop("widgets", None) is not None:
        nbformat.write(nb, target)
    body, _ = exporter.from_notebook_node(nb)
    target.with_suffix(".html").write_text(body, encoding="utf-8")
    return time.perf_counter() - start


def _run_notebooks(folder: Path, params: dict, progress: bool) -> None:
    """Run the notebooks side by side, one kernel each, about as many at once as there are cores."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    names = [n for n in NOTEBOOKS if (ROOT / "notebooks" / n).exists()]
    # One more kernel than cores keeps the cores busy while a kernel waits on its client. Processes, not
    # threads: papermill is not thread-safe. Spawned: the parent holds Arrow's thread pools, which a forked
    # child must not inherit.
    workers = max(1, min(len(names), (os.cpu_count() or 1) + 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(_run_notebook, name, folder, params): name for name in names}
        if progress:
            print(f"running {', '.join(names)} ({workers} at a time) ...", file=sys.stderr, flush=True)
        for done in as_completed(running):
            seconds = done.result()  # a failed notebook stops the report with its error
            if progress:
                print(f"ran {running[done]} in {seconds:.1f} s", file=sys.stderr, flush=True)


def build_report(data: str | Path, protocol: Protocol | str = "misle-phase2", *, out: str | Path,
                 policy: str = "separate", overwrite: bool = False, small_cell: int = 10, subgroup: str = "site",
                 notebooks: bool = True, progress: bool = False, site_label: str | None = None) -> Path:
    """Screen ``data`` and write the report folder ``out``; returns its path.

    Every report ends with ``MANIFEST.sha256``; with a ``site_label`` it is a site bundle
    that ``python -m screening merge`` combines with other sites' (see :mod:`screening.bundle`).
    """
    out = Path(out)
    if site_label is not None:
        check_site_label(site_label)
    if out.exists() and not overwrite:
        raise ScreeningError(f"{out} already exists: pass --overwrite (overwrite=True) or choose another --out.")
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol)
    if progress:
        print(f"loading {data} ...", file=sys.stderr, flush=True)
    extract = load_source(data)
    screening = Screening(extract, protocol, policy)
    meta = provenance(screening, small_cell, site_label)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report folder follows the user's umask
    private = Path(tempfile.mkdtemp(prefix="screening-state-"))  # patient-level: never inside the report
    try:
        tables = report_tables(screening, small_cell, subgroup)
        spec, password = without_password(absolute_spec(data))
        if password:  # the notebooks' kernels inherit it; their saved parameters do not hold it
            os.environ[PASSWORD_ENV] = password
        params = {"extract_path": spec, "protocol": protocol.path or protocol.id,
                  "overrides": dict(protocol.overrides), "policy": policy, "subgroup": subgroup,
                  "small_cell": small_cell}
        if notebooks:  # handed over before the tables are written: that adds to meta what a notebook doesn't show
            params["shared"] = _share(private, params, screening, provenance(screening, small_cell), tables)
        _write_tables(tables, meta, tmp / "tables")
        if notebooks:
            _run_notebooks(tmp, params, progress)
        write_manifest(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return out
