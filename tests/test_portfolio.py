"""The portfolio across trials: hand-counted per-trial and per-combination counts, shared criteria evaluated once,
the shareable tables audited from the files as written, and the invariants on random hand-drawn extracts."""

from __future__ import annotations

import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import boundary
from lp_attack import narrowed
from screening import screen
from screening.cli import main
from screening.disclosure.audit import audit
from screening.disclosure.portfolio import add_portfolio, portfolio_tables
from screening.disclosure.relations import Published
from screening.disclosure.rule import INTERNAL, MIN_VALUES, SHAREABLE
from screening.engine.portfolio import Portfolio, default_protocols
from screening.io.extract import extract_from_tables
from screening.rules.protocol import load_protocol
from screening.views.portfolio import write_portfolio

matplotlib.use("Agg")

# Three small trials. A and C exclude on the same HIV rule with the same parameters: one mask, evaluated once.
TRIALS = {
    "trial-a": [("sledai6", "inclusion", "sledai_2k", ">=", 6), ("hiv", "exclusion", "hiv_positive", "is", True)],
    "trial-b": [("sledai4", "inclusion", "sledai_2k", ">=", 4), ("age50", "inclusion", "age_years", "<=", 50)],
    "trial-c": [("dsdna", "inclusion", "anti_dsdna_positive", "is", True),
                ("hiv", "exclusion", "hiv_positive", "is", True)],
}

# The base patient (tests/boundary.py) has SLEDAI 8, age 40, anti-dsDNA positive, HIV negative.
# Per patient, worked out by hand: A (SLEDAI ≥ 6, no HIV), B (SLEDAI ≥ 4, age ≤ 50), C (anti-dsDNA+, no HIV);
# E eligible, X excluded, N not assessable.
PEOPLE = {
    "P01": {},                                                 # A E  B E  C E
    "P02": {"sledai_2k": 5},                                   # A X  B E  C E
    "P03": {"sledai_2k": 3},                                   # A X  B X  C E
    "P04": {"age_years": 60},                                  # A E  B X  C E
    "P05": {"anti_dsdna_positive": False},                     # A E  B E  C X
    "P06": {"hiv_positive": True},                             # A X  B E  C X
    "P07": {"sledai_2k": None},                                # A N  B N  C E
    "P08": {"sledai_2k": None, "age_years": 60},               # A N  B X  C E (age fails: excluded)
    "P09": {"hiv_positive": None},                             # A N  B E  C N
    "P10": {"anti_dsdna_positive": None, "sledai_2k": 5},      # A X  B E  C N
    "P11": {"age_years": 60, "anti_dsdna_positive": False},    # A E  B X  C X
    "P12": {"sledai_2k": 3, "hiv_positive": True},             # A X  B X  C X
    "P13": {"age_years": None},                                # A E  B N  C E
    "P14": {"sledai_2k": 7, "age_years": 55},                  # A E  B X  C E
}
# eligible, not assessable, excluded per trial
BY_TRIAL = {"trial-a": (6, 3, 5), "trial-b": (6, 2, 6), "trial-c": (8, 2, 4)}
# patients per combination of trials they are eligible for
COMBINATIONS = {("trial-a", "trial-b", "trial-c"): 1, ("trial-b", "trial-c"): 1, ("trial-c",): 3,
                ("trial-a", "trial-c"): 3, ("trial-a", "trial-b"): 1, ("trial-b",): 3, ("trial-a",): 1}


def _yaml(pid: str, criteria) -> str:
    lines = [f"id: {pid}", f"title: {pid}", "criteria:"]
    for cid, kind, column, op, value in criteria:
        value = str(value).lower() if isinstance(value, bool) else value
        lines += [f"  - id: {cid}", f"    label: {cid}", f"    kind: {kind}", "    rule: column",
                  f"    params: {{column: {column}, op: '{op}', value: {value}}}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def protocols(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trials")
    paths = []
    for pid, criteria in TRIALS.items():
        (folder / f"{pid}.yaml").write_text(_yaml(pid, criteria), encoding="utf-8")
        paths.append(folder / f"{pid}.yaml")
    return [load_protocol(p) for p in paths]


