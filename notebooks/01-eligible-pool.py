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
# # 1. How many patients in our registry could enter the trial?
#
# Loads and checks the extract, shows how complete it is, and gives the eligible pool with the range that missing data leave open, then an expected-enrolment estimate.

# %% tags=["parameters"]
# Parameters (papermill injects its own values after this cell)
extract_path: str = "../data/synthetic"  # native folder, or omop:DIR / synthea:DIR
protocol: str = "misle-phase2"  # shipped name or YAML path
overrides: dict = {}  # e.g. {"sledai.min": 4}, or the same as YAML/JSON text (papermill reads `dict | str` as no parameter)
policy: str = "separate"  # missing data: separate | exclude | include
subgroup: str = "site"  # patients column for subgroup tables
small_cell: int = 10  # counts up to this shown as ≤10, others rounded to 5; 0: internal, exact
shared: str = ""  # a report run's screening result, handed to every notebook (empty: computed here)
consent_rate: float = 0.5  # share of eligible patients expected to consent
screen_failure: list = [0.26, 0.51]  # share failing screening: BLISS-BELIEVE 26% (104/396), MUSE 51% (319/626)

# %%
from IPython.display import Markdown, display

from screening.views.notebook_runner import notebook_display, notebook_state
from screening.views.provenance import coverage_headline, provenance_markdown

notebook_display()

# %% [markdown]
# ## What produced these numbers

# %%
s, meta, tables = notebook_state(extract_path, protocol, overrides, policy, subgroup, small_cell, shared)
display(Markdown(provenance_markdown(meta)))

# %% [markdown]
# ## Data quality: how much of each field is missing
#
# A missing value is never an error: the criterion that needs it reports the patient as *not assessable*. The fields most often missing are where chart review would most enlarge the pool.

# %%
from screening.views.readable import Shown, bullets, enrolment_sentence, enrolment_view, missingness_view

missingness_view(tables["missingness"])

# %% [markdown]
# ## The eligible pool
#
# People, not records. *Eligible* patients meet every criterion on registry data; *not assessable* patients fail none but lack data for at least one, so the true pool lies between the two eligible figures.

# %%
display(Markdown(f"**{coverage_headline(meta)}**"))
Shown(tables["headline"])

# %% [markdown]
# ## Expected enrolment
#
# The eligible pool × (1 − screen-failure rate) × consent rate, in whole patients, over the screen-failure
# range of two SLE trials: 26% of those screened failed in BLISS-BELIEVE (NCT03312907, 104 of 396) and 51% in
# MUSE (NCT01438489, 319 of 626). The range and the consent rate are parameters of this notebook; the pools
# are the rounded counts above.

# %%
pools = tables["headline"]["patients"].astype(str).iloc[[1, 3]].tolist()
display(Markdown(enrolment_sentence(pools, consent_rate, screen_failure)))
enrolment_view(pools, consent_rate, screen_failure)

# %% [markdown]
# Not knowable from registry data, assessed at the screening visit:

# %%
display(Markdown(bullets(s.assessed_at_visit)))
