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
# # What happens if we change the trial's criteria?
#
# Untick a criterion to drop it, move a threshold (the protocol's own value is shown beside it), reorder
# the funnel with the arrows, choose what missing data mean, or pick a second protocol to compare with.
# Everything on the right redraws at once. Counts are people; in this shareable view they are rounded to
# the nearest 5 and counts from 0 to 10 are shown as ≤10. *Save variant YAML* keeps the settings as a
# protocol file; *Write shareable report* builds the full report for them, compared with the protocol as
# shipped (the panel stays live while it is written).

# %%
# Served by `make app` (Voilà): the extract, protocol, small-cell threshold and the folder variants and
# reports are written to come from the environment.
import os

from screening import whatif_panel
from screening.io.sources import load_source

whatif_panel(load_source(os.environ.get("SCREENING_DATA", "../data/synthetic")),
             os.environ.get("SCREENING_PROTOCOL", "misle-phase2"),
             small_cell=int(os.environ.get("SCREENING_SMALL_CELL", "10")),
             folder=os.environ.get("SCREENING_WHATIF_FOLDER") or None)
