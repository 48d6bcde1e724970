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
# # 3. What happens if we change the criteria?
#
# A variant protocol against the shipped one, sweeps of key thresholds, and the eligible patients gained by dropping each criterion. Only the criterion that changes is re-evaluated. Then which criteria to relax: each criterion's order-free share of the exclusions, the best combinations to drop, and the patients who just miss.

# %% tags=["parameters"]
# Parameters (papermill injects its own values after this cell)
extract_path: str = "../data/synthetic"  # native folder, or omop:DIR / synthea:DIR
protocol: str = "misle-phase2"  # shipped name or YAML path
overrides: dict = {}  # e.g. {"sledai.min": 4}, or the same as YAML/JSON text (papermill reads `dict | str` as no parameter)
policy: str = "separate"  # missing data: separate | exclude | include
subgroup: str = "site"  # patients column for subgroup tables
small_cell: int = 10  # counts up to this shown as ≤10, others rounded to 5; 0: internal, exact
shared: str = ""  # a report run's screening result, handed to every notebook (empty: computed here)
variant: str = "misle-phase1-pilot"  # protocol to compare with

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from screening.views.notebook_runner import notebook_display, notebook_state
from screening.views.provenance import comparison_shown, compared_with_text, provenance_markdown

notebook_display()
from screening.views import relax_charts, sweep_charts
from screening.views.readable import Shown, leave_one_out_sentence

# %%
s, meta, tables = notebook_state(extract_path, protocol, overrides, policy, subgroup, small_cell, shared, variant)
display(Markdown(provenance_markdown(meta)))

# %% [markdown]
# ## This protocol against another
#
# Like every table of the report, what-if counts are rounded to the nearest 5 and counts up to the small-cell threshold shown as `≤10`: neighbouring values differ by a few patients, and those differences would otherwise be small counts. The difference is taken between rounded counts.

# %%
compared = comparison_shown(tables, meta)
display(Markdown(f"This report's protocol, `{meta['protocol_id']}`, against {compared_with_text(meta)}."))
Shown(compared["comparison"])

# %% [markdown]
# Where each patient goes (rows: this report's protocol, columns: the one it is compared with):

# %%
Shown(compared["transitions"])

# %%
Shown(compared["by_criterion"])

# %% [markdown]
# ## Sweeps of key thresholds
#
# The eligible count for each value (line), up to eligible + not assessable (shaded). The dotted line is the protocol's value. Below, the values nearest the protocol's; every value swept is in `tables/sweeps.csv`.

# %%
sweeps = tables["sweeps"]
sweep_charts.sweep_grid(sweeps, s.protocol)  # the parameters this protocol has, four to a row
plt.show()

# %%
Shown(sweep_charts.sweep_view(sweeps, s.protocol))

# %% [markdown]
# ## Leave one out: eligible patients gained by dropping each criterion
#
# Each criterion's gain is in report 02's per-criterion table (*gain if dropped*); here, what it says:

# %%
display(Markdown(leave_one_out_sentence(tables["leave_one_out"])))

# %% [markdown]
# ## Which criteria to relax
#
# **Each criterion's share of the exclusions.** The sequential funnel credits a patient who fails several
# criteria to the first one in protocol order. The Shapley value is order-free: each excluded patient's
# exclusion is shared equally among the criteria they fail (the exact Shapley value of "patients excluded
# by the criteria applied", computed from the counts for every combination of criteria). Shown beside it:
# patients excluded by the criterion in sequence. Shapley values are apportioned to whole patients so they
# add up to the excluded, then rounded like every count; the share is taken from the rounded counts.

# %%
shapley = tables["shapley"]
excluded_in_sequence = tables["attrition"].set_index("criterion")["excluded"]
shown = shapley.assign(excluded_in_sequence=shapley["criterion"].map(excluded_in_sequence))
relax_charts.shapley_chart(shown)
plt.show()

# %%
Shown(shown[["criterion", "label", "shapley", "share_of_excluded", "excluded_in_sequence"]])

# %% [markdown]
# **The best relaxations.** Every combination of criteria dropped is counted exactly (one pass per
# criterion over the 2^k combinations); listed here are the five that gain the most eligible patients
# for each number of criteria dropped, with the pool each gives (eligible, and the not-assessable patients
# whose missing data could still qualify them). All combinations are not published: two combinations one
# criterion apart would pin the few patients only that criterion holds.

# %%
relax_charts.relaxations_chart(tables["relaxations"])
plt.show()
Shown(tables["relaxations"])

# %% [markdown]
# **Near misses.** Patients who fail one criterion only, everything else assessed and passed, by how far
# they are past its threshold, in the criterion's own units (SLEDAI-2K points short of the minimum, days
# inside a drug's look-back, the grid step of the glucocorticoid dose that would admit them). The list of
# these patients is for the site team only (`s.near_miss_patients()`), never in a shared report.

# %%
relax_charts.near_miss_chart(tables["near_misses"])
plt.show()

# %%
Shown(tables["near_misses"])

# %% [markdown]
# What each relaxation does to who is enrolled (the make-up of the pool by sex, race/ethnicity, age band
# and SLEDAI-2K band, and its clinical risk flags, against the shipped pool) is drawn from exact counts
# of small groups, so it is shown only in an internal report (`small_cell: 0`) and in the live panel's
# *What opens the pool* tab below.

# %%
if small_cell == 0:
    fig, axes = plt.subplots(1, 2, figsize=(16, 5), layout="constrained")
    s.plot_frontier(ax=axes[0])
    s.plot_frontier(ax=axes[1], against="risk")
    plt.show()
    display(s.best_relaxations())

# %% [markdown]
# ## Try it live
#
# Untick a criterion to drop it, move a threshold (the protocol's value is marked beside each slider),
# reorder with the arrows, change the missing-data policy or pick a protocol to compare with: the funnel,
# the headline and the per-criterion table redraw at once. Only the criterion that changed is
# re-evaluated. *Save variant YAML* writes the settings as a protocol that `extends` this one
# (under `reports/what-if/`); *Write shareable report* builds the report for it. Counts follow the same
# small-cell rules as above. The panel needs a running kernel: use JupyterLab, or `make app` for a
# page without code.

# %% tags=["nbval-ignore-output"]
from screening.views.panel import NoKernel, whatif_panel

# A report being written has no one to use the panel: it says where to, without building it.
NoKernel() if shared else whatif_panel(s.extract, protocol, policy=policy, compare_with=variant,
                                        small_cell=small_cell)
