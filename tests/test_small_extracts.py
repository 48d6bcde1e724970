"""Tiny extracts and structural zeros: no shareable file tells a patient's category; 0 means the protocol says so."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from screening import ScreeningError, load_extract, load_protocol, screen
from screening.disclosure.audit import protect
from screening.disclosure.categories import (
    declared_groups,
    funnel_structural_cells,
    min_breakdown_patients,
    structural_zeros,
)
from screening.disclosure.published import read_rule
from screening.disclosure.relations import Published
from screening.disclosure.rule import SHAREABLE
from screening.disclosure.shareable import OTHER_SITES, published_counts, shareable_tables
from screening.disclosure.transitions import impossible_transitions
from screening.engine.groups import SMALL_GROUPS
from screening.engine.status import STATUSES
from screening.engine.whatif import compare
from screening.rules.protocol import Criterion
from screening.synth.synthetic import generate, write_extract
from screening.views.report import build_report

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
CHARACTERISTICS = ("sex", "race_ethnicity", "age_years")
#: The bundled registry's sites, declared as a report's --sites.
SITES = [f"S{i:02d}" for i in range(1, 9)]


def _first(n: int, folder: Path) -> Path:
    """The bundled extract's first ``n`` patients, with all their rows."""
    folder.mkdir(parents=True)
    patients = pd.read_csv(SYNTHETIC / "patients.csv", dtype=str, keep_default_na=False).iloc[:n]
    patients.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
    for file in SYNTHETIC.glob("*.csv"):
        if file.stem != "patients":
            table = pd.read_csv(file, dtype=str, keep_default_na=False)
            table[table["patient_id"].isin(patients["patient_id"])].to_csv(folder / file.name, index=False,
                                                                          lineterminator="\n")
    return folder


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("small")
    with pytest.warns(UserWarning):  # so few patients leave some columns empty: said, not an error
        return {n: build_report(_first(n, base / f"x{n}"), out=base / f"r{n}", notebooks=False, release_log=None,
                                sites=SITES) for n in (1, 9, 10)}


def _categories(extract: Path) -> dict[str, set[str]]:
    """Every category the extract's patients have: what no small report may name."""
    s = screen(load_extract(extract))
    groups = {c: set(s._groups(c, [0, 18, 30, 40, 50, 66, 91] if c == "age_years" else None)) for c in
              (*CHARACTERISTICS, "site")}
    return groups


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
@pytest.mark.parametrize("n", [1, 9])
def test_a_tiny_extract_shares_no_patients_category(reports, n):
    out = reports[n]
    names = _categories(out.parent / f"x{n}")
    for file in sorted((out / "tables").glob("*.csv")):
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
        for column in table.columns:
            values = set(table[column])
            for characteristic, theirs in names.items():
                shown = values & theirs - {"(missing)"}
                if not shown:
                    continue
                # A category may appear only beside every category the dictionary declares: then it says nothing.
                declared = declared_groups(characteristic)
                assert declared is not None and set(declared) <= values, (file.name, column, shown)
    meta = json.loads((out / "tables" / "provenance.json").read_text(encoding="utf-8"))
    # the bundled extract's first patients bring their visits: the series by site is withheld with the rest
    by_group = ["composition", "makeup", "outcome_by_site", "over_time_by_site", "over_time_by_site_12_months"]
    assert meta["withheld_breakdowns"] == by_group
    for name in by_group:
        assert pd.read_csv(out / "tables" / f"{name}.csv").empty  # published with its header, no rows
    assert not list((out / "tables").glob("differential_*")) and not list((out / "tables").glob("leave_one_out_*_*"))


def test_nine_and_ten_patients_give_the_same_files(reports):
    nine, ten = reports[9] / "tables", reports[10] / "tables"
    assert sorted(p.name for p in nine.iterdir()) == sorted(p.name for p in ten.iterdir())
    for file in nine.glob("*.csv"):
        assert file.read_bytes() == (ten / file.name).read_bytes(), file.name
    for file in nine.glob("*.json"):
        a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (file, ten / file.name))
        for payload in (a, b):  # the one difference: which extract each came from
            (payload.get("provenance") or payload).pop("extract_sha256")
        assert a == b, file.name


def test_breakdowns_start_at_the_stated_extract_size_as_published():
    assert min_breakdown_patients(SHAREABLE.threshold) == 100


@pytest.fixture(scope="module")
def hundreds(tmp_path_factory):
    s = screen(load_extract(write_extract(generate(400, 5), tmp_path_factory.mktemp("g"))))
    return s, shareable_tables(s, SHAREABLE, whatif=False)


