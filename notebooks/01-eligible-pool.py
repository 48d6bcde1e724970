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
# Loads and checks the extract, shows how complete it is, and gives the eligible pool with the range that missing data leave open, then an expected-enrolment estimate and, when the extract holds visits, who becomes eligible month by month and how long recruitment would take.

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
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from screening.views.notebook_runner import notebook_display, notebook_state
from screening.views.provenance import coverage_headline, provenance_markdown

notebook_display()

# %% [markdown]
# ## What produced these numbers

# %%
s, meta, tables = notebook_state(extract_path, protocol, overrides, policy, subgroup, small_cell, shared,
                                 over_time=True)
display(Markdown(provenance_markdown(meta)))

# %% [markdown]
# ## Data quality: how much of each field is missing
#
# A missing value is never an error: the criterion that needs it reports the patient as *not assessable*. The fields most often missing are where chart review would most enlarge the pool.

# %%
from screening.views.readable import ROUNDED_NOTE, Shown, bullets, enrolment_sentence, enrolment_view, missingness_view

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

# %% [markdown]
# ## Eligible over time
#
# In SLE eligibility moves with disease activity: a patient with SLEDAI-2K 4 at one visit and 8 at the next is eligible only at the second. With a visits table, every visit is screened as if it were the baseline (windows counted back from it, its own activity and labs, medications as taken then). *Newly eligible* at a visit: eligible there and not at the patient's previous visit; *at most* also counts every not-assessable visit that could be one. Counts follow the same rule as every other count; the charts draw the interval each shown count stands for (a `≤10` spans 0 to 10), and the per-month rates below are what the shown series allow together (running sums, sites and months adding up).

# %%
from screening.disclosure.rule import SmallCellRule
from screening.views import over_time_charts as over

rule = SmallCellRule.of(small_cell)
if over.has_series(tables):
    display(Markdown(over.over_time_sentence(tables, rule)))
    display(Shown(over.in_words(tables["over_time_status"])))
else:
    display(Markdown(over.NO_VISITS))

# %%
if over.has_series(tables):
    over.monthly_chart(tables, rule)
    plt.show()
    display(Shown(over.in_words(tables["over_time_monthly"]), ROUNDED_NOTE))

# %% [markdown]
# Per site, the last 12 months, then month by month (a breakdown by site is not published below 100 patients). Most of a site's months read `≤10`, so each month's band spans 0 to 10 unless the site saw more:

# %%
if over.has_series(tables) and len(tables["over_time_by_site_12_months"]):
    over.site_chart(tables, rule)
    plt.show()
    display(Shown(over.in_words(tables["over_time_by_site_12_months"]), ROUNDED_NOTE))
    over.site_monthly_chart(tables, rule)
    plt.show()
elif over.has_series(tables):
    print("By site: withheld, the extract is too small to describe by site (see provenance).")

# %% [markdown]
# ### Recruitment projection
#
# Each site's monthly rate of newly eligible patients over the last 12 months (the network's from the series as a whole, tighter than its sites' `≤10` counts summed), uncertain as a Poisson–gamma rate (Anisimov & Fedorov 2007), thinned by 26–51% screen failure (BLISS-BELIEVE, MUSE) and 50–64% consent (a mock recruitment for a lupus trial, PMID 30369087), gives the enrolment in a 12-month window with a 90% interval and the time to MiSLE Phase 2's 81 patients. The projection reads the counts as shown (the settled pool the low end of each, the upper pool the high end), never exact ones. Enrolment is given in whole patients; each rate a month is the patients newly eligible over the last 12 months ÷ 12, as the interval the shown count stands for (a site's `≤10` reads 0.0–0.8), the network's the same figure as the sentence above and the what-if panel's.

# %%
projection = over.projection_of(tables)
if projection is not None:
    display(Markdown(over.time_to_target_sentence(projection)))
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.5), layout="constrained")
    projection.plot(ax=axes[0], pool="newly_eligible_max")
    over.cumulative_chart(projection, ax=axes[1])
    plt.show()
    display(Shown(over.in_words(over.projection_table(tables, rule))))
