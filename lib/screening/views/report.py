"""The shareable screening report: protected tables (CSV, JSON), executed notebooks and offline HTML.

Every path is checked before anything is computed: ``out`` may not be, hold or
sit inside the extract, the package or the notebooks, and an existing folder
is only replaced (``overwrite=True``) when it is a report of this tool. The
report is written to a hidden folder beside ``out`` and swapped in by renames;
a run killed half-way is repaired (or its leftovers removed) by the next run.

Shareable files carry no patient identifier, no date or time, no local path and
no exact count: counts follow the disclosure rule (:mod:`screening.disclosure.rule`),
recorded in ``provenance.json`` as ``{"rule": "round", "threshold": 10, "base": 5}`` and in words.
Internal reports (``small_cell=0``) carry every count and say
"internal: not for sharing" in every file.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> out = build_report("data/synthetic", "misle-phase2", out=Path(tempfile.mkdtemp()) / "demo", notebooks=False,
...                    release_log=None)
>>> sorted(p.name for p in (out / "tables").glob("*.json"))[:3]
['attrition.json', 'by_criterion.json', 'comparison.json']
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from screening import __version__
from screening.disclosure.bundle import check_site_label, write_manifest
from screening.disclosure.releases import id_sketch, log_salt, overlap_warnings
from screening.disclosure.rule import SHAREABLE, WATERMARK, SmallCellRule
from screening.disclosure.shareable import VARIANT, check_subgroup, shareable_tables
from screening.engine.funnel import Screening, screen_failure_range
from screening.errors import ScreeningError
from screening.io.paths import check_path_text
from screening.io.sources import absolute_spec, load_source, without_password
from screening.io.sources.omop import PASSWORD_ENV
from screening.rules.protocol import Protocol, as_overrides, load_protocol
from screening.rules.trace import coverage, items_table
from screening.views.text import markdown_code, markdown_text
from screening.views.workers import sigint_held, stop_workers, worker_init

__all__ = ["build_report", "report_tables", "enrolment_table", "provenance", "notebook_state", "notebook_display",
           "check_out", "coverage_headline", "not_computed_table",
           "NOTEBOOKS", "TOOL"]

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01-eligible-pool.ipynb", "02-screening-funnel.ipynb", "03-changing-criteria.ipynb")
#: Marks provenance.json as written by this tool: only such a folder is ever replaced.
TOOL = "screening"
_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))


def provenance(screening: Screening, rule: SmallCellRule = SHAREABLE, site_label: str | None = None) -> dict:
    """What produced a result: extract hash, protocol, every parameter, policy, disclosure rule, package version.

    The patient count follows the disclosure rule like every other count.
    """
    p = screening.protocol
    site = {"site_label": check_site_label(site_label)} if site_label is not None else {}
    meta = site | {
        "tool": TOOL,
        "extract_sha256": screening.extract.hash,
        "extract_format": screening.extract.format,
        "patients": rule.label(screening.extract.n_patients),
        "protocol_id": p.id,
        "protocol_title": p.title,
        "protocol_fingerprint": p.fingerprint(),
        "overrides": {k: v for k, v in p.overrides.items()},
        "parameters": p.parameters(),
        "criteria": [{"id": c.id, "label": c.display_label, "kind": c.kind} for c in p.criteria],
        "coverage": coverage(p),
        "unknown_policy": screening.policy,
        "disclosure": rule.as_dict(),
        "disclosure_text": rule.text(),
        "small_cell_threshold": rule.threshold,
        "package_version": __version__,
    }
    if rule.internal:
        meta["internal"] = WATERMARK
    return meta


def provenance_markdown(meta: dict) -> str:
    """The provenance block shown at the top of every notebook and report."""
    # A protocol's title and values come from a file someone may have written to harm: shown as text.
    changed = ", ".join(markdown_code(f"{k}={v}") for k, v in meta["overrides"].items()) or "none (protocol defaults)"
    return "\n".join([
        "| | |", "| --- | --- |",
        f"| extract SHA-256 | `{meta['extract_sha256']}` |",
        f"| patients in extract | {_thousands(meta['patients'])} |",
        f"| protocol | {markdown_text(meta['protocol_title'])} ({markdown_code(meta['protocol_id'])}, "
        f"fingerprint `{meta['protocol_fingerprint']}`) |",
        f"| parameter overrides | {changed} |",
        *([f"| trial's eligibility text | {coverage_headline(meta)} |"] if "coverage" in meta else []),
        f"| missing data policy | {meta['unknown_policy']} |",
        f"| disclosure control | {meta['disclosure_text']} |",
        f"| package | screening {meta['package_version']} |",
    ])


def coverage_headline(meta: dict) -> str:
    """How much of the trial's text the protocol applies, as the headline says it ("The protocol applies 19 of ...")."""
    return f"The protocol {meta['coverage']['sentence']}."


