"""Several sites screened apart, merged from their shareable bundles alone.

Each site sends only its bundle (:mod:`screening.disclosure.bundle`). Counts of disjoint
patients add up, so a network count is the sum of the sites' counts. But a
site publishes each count exactly, rounded or hidden, so each published cell
stands for an interval of true counts (:mod:`screening.disclosure.published`), narrowed by
the sums that tie the site's own tables. The network's interval is the sum of
the sites' intervals, and it always holds the count that screening all the
sites' patients together would give.

Example
-------
>>> net = merge_bundles(demo_network("reports/network-demo"))  # as make network builds it (reused if current)
>>> [b.label for b in net.bundles]
['S01', 'S02', 'S03', 'S04', 'S05', 'S06', 'S07', 'S08']
>>> net.tables["headline"].columns.tolist()
['measure', 'patients', 'low', 'high']
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from screening import __version__
from screening.disclosure.bundle import MANIFEST, Bundle, read_bundle, write_manifest
from screening.disclosure.published import interval_text, read_rule, rule_text, tighten
from screening.errors import BundleError, ScreeningError
from screening.io.paths import check_path_text
from screening.network.bounds import (
    CRITERIA_COLUMNS,
    HEADLINE,
    METHOD,
    STEP_COLUMNS,
    funnel_relations,
    narrow_headline,
)
from screening.network.consistency import check_described, check_tables
from screening.views.text import markdown_code, markdown_text, settings_markdown

__all__ = ["Network", "merge_bundles", "find_bundles", "write_network_report", "split_by_site", "demo_network",
           "NETWORK_NOTEBOOK"]

ROOT = Path(__file__).resolve().parents[3]
NETWORK_NOTEBOOK = "04-network.ipynb"
#: What every bundle in a network must share, as named in ``provenance.json``.
ALIKE = {"protocol_id": "protocol", "protocol_fingerprint": "protocol fingerprint (its criteria)",
         "unknown_policy": "missing-data policy", "disclosure": "disclosure rule"}
OUTCOMES = {"eligible": HEADLINE[1], "not_assessable": HEADLINE[2], "excluded": HEADLINE[4], "total": HEADLINE[0]}


@dataclass
class Network:
    """Merged sites: the bundles, every site's cells as intervals (tidy), and the network tables."""

    bundles: list[Bundle]
    cells: pd.DataFrame  # site, table, row, column, shown, low, high
    tables: dict[str, pd.DataFrame]
    provenance: dict


