"""The what-if panel's line over time: after every change it is what a fresh screening at every visit gives.

The panel draws the line from one visit frame screened once, re-screening only changed criteria and keeping
lines already drawn; each is held here against :class:`~screening.engine.over_time.EligibilityOverTime` built
afresh for the changed protocol and policy. On the hand-made visits extract (``tests/fixtures/visits``, see
``tests/test_over_time.py``) and a generated one with visits, exact and shareable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from screening import load_extract, load_protocol
from screening.engine.over_time import EligibilityOverTime
from screening.views import explorer as explorer_module
from screening.views.explorer import over_time_figures
from screening.views.panel import over_time_html, whatif_panel

HERE = Path(__file__).parent / "fixtures" / "visits"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from screening.synth.synthetic import generate, write_extract

    return load_extract(write_extract(generate(150, seed=5, visits=True), tmp_path_factory.mktemp("g") / "v"))


def _fresh(panel) -> dict:
    over = EligibilityOverTime(panel.explorer.extract, panel.view.protocol, policy=panel.policy.value)
    return over_time_figures(over, panel.explorer.rule)


def _changes(panel, slider: str, lower: int, criterion: str):
    """A lowered threshold, a criterion dropped, the last criterion moved up, missing data excluded, then reset."""
    yield lambda: setattr(panel.sliders[slider], "value", lower)
    yield lambda: setattr(panel.boxes[criterion], "value", False)
    yield lambda: panel._move(panel.order[-1], -1)
    yield lambda: setattr(panel.policy, "value", "exclude")
    yield panel.reset


@pytest.mark.parametrize("small_cell", [0, 10])
def test_the_line_after_each_change_is_a_fresh_screening_at_every_visit(small_cell, tmp_path):
    panel = whatif_panel(load_extract(HERE), load_protocol(HERE / "protocol.yaml"), small_cell=small_cell,
                         folder=tmp_path)
    assert panel.view.over_time == _fresh(panel)
    for change in _changes(panel, "sledai.min", 4, "platelets"):
        change()
        fresh = _fresh(panel)
        assert panel.status.value == "" and panel.view.over_time == fresh
        assert panel.over_time.value == over_time_html(fresh)


@pytest.mark.filterwarnings("ignore::screening.errors.ExtractWarning")
def test_on_a_generated_extract_with_visits_shared_as_a_report_protects_it(generated, tmp_path):
    panel = whatif_panel(generated, small_cell=10, folder=tmp_path)
    for change in list(_changes(panel, "sledai.min", 4, "bilag"))[:2]:
        change()
        assert panel.view.over_time == _fresh(panel)
    panel.policy.value = "include"
    assert panel.view.over_time == _fresh(panel)


def test_a_reordering_or_a_setting_seen_before_draws_the_line_without_protecting_it_again(tmp_path, monkeypatch):
    panel = whatif_panel(load_extract(HERE), load_protocol(HERE / "protocol.yaml"), folder=tmp_path)
    calls = {"figures": 0, "screened": 0, "at every visit": 0}
    figures, screened, under = explorer_module.over_time_figures, panel.explorer._view, EligibilityOverTime.under

    def counted(name, f):
        return lambda *a, **k: calls.__setitem__(name, calls[name] + 1) or f(*a, **k)

    monkeypatch.setattr(explorer_module, "over_time_figures", counted("figures", figures))
    monkeypatch.setattr(panel.explorer, "_view", counted("screened", screened))
    monkeypatch.setattr(EligibilityOverTime, "under", counted("at every visit", under))
    shipped, view = panel.view.over_time, panel.view
    panel.sliders["sledai.min"].value = 4
    assert calls == {"figures": 1, "screened": 1, "at every visit": 1}
    panel._move("belimumab", -1)  # a new funnel, but the same visits eligible: the same line
    assert calls == {"figures": 1, "screened": 2, "at every visit": 2}
    panel._move("belimumab", +1)
    panel.sliders["sledai.min"].value = 6  # settings seen before: nothing screened again
    assert calls == {"figures": 1, "screened": 2, "at every visit": 2}
    assert panel.view.over_time == shipped == _fresh(panel) and panel.view.headline == view.headline


def test_the_funnel_is_drawn_before_the_line_which_is_greyed_meanwhile(tmp_path, monkeypatch):
    panel = whatif_panel(load_extract(HERE), load_protocol(HERE / "protocol.yaml"), small_cell=0, folder=tmp_path)
    seen = {}
    line = panel.explorer.over_time

    def watched(*args):
        seen.update(chart=panel.chart.value, line=panel.over_time.value)
        return line(*args)

    monkeypatch.setattr(panel.explorer, "over_time", watched)
    before = panel.chart.value
    panel.boxes["platelets"].value = False  # P6, excluded by its platelets alone, becomes eligible
    assert seen["chart"] != before and seen["chart"] == panel.chart.value
    assert "opacity" in seen["line"] and "opacity" not in panel.over_time.value


def test_a_change_arriving_while_the_line_is_screened_ends_with_the_line_of_the_latest_settings(tmp_path, monkeypatch):
    """JupyterLab 4.6 runs widget messages in a subshell thread as well as the main one: a second change can
    arrive while the first one's line is being screened. The panel must end with both changes, line included
    (it once ended with the second change's headline beside the first change's line)."""
    import threading
    import time

    panel = whatif_panel(load_extract(HERE), load_protocol(HERE / "protocol.yaml"), small_cell=0, folder=tmp_path)
    screening, release = threading.Event(), threading.Event()
    line, calls = panel.explorer.over_time, []

    def slow_first(*args):
        calls.append(args)
        if len(calls) == 1:
            screening.set()
            assert release.wait(30)
        return line(*args)

    monkeypatch.setattr(panel.explorer, "over_time", slow_first)
    first = threading.Thread(target=setattr, args=(panel.sliders["sledai.min"], "value", 4))
    first.start()
    assert screening.wait(30)  # the first change's funnel is drawn, its line being screened
    second = threading.Thread(target=setattr, args=(panel.boxes["platelets"], "value", False))
    third = threading.Thread(target=setattr, args=(panel.boxes["belimumab"], "value", False))
    second.start(), third.start()
    while panel._latest < 3:  # both changes asked to be drawn while the first one's line is screened
        time.sleep(0.01)
    release.set()
    for t in (first, second, third):
        t.join(30)
    assert panel.settings.set == {"sledai.min": 4} and {"platelets", "belimumab"} <= set(panel.settings.dropped)
    fresh = _fresh(panel)
    assert panel.view.protocol.fingerprint() == panel.explorer.protocol(panel.settings).fingerprint()
    assert panel.over_time.value == over_time_html(fresh) and "opacity" not in panel.over_time.value
    # The change overtaken while it waited drew nothing: one line for the first change, one for the latest.
    assert len(calls) == 2
