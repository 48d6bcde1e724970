"""The portfolio across trials: an UpSet chart, a range chart, the printed summary and the shareable folder.

Charts take the engine's exact tables (:class:`~screening.engine.portfolio.Portfolio`) or the
shareable ones (:mod:`screening.disclosure.portfolio`); a shareable table is drawn from its
shown (rounded) numbers alone, so a shared chart tells no more than its table. Each takes an
optional ``ax`` and returns the Axes. UpSetPlot (pinned) draws a whole figure of its own, with
no ``ax`` to draw into, so the UpSet here is drawn by hand: bars above, the trials' dot matrix
in an inset below, both inside the one Axes returned.

Example
-------
>>> from screening import load_extract
>>> from screening.engine.portfolio import Portfolio
>>> p = Portfolio(load_extract("data/synthetic"), ["misle-phase2", "belimumab-bliss52"])
>>> ax = overlap_chart(p.overlap, {i: i for i in p.ids})
>>> [t.get_text() for t in ax.child_axes[0].get_yticklabels()]
['misle-phase2', 'belimumab-bliss52']
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from screening import __version__
from screening.disclosure.bundle import write_manifest
from screening.disclosure.portfolio import portfolio_tables
from screening.disclosure.rule import SHAREABLE, WATERMARK, SmallCellRule
from screening.engine.portfolio import Portfolio, default_protocols
from screening.errors import ScreeningError
from screening.io.sources import index_of, load_source, source_kind
from screening.rules.protocol import load_protocol
from screening.views.charts import COLORS, _drawn, _shown
from screening.views.provenance import TOOL
from screening.views.report import _swap_in, check_out, check_release, record_release, release_log_path

__all__ = ["overlap_chart", "range_chart", "portfolio_text", "portfolio_provenance", "write_portfolio",
           "run_portfolio", "refuse_index"]


def _numbers(column: pd.Series) -> np.ndarray:
    """A count column as numbers to draw: exact ones as they are, shown ones (text) by their shown value."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float)
    return _drawn(column, column)


def overlap_chart(overlap: pd.DataFrame, labels: dict[str, str], ax=None, top: int = 15, title: str | None = None):
    """UpSet across trials: patients per combination of trials they are eligible for, the trials as dots below.

    Only combinations shown as a number are drawn (the largest ``top``); returns the Axes.
    """
    ids = list(labels)
    table = overlap.assign(_n=_numbers(overlap["patients"]))
    table = table[(table["_n"] > 0) & table[ids].any(axis=1)]  # the "other combinations" row has no dots to draw
    table = table.sort_values("_n", ascending=False, kind="stable").head(top).reset_index(drop=True)
    if ax is None:
        # Room below the bars for the matrix (a row per trial) and left of it for the trials' names.
        width, bars, matrix = max(6.0, 0.5 * len(table) + 3.5), 2.6, 0.26 * len(ids)
        fig = plt.figure(figsize=(width, bars + matrix + 0.9))
        ax = fig.add_axes((2.6 / width, (matrix + 0.3) / (bars + matrix + 0.9), 1 - 2.8 / width,
                           bars / (bars + matrix + 0.9)))
    x = np.arange(len(table))
    ax.bar(x, table["_n"], color=COLORS["eligible"], width=0.7)
    for xi, v in zip(x, table["patients"], strict=True):
        ax.text(xi, table["_n"].iloc[xi], _shown(v), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("patients eligible for\nexactly these trials")
    ax.set_xticks([])
    ax.set_xlim(-0.6, max(len(table), 1) - 0.4)
    ax.spines[["top", "right"]].set_visible(False)
    # The matrix sits under the bars, in the same x range: one Axes to return, the matrix its child.
    box = ax.get_position()
    depth = 0.26 * len(ids) / max(box.height * ax.figure.get_figheight(), 0.5)  # 0.26 inch per trial
    dots = ax.inset_axes([0, -depth - 0.02, 1, depth], sharex=ax)
    for yi, pid in enumerate(ids):
        member = table[pid].to_numpy(dtype=bool) if len(table) else np.zeros(0, bool)
        dots.scatter(x, np.full(len(x), yi), s=36, color=np.where(member, "#333333", "#DDDDDD"), zorder=2)
        for xi in np.flatnonzero(member) if len(table) else []:
            ys = [k for k, other in enumerate(ids) if table.loc[xi, other]]
            dots.plot([xi, xi], [min(ys), max(ys)], color="#333333", lw=1.4, zorder=1)
    dots.set_yticks(range(len(ids)), [textwrap.shorten(labels[p], 40) for p in ids], fontsize=8.5)
    dots.set_ylim(len(ids) - 0.4, -0.6)
    dots.tick_params(axis="x", bottom=False, labelbottom=False)
    dots.spines[["top", "right", "bottom", "left"]].set_visible(False)
    ax.set_title(title or f"Patients eligible for more than one trial: the {len(table)} largest combinations",
                 loc="left", fontsize=11)
    return ax


def range_chart(summary: pd.DataFrame, ax=None, title: str | None = None):
    """Per trial: eligible patients, and the range up to every not-assessable patient qualifying; returns the Axes."""
    t = summary.reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(t) + 1.4), layout="constrained")
    y = np.arange(len(t))[::-1]
    eligible, upper = _numbers(t["eligible"]), _numbers(t["eligible_upper"])
    ax.barh(y, upper, color=COLORS["not_assessable"], alpha=0.45, height=0.6,
            label="upper end: every not-assessable patient qualifying")
    ax.barh(y, eligible, color=COLORS["eligible"], height=0.6, label="eligible on registry data")
    for yi, e, u, lo in zip(y, t["eligible"], t["eligible_upper"], eligible, strict=True):
        ax.text(lo, yi, f" {_shown(e)} to {_shown(u)}", va="center", fontsize=8)
    ax.set_yticks(y, t["protocol"], fontsize=9)
    ax.set_xlabel("patients")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(title or "Eligible per trial, and the range missing data leave open", loc="left", fontsize=11)
    return ax


