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
small_cell: int = 10  # counts from 1 to this are hidden in shareable output
shared: str = ""  # a report run's screening result, handed to every notebook (empty: computed here)
variant: str = "misle-phase1-pilot"  # protocol to compare with

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from screening.report import notebook_state, provenance_markdown

pd.set_option("display.max_rows", 80)
pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 70)
plt.rcParams["figure.dpi"] = 80
from screening import charts, load_protocol
from screening.shareable import round_counts
from screening.whatif import compare

# %%
s, meta, tables = notebook_state(extract_path, protocol, overrides, policy, subgroup, small_cell, shared)
display(Markdown(provenance_markdown(meta)))

# %% [markdown]
# ## The variant protocol against the shipped one

# %%
cmp = compare(s.extract, s.protocol, load_protocol(variant), policy)
round_counts(cmp.summary, [cmp.name_a, cmp.name_b, "difference"], small_cell)

# %% [markdown]
# What-if counts are rounded to the nearest 5 (and counts under the small-cell threshold hidden): neighbouring values differ by a few patients, and those differences would otherwise be small counts.
#
# Where each patient goes (rows: shipped protocol, columns: variant):

# %%
t = cmp.transitions
round_counts(t.reset_index(), list(t.columns), small_cell).set_index(t.index.name)

# %%
by = cmp.by_criterion
by = by[by["changed"]].drop(columns=["changed"])
round_counts(by, ["excluded_alone_a", "excluded_alone_b", "not_assessable_alone_a", "not_assessable_alone_b"],
             small_cell).drop(columns=["excluded_difference"])

# %% [markdown]
# ## Sweeps of key thresholds
#
# The eligible count for each value (line), up to eligible + not assessable (shaded). The dotted line is the protocol's value.

# %%
results = {name: s.sweep(name, values) for name, values in s.sweepable().items()}  # what this protocol has
fig, axes = plt.subplots(-(-len(results) // 4), 4, figsize=(16, 3.5 * -(-len(results) // 4)),
                         layout="constrained", squeeze=False)
for ax, (name, table) in zip(axes.flat, results.items()):
    cid, param = name.split(".")
    drawn = round_counts(table, ["eligible", "not_assessable"], small_cell, as_text=False)
    charts.sweep_chart(drawn, ax=ax, current=s.protocol.criterion(cid).params[param])
for ax in axes.flat[len(results):]:
    ax.set_axis_off()
plt.show()

# %%
table = pd.concat(results.values(), ignore_index=True)
round_counts(table, ["eligible", "excluded", "not_assessable"], small_cell)

# %% [markdown]
# ## Leave one out: eligible patients gained by dropping each criterion

# %%
loo = s.leave_one_out()
round_counts(loo, ["eligible_without", "gain"], small_cell)

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