def _extract(people: dict[str, dict]):
    with warnings.catch_warnings():  # columns the hand-drawn patients leave blank: known, not under test
        warnings.simplefilter("ignore")
        return extract_from_tables(boundary.tables({pid: (changes, None, {}) for pid, changes in people.items()}),
                                   "hand", "hand")


@pytest.fixture(scope="module")
def portfolio(protocols):
    return Portfolio(_extract(PEOPLE), protocols)


def test_per_trial_counts_match_the_hand_count(portfolio):
    summary = portfolio.summary.set_index("protocol")
    for pid, (eligible, unknown, excluded) in BY_TRIAL.items():
        assert summary.loc[pid, ["eligible", "not_assessable", "excluded", "eligible_upper"]].tolist() == \
            [eligible, unknown, excluded, eligible + unknown]


def test_combinations_match_the_hand_count(portfolio):
    overlap = portfolio.overlap
    ids = portfolio.ids
    got = {tuple(p for p in ids if row[p]): row["patients"] for _, row in overlap.iterrows()}
    assert got == COMBINATIONS
    assert overlap["trials"].tolist() == [len(k) for k in got]
    assert portfolio.headline["patients"].tolist() == [14, 13, 7, 6, 1]


def test_the_same_rule_with_the_same_parameters_is_evaluated_once(portfolio):
    # six criteria, five distinct masks: A's and C's HIV exclusion is one
    assert len(portfolio.cache) == 5


def test_the_criteria_excluding_most_come_first_ties_in_protocol_order(portfolio):
    b = portfolio.binding
    assert b.groupby("protocol", sort=False)["criterion"].agg(list).to_dict() == {
        "trial-a": ["sledai6", "hiv"], "trial-b": ["age50", "sledai4"], "trial-c": ["dsdna", "hiv"]}
    assert b["excluded_alone"].tolist() == [4, 2, 4, 2, 2, 2]


def test_a_protocol_given_twice_is_refused(protocols):
    with pytest.raises(Exception, match="more than once"):
        Portfolio(_extract(PEOPLE), [protocols[0], protocols[0]])


def test_the_default_leaves_out_the_ehr_restatement_on_a_registry_extract():
    assert "misle-phase2-ehr" not in default_protocols() and "misle-phase2" in default_protocols()


# --- shareable -----------------------------------------------------------------------------------------

SUBSET = ["misle-phase2", "misle-phase1-pilot", "belimumab-bliss52"]


@pytest.fixture(scope="module")
def bundled(synthetic_extract, tmp_path_factory):
    p = Portfolio(synthetic_extract, SUBSET)
    out = write_portfolio(p, tmp_path_factory.mktemp("pf") / "portfolio")
    return p, out


def _written(out) -> dict[str, pd.DataFrame]:
    return {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False) for f in (out / "tables").glob("*.csv")}


def test_the_written_files_pass_the_audit(bundled):
    """The library's own attack, on the labels exactly as written."""
    p, out = bundled
    written = _written(out)
    pub = Published(SHAREABLE)
    add_portfolio(pub, p)
    rows = {name: pub.tables[name] for name in pub.tables}
    for (table, row, col), i in pub.cells._index.items():
        frame = written[table]
        if table == "portfolio_overlap":  # written in order of the shown counts: find the row by its trials
            key = rows[table].iloc[row][p.ids + ["combination"]].astype(str).tolist()
            row = int(np.flatnonzero((frame[p.ids + ["combination"]].to_numpy() == key).all(axis=1))[0])
        label = frame[col][row]
        assert label in ("*", SHAREABLE.label(pub.cells.values[i])), (table, row, col)
        pub.cells.state[i] = 2 if label == "*" else 0
    assert audit(pub.cells) == []