def portfolio_text(tables: dict[str, pd.DataFrame], rule: SmallCellRule, width: int = 100) -> str:
    """The portfolio as the command prints it: per trial, the criteria excluding most, the largest overlaps."""
    trials = tables["portfolio"].rename(columns={"protocol": "trial", "not_assessable": "not assessable",
                                                 "eligible_upper": "upper end"})
    trials = trials[["trial", "eligible", "not assessable", "upper end", "excluded"]]
    lines = [trials.to_string(index=False), "", "Criteria excluding the most patients (each alone):"]
    binding = tables["portfolio_binding"]
    for pid, part in binding.groupby("protocol", sort=False):
        text = "; ".join(f"{c} {_shown(n)}" for c, n in zip(part["criterion"], part["excluded_alone"], strict=True))
        lines += textwrap.wrap(f"{pid}: {text}", width, initial_indent="  ", subsequent_indent="      ",
                               break_on_hyphens=False)
    overlap = tables["portfolio_overlap"]
    ids = [c for c in overlap.columns if overlap[c].dtype == bool]
    if len(overlap):
        lines += ["", "Patients per combination of trials they are eligible for:"]
        for _, row in overlap.iterrows():  # combinations (tens), not patients
            name = " + ".join(p for p in ids if row[p]) or row["combination"]
            lines += textwrap.wrap(f"{_shown(row['patients']):>7}  {name}", width, subsequent_indent=" " * 9,
                                   break_on_hyphens=False)
    head = tables["portfolio_headline"].set_index("measure")["patients"]
    lines += ["", *textwrap.wrap(f"disclosure control: {rule.text()}", width, subsequent_indent="  "),
              f"{len(trials)} trials, {_shown(head.iloc[0])} patients: {_shown(head.iloc[1])} eligible for at least "
              f"one, {_shown(head.iloc[3])} for two or more"]
    return "\n".join(lines)


def portfolio_provenance(portfolio: Portfolio, rule: SmallCellRule, tables: dict[str, pd.DataFrame]) -> dict:
    """What produced the portfolio's files: extract hash, each protocol with its fingerprint, policy, rule."""
    trials = [{"id": s.protocol.id, "fingerprint": s.protocol.fingerprint()} for s in portfolio.screenings.values()]
    together = hashlib.sha256(json.dumps(trials, sort_keys=True).encode()).hexdigest()[:12]
    meta = {"tool": TOOL, "kind": "portfolio", "extract_sha256": portfolio.extract.hash,
            "patients": rule.label(portfolio.extract.n_patients), "unknown_policy": portfolio.policy,
            "protocols": [{**t, "title": s.protocol.title, "overrides": dict(s.protocol.overrides)}
                          for t, s in zip(trials, portfolio.screenings.values(), strict=True)],
            # as the release log compares releases: one fingerprint for the set of trials, no single overrides
            "protocol_fingerprint": f"portfolio-{together}", "overrides": {}, "portfolio": trials,
            "disclosure": rule.as_dict(), "disclosure_text": rule.text(), "package_version": __version__,
            "withheld": tables["_withheld"]["withheld"].tolist() if "_withheld" in tables else []}
    if rule.internal:
        meta["internal"] = WATERMARK
    return meta