def test_every_declared_category_is_listed_in_every_population(hundreds):
    _, tables = hundreds
    comp = tables["composition"]
    for column in CHARACTERISTICS:
        for population in ("extract", "eligible", "not_assessable"):
            groups = comp[(comp["column"] == column) & (comp["population"] == population)]["group"].tolist()
            assert groups == sorted(declared_groups(column)), (column, population)
    criteria = tables["criteria"]["criterion"].tolist()
    assert sorted(tables["not_assessable"]["criterion"]) == sorted(criteria)  # even at zero: absent would read as 0


def test_zeros_the_protocol_forces_are_zero_on_any_data(tmp_path):
    protocol = load_protocol("misle-phase2", {"age.min_age": 25, "age.max_age": 45})
    for seed in range(4):
        extract = load_extract(write_extract(generate(300, seed), tmp_path / str(seed)))
        for policy in ("separate", "exclude", "include"):
            s = screen(extract, protocol, policy=policy)
            for column, bins in (("age_years", [0, 18, 30, 40, 50, 66, 91]), ("sex", None)):
                comp = s.composition(column, bins).set_index(["population", column])["patients"]
                for population, groups in structural_zeros(protocol, policy, column, declared_groups(column)).items():
                    for group in groups:
                        assert comp.get((population, group), 0) == 0, (seed, policy, column, population, group)


def test_structural_zeros_from_a_protocol_hand_computed():
    narrow = load_protocol("misle-phase2", {"age.min_age": 30, "age.max_age": 49})
    bands = declared_groups("age_years")
    zeros = structural_zeros(narrow, "include", "age_years", bands)
    # 30–49 inclusive: only [30, 40) and [40, 50) can hold eligible patients; missing ages pass under "include".
    assert sorted(zeros["eligible"]) == ["[0, 18)", "[18, 30)", "[50, 66)", "[66, 91)"]
    assert zeros["not_assessable"] == set(bands)  # no one is not assessable under "include"
    sex = Criterion(id="women", label="Women", kind="inclusion", rule="column",
                    params={"column": "sex", "op": "==", "value": "F"})
    women = replace(load_protocol("misle-phase2"), criteria=(*load_protocol("misle-phase2").criteria, sex))
    assert structural_zeros(women, "separate", "sex", ["F", "M", "(missing)"]) == \
        {"eligible": {"M", "(missing)"}, "not_assessable": {"M"}}


def test_forced_zeros_shown_as_zero_and_the_audit_knows_what_the_reader_knows(hundreds):
    s, tables = hundreds
    comp = tables["composition"]
    shown = comp.set_index(["column", "population", "group"])["patients"]
    for band in ("[0, 18)", "[66, 91)"):
        assert shown[("age_years", "eligible", band)] == "0" and shown[("age_years", "not_assessable", band)] == "0"
    assert shown[("age_years", "eligible", "(missing)")] == "0"
    pub = published_counts(s, SHAREABLE, whatif=False)
    protect(pub.cells)
    reader = read_rule(SHAREABLE.as_dict())
    zero_data = 0
    for i, value in enumerate(pub.cells.values):
        label = pub.cells.label(i)
        if label == "0":  # the reader reads it as exactly 0; so does the audit
            assert i in pub.cells.known and tuple(pub.cells.bounds()[i]) == (0, 0)
            assert reader.intervals([label]).tolist() == [[0, 0]]
        elif value == 0 and pub.cells.names[i][0] == "composition":
            zero_data += 1
            assert label == "≤10"  # a zero the data make stays hidden
    assert zero_data > 0


def test_a_protocol_compared_with_itself_moves_no_one_and_says_so(hundreds):
    s, _ = hundreds
    tables = shareable_tables(s, SHAREABLE, variant=s.protocol, sweeps={})
    moves = tables["transitions"].set_index("reference")
    for a in ("eligible", "excluded", "not_assessable"):
        for b in ("eligible", "excluded", "not_assessable"):
            if a != b:
                assert moves.loc[a, b] == "0", (a, b)


def test_zeros_along_the_funnel_the_protocol_forces_are_zero_on_any_data(tmp_path):
    protocol = load_protocol("misle-phase2", {"age.min_age": 25, "age.max_age": 45})
    tables = set()
    for seed in ("bundled", 1, 2):  # the bundled extract has every age band large enough to break down
        extract = load_extract(SYNTHETIC) if seed == "bundled" else \
            load_extract(write_extract(generate(400, seed), tmp_path / str(seed)))
        for policy in ("separate", "exclude", "include"):
            s = screen(extract, protocol, policy=policy)
            pub = published_counts(s, SHAREABLE, whatif=False)
            cells = funnel_structural_cells(pub, s.protocol, policy)
            tables |= {name for name, _, _ in cells}
            for name in cells:
                assert pub.cells.values[pub.cells[pub._r(name)]] == 0, (seed, policy, name)
                assert pub.cells[pub._r(name)] in pub.cells.known  # shown as 0, known to the audit
    assert {"makeup", "differential_age_years", "leave_one_out_age_years"} <= tables, tables