def test_an_independent_attack_on_the_written_files(bundled):
    """Relations read from the CSV text alone: per trial the statuses add up, the combinations add up to
    'at least one' and bound each trial's eligible count."""
    p, out = bundled
    t = _written(out)
    names, bounds, index, eq, le = [], [], {}, [], []

    def var(key, label):
        if key not in index:
            index[key] = len(names)
            names.append((key, label))
            bounds.append(tuple(SHAREABLE.intervals([label])[0]))
        return index[key]

    head = t["portfolio_headline"]["patients"]
    h = [var(("h", i), v) for i, v in enumerate(head)]
    eq += [{h[0]: 1, h[1]: -1, h[4]: -1}, {h[1]: 1, h[2]: -1, h[3]: -1}]
    trials = t["portfolio"]
    for j, row in trials.iterrows():
        e, n, x, u = (var(("t", j, c), row[c]) for c in ("eligible", "not_assessable", "excluded", "eligible_upper"))
        eq += [{h[0]: 1, e: -1, n: -1, x: -1}, {u: 1, e: -1, n: -1}]
    overlap = t["portfolio_overlap"]
    cells = [var(("o", i), v) for i, v in enumerate(overlap["patients"])]
    eq.append({h[1]: 1, **{c: -1 for c in cells}})
    other = cells[-1]
    for j, pid in enumerate(trials["protocol"]):
        holding = [cells[i] for i in np.flatnonzero(overlap[pid].to_numpy() == "True")]
        e = index[("t", j, "eligible")]
        le += [{**{c: 1 for c in holding}, e: -1}, {e: 1, **{c: -1 for c in holding}, other: -1}]
    assert narrowed(names, bounds, eq, le, SHAREABLE.small, MIN_VALUES) == []


def test_no_patient_id_in_any_shared_file(bundled, synthetic_extract):
    _, out = bundled
    ids = set(synthetic_extract.patients.index.astype(str))
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".json", ".sha256"):
            words = set(f.read_text(encoding="utf-8").replace(",", " ").replace('"', " ").split())
            assert not words & ids, f.name
    assert sorted(f.name for f in out.iterdir()) == ["MANIFEST.sha256", "portfolio-overlap.png",
                                                     "portfolio-range.png", "tables"]


def test_the_shared_counts_are_the_rounded_exact_ones(bundled):
    p, out = bundled
    trials = _written(out)["portfolio"].set_index("protocol")
    exact = p.summary.set_index("protocol")
    for pid in SUBSET:
        assert trials.loc[pid, "eligible"] == SHAREABLE.label(exact.loc[pid, "eligible"])


def test_when_missing_data_decide_no_one_is_not_assessable_and_that_zero_is_shown(protocols):
    p = Portfolio(_extract(PEOPLE), protocols, policy="exclude")
    assert p.summary["not_assessable"].tolist() == [0, 0, 0]
    assert portfolio_tables(p)["portfolio"]["not_assessable"].tolist() == ["0", "0", "0"]


def test_an_empty_extract_gives_empty_counts_not_an_error(protocols):
    p = Portfolio(_extract({}), protocols)
    assert p.headline["patients"].tolist() == [0] * 5 and p.overlap.empty
    assert portfolio_tables(p)["portfolio_headline"]["patients"].tolist() == ["≤10"] * 5


def test_internal_tables_are_exact(portfolio):
    tables = portfolio_tables(portfolio, INTERNAL)
    assert tables["portfolio"]["eligible"].tolist() == [6, 6, 8]


