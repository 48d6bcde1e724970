"""Charts say what the tables say: the same word for the same count."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from screening import screen  # noqa: E402
from screening.views.charts import REMAINING, funnel_chart  # noqa: E402


def test_the_funnel_legend_defines_remaining_as_still_in_play(boundary_extract):
    ax = funnel_chart(screen(boundary_extract).attrition())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == REMAINING and "still in play" in REMAINING