def _thousands(label) -> str:
    return f"{int(label):,}" if str(label).isdigit() else str(label)


def not_computed_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The trial's items the registry cannot settle exactly: approximated, left to the visit, or not in the extract."""
    items = tables["items"]
    return items[items["status"] != "computed"].set_index("item")[["kind", "status", "how / what is missing", "text"]]


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


def report_tables(screening: Screening, rule: SmallCellRule = SHAREABLE, subgroup: str = "site",
                  variant=VARIANT) -> dict[str, pd.DataFrame]:
    """Every shareable table, protected together (see :mod:`screening.disclosure.shareable`). The notebooks show these.

    What was withheld, and how many counts hide besides rounding, come back under
    the keys starting with ``_`` (not written as tables).
    """
    tables = shareable_tables(screening, rule, subgroup, variant=variant)
    # The trial's items and how each is applied: text, not counts, so nothing to protect.
    tables["items"] = items_table(screening.protocol)
    return tables


# --- writing ---------------------------------------------------------------------------------------


def _write_tables(tables: dict[str, pd.DataFrame], meta: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if "_protection" in tables:
        meta["counts_hidden_besides_rounding"] = int(tables["_protection"]["also_hidden"].iloc[0])
    if "_withheld" in tables:
        meta["withheld_breakdowns"] = tables["_withheld"]["withheld"].tolist()
    internal = "internal" in meta
    for stem, table in tables.items():
        if stem.startswith("_"):
            continue
        # Internal: a last column says so on every row, and CSV readers still read the table.
        shown = table.assign(**{WATERMARK: WATERMARK}) if internal else table
        (folder / f"{stem}.csv").write_text(shown.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
        payload = {"provenance": meta, "table": json.loads(table.to_json(orient="records", force_ascii=False))}
        _write_json(folder / f"{stem}.json", payload)
    _write_json(folder / "provenance.json", meta)


def _write_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def notebook_display() -> None:
    """Table widths and figure resolution shared by every notebook, so the reports look alike."""
    import matplotlib.pyplot as plt

    pd.set_option("display.max_rows", 80)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 70)
    plt.rcParams["figure.dpi"] = 80


def notebook_state(extract_path: str, protocol: str, overrides: dict | str, policy: str, subgroup: str,
                   small_cell: int, shared: str = "", variant: str = VARIANT
                   ) -> tuple[Screening, dict, dict[str, pd.DataFrame]]:
    """A notebook's screening, provenance and shareable tables: handed over by a report run, or computed here.

    A report screens once and protects the tables once, then hands every
    notebook the same result through ``shared`` (a pickle in a private
    temporary folder, never in the report). It is used only if it was made from
    these very parameters; a notebook run on its own computes its own.

    Example
    -------
    >>> s, meta, tables = notebook_state("data/synthetic", "misle-phase2", {}, "separate", "site", 10)
    >>> meta["patients"], "attrition" in tables
    ('5000', True)
    """
    params = {"extract_path": extract_path, "protocol": protocol, "overrides": overrides, "policy": policy,
              "subgroup": subgroup, "small_cell": small_cell, "variant": variant}
    if shared and Path(shared).is_file():
        import pickle

        with open(shared, "rb") as handle:
            state = pickle.load(handle)  # written by build_report in this run's private folder
        if state["params"] == params:
            return state["screening"], state["meta"], state["tables"]
    from screening.engine.funnel import screen

    chosen = load_protocol(protocol, overrides) if not isinstance(protocol, Protocol) else \
        protocol.with_overrides(as_overrides(overrides))
    s = screen(load_source(extract_path, protocol=chosen), chosen, None, policy)
    rule = SmallCellRule.of(small_cell)
    return s, provenance(s, rule), report_tables(s, rule, subgroup, variant)


def _share(folder: Path, params: dict, screening: Screening, meta: dict, tables: dict) -> str:
    import pickle

    path = folder / "state.pickle"
    with open(path, "wb") as handle:
        pickle.dump({"params": {"variant": VARIANT, **params}, "screening": screening, "meta": meta,
                     "tables": tables}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return str(path)


def _run_notebook(name: str, folder: Path, params: dict, cwd: Path = ROOT / "notebooks",
                  local: dict[str, str] | None = None, internal: bool = False) -> tuple[float, list[str]]:
    """Execute one notebook with papermill and export its offline HTML; returns the seconds it took and the
    warnings it printed (for the terminal, not the files). ``local`` maps local paths to the names shared instead."""
    import time

    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    start = time.perf_counter()
    target = folder / name
    pm.execute_notebook(str(ROOT / "notebooks" / name), str(target), parameters=params, kernel_name="python3",
                        cwd=str(cwd), progress_bar=False, log_output=False)
    nb = nbformat.read(target, as_version=4)
    # The what-if panel needs a live kernel; its saved widget state would only pull a widget
    # script from the network into the HTML, which then shows the panel's text fallback.
    nb.metadata.pop("widgets", None)
    warnings = _shareable_notebook(nb, local or {}, internal)
    nbformat.write(nb, target)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(PACKAGE / "views" / "templates")],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    target.with_suffix(".html").write_text(body, encoding="utf-8")
    return time.perf_counter() - start, warnings


def _run_notebooks(folder: Path, params: dict, progress: bool, local: dict[str, str], internal: bool) -> None:
    """Run the notebooks side by side, one kernel each, about as many at once as there are cores."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    names = [n for n in NOTEBOOKS if (ROOT / "notebooks" / n).exists()]
    # One more kernel than cores keeps the cores busy while a kernel waits on its client. Processes, not
    # threads: papermill is not thread-safe. Spawned: the parent holds Arrow's thread pools, which a forked
    # child must not inherit.
    workers = max(1, min(len(names), (os.cpu_count() or 1) + 1))
    # Workers die with this run (Ctrl-C, an error, even SIGKILL of this process): views/workers.py says how.
    with sigint_held():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker_init, initargs=(os.getpid(),))
    try:
        with sigint_held():
            running = {pool.submit(_run_notebook, name, folder, params, ROOT / "notebooks", local, internal): name
                       for name in names}
        if progress:
            print(f"running {', '.join(names)} ({workers} at a time) ...", file=sys.stderr, flush=True)
        for done in as_completed(running):
            seconds, warnings = done.result()  # a failed notebook stops the report with its error
            for line in warnings:
                print(f"{running[done]}: {line}", file=sys.stderr)
            if progress:
                print(f"ran {running[done]} in {seconds:.1f} s", file=sys.stderr, flush=True)
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown()


def _shareable_notebook(nb, local: dict[str, str], internal: bool) -> list[str]:
    """Strip what must not travel: run metadata (paths, times), the extract's path, warnings. Returns the warnings.

    Warnings (stderr) belong on the terminal of whoever ran the report, not in a shared file.
    """
    warnings = []
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for path, name in local.items():
            cell.source = cell.source.replace(path, name)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill's is random: the same inputs give the same files
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                warnings += [line for line in output.get("text", "").splitlines() if line.strip()]
                continue
            kept.append(output)
        for output in kept:  # a widget needs a live kernel; its view only holds a random model id
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
        cell.outputs = kept
    if internal:
        nb.cells.insert(0, _markdown_cell(f"# {WATERMARK.upper()}\n\nEvery count in this notebook is exact."))
    return list(dict.fromkeys(warnings))


def _markdown_cell(text: str):
    from nbformat.v4 import new_markdown_cell

    cell = new_markdown_cell(text)
    cell.pop("id", None)
    return cell


# --- where a report may go ----------------------------------------------------------------------


def _extract_paths(data: str | Path) -> list[Path]:
    from screening.io.sources import _split

    _, path, _ = _split(str(data))
    return [] if "://" in path else [Path(path).expanduser().resolve()]


def _is_report(folder: Path) -> dict | None:
    """The provenance of a report folder written by this tool; None for anything else."""
    try:
        meta = json.loads((folder / "tables" / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    recognisable = meta.get("tool") == TOOL or {"extract_sha256", "protocol_fingerprint"} <= set(meta)
    return meta if recognisable else None


def check_out(out: str | Path, data: str | Path, overwrite: bool = False, internal: bool = False) -> Path:
    """Where the report goes, checked before anything is computed; raises :class:`ScreeningError` with the reason."""
    text = str(out)
    if not text.strip():
        raise ScreeningError("--out is empty: name a new folder for the report.")
    check_path_text(text, "--out")
    path = Path(text).expanduser()
    if path.name in ("", ".", ".."):
        raise ScreeningError(f"--out {text}: name the report folder itself (not '.' or '..'), e.g. reports/mine.")
    if ".." in path.parts:  # a/../r may land anywhere a symlink on the way leads: say the folder plainly
        raise ScreeningError(f"--out {text} contains '..': name the report folder without it, e.g. "
                             f"{Path(os.path.normpath(text))}.")
    full = path.resolve()
    here = Path.cwd().resolve()
    if full == here or full in here.parents:
        raise ScreeningError(f"--out {text} is the current folder or holds it: name a new folder for the report.")
    for system in _SYSTEM:
        if full == system or system in full.parents:
            raise ScreeningError(f"--out {text} is under {system}, a system folder: write the report elsewhere.")
    guarded = [(p, "the extract") for p in _extract_paths(data)] + \
        [(PACKAGE, "the screening package"), (ROOT / "notebooks", "the notebooks")]
    for folder, what in guarded:
        if full == folder or folder in full.parents or full in folder.parents:
            where = "is" if full == folder else ("is inside" if folder in full.parents else "holds")
            raise ScreeningError(f"--out {text} {where} {what} ({folder}): write the report elsewhere.")
    ancestor = full.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ScreeningError(f"--out {text}: {ancestor} is a file, not a folder.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ScreeningError(f"--out {text}: cannot write in {ancestor}.")
    _recover(full)
    if full.exists() or full.is_symlink():
        if not full.is_dir() or full.is_symlink():
            raise ScreeningError(f"--out {text} is a file, not a report folder: choose another --out.")
        if not overwrite:
            raise ScreeningError(f"{text} already exists: pass --overwrite (overwrite=True) or choose another --out.")
        meta = _is_report(full)
        if meta is None:
            raise ScreeningError(f"--out {text} is not a report written by screening (no tables/provenance.json): "
                                 "refusing to replace it. Choose another --out.")
        if internal and meta.get("disclosure", {}).get("rule", "round") != "none":
            raise ScreeningError(f"--out {text} holds a shareable report: write the internal report to its own "
                                 "folder, so the two are never mixed up.")
    return full


def _leftovers(out: Path, kind: str) -> list[Path]:
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.glob(f".{out.name}.{kind}-*") if p.is_dir() and not p.is_symlink())


def _recover(out: Path) -> None:
    """Repair what a killed run left: put back a report moved aside, remove unfinished ones."""
    for old in _leftovers(out, "old"):
        if not out.exists() and _is_report(old) is not None:
            os.rename(old, out)
            print(f"restored {out} (an earlier run was interrupted while replacing it)", file=sys.stderr)
        else:
            shutil.rmtree(old)
            print(f"removed {old.name}, a replaced report an interrupted run left behind", file=sys.stderr)
    for new in _leftovers(out, "new"):
        shutil.rmtree(new)
        print(f"removed {new.name}, an unfinished report an interrupted run left behind", file=sys.stderr)


_rename = os.rename  # one place to inject a failure between the swap steps (tests)


def _swap_in(new: Path, out: Path) -> None:
    """Put ``new`` at ``out``; an existing report is renamed aside first and put back if the second rename fails."""
    if not out.exists():
        _rename(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    _rename(out, old)
    try:
        _rename(new, out)
    except BaseException:
        _rename(old, out)
        raise
    shutil.rmtree(old)


# --- the release log --------------------------------------------------------------------------------


def release_log_path() -> Path:
    """Where shareable releases are logged on this machine (``SCREENING_RELEASE_LOG`` overrides)."""
    if os.environ.get("SCREENING_RELEASE_LOG"):
        return Path(os.environ["SCREENING_RELEASE_LOG"])
    from platformdirs import user_data_path

    return user_data_path("screening") / "releases.jsonl"


def log_release(meta: dict, data: str | Path, out: Path, log: Path, ids=None) -> list[str]:
    """Append this release to the local log; return warnings about earlier releases it overlaps.

    Two releases of one extract under different parameters, or of an extract that
    changed by a few patients, can be differenced (see README, "Differencing").
    ``ids``: the extract's patient ids, logged only as a salted sketch (:mod:`screening.disclosure.releases`)
    that finds the same patients in another extract, wherever it lives.
    """
    source = absolute_spec(data)
    entry = {"extract_sha256": meta["extract_sha256"], "source": source, "patients": meta["patients"],
             "protocol_fingerprint": meta["protocol_fingerprint"], "overrides": meta["overrides"],
             "unknown_policy": meta["unknown_policy"], "disclosure": meta["disclosure"], "out": str(out)}
    earlier = []
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                earlier.append(json.loads(line))
            except ValueError:
                continue
    warnings = []
    settings = ("protocol_fingerprint", "overrides", "unknown_policy", "disclosure")
    same_extract = [e for e in earlier if e.get("extract_sha256") == entry["extract_sha256"]
                    and any(e.get(k) != entry[k] for k in settings)]
    if same_extract:
        warnings.append(f"{len(same_extract)} earlier release(s) of this extract used other parameters (e.g. "
                        f"{same_extract[-1]['out']}); a reader holding both can subtract one from the other.")
    changed = [e for e in earlier if e.get("source") == source and e.get("extract_sha256") != entry["extract_sha256"]]
    if changed:
        warnings.append(f"the extract at {source} changed since an earlier release ({changed[-1]['out']}); "
                        "if only a few patients changed, differencing the two releases can reveal them.")
    if ids is not None:
        entry["id_sketch"] = id_sketch(ids, log_salt(log))
        warnings += overlap_warnings(entry, earlier)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
    return warnings


# --- the report ---------------------------------------------------------------------------------------

_DEFAULT_LOG = object()


def build_report(data: str | Path, protocol: Protocol | str = "misle-phase2", *, out: str | Path,
                 policy: str = "separate", overwrite: bool = False, small_cell: int | SmallCellRule = 10,
                 subgroup: str = "site", notebooks: bool = True, progress: bool = False,
                 site_label: str | None = None, release_log=_DEFAULT_LOG) -> Path:
    """Screen ``data`` and write the report folder ``out``; returns its path.

    Every report ends with ``MANIFEST.sha256``; with a ``site_label`` it is a site bundle
    that ``python -m screening merge`` combines with other sites' (see :mod:`screening.disclosure.bundle`).
    ``release_log``: the local log of shareable releases (default :func:`release_log_path`; None: no log).
    """
    rule = SmallCellRule.of(small_cell)
    check_subgroup(subgroup)
    if site_label is not None:
        check_site_label(site_label)
    out = check_out(out, data, overwrite, rule.internal)
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol)
    if progress:
        print(f"loading {data} ...", file=sys.stderr, flush=True)
    extract = load_source(data, protocol=protocol)
    screening = Screening(extract, protocol, policy)
    meta = provenance(screening, rule, site_label)
    tables = report_tables(screening, rule, subgroup)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report folder follows the user's umask
    private = Path(tempfile.mkdtemp(prefix="screening-state-"))  # patient-level: never inside the report
    try:
        _write_tables(tables, meta, tmp / "tables")
        if rule.internal:
            (tmp / "INTERNAL-NOT-FOR-SHARING.txt").write_text(WATERMARK + "\n", encoding="utf-8")
        if notebooks:
            spec, password = without_password(absolute_spec(data))
            if password:  # the notebooks' kernels inherit it; their saved parameters do not hold it
                os.environ[PASSWORD_ENV] = password
            shipped = protocol.path and Path(protocol.path).resolve().parent == PACKAGE / "rules" / "protocols"
            own = str(Path(protocol.path).resolve()) if protocol.path else protocol.id
            protocol_arg = Path(protocol.path).stem if shipped else own
            params = {"extract_path": spec, "protocol": protocol_arg, "overrides": dict(protocol.overrides),
                      "policy": policy, "subgroup": subgroup, "small_cell": rule.threshold}
            params["shared"] = _share(private, params, screening, provenance(screening, rule, site_label), tables)
            local = {params["shared"]: "", spec: _extract_name(spec), protocol_arg: Path(protocol_arg).name}
            _run_notebooks(tmp, params, progress, local, rule.internal)
        write_manifest(tmp)
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if not rule.internal and release_log is not None:
        log = release_log_path() if release_log is _DEFAULT_LOG else Path(release_log)
        for warning in log_release(meta, data, out, log, ids=screening.extract.patients.index):
            print(f"warning: {warning}", file=sys.stderr)
    return out


def _extract_name(spec: str) -> str:
    """The extract's folder name alone: a notebook keeps no local path."""
    kind, _, rest = spec.partition(":") if re.match(r"^(omop|synthea):", spec) else ("", "", spec)
    name = Path(rest.split("@")[0]).name
    return f"{kind}:{name}" if kind else name
