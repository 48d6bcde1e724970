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
# # 4. How many patients could the network of sites enrol?
#
# Each site screened its own registry and sent only its shareable bundle (`screening report --site-label`). This notebook checks the bundles (unchanged since written, same protocol, parameters, missing-data policy and disclosure rule) and adds up their published counts. Where a site published a count rounded or hidden, the network count is a range: the sum of every count each site's tables allow. For the headline (eligible, not assessable, excluded, the extract) each site's range is the tightest its published tables allow together: the smallest and largest whole number consistent with every cell it shows and every relation its tables' definitions imply (funnel sums, site and composition totals, make-up along the funnel, comparison and transitions, sweeps, relaxations, Shapley shares), found by integer programming. No published count ties one site's patients to another's, so the sites' ranges add up. The true network count always lies in the range.

# %% tags=["parameters"]
# Parameters (papermill injects its own values after this cell)
bundles: str = "../reports/network-demo"  # a folder of site bundles (a list of bundle folders works too)
build_demo: bool = True  # first build the demo network there: the bundled extract split by its 8 sites

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from screening import load_extract
from screening.network import charts as network_charts
from screening.network.merge import demo_network, merge_bundles, provenance_markdown
from screening.views.notebook_runner import notebook_display
from screening.views.readable import Shown

notebook_display()

# %% [markdown]
# ## What produced these numbers

# %%
source = load_extract("../data/synthetic").hash if build_demo else None
if build_demo:
    demo_network(bundles)  # reused when already built from this extract and code
net = merge_bundles(bundles)
display(Markdown(provenance_markdown(net.provenance, demo_source=source)))

# %% [markdown]
# Each bundle's checksum: the SHA-256 of its `MANIFEST.sha256`, which lists the SHA-256 of every file in it.

# %% tags=["nbval-ignore-output"]
# nbval skips this output: a bundle's checksum changes with anything in its files, counts are compared below.
Shown(pd.DataFrame(net.provenance["sites"])[["site_label", "bundle_sha256", "package_version"]]
         .rename(columns={"site_label": "site", "bundle_sha256": "bundle checksum (SHA-256)"}))

# %% [markdown]
# ## The network's eligible pool
#
# *Eligible* patients meet every criterion on registry data; *not assessable* patients fail none but lack data for one, so the network's pool lies in the last row's range.

# %%
Shown(net.tables["headline"][["measure", "patients"]])

# %% [markdown]
# ## The network funnel, in protocol order
#
# Bars are drawn at the middle of each range; the whisker spans the range.

# %%
network_charts.network_funnel_chart(net.tables["attrition"])
plt.show()

# %%
Shown(net.tables["attrition"][["step", "label", "entering", "excluded", "not_assessable", "remaining"]]
         .rename(columns={"label": "criterion"}))

# %% [markdown]
# ## By site
#
# Each site's eligible pool, with its not-assessable patients on top: the most the site could offer once their data are checked at the screening visit.

# %%
network_charts.site_pool_chart(net.tables["outcome_by_site"])
plt.show()
Shown(net.tables["outcome_by_site"][["site", "eligible", "not_assessable", "excluded", "total"]])

# %% [markdown]
# ## Which criteria bite most at each site
#
# The share of each site's patients a criterion would remove on its own. A site whose share stands out may record that criterion differently, or treat a different population.

# %%
fig, ax = plt.subplots(figsize=(12, 9), layout="constrained")
network_charts.criteria_heatmap(net.tables["criteria_by_site"], ax=ax)
plt.show()

# %% [markdown]
# ## Per criterion, across the network
#
# *Alone*: removed if this were the only criterion. *Uniquely*: failing this criterion and no other. *Gain if dropped*: eligible patients added by removing it.

# %%
Shown(net.tables["criteria"][["label", "excluded_alone", "not_assessable_alone", "excluded_uniquely",
                                  "gain_if_dropped"]].rename(columns={"label": "criterion"}))
