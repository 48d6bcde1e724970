# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Screening-funnel report
#
# Which criteria remove the most patients, in what order, and who is left. Counts are people. Counts up to the small-cell threshold are shown as `≤10`, every other count is rounded to the nearest 5, and percentages come from the rounded counts; a rare `*` marks a count hidden so that a small one cannot be derived by subtraction.

# %% tags=["parameters"]
# Parameters (papermill injects its own values after this cell)
extract_path: str = "../data/synthetic"  # native folder, or omop:DIR / synthea:DIR
protocol: str = "misle-phase2"  # shipped name or YAML path
overrides: dict = {}  # e.g. {"sledai.min": 4}, or the same as YAML/JSON text (papermill reads `dict | str` as no parameter)
policy: str = "separate"  # missing data: separate | exclude | include
subgroup: str = "site"  # patients column for subgroup tables
small_cell: int = 10  # counts up to this shown as ≤10, others rounded to 5; 0: internal, exact
shared: str = ""  # a report run's screening result, handed to every notebook (empty: computed here)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from screening.views.notebook_runner import notebook_display, notebook_state
from screening.views.provenance import coverage_headline, provenance_markdown

notebook_display()
from screening.views import charts
from screening.views.readable import ROUNDED_NOTE, Shown, composition_view, share_change_view

# %% [markdown]
# ## What produced these numbers

# %%
s, meta, tables = notebook_state(extract_path, protocol, overrides, policy, subgroup, small_cell, shared)
display(Markdown(provenance_markdown(meta)))

# %%
display(Markdown(f"**{coverage_headline(meta)}**"))
Shown(tables["headline"])

# %% [markdown]
# ## The trial's items the registry does not settle exactly
#
# Each item of the trial's eligibility text is *computed* (the criteria apply it exactly), *approximated* (how, and why), left to the *screening visit*, or *not in the extract* (the field a registry would need). The funnel below settles the computed and approximated items; every patient in the pool must still meet the others at the visit. `python -m screening rules --protocol <name>` lists every item.

# %%
from screening.views.provenance import not_computed_table

not_computed_table(tables)

# %% [markdown]
# ## The funnel, in protocol order
#
# *Remaining* after a step means still in play: neither excluded nor set aside as not assessable so far. A patient an earlier criterion could not assess but who fails a later one stays in play until that later step excludes them; a patient who is only ever unknown leaves at the first unknown step.

# %%
charts.funnel_chart(s.attrition(), tables["attrition"])
plt.show()

# %% [markdown]
# Drawn to the whole extract, the later steps are slivers. From the first step fewer than a fifth of the extract enter, the same funnel on its own scale (a count shown as `≤10` draws no bar):

# %%
tail = charts.tail_start(tables["attrition"])
if tail is not None:
    charts.funnel_chart(s.attrition(), tables["attrition"], start=tail,
                        title=f"The funnel from step {tail} on, on its own scale")
    plt.show()

# %%
fig = charts.consort_chart(s.attrition(), tables["attrition"], s.assessed_at_visit)
plt.show()

# %% [markdown]
# ## Per criterion
#
# *Sequential*: removed at this step of the funnel. *Alone*: removed if this were the only criterion. *Uniquely*: failing this criterion and no other. *Gain if dropped*: eligible patients added by removing it.

# %%
Shown(tables["attrition"].drop(columns=["kind"]))

# %%
Shown(tables["criteria"])

# %% [markdown]
# ## Overlap of exclusions
#
# Patients excluded by exactly each combination of criteria; combinations smaller than the small-cell threshold are left out.

# %%
fig = charts.upset_chart(tables["overlap"], s.labels, top=15)
plt.show()

# %% [markdown]
# ## Not assessable, by reason
#
# How many not-assessable patients lack each criterion's data; a patient lacking several counts under each, so the column adds up to more than the not assessable. The step at which each was set aside is the funnel's *not assessable* column above.

# %%
Shown(tables["not_assessable"])

# %% [markdown]
# ## By subgroup

# %%
charts.subgroup_chart(tables[f"outcome_by_{subgroup}"], subgroup)
plt.show()
Shown(tables[f"outcome_by_{subgroup}"], ROUNDED_NOTE)