@pytest.mark.parametrize("small", [["[0, 18)", "[66, 91)"], ["[0, 18)", "[18, 30)"]])
def test_a_row_of_small_age_bands_merged_holds_a_zero_when_each_band_does(small):
    """Bands merged into one row are the declared bands not listed on their own, as a reader sees; a zero
    holds for the row when it holds for each: all outside 18–65, they leave at the age step, none after."""
    listed = [b for b in declared_groups("age_years") if b not in small] + [SMALL_GROUPS]
    makeup = pd.DataFrame({"characteristic": "age_years", "group": listed, "step": 0, "patients": 0})
    rows = pd.DataFrame([(cid, group) for cid in ("age", "classification") for group in (SMALL_GROUPS, "[30, 40)")],
                        columns=["criterion", "age_years"])
    pub = Published(SHAREABLE)
    pub.tables = {"makeup": makeup, "differential_age_years": rows, "leave_one_out_age_years": rows}
    zeros = set(funnel_structural_cells(pub, load_protocol("misle-phase2")))
    outside = small == ["[0, 18)", "[66, 91)"]
    # Rows: 0 age × merged, 1 age × [30, 40), 2 classification × merged, 3 classification × [30, 40).
    assert {(row, col) for name, row, col in zeros if name == "differential_age_years"} == \
        {(1, "removed_alone"), (1, "removed_in_sequence")} | ({(2, "removed_in_sequence")} if outside else set())
    # Dropping classification gains no one of a band the age criterion excludes; dropping age, no one inside it.
    assert {row for name, row, _ in zeros if name == "leave_one_out_age_years"} == {1} | ({2} if outside else set())


def test_an_age_band_out_of_range_is_out_of_play_from_the_age_step_on(hundreds):
    _, tables = hundreds
    m = tables["makeup"]
    old = m[(m["characteristic"] == "age_years") & (m["group"] == "[66, 91)")].set_index("step")["patients"]
    assert old.iloc[0] not in ("0", "≤10") and (old.iloc[1:] == "0").all()


def test_under_exclude_every_not_assessable_count_of_every_table_reads_0(synthetic_extract):
    # Missing data count as failing: no one is not assessable, in the funnel, the variant, any sweep or any
    # relaxation; and a missing age fails the age criterion, so no later step removes a patient of missing age.
    tables = shareable_tables(screen(synthetic_extract, policy="exclude"), SHAREABLE)
    for name, column in [("headline", "patients"), ("attrition", "not_assessable"), ("sweeps", "not_assessable"),
                         ("relaxations", "not_assessable"), ("by_criterion", "not_assessable_alone_b"),
                         ("criteria", "not_assessable_alone")]:
        shown = tables[name][column] if name != "headline" else tables[name][column].iloc[[2]]
        assert (shown.astype(str) == "0").all(), name
    assert tables["comparison"].set_index("status").loc["not_assessable", "variant"] == "0"
    d = tables["differential_age_years"]
    later = d[(d["age_years"] == "(missing)") & (d["criterion"] != "age")]
    assert (later["removed_in_sequence"] == "0").all()
    inside = d[(d["age_years"] == "[30, 40)") & (d["criterion"] == "age")]
    assert (inside[["removed_alone", "removed_in_sequence"]] == "0").all(axis=None)


def test_transitions_a_variant_cannot_make_hand_computed():
    p = load_protocol("misle-phase2")
    loosened = p.with_overrides({"sledai.min": 4, "belimumab.months": 1})
    tightened = p.with_overrides({"sledai.min": 8, "age.max_age": 60})
    both_ways = p.with_overrides({"sledai.max": 20})  # one value, a new maximum: unknown where it is missing
    # Loosened: no one admitted is excluded or left unassessed; no one unassessed is excluded.
    assert impossible_transitions(p, loosened, "separate") == \
        {("eligible", "excluded"), ("eligible", "not_assessable"), ("not_assessable", "excluded")}
    assert impossible_transitions(p, tightened, "separate") == \
        {("excluded", "eligible"), ("excluded", "not_assessable"), ("not_assessable", "eligible")}
    assert impossible_transitions(p, both_ways, "separate") == \
        {("eligible", "not_assessable"), ("not_assessable", "eligible")}
    # The shipped pilot also accepts SLICC and shortens the malignancy look-back: any move is possible.
    assert impossible_transitions(p, load_protocol("misle-phase1-pilot"), "separate") == set()
    every_na = {(a, b) for a in STATUSES for b in STATUSES if "not_assessable" in (a, b)}
    assert impossible_transitions(p, both_ways, "exclude") == every_na
    assert impossible_transitions(p, loosened, "include") == every_na | {("eligible", "excluded")}


