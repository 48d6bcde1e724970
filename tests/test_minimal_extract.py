"""A hand-written extract holding only what a small protocol reads: it screens, with hand-computed counts."""

from __future__ import annotations

import io
import textwrap
import warnings
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from screening import load_extract, load_protocol, screen
from screening.cli import main
from screening.io.schema import TABLES

FOUR = """
    id: four
    title: Four criteria
    criteria:
      - {id: age, kind: inclusion, rule: age, label: "Age {min_age}–{max_age}", source: "test"}
      - {id: sledai, kind: inclusion, rule: sledai, label: "SLEDAI-2K ≥ {min}", source: "test"}
      - {id: egfr, kind: exclusion, rule: column, params: {column: egfr, op: "<", value: 30}, source: "test"}
      - {id: belimumab, kind: exclusion, rule: drug_exposure, params: {drugs: [belimumab], months: 2},
         source: "test"}
    """

# Baseline 2024-06-15 for everyone: the belimumab window is [2024-04-15, 2024-06-15].
PATIENTS = """\
    patient_id,age_years,baseline_date,sledai_2k,egfr
    P1,30,2024-06-15,8,90
    P2,17,2024-06-15,8,90
    P3,40,2024-06-15,4,90
    P4,40,2024-06-15,,90
    P5,40,2024-06-15,10,25
    P6,40,2024-06-15,10,
    P7,50,2024-06-15,12,60
    P8,50,2024-06-15,12,60
    P9,,2024-06-15,3,60
    P10,66,2024-06-15,,20
    """
MEDICATIONS = """\
    patient_id,drug,drug_class,start_date,stop_date,dose,dose_unit
    P7,belimumab,biologic,2024-05-01,,10,mg
    P8,belimumab,biologic,2023-06-01,2024-01-01,10,mg
    P1,prednisone,glucocorticoid,2024-01-01,,5,mg/day
    """


@pytest.fixture
def four(tmp_path):
    path = tmp_path / "four.yaml"
    path.write_text(textwrap.dedent(FOUR), encoding="utf-8")
    return path


def _extract(tmp_path, drop: str | None = None):
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "medications.csv").write_text(textwrap.dedent(MEDICATIONS), encoding="utf-8")
    patients = pd.read_csv(io.StringIO(textwrap.dedent(PATIENTS)), dtype=str, keep_default_na=False)
    if drop:
        patients = patients.drop(columns=[drop])
    patients.to_csv(folder / "patients.csv", index=False)
    return folder  # no malignancies or infections file: this protocol reads neither


def _by_step(s) -> dict:
    table = s.attrition().set_index("criterion")
    return {cid: (int(table.loc[cid, "excluded"]), int(table.loc[cid, "not_assessable"])) for cid in s.ids}


def test_four_criteria_on_an_extract_holding_only_their_columns(tmp_path, four):
    protocol = load_protocol(four)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every column it reads is there: nothing to warn about
        ex = load_extract(_extract(tmp_path), columns=protocol.columns())
    s = screen(ex, protocol)
    assert s.summary().set_index("status")["patients"].to_dict() == {"eligible": 2, "excluded": 6,
                                                                     "not_assessable": 2}
    assert sorted(s.eligible_ids()) == ["P1", "P8"]
    # P9's missing age does not hide the SLEDAI exclusion; P10 leaves at the first criterion it fails.
    assert _by_step(s) == {"age": (2, 0), "sledai": (2, 1), "egfr": (1, 1), "belimumab": (1, 0)}


def test_a_needed_column_left_out_makes_its_criterion_not_assessable(tmp_path, four):
    protocol = load_protocol(four)
    ex = load_extract(_extract(tmp_path, drop="egfr"), columns=protocol.columns())
    with pytest.warns(UserWarning, match=r"extract: 1 column the protocol four reads is absent:\n  patients.egfr: "
                                         r"Estimated GFR nearest to baseline. Read as blank in every row, unknown "
                                         r"unless other fields settle it: egfr.$"):
        s = screen(ex, protocol)
    assert s.summary().set_index("status")["patients"].to_dict() == {"eligible": 0, "excluded": 5,
                                                                     "not_assessable": 5}
    assert _by_step(s) == {"age": (2, 0), "sledai": (2, 1), "egfr": (0, 4), "belimumab": (1, 0)}


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_funnel_command_on_the_minimal_extract(tmp_path, four):
    code, out, _ = run("funnel", "--data", str(_extract(tmp_path)), "--protocol", str(four), "--small-cell", "0",
                       "--format", "csv")
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert table["excluded"].tolist()[1:] == [2, 2, 1, 1]