def find_bundles(paths) -> list[Path]:
    """Bundle folders from ``paths``: each is a bundle, or a folder whose sub-folders are bundles."""
    found = []
    for path in [Path(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]:
        if (path / MANIFEST).is_file() or not path.is_dir():
            found.append(path)
            continue
        inner = sorted(p for p in path.iterdir() if (p / MANIFEST).is_file())
        if not inner:
            raise BundleError(f"{path}: neither a site bundle nor a folder of bundles (no {MANIFEST} in it or "
                              "in its sub-folders)")
        found.extend(inner)
    if not found:
        raise BundleError("no bundles given: pass each site's bundle folder, or a folder holding them")
    return found


def _check_alike(bundles: list[Bundle]) -> None:
    """One error naming every way the bundles differ, and which bundles hold which value."""
    sums = pd.Series([b.checksum for b in bundles])
    if sums.duplicated().any():
        same = [str(b.path) for b in bundles if b.checksum == sums[sums.duplicated()].iloc[0]]
        raise BundleError(f"{' and '.join(same)} are the same bundle (equal checksums): a site is merged once")
    _check_distinct_extracts(bundles)
    labels = pd.Series([b.label for b in bundles])
    if labels.duplicated().any():
        dup = labels[labels.duplicated()].iloc[0]
        where = ", ".join(str(b.path) for b in bundles if b.label == dup)
        raise BundleError(f"two bundles have the site label '{dup}' ({where}): a site is merged once; give each "
                          "site its own --site-label")

    def differs(key: str) -> list[str]:
        values = [b.provenance.get(key) for b in bundles]
        return _differs(ALIKE[key], [rule_text(v) if key == "disclosure" and v else v for v in values], labels)

    problems = differs("protocol_id")
    if not problems:  # the same protocol: say which parameters differ, else that its criteria do
        params = [b.provenance.get("parameters") or {} for b in bundles]
        for p in sorted({k for v in params for k in v}):
            problems += _differs(f"parameter {p}", [v.get(p, "(absent)") for v in params], labels)
        problems = problems or differs("protocol_fingerprint")
    problems += differs("unknown_policy") + differs("disclosure")
    if problems:
        raise BundleError("the bundles did not screen alike and cannot be merged: " + "; ".join(problems)
                          + ". Each site reruns `screening report` with the same protocol, --set, --policy and "
                          "--small-cell")


def _check_distinct_extracts(bundles: list[Bundle]) -> None:
    """Two bundles screened from one extract (under two site labels, say) would count its patients twice."""
    seen: dict[str, Bundle] = {}
    for b in bundles:
        first = seen.setdefault(b.provenance["extract_sha256"], b)
        if first is not b:
            raise BundleError(f"{first.path} ({first.label}) and {b.path} ({b.label}) were screened from the same "
                              f"extract (extract SHA-256 {b.provenance['extract_sha256'][:12]}… in both "
                              "tables/provenance.json): its patients would be counted twice; merge each site once")


def _differs(name: str, values: list, labels: pd.Series) -> list[str]:
    keys = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if len(set(keys)) == 1:
        return []
    groups = {}
    for key, value, label in zip(keys, values, labels, strict=True):
        groups.setdefault(key, (value, []))[1].append(label)
    return [f"{name} is " + " but ".join(f"{v} in {', '.join(ls)}" for v, ls in groups.values())]


def _site_cells(bundle: Bundle) -> pd.DataFrame:
    """One site's published cells as intervals, narrowed by the sums that tie its tables."""
    t = bundle.tables
    if "measure" not in t["headline"] or t["headline"]["measure"].tolist() != list(HEADLINE):
        raise BundleError(f"{bundle.path}: tables/headline.csv does not list the measures {', '.join(HEADLINE)}")
    check_described(bundle)
    for name, columns in (("attrition", ["step", *STEP_COLUMNS]), ("criteria", ["criterion", *CRITERIA_COLUMNS])):
        if not set(columns) <= set(t[name].columns):
            raise BundleError(f"{bundle.path}: tables/{name}.csv lacks the columns {', '.join(columns)}")
    parts = [t["headline"].assign(column="patients").rename(columns={"measure": "row", "patients": "shown"}),
             t["attrition"].melt(id_vars=["step"], value_vars=STEP_COLUMNS, var_name="column", value_name="shown")
             .rename(columns={"step": "row"}),
             t["criteria"].melt(id_vars=["criterion"], value_vars=CRITERIA_COLUMNS, var_name="column",
                                value_name="shown").rename(columns={"criterion": "row"})]
    cells = pd.concat([p.assign(table=name)[["table", "row", "column", "shown"]]
                       for name, p in zip(("headline", "attrition", "criteria"), parts, strict=True)],
                      ignore_index=True)
    rule = bundle.provenance.get("disclosure") or {"rule": "suppress",
                                                   "threshold": bundle.provenance.get("small_cell_threshold", 10)}
    try:
        rule = read_rule(rule)
        total = rule.intervals(cells["shown"].iloc[:1])[0, 1]
        bounds = rule.intervals(cells["shown"], cap=total)
        relations = funnel_relations(cells, t["attrition"]["step"].tolist(), t["criteria"]["criterion"])
        bounds = tighten(bounds, relations)
    except ValueError as exc:
        raise BundleError(f"{bundle.path}: tables/headline.csv, attrition.csv and criteria.csv: {exc}") from None
    check_tables(bundle, cells, relations, rule, total)
    return cells.assign(site=bundle.label, low=bounds[:, 0], high=bounds[:, 1])


def merge_bundles(paths) -> Network:
    """Check the bundles (sealed, alike) and sum their published counts into network tables."""
    bundles = [read_bundle(p) for p in find_bundles(paths)]
    _check_alike(bundles)
    cells = pd.concat([narrow_headline(b, _site_cells(b)) for b in bundles], ignore_index=True)
    from screening.network.over_time import network_over_time  # the sites' monthly series, when they have visits

    tables = _network_tables(bundles[0], cells) | network_over_time(bundles)
    return Network(bundles, cells, tables, _provenance(bundles))


def _with_intervals(frame: pd.DataFrame, low: pd.DataFrame, high: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        out[col] = interval_text(low[col], high[col]).to_numpy()
        out[f"{col}_low"], out[f"{col}_high"] = low[col].to_numpy(), high[col].to_numpy()
    return out


def _network_tables(first: Bundle, cells: pd.DataFrame) -> dict[str, pd.DataFrame]:
    summed = cells.groupby(["table", "row", "column"], sort=False)[["low", "high"]].sum()

    def wide(table: str, rows: pd.Series, columns: list[str], value: str) -> pd.DataFrame:
        return summed.loc[table][value].unstack("column").reindex(index=rows.to_numpy(), columns=columns)

    head = summed.loc["headline"].droplevel("column").reindex(list(HEADLINE))
    elig, upper = head.loc[HEADLINE[1]], head.loc[HEADLINE[3]]
    headline = pd.DataFrame({"measure": list(HEADLINE) + ["range of the eligible pool"],
                             "low": list(head["low"]) + [elig["low"]], "high": list(head["high"]) + [upper["high"]]})
    headline.insert(1, "patients", interval_text(headline["low"], headline["high"]))
    headline.loc[len(HEADLINE), "patients"] = f"{elig['low']} to {upper['high']}"

    attrition = first.tables["attrition"][["step", "criterion", "label", "kind"]]
    steps = attrition["step"]
    attrition = _with_intervals(attrition, wide("attrition", steps, STEP_COLUMNS, "low"),
                                wide("attrition", steps, STEP_COLUMNS, "high"), STEP_COLUMNS)
    criteria = first.tables["criteria"][["criterion", "label", "kind"]]
    ids = criteria["criterion"]
    criteria = _with_intervals(criteria, wide("criteria", ids, CRITERIA_COLUMNS, "low"),
                               wide("criteria", ids, CRITERIA_COLUMNS, "high"), CRITERIA_COLUMNS)

    heads = cells[cells["table"] == "headline"].set_index(["site", "row"])
    sites = pd.Series(cells["site"].unique())
    per_site = {bound: pd.DataFrame({col: heads[bound].unstack("row").reindex(sites)[m].to_numpy()
                                     for col, m in OUTCOMES.items()}) for bound in ("low", "high")}
    outcome = _with_intervals(pd.DataFrame({"site": sites}), per_site["low"], per_site["high"], list(OUTCOMES))

    bite = cells[(cells["table"] == "criteria") & (cells["column"] == "excluded_alone")]
    bite = bite.merge(first.tables["criteria"][["criterion", "label"]], left_on="row", right_on="criterion")
    totals = outcome.set_index("site")
    mid_total = np.maximum((totals["total_low"] + totals["total_high"]).reindex(bite["site"]).to_numpy() / 2, 1)
    pct_low, pct_high = (np.round(100 * bite[b].to_numpy() / mid_total, 1) for b in ("low", "high"))
    by_site = pd.DataFrame({"site": bite["site"], "criterion": bite["criterion"], "label": bite["label"],
                            "excluded_alone": interval_text(bite["low"], bite["high"]).to_numpy(),
                            "excluded_alone_low": bite["low"].to_numpy(),
                            "excluded_alone_high": bite["high"].to_numpy(),
                            "pct_of_site": _pct_text(pct_low, pct_high),
                            "pct_of_site_low": pct_low, "pct_of_site_high": pct_high})
    return {"headline": headline, "attrition": attrition, "criteria": criteria, "outcome_by_site": outcome,
            "criteria_by_site": by_site.reset_index(drop=True)}


def _pct_text(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``"4.6"`` or ``"0.1–0.9"``: a share of a site's patients, as a range where its count is one."""
    low_text, high_text = pd.Series(low).map("{:.1f}".format), pd.Series(high).map("{:.1f}".format)
    return low_text.where(low_text == high_text, low_text + "–" + high_text).to_numpy()


def _provenance(bundles: list[Bundle]) -> dict:
    meta = bundles[0].provenance
    shared = {k: meta.get(k) for k in ("protocol_id", "protocol_title", "protocol_fingerprint", "overrides",
                                       "parameters", "criteria", "unknown_policy", "disclosure")}
    # Items do not enter the fingerprint: sites screening alike may quote the trial differently.
    sentences = {(b.provenance.get("coverage") or {}).get("sentence") for b in bundles}
    if len(sentences) == 1 and None not in sentences:
        shared["coverage"] = {"sentence": sentences.pop()}
    return shared | {
        "disclosure_text": rule_text(meta.get("disclosure") or {}),
        "intervals": "each network count is the sum of the sites' intervals: every count a site's published "
                     "value and its tables' sums allow; for the headline, " + METHOD,
        "sites": [{"site_label": b.label, "bundle_sha256": b.checksum,
                   "extract_sha256": b.provenance.get("extract_sha256"),
                   "package_version": b.provenance.get("package_version")} for b in bundles],
        "package_version": __version__,
    }


def provenance_markdown(meta: dict, demo_source: str | None = None) -> str:
    """The network's provenance block, shown at the top of notebook 04 and its HTML.

    Every value comes from a bundle, so each is escaped: it reads as text, never as markup.
    ``demo_source``: the hash of the extract a demo network was split from, stated as its source.
    """
    changed = settings_markdown(meta["overrides"] or {}) or "none (protocol defaults)"
    sentence = (meta.get("coverage") or {}).get("sentence")
    coverage = f"The protocol {markdown_text(sentence)}." if isinstance(sentence, str) else \
        "not stated (the sites' bundles do not agree on it, or predate it)"
    rows = ["| | |", "| --- | --- |",
            f"| protocol | {markdown_text(meta['protocol_title'])} ({markdown_code(meta['protocol_id'])}, "
            f"fingerprint {markdown_code(meta['protocol_fingerprint'])}) |",
            f"| parameter overrides | {changed} |",
            f"| trial's eligibility text | {coverage} |",
            f"| missing data policy | {markdown_text(meta['unknown_policy'])} |",
            f"| disclosure rule of every site | {markdown_text(meta['disclosure_text'])} |",
            f"| sites | {len(meta['sites'])}: {', '.join(markdown_text(s['site_label']) for s in meta['sites'])} |",
            f"| package | screening {markdown_text(meta['package_version'])} |"]
    if demo_source:
        rows.append(f"| extract SHA-256 | {markdown_code(demo_source)} (demo: the bundled extract, split by its "
                    "sites) |")
    return "\n".join(rows)


def write_network_report(paths, out: str | Path, *, overwrite: bool = False, notebooks: bool = True,
                         progress: bool = False) -> Path:
    """Merge the bundles and write the network report folder ``out`` (tables, notebook 04, HTML)."""
    from screening.views.notebook_runner import run_notebook
    from screening.views.report import _write_tables

    out = Path(check_path_text(str(out), "--out"))
    if out.exists() and not overwrite:
        raise ScreeningError(f"{out} already exists: pass --overwrite (overwrite=True) or choose another --out.")
    found = find_bundles(paths)
    for p in found:
        if out.resolve() in (p.resolve(), *p.resolve().parents):
            raise BundleError(f"--out {out} would overwrite the bundle {p}: choose another folder")
    network = merge_bundles(found)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_tables(network.tables, network.provenance, tmp / "tables")
        for bundle in network.bundles:  # exact counts from internal reports stay marked as internal
            for mark in bundle.path.glob("INTERNAL*.txt"):
                shutil.copyfile(mark, tmp / mark.name)
        if notebooks:
            # Relative to the bundles' common folder: no local path goes into the shared notebook.
            base = Path(_common_folder(found))
            if progress:
                print(f"running {NETWORK_NOTEBOOK} ...", file=sys.stderr, flush=True)
            run_notebook(NETWORK_NOTEBOOK, tmp, {"bundles": [p.resolve().relative_to(base).as_posix() for p in found],
                                                  "build_demo": False}, cwd=base)
        write_manifest(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _common_folder(paths: list[Path]) -> str:
    import os

    resolved = [str(p.resolve()) for p in paths]
    common = os.path.commonpath(resolved)
    return common if len(resolved) > 1 else str(Path(common).parent)


def split_by_site(source: str | Path, out: str | Path) -> list[Path]:
    """Write one extract per site (``out/<site>/``) from a pooled CSV extract: each patient with all their rows.

    Rows are copied as text, so each site's files read back exactly as the pooled ones do.
    """
    source, out = Path(source), Path(out)
    patients = pd.read_csv(source / "patients.csv", dtype=str, keep_default_na=False)
    events = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(source.glob("*.csv"))
              if p.stem != "patients"}
    folders = []
    for site, part in patients.groupby("site", sort=True):  # sites (a handful), not patients
        folder = out / site
        folder.mkdir(parents=True, exist_ok=True)
        part.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
        for name, table in events.items():
            table[table["patient_id"].isin(part["patient_id"])].to_csv(folder / f"{name}.csv", index=False,
                                                                       lineterminator="\n")
        folders.append(folder)
    return folders


def _demo_key(source: Path) -> str:
    """Changes whenever the extract or the code that writes bundles does: a stale demo is rebuilt."""
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.csv")) + sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def demo_network(folder: str | Path, source: str | Path = ROOT / "data" / "synthetic",
                 protocol: str = "misle-phase2") -> Path:
    """A demo network in ``folder``: the bundled extract split by its sites, one tables-only bundle each.

    Reuses ``folder`` when it was built from the same extract and code; otherwise rebuilds it.
    Returns ``folder``.
    """
    from screening.views.report import build_report

    folder, source = Path(folder).resolve(), Path(source)  # each bundle's --out names no ".."
    key = _demo_key(source)
    stamp = folder / "DEMO-NETWORK"
    if stamp.is_file() and stamp.read_text().strip() == key:
        return folder
    if folder.exists() and not stamp.is_file():
        raise ScreeningError(f"{folder} exists and is not a demo network: choose another folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with tempfile.TemporaryDirectory() as extracts:
            for site in split_by_site(source, extracts):
                build_report(site, protocol, out=tmp / site.name, notebooks=False, site_label=site.name,
                             release_log=None)  # a demo, not a release
        (tmp / stamp.name).write_text(key + "\n")
        if stamp.is_file() and stamp.read_text().strip() == key:  # another process built the same demo meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
            return folder
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (stamp.is_file() and stamp.read_text().strip() == key):
            raise
        # another process built the same demo first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