# %% [markdown]
# The step-by-step funnel within each group is shown only with suppression off (`small_cell = 0`, for internal use): split by group, most steps are small counts.

# %%
if f"attrition_by_{subgroup}" in tables:
    wide = tables[f"attrition_by_{subgroup}"].pivot(index=["step", "label"], columns=subgroup, values="remaining")
    display(wide.reset_index(level="step", drop=True))
else:
    print(f"Funnel by {subgroup}: withheld from shareable output (small_cell = {small_cell}).")

# %% [markdown]
# ## Who is in the eligible pool, compared with the whole extract

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
comp = tables["composition"]
for ax, column in zip(axes, ["sex", "race_ethnicity", "age_years"]):
    part = comp[comp["column"] == column].rename(columns={"group": column})
    part = part.assign(percent=pd.to_numeric(part["percent"], errors="coerce"))
    charts.composition_chart(part, column, ax=ax)
plt.show()

# %%
composition_view(tables["composition"], tables["headline"])

# %% [markdown]
# ## Who each criterion excludes
#
# SLE falls hardest on women and on Black, Hispanic and Asian patients, and renal, haematological and prior-therapy criteria can remove some groups far more than others. First, the make-up of the patients still in play after every step (missing values are a group of their own); then, per criterion and group, the share of the group's patients the criterion removes relative to everyone (1 = as for everyone, above 1 = the group is hit harder). Counts are rounded like every other count; percentages, SMDs and ratios come from the rounded counts, `*` where a count they need is redacted.

# %%
makeup = tables.get("makeup", pd.DataFrame(columns=["step", "criterion", "label", "characteristic", "group"]))
if (makeup["characteristic"] == "race_ethnicity").any():
    charts.makeup_chart(makeup, "race_ethnicity")
    plt.show()
else:
    print("Make-up by race/ethnicity: withheld, its groups are too small to describe (see provenance).")

# %% [markdown]
# The eligible pool against the whole extract: standardised mean difference per group (an |SMD| of 0.1 or more is the usual flag of imbalance).

# %%
pool = makeup[makeup["step"] == makeup["step"].max()].drop(columns=["step", "criterion", "label"])
Shown(pool.assign(characteristic=pool["characteristic"].map(charts.group_name)))

# %% [markdown]
# Per criterion and group of race/ethnicity: the share removed relative to everyone; the three criteria that move each group's share of the pool the most (change in percentage points at that step); and each group's share of the eligible pool if a criterion were dropped.

# %%
by = "race_ethnicity"
if f"differential_{by}" in tables:
    charts.exclusion_heatmap(tables[f"differential_{by}"], by)
    plt.show()
    shifts = tables[f"differential_{by}"]
    display(Shown(shifts[shifts["rank_within_group"] <= 3].sort_values([by, "rank_within_group"])
                  [[by, "rank_within_group", "label", "share_change", "ratio_alone"]]))
    sentence, table = share_change_view(tables[f"leave_one_out_{by}"], by, s.ids)
    display(Markdown(sentence))
    if table is not None:
        display(table)
else:
    print(f"Exclusion by {by}: withheld, its groups are too small to describe (see provenance).")

# %% [markdown]
# ## Which trials fit: the portfolio
#
# With `report --portfolio` (as `make report` runs it), every shipped trial screened on the same extract beside this one: per trial the eligible pool, its range and the criteria excluding the most, and the patients per combination of trials they are eligible for (each can enter only one). `python -m screening portfolio` prints the same.

# %%
if "portfolio" in tables:
    from screening.views.portfolio import overlap_chart

    display(tables["portfolio"].drop(columns="title").set_index("protocol"))
    display(tables["portfolio_binding"].set_index(["protocol", "rank"]))
    overlap_chart(tables["portfolio_overlap"], {p: p for p in tables["portfolio"]["protocol"]})
    plt.show()
    display(tables["portfolio_headline"].set_index("measure"))
else:
    print("Not asked for: report --portfolio adds every shipped trial beside this one.")

# %% [markdown]
# ## Every parameter

# %%
from screening.views.provenance import parameters_table

Shown(parameters_table(meta))
