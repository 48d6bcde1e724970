"""A report written from the what-if panel, which reuses the panel's screening, says what a report built afresh says."""

from __future__ import annotations

from pathlib import Path

from screening import load_extract, load_protocol
from screening.views.panel import Settings, whatif_panel
from screening.views.report import build_report

VISITS = Path(__file__).parent / "fixtures" / "visits"  # a hand-made extract with visits, and its protocol


def test_the_panels_report_tables_are_byte_for_byte_those_built_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENING_RELEASE_LOG", str(tmp_path / "releases.jsonl"))
    panel = whatif_panel(load_extract(VISITS), load_protocol(VISITS / "protocol.yaml"), folder=tmp_path / "what-if")
    panel.sliders["sledai.min"].value = 4
    assert panel.explorer._visits is not None  # the visits screened over time, which the report reuses
    out = panel._report(notebooks=False)  # the panel's screening and its visits screened over time, reused
    assert out is not None, panel.writer.message.value
    protocol = panel.explorer.report_protocol(Settings(set={"sledai.min": 4}), next(panel.folder.glob("*.yaml")))
    afresh = build_report(VISITS, protocol, out=tmp_path / "afresh", notebooks=False, release_log=None,
                          variant=panel.explorer.shipped)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(afresh) for p in afresh.rglob("*") if p.is_file())
    assert any(f.name.startswith("over_time_") for f in files)
    assert [f for f in files if (out / f).read_bytes() != (afresh / f).read_bytes()] == []