def test_template_writes_exactly_the_needed_headers(tmp_path, four):
    code, out, _ = run("template", "--protocol", str(four), "--out", str(tmp_path / "t"))
    assert code == 0 and "wrote the four extract template" in out
    files = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert files == ["README.md", "medications.csv", "patients.csv"]
    assert (tmp_path / "t" / "patients.csv").read_text() == "patient_id,age_years,baseline_date,sledai_2k,egfr\n"
    assert (tmp_path / "t" / "medications.csv").read_text() == \
        "patient_id,drug,drug_class,start_date,stop_date,dose,dose_unit\n"
    readme = (tmp_path / "t" / "README.md").read_text()
    assert "| `sledai_2k` | whole number, 0 to 105 | points | SLEDAI-2K total at screening. |" in readme
    assert "| `dose_unit` | code: mg/day, mg |" in readme
    assert "`Female` for `F`" in readme and "vocabulary.csv" in readme
    code, _, err = run("template", "--protocol", str(four), "--out", str(tmp_path / "t"))
    assert code == 2 and "already exists" in err


def test_funnel_command_warns_about_absent_columns_in_plain_words(tmp_path, four):
    code, out, err = run("funnel", "--data", str(_extract(tmp_path, drop="egfr")), "--protocol", str(four),
                         "--small-cell", "0")
    assert code == 0
    assert err.startswith("warning: ") and err.count("\n  ") == 1
    assert err.endswith("reads is absent:\n  patients.egfr: Estimated GFR nearest to baseline. Read as blank in "
                        "every row, unknown unless other fields settle it: egfr.\n")


def test_an_absent_event_table_is_not_assessable_rather_than_no_events(tmp_path, four):
    folder = _extract(tmp_path)
    (folder / "medications.csv").unlink()
    ex = load_extract(folder)
    with pytest.warns(UserWarning, match=r"1 column or table the protocol four reads is absent.*\n  medications: "
                                         r"The whole medications table \(no medications file in the extract\). "
                                         r"Not assessable: belimumab."):
        s = screen(ex, load_protocol(four))
    # P1 and P8 would be eligible, but whether they took belimumab is unknown without the table.
    assert s.summary().set_index("status")["patients"].to_dict() == {"eligible": 0, "excluded": 5,
                                                                     "not_assessable": 5}


# Four domains graded, and only those in the file: the rule is told to count only those.
# lupus_nephritis is left blank: the SQL oracle's renal reading refers to it.
BILAG = """\
    patient_id,baseline_date,bilag_constitutional,bilag_mucocutaneous,bilag_renal,bilag_haematological,lupus_nephritis
    Q1,2024-06-15,A,D,E,E,
    Q2,2024-06-15,B,B,E,E,
    Q3,2024-06-15,B,C,D,E,
    Q4,2024-06-15,B,,D,E,
    Q5,2024-06-15,C,,,E,
    Q6,2024-06-15,C,D,D,D,
    Q7,2024-06-15,,,,,
    """


@pytest.mark.parametrize("engine", ["pandas", "naive", "duckdb"])
def test_bilag_count_one_a_or_two_b(tmp_path, engine):
    # ≥ 1 A or ≥ 2 B over four domains: unknown only where grading the blanks A could still meet it.
    folder = tmp_path / "bilag"
    folder.mkdir()
    (folder / "patients.csv").write_text(textwrap.dedent(BILAG), encoding="utf-8")
    for table in ("medications", "malignancies", "infections"):  # the SQL oracle reads every table
        header = ",".join(f.name for f in TABLES[table])
        (folder / f"{table}.csv").write_text(header + "\n", encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent("""
        criteria:
          - {id: bilag, kind: inclusion, rule: bilag_count,
             params: {domains: [constitutional, mucocutaneous, renal, haematological]}}
        """), encoding="utf-8")
    protocol = load_protocol(path)
    expected = {"Q1": 1, "Q2": 1, "Q3": 0, "Q4": -1, "Q5": -1, "Q6": 0, "Q7": -1}
    if engine == "duckdb":
        from screening.rules.baselines.sql import connect, states_sql

        states = connect(folder).execute(states_sql(protocol)).df().set_index("patient_id")
        assert states["bilag"].astype(int).to_dict() == expected
        return
    ex = load_extract(folder, columns=protocol.columns())
    if engine == "naive":
        from screening.rules.baselines.naive import naive_states

        assert naive_states(ex, protocol)["bilag"].astype(int).to_dict() == expected
    else:
        s = screen(ex, protocol)
        assert dict(zip(ex.patients.index, s.raw[:, 0].astype(int), strict=True)) == expected
