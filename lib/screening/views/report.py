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

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from screening.disclosure.bundle import check_site_label, write_manifest
from screening.disclosure.releases import check_overlap, id_sketch, log_salt, related
from screening.disclosure.rule import SHAREABLE, WATERMARK, SmallCellRule
from screening.disclosure.shareable import VARIANT, check_subgroup, shareable_tables
from screening.engine.funnel import Screening
from screening.errors import ScreeningError
from screening.io.paths import check_path_text, writable_ancestor
from screening.io.sources import absolute_spec, load_source, without_password
from screening.io.sources.omop_connect import PASSWORD_ENV
from screening.rules.protocol import Protocol, load_protocol
from screening.rules.trace import items_table
from screening.views.notebook_kernels import NotebookKernels
from screening.views.notebook_runner import NOTEBOOKS, PACKAGE, ROOT, run_notebooks, say, share_state
from screening.views.provenance import TOOL, provenance

__all__ = ["build_report", "report_tables", "check_out", "log_release", "check_release",
           "record_release", "release_log_path",
           "NOTEBOOKS", "TOOL"]

_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))


def report_tables(screening: Screening, rule: SmallCellRule = SHAREABLE, subgroup: str = "site",
                  variant=VARIANT, portfolio=None, over_time=None, sites: list[str] | None = None
                  ) -> dict[str, pd.DataFrame]:
    """Every shareable table, protected together (see :mod:`screening.disclosure.shareable`). The notebooks show these.

    What was withheld, and how many counts hide besides rounding, come back under
    the keys starting with ``_`` (not written as tables). ``portfolio``: a
    :class:`~screening.engine.portfolio.Portfolio` whose tables join the report's; ``over_time``: an
    :class:`~screening.engine.over_time.EligibilityOverTime` (an extract with visits), whose series
    (``over_time_*``) join them and give the recruitment projection.
    """
    tables = shareable_tables(screening, rule, subgroup, variant=variant, portfolio=portfolio, over_time=over_time,
                              sites=sites)
    if over_time is not None:  # eligible over time (an extract with visits): the projection from the series as shown
        from screening.disclosure.over_time import published_projection

        tables |= published_projection(tables, rule)
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
    writable_ancestor(full, "--out", text)
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


def _earlier_releases(log: Path) -> list[dict]:
    earlier = []
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                earlier.append(json.loads(line))
            except ValueError:
                continue
    return earlier


def check_release(meta: dict, data: str | Path, out: Path, log: Path, ids=None,
                  force: bool = False) -> tuple[dict, list[str]]:
    """This release's log entry and the warnings it gets; :class:`~screening.disclosure.releases.ReleaseRefused`
    when it overlaps an earlier release of another extract and ``force`` is not given.

    Two releases of one extract under different parameters, or of an extract that
    changed by a few patients, can be differenced (see README, "Differencing").
    ``ids``: the extract's patient ids, logged only as a salted sketch (:mod:`screening.disclosure.releases`)
    that finds the same patients in another extract, wherever it lives.
    """
    source = absolute_spec(data)
    entry = {"extract_sha256": meta["extract_sha256"], "source": source, "patients": meta["patients"],
             "protocol_fingerprint": meta["protocol_fingerprint"], "overrides": meta["overrides"],
             "unknown_policy": meta["unknown_policy"], "disclosure": meta["disclosure"], "out": str(out)}
    if "portfolio" in meta:
        entry["portfolio"] = meta["portfolio"]
    earlier = _earlier_releases(log)
    warnings = []
    if ids is not None:
        entry["id_sketch"] = id_sketch(ids, log_salt(log))
        warnings += check_overlap(entry, earlier, force)
    # With and without the portfolio, one extract's tables are protected apart: differencing them is possible.
    settings = ("protocol_fingerprint", "overrides", "unknown_policy", "disclosure", "portfolio")
    same_extract = [e for e in earlier if e.get("extract_sha256") == entry["extract_sha256"]
                    and any(e.get(k) != entry.get(k) for k in settings)]
    if same_extract:
        warnings.append(f"{len(same_extract)} earlier release(s) of this extract used other parameters (e.g. "
                        f"{same_extract[-1]['out']}); a reader holding both can subtract one from the other.")
    changed = [e for e in earlier if e.get("source") == source and e.get("extract_sha256") != entry["extract_sha256"]
               and not (ids is not None and related(entry, [e]))]  # an overlap is refused or warned of above
    if changed:
        warnings.append(f"the extract at {source} changed since an earlier release ({changed[-1]['out']}); "
                        "if only a few patients changed, differencing the two releases can reveal them.")
    return entry, warnings