def write_portfolio(portfolio: Portfolio, out: Path, rule: SmallCellRule = SHAREABLE,
                    tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the shareable folder: ``tables/*.csv`` with ``provenance.json``, ``portfolio-overlap.png``,
    ``portfolio-range.png`` and ``MANIFEST.sha256``. ``out`` is checked beforehand (``check_out``).
    """
    tables = portfolio_tables(portfolio, rule) if tables is None else tables
    meta = portfolio_provenance(portfolio, rule, tables)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        (tmp / "tables").mkdir()
        for name, table in tables.items():
            if not name.startswith("_"):
                shown = table.assign(**{WATERMARK: WATERMARK}) if rule.internal else table
                (tmp / "tables" / f"{name}.csv").write_text(shown.to_csv(index=False, lineterminator="\n"),
                                                           encoding="utf-8")
        (tmp / "tables" / "provenance.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False,
                                                                   sort_keys=True) + "\n", encoding="utf-8")
        labels = {pid: pid for pid in portfolio.ids}
        for name, draw in (("portfolio-overlap.png", lambda: overlap_chart(tables["portfolio_overlap"], labels)),
                           ("portfolio-range.png", lambda: range_chart(tables["portfolio"]))):
            ax = draw()
            ax.figure.savefig(tmp / name, dpi=110, bbox_inches="tight", metadata={"Software": None})
            plt.close(ax.figure)
        if rule.internal:
            (tmp / "INTERNAL-NOT-FOR-SHARING.txt").write_text(WATERMARK + "\n", encoding="utf-8")
        write_manifest(tmp)
        _swap_in(tmp, out)  # an existing folder (allowed by check_out) is replaced only once this one is whole
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def refuse_index(data: str, index: str | None = None) -> None:
    """Stop a portfolio asked to screen at index dates (``--index``, or ``#visits`` in the source): it screens each
    trial at baseline alone, and would print baseline counts as if they were the ones asked for.

    Across trials "at any visit" is not one question: a patient eligible for one trial in March and for another
    in September is not a candidate for both at once, so the overlap, the headline and their disclosure
    relations would all need new definitions. One trial at every index date is ``report --index visits``.
    """
    named = index_of(data)[0]
    index, plain = index or named, data.rpartition("#")[0] if named else data
    if index:
        raise ScreeningError(f"portfolio --data {data}: the portfolio screens each trial at baseline only, so index "
                             f"dates ({index}) would be read and then ignored. Drop --index (and any #{index} at "
                             f"the end of --data) for the trials at baseline, or screen one trial at every index "
                             f"date with `report --data {plain} --protocol NAME --index {index}` (its eligible over "
                             "time tables: at the last visit, at any visit in 12 months, newly eligible per month).")


def run_portfolio(data: str, protocols: list[str] | None, policy: str, rule: SmallCellRule, out: str | None = None,
                  overwrite: bool = False, force: bool = False, **load) -> str:
    """``python -m screening portfolio``: load once, screen every trial, return the text (and write ``out``).

    ``out`` is checked before anything is computed; a shareable ``out`` is a release, checked against
    and added to the local release log as a report is (``force``: see ``report --force``).
    ``protocols`` default to :func:`~screening.engine.portfolio.default_protocols`; ``load`` goes to
    :func:`~screening.io.sources.load_source`.
    """
    refuse_index(data, load.pop("index", None))
    out = check_out(out, data, overwrite, rule.internal) if out else None
    chosen = [load_protocol(p) for p in protocols or default_protocols(source_kind(data) != "native")]
    # Read the source as far back as the most demanding protocol looks at labs (None: no limit).
    widest = max(chosen, key=lambda p: float("inf") if p.lab_months() is None else p.lab_months())
    portfolio = Portfolio(load_source(data, protocol=widest, **load), chosen, policy)
    tables = portfolio_tables(portfolio, rule)
    written = []
    if out is not None:
        release = None
        if not rule.internal:  # refused (ReleaseRefused) before anything is written
            release = check_release(portfolio_provenance(portfolio, rule, tables), data, out, release_log_path(),
                                    portfolio.extract.patients.index, force)
        written.append(f"written to {write_portfolio(portfolio, out, rule, tables)}")
        if release is not None:
            record_release(release[0], release_log_path())
            for warning in release[1]:
                print(f"warning: {warning}", file=sys.stderr)
    lines = portfolio_text(tables, rule).splitlines()
    return "\n".join(lines[:-1] + written + lines[-1:])  # the one-line summary last
