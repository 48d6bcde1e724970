"""Write the three notebooks from their cell sources, then execute them on the synthetic extract.

Notebooks are for communication: every cell calls the package and shows the result.
Run ``make notebooks`` after changing the package or these cells, and commit the
executed notebooks (nbval compares their outputs in ``make test``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

PARAMETERS = '''# Parameters (papermill injects its own values after this cell)
extract_path: str = "../data/synthetic"  # native folder, or omop:DIR / synthea:DIR
protocol: str = "misle-phase2"  # shipped name or YAML path
overrides: dict = {}  # e.g. {"sledai.min": 4}
policy: str = "separate"  # missing data: separate | exclude | include
subgroup: str = "site"  # patients column for subgroup tables
small_cell: int = 10  # counts from 1 to this are hidden in shareable output'''

SETUP = '''import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from screening import screen
from screening.report import provenance, provenance_markdown, report_tables
from screening.sources import load_source

pd.set_option("display.max_rows", 80)
pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 70)
plt.rcParams["figure.dpi"] = 80'''

LOAD = '''extract = load_source(extract_path)
s = screen(extract, protocol, overrides, policy)
meta = provenance(s, small_cell)
tables = report_tables(s, small_cell, subgroup)
display(Markdown(provenance_markdown(meta)))'''


def eligible_pool() -> list:
    return [
        new_markdown_cell("# 1. How many patients in our registry could enter the trial?\n\n"
                          "Loads and checks the extract, shows how complete it is, and gives the eligible pool "
                          "with the range that missing data leave open, then an expected-enrolment estimate."),
        new_code_cell(PARAMETERS + '''
consent_rate: float = 0.5  # share of eligible patients expected to consent
screen_failure_rate: float = 0.3  # share failing the screening visit''', metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP),
        new_markdown_cell("## What produced these numbers"),
        new_code_cell(LOAD),
        new_markdown_cell("## Data quality: how much of each field is missing\n\n"
                          "A missing value is never an error: the criterion that needs it reports the patient "
                          "as *not assessable*. The fields most often missing are where chart review would "
                          "most enlarge the pool."),
        new_code_cell('tables["missingness"].head(20)'),
        new_markdown_cell("## The eligible pool\n\nPeople, not records. *Eligible* patients meet every criterion "
                          "on registry data; *not assessable* patients fail none but lack data for at least one, "
                          "so the true pool lies between the two eligible figures."),
        new_code_cell('tables["headline"].set_index("measure")'),
        new_markdown_cell("## Expected enrolment\n\nThe eligible pool × (1 − screen-failure rate) × consent rate. "
                          "Both rates are parameters of this notebook."),
        new_code_cell('''from screening.report import enrolment_table

enrolment_table(s, consent_rate, screen_failure_rate, tables["headline"])'''),
        new_markdown_cell("Not knowable from registry data, assessed at the screening visit:"),
        new_code_cell('s.assessed_at_visit'),
    ]


def screening_funnel() -> list:
    return [
        new_markdown_cell("# 2. Screening-funnel report\n\nWhich criteria remove the most patients, in what order, "
                          "and who is left. Counts are people. Counts from 1 to the small-cell threshold are "
                          "shown as `<11`; `*` marks a count hidden so that a small one cannot be derived by "
                          "subtraction."),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP + "\nfrom screening import charts"),
        new_markdown_cell("## What produced these numbers"),
        new_code_cell(LOAD),
        new_code_cell('tables["headline"].set_index("measure")'),
        new_markdown_cell("## The funnel, in protocol order"),
        new_code_cell('''charts.funnel_chart(s.attrition(), tables["attrition"])
plt.show()'''),
        new_code_cell('''fig = charts.consort_chart(s.attrition(), tables["attrition"], s.assessed_at_visit)
plt.show()'''),
        new_markdown_cell("## Per criterion\n\n*Sequential*: removed at this step of the funnel. *Alone*: removed "
                          "if this were the only criterion. *Uniquely*: failing this criterion and no other. "
                          "*Gain if dropped*: eligible patients added by removing it."),
        new_code_cell('tables["attrition"].drop(columns=["kind"]).set_index("step")'),
        new_code_cell('tables["criteria"]'),
        new_markdown_cell("## Overlap of exclusions\n\nPatients excluded by exactly each combination of criteria; "
                          "combinations smaller than the small-cell threshold are left out."),
        new_code_cell('''fig = charts.upset_chart(tables["overlap"], s.labels, top=15)
plt.show()'''),
        new_markdown_cell("## Not assessable, by reason\n\n*First missing*: the criterion at which each "
                          "not-assessable patient was set aside. *Missing any*: how many not-assessable "
                          "patients lack each criterion's data."),
        new_code_cell('tables["not_assessable"]'),
        new_markdown_cell("## By subgroup"),
        new_code_cell('''charts.subgroup_chart(tables[f"outcome_by_{subgroup}"], subgroup)
plt.show()
tables[f"outcome_by_{subgroup}"]'''),
        new_markdown_cell("The step-by-step funnel within each group is shown only with suppression off "
                          "(`small_cell = 0`, for internal use): split by group, most steps are small counts."),
        new_code_cell('''if f"attrition_by_{subgroup}" in tables:
    wide = tables[f"attrition_by_{subgroup}"].pivot(index=["step", "label"], columns=subgroup, values="remaining")
    display(wide.reset_index(level="step", drop=True))
else:
    print(f"Funnel by {subgroup}: withheld from shareable output (small_cell = {small_cell}).")'''),
        new_markdown_cell("## Who is in the eligible pool, compared with the whole extract"),
        new_code_cell('''fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
comp = tables["composition"]
for ax, column in zip(axes, ["sex", "race_ethnicity", "age_years"]):
    part = comp[comp["column"] == column].rename(columns={"group": column})
    part = part.assign(percent=pd.to_numeric(part["percent"], errors="coerce"))
    charts.composition_chart(part, column, ax=ax)
plt.show()'''),
        new_code_cell('tables["composition"].pivot(index=["column", "group"], columns="population", values="percent")'
                      '.fillna("0.0")  # a group absent from a population'),
        new_markdown_cell("## Every parameter"),
        new_code_cell('''from screening.report import parameters_table

parameters_table(meta)'''),
    ]


def changing_criteria() -> list:
    return [
        new_markdown_cell("# 3. What happens if we change the criteria?\n\nA variant protocol against the shipped "
                          "one, sweeps of key thresholds, and the eligible patients gained by dropping each "
                          "criterion. Only the criterion that changes is re-evaluated."),
        new_code_cell(PARAMETERS + '''
variant: str = "misle-phase1-pilot"  # protocol to compare with''', metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP + '''
from screening import charts, load_protocol
from screening.shareable import round_counts
from screening.whatif import compare'''),
        new_code_cell(LOAD),
        new_markdown_cell("## The variant protocol against the shipped one"),
        new_code_cell('''cmp = compare(extract, s.protocol, load_protocol(variant), policy)
round_counts(cmp.summary, [cmp.name_a, cmp.name_b, "difference"], small_cell)'''),
        new_markdown_cell("What-if counts are rounded to the nearest 5 (and counts under the small-cell "
                          "threshold hidden): neighbouring values differ by a few patients, and those differences "
                          "would otherwise be small counts.\n\nWhere each patient goes (rows: shipped protocol, "
                          "columns: variant):"),
        new_code_cell('''t = cmp.transitions
round_counts(t.reset_index(), list(t.columns), small_cell).set_index(t.index.name)'''),
        new_code_cell('''by = cmp.by_criterion
by = by[by["changed"]].drop(columns=["changed"])
round_counts(by, ["excluded_alone_a", "excluded_alone_b", "not_assessable_alone_a", "not_assessable_alone_b"],
             small_cell).drop(columns=["excluded_difference"])'''),
        new_markdown_cell("## Sweeps of key thresholds\n\nThe eligible count for each value (line), up to "
                          "eligible + not assessable (shaded). The dotted line is the protocol's value."),
        new_code_cell('''sweeps = {
    "sledai.min": range(0, 13),
    "age.min_age": range(16, 27),
    "age.max_age": range(55, 76, 2),
    "glucocorticoid.max_mg_per_kg": [0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0],
    "belimumab.months": range(0, 7),
    "other_biologic.months": range(0, 13, 2),
    "immunosuppressant_change.months": range(0, 7),
}
results = {name: s.sweep(name, values) for name, values in sweeps.items()}
fig, axes = plt.subplots(2, 4, figsize=(16, 7), layout="constrained")
for ax, (name, table) in zip(axes.flat, results.items()):
    cid, param = name.split(".")
    drawn = round_counts(table, ["eligible", "not_assessable"], small_cell, as_text=False)
    charts.sweep_chart(drawn, ax=ax, current=s.protocol.criterion(cid).params[param])
axes.flat[-1].set_axis_off()
plt.show()'''),
        new_code_cell('''table = pd.concat(results.values(), ignore_index=True)
round_counts(table, ["eligible", "excluded", "not_assessable"], small_cell)'''),
        new_markdown_cell("## Leave one out: eligible patients gained by dropping each criterion"),
        new_code_cell('''loo = s.leave_one_out()
round_counts(loo, ["eligible_without", "gain"], small_cell)'''),
    ]


def build(execute: bool = True) -> None:
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
              "language_info": {"name": "python"}}
    for name, cells in (("01-eligible-pool.ipynb", eligible_pool()), ("02-screening-funnel.ipynb", screening_funnel()),
                        ("03-changing-criteria.ipynb", changing_criteria())):
        nb = new_notebook(cells=cells, metadata=kernel)
        if execute:
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, NOTEBOOKS / name)
        print(f"wrote notebooks/{name}", file=sys.stderr)


if __name__ == "__main__":
    build(execute="--no-execute" not in sys.argv)