def record_release(entry: dict, log: Path) -> None:
    """Append a release checked by :func:`check_release` to the local log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def log_release(meta: dict, data: str | Path, out: Path, log: Path, ids=None, force: bool = False) -> list[str]:
    """Check this release (:func:`check_release`) and append it to the local log; return its warnings."""
    entry, warnings = check_release(meta, data, out, log, ids, force)
    record_release(entry, log)
    return warnings


# --- the report ---------------------------------------------------------------------------------------

_DEFAULT_LOG = object()


def build_report(data: str | Path, protocol: Protocol | str = "misle-phase2", *, out: str | Path,
                 policy: str = "separate", overwrite: bool = False, small_cell: int | SmallCellRule = 10,
                 subgroup: str = "site", notebooks: bool = True, progress=False,
                 site_label: str | None = None, release_log=_DEFAULT_LOG, force: bool = False,
                 portfolio: bool = False, variant: Protocol | str = VARIANT, screening: Screening | None = None,
                 warn=None, sites: list[str] | None = None, over_time=None) -> Path:
    """Screen ``data`` and write the report folder ``out``; returns its path.

    Every report ends with ``MANIFEST.sha256``; with a ``site_label`` it is a site bundle that
    ``python -m screening merge`` combines with other sites' (:mod:`screening.disclosure.bundle`).
    ``release_log``: the local log of shareable releases (default :func:`release_log_path`; None: no log).
    A shareable release overlapping an earlier release of another extract is refused before anything is
    written (:class:`~screening.disclosure.releases.ReleaseRefused`) unless ``force``. ``portfolio``: add
    the ``portfolio*`` tables, every shipped trial beside this one (:mod:`screening.engine.portfolio`).
    ``variant``: the protocol the what-if section compares with (a what-if report: the protocol as shipped).
    ``screening``: ``data`` already screened under ``protocol`` and ``policy`` (the what-if panel's), reused
    instead of loading the extract again; ``over_time``: its visits so screened (the panel's). ``warn``: called
    with each warning (default: printed to stderr).
    ``progress``: True prints each step to stderr; a callable is called with it.
    ``sites``: every site of the registry, each listed in ``outcome_by_site`` whether or not it has patients
    (else small sites are pooled).
    """
    rule = SmallCellRule.of(small_cell)
    check_subgroup(subgroup)
    if site_label is not None:
        check_site_label(site_label)
    out = check_out(out, data, overwrite, rule.internal)
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol)
    if not isinstance(variant, Protocol):
        variant = load_protocol(variant)
    chosen = (protocol.fingerprint(), policy)
    if screening is None:
        say(progress, f"loading {data} ...")
        screening = Screening(load_source(data, protocol=protocol), protocol, policy)
    elif (screening.protocol.fingerprint(), screening.policy) != chosen:
        raise ScreeningError("build_report: the screening handed over is not of this protocol and policy.")
    if over_time is not None and (over_time.protocol.fingerprint(), over_time.screening.policy) != chosen:
        raise ScreeningError("build_report: the visits handed over are not of this protocol and policy.")
    extract = screening.extract
    meta = provenance(screening, rule, site_label, compared_with=variant)
    trials = None
    if portfolio:
        from screening.engine.portfolio import Portfolio, beside

        # The report's criteria are already evaluated: the portfolio reads the same cache.
        trials = Portfolio(extract, beside(protocol, extract.format == "converted"), policy, _cache=screening._cache)
        meta["portfolio"] = [{"id": s.protocol.id, "fingerprint": s.protocol.fingerprint()}
                             for s in trials.screenings.values()]
    release = None
    if not rule.internal and release_log is not None:  # refused before any table is computed or written
        log = release_log_path() if release_log is _DEFAULT_LOG else Path(release_log)
        release = check_release(meta, data, out, log, screening.extract.patients.index, force)
    if notebooks:  # the notebooks' kernels get the password in their environment, not in their parameters
        spec, password = without_password(absolute_spec(data))
    # The notebooks' worker and kernels start now: their start-up runs beside the work on the tables.
    environment = {PASSWORD_ENV: password} if notebooks and password else None
    with NotebookKernels(environment=environment) if notebooks else contextlib.nullcontext() as kernels:
        if over_time is None and extract.has_visits:  # screened at every visit: the series join the tables
            from screening.engine.over_time import EligibilityOverTime

            over_time = EligibilityOverTime(extract, protocol, policy=policy)
        say(progress, "protecting the tables ...")
        tables = report_tables(screening, rule, subgroup, variant, portfolio=trials, over_time=over_time, sites=sites)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report folder follows the user's umask
        private = Path(tempfile.mkdtemp(prefix="screening-state-"))  # patient-level: never inside the report
        try:
            if rule.internal:
                (tmp / "INTERNAL-NOT-FOR-SHARING.txt").write_text(WATERMARK + "\n", encoding="utf-8")
            if kernels is None:
                _write_tables(tables, meta, tmp / "tables")
            else:  # the tables are written while the notebooks run: they read the pickled state
                protocol_arg = _protocol_arg(protocol)
                params = {"extract_path": spec, "protocol": protocol_arg, "overrides": dict(protocol.overrides),
                          "policy": policy, "subgroup": subgroup, "small_cell": rule.threshold,
                          "variant": _protocol_arg(variant)}
                meta_nb = provenance(screening, rule, site_label, compared_with=variant)
                params["shared"] = share_state(private, params, screening, meta_nb, tables)
                local = {params["shared"]: "", spec: _extract_name(spec), protocol_arg: Path(protocol_arg).name,
                         params["variant"]: Path(params["variant"]).name}
                run_notebooks(tmp, params, progress, local, rule.internal, kernels,
                              meanwhile=lambda: _write_tables(tables, meta, tmp / "tables"))
            write_manifest(tmp)
            _swap_in(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(private, ignore_errors=True)
    if release is not None:  # (entry, warnings): logged once written
        record_release(release[0], log)
        for warning in release[1]:
            (warn or (lambda text: print(f"warning: {text}", file=sys.stderr)))(warning)
    return out


def _protocol_arg(protocol: Protocol) -> str:
    """How a notebook names ``protocol``: a shipped one by name, any other by its file (or id)."""
    shipped = protocol.path and Path(protocol.path).resolve().parent == PACKAGE / "rules" / "protocols"
    own = str(Path(protocol.path).resolve()) if protocol.path else protocol.id
    return Path(protocol.path).stem if shipped else own


def _extract_name(spec: str) -> str:
    """The extract's folder name alone: a notebook keeps no local path."""
    kind, _, rest = spec.partition(":") if re.match(r"^(omop|synthea):", spec) else ("", "", spec)
    name = Path(rest.split("@")[0]).name
    return f"{kind}:{name}" if kind else name