def test_transitions_the_protocols_rule_out_are_zero_on_data_and_shown_as_zero(tmp_path):
    p = load_protocol("misle-phase2")
    extract = load_extract(write_extract(generate(200, 3), tmp_path / "x"))
    for overrides in ({"sledai.min": 4, "belimumab.months": 1}, {"sledai.min": 8, "age.max_age": 60},
                      {"sledai.max": 12}):
        variant = p.with_overrides(overrides)
        for policy in ("separate", "exclude", "include"):
            moves = compare(extract, p, variant, policy).transitions
            for a, b in impossible_transitions(p, variant, policy):
                assert moves.loc[a, b] == 0, (overrides, policy, a, b)
    # Shown as 0 and known to the audit; moves the variant can make keep their rounded label.
    pub = published_counts(screen(extract, p), SHAREABLE, variant=p.with_overrides({"sledai.min": 4}), makeup=False,
                           relax=False)
    moves = {(a, b): pub.cells.label(("transitions", i, b)) for i, a in enumerate(STATUSES) for b in STATUSES}
    for move in (("eligible", "excluded"), ("eligible", "not_assessable"), ("not_assessable", "excluded")):
        assert moves[move] == "0" and pub.cells[("transitions", STATUSES.index(move[0]), move[1])] in pub.cells.known
    assert moves[("excluded", "eligible")] != "0" and moves[("not_assessable", "eligible")] != "0"


def _with_site_of_two(tmp_path: Path) -> Path:
    """A 120-patient extract in which two patients are at a ninth site of their own."""
    folder = write_extract(generate(120, 7), tmp_path / "x")
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[:1, "site"] = "S09"
    patients.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
    return folder


def test_a_small_site_is_never_named_and_declared_sites_are_all_listed(tmp_path):
    s = screen(load_extract(_with_site_of_two(tmp_path)))
    sizes = s.outcome_by("site").set_index("site")["total"]
    small = set(sizes[sizes <= 10].index)
    assert sizes["S09"] == 2 and "S09" in small

    def outcome(sites):  # the table as registered for protection: true counts, rows as published
        pub = published_counts(s, SHAREABLE, whatif=False, makeup=False, relax=False, sites=sites)
        table = pub.tables["outcome_by_site"]
        return table.assign(shown=[pub.cells.label(("outcome_by_site", i, "total")) for i in range(len(table))])

    # Undeclared: sites of 10 patients or fewer are pooled into one row that names none of them.
    table = outcome(None)
    assert not small & set(table["site"]) and table["site"].iloc[-1] == OTHER_SITES
    assert table.set_index("site").loc[OTHER_SITES, "total"] == sizes[list(small)].sum()
    assert table["total"].sum() == s.extract.n_patients
    # What the listing tells a reader, the audit knows too: a site named has more than 10 patients, the pooled
    # row at least one; protection still converges with it.
    pub = published_counts(s, SHAREABLE, whatif=False, makeup=False, relax=False)
    floors = {pub.cells.names[i][1]: least for i, least in pub.cells.floors.items()}
    assert floors == {i: 1 if site == OTHER_SITES else 11 for i, site in enumerate(table["site"])}
    protect(pub.cells)
    pub.cells.withhold(lambda name: name[0] == "outcome_by_site")  # known even where no count is shown
    lowest = pub.cells.bounds()[[pub.cells[("outcome_by_site", i, "total")] for i in range(len(table))], 0]
    assert lowest.tolist() == [1 if site == OTHER_SITES else 11 for site in table["site"]]
    assert published_counts(s, SHAREABLE, whatif=False, makeup=False, relax=False, sites=[*SITES, "S09"]) \
        .cells.floors == {}  # declared sites are listed whatever their size
    # Declared: every site listed, with patients or not, and missing sites too.
    declared = [*SITES, "S09", "S10"]
    table = outcome(declared)
    assert table["site"].tolist() == [*declared, "(missing)"]
    assert table.set_index("site").loc[["S09", "S10"], "shown"].tolist() == ["≤10", "≤10"]
    with pytest.raises(ScreeningError, match=r"--sites: the extract holds 1 site\(s\) the list does not declare "
                                             r"\(S09\)"):
        outcome(SITES)


def test_tiny_extracts_name_no_site_with_sites_declared_or_not(reports, tmp_path):
    for n in (1, 9):
        assert pd.read_csv(reports[n] / "tables" / "outcome_by_site.csv").empty
        # Undeclared, the same: below the minimum size no breakdown is published.
        s = screen(load_extract(reports[n].parent / f"x{n}"))
        assert shareable_tables(s, SHAREABLE, whatif=False)["outcome_by_site"].empty