def test_the_command_prints_every_trial_and_ends_with_one_line(capsys, tmp_path):
    import json
    import os

    assert main(["portfolio", "--protocol", "misle-phase2", "--protocol", "belimumab-bliss52",
                 "--out", str(tmp_path / "pf")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Written to --out, it is a release like a report: logged, with the trials it holds.
    log = [json.loads(line) for line in open(os.environ["SCREENING_RELEASE_LOG"], encoding="utf-8")]
    assert [t["id"] for t in log[-1]["portfolio"]] == ["misle-phase2", "belimumab-bliss52"]
    assert max(len(line) for line in lines) <= 100
    assert any(line.split()[0] == "belimumab-bliss52" for line in lines if line.strip())
    assert re.fullmatch(r"2 trials, [\d,]+ patients: (≤10|[\d,]+) eligible for at least one, (≤10|[\d,]+) for two "
                        r"or more", lines[-1])


def test_plot_overlap_returns_its_axes(portfolio):
    ax = portfolio.plot_overlap()
    assert type(ax).__name__ == "Axes" and len(ax.patches) == len(COMBINATIONS)
    assert [t.get_text() for t in ax.child_axes[0].get_yticklabels()] == portfolio.ids
    ax = portfolio.plot_summary()
    assert [t.get_text() for t in ax.get_yticklabels()] == portfolio.ids


# --- properties ------------------------------------------------------------------------------------------

VALUES = {"sledai_2k": [None, 3, 5, 8], "age_years": [None, 40, 60], "anti_dsdna_positive": [None, True, False],
          "hiv_positive": [None, True, False]}


@pytest.fixture(scope="module")
def every_combination():
    """One patient per combination of the four fields' values (108), blanks included."""
    grid = pd.MultiIndex.from_product(list(VALUES.values()), names=list(VALUES)).to_frame(index=False)
    rows = grid.astype(object).where(grid.notna(), None).to_dict("records")
    return _extract({f"P{i:03d}": row for i, row in enumerate(rows)})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(2, 9), st.integers(2, 9), st.integers(30, 70), st.sets(st.sampled_from(list(TRIALS)), min_size=1))
def test_combinations_add_up_to_each_trial_and_match_the_funnel(protocols, every_combination, a_min, b_min, age_max,
                                                                chosen):
    extract = every_combination
    changed = {"trial-a": {"sledai6.value": a_min}, "trial-b": {"sledai4.value": b_min, "age50.value": age_max},
               "trial-c": {}}
    trials = [p.with_overrides(changed[p.id]) for p in protocols if p.id in chosen]
    p = Portfolio(extract, trials)
    overlap, summary = p.overlap, p.summary.set_index("protocol")
    for trial in trials:
        single = screen(extract, trial).summary().set_index("status")["patients"]
        assert int(overlap.loc[overlap[trial.id], "patients"].sum()) == summary.loc[trial.id, "eligible"]
        assert summary.loc[trial.id, ["eligible", "excluded", "not_assessable"]].tolist() == \
            single[["eligible", "excluded", "not_assessable"]].tolist()
    head = p.headline["patients"].tolist()
    assert int(overlap["patients"].sum()) == head[1] == head[2] + head[3] == extract.n_patients - head[4]


def test_a_report_with_the_portfolio_shows_its_shared_counts_alike(tmp_path):
    """The portfolio's tables join the report's (protected with them): a count both show reads the same."""
    from screening.views.report import build_report

    out = build_report("data/synthetic", out=tmp_path / "r", notebooks=False, release_log=None, portfolio=True)
    t = {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False) for f in (out / "tables").glob("*.csv")}
    assert t["portfolio"]["protocol"].tolist() == default_protocols()
    row = t["portfolio"].set_index("protocol").loc["misle-phase2"]
    head = t["headline"]["patients"].tolist()
    assert [row["eligible"], row["not_assessable"], row["eligible_upper"], row["excluded"]] == head[1:]
    assert t["portfolio_headline"]["patients"][0] == head[0]
    pilot = t["portfolio"].set_index("protocol").loc["misle-phase1-pilot"]
    assert [pilot["eligible"], pilot["excluded"], pilot["not_assessable"]] == t["comparison"]["variant"].tolist()


def test_a_count_the_report_shows_is_one_cell_with_the_portfolio(synthetic_extract):
    """The report's own trial and its criteria are the same cells (hiding one hides both)."""
    from screening.disclosure.relations import funnel_counts
    from screening.engine.portfolio import beside

    s = screen(synthetic_extract)
    p = Portfolio(synthetic_extract, beside(s.protocol), _cache=s._cache)
    pub = funnel_counts(s.counts, s.criteria, SHAREABLE)
    add_portfolio(pub, p, funnel=s)
    j = p.ids.index("misle-phase2")
    assert pub.aliases[("portfolio", j, "eligible")] == ("headline", 1, "patients")
    assert pub.aliases[("portfolio_headline", 0, "patients")] == ("headline", 0, "patients")
    sledai = [c.id for c in s.criteria].index("sledai")
    binding = pub.tables["portfolio_binding"]
    rows = np.flatnonzero((binding["protocol"] == "misle-phase2") & (binding["criterion"] == "sledai"))
    assert pub.aliases[("portfolio_binding", int(rows[0]), "excluded_alone")] == ("criteria", sledai, "excluded_alone")
