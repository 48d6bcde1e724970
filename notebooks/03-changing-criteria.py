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
# A variant protocol against the shipped one, sweeps of key thresholds, and the eligible patients gained by dropping each criterion. Only the criterion that changes is re-evaluated.

# %% tags=["parameters"]
# Parameters (papermill injects its own values after this cell)
extract_path: str = "../data/synthetic"  # native folder, or omop:DIR / synthea:DIR
protocol: str = "misle-phase2"  # shipped name or YAML path
overrides: dict | str = {}  # e.g. {"sledai.min": 4}, or the same as YAML/JSON text
policy: str = "separate"  # missing data: separate | exclude | include
subgroup: str = "site"  # patients column for subgroup tables
small_cell: int = 10  # counts up to this shown as ≤10, others rounded to 5; 0: internal, exact
shared: str = ""  # a report run's screening result, handed to every notebook (empty: computed here)
variant: str = "misle-phase1-pilot"  # protocol to compare with

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from screening.views.report import notebook_display, notebook_state, provenance_markdown

notebook_display()
from screening.views import charts

# %%
s, meta, tables = notebook_state(extract_path, protocol, overrides, policy, subgroup, small_cell, shared, variant)
display(Markdown(provenance_markdown(meta)))

# %% [markdown]
# ## The variant protocol against the shipped one
#
# Like every table of the report, what-if counts are rounded to the nearest 5 and counts up to the small-cell threshold shown as `≤10`: neighbouring values differ by a few patients, and those differences would otherwise be small counts. The difference is taken between rounded counts.

# %%
tables["comparison"]

# %% [markdown]
# Where each patient goes (rows: shipped protocol, columns: variant):

# %%
tables["transitions"].set_index("reference")

# %%
tables["by_criterion"]

# %% [markdown]
# ## Sweeps of key thresholds
#
# The eligible count for each value (line), up to eligible + not assessable (shaded). The dotted line is the protocol's value.

# %%
sweeps = tables["sweeps"]
charts.sweep_grid(sweeps, s.protocol)  # the parameters this protocol has, four to a row
plt.show()

# %%
sweeps

# %% [markdown]
# ## Leave one out: eligible patients gained by dropping each criterion

# %%
tables["leave_one_out"]

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
from screening import whatif_panel

whatif_panel(s.extract, protocol, policy=policy, compare_with=variant, small_cell=small_cell)
