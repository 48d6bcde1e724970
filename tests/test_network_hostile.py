"""Bundles written or edited to harm: every one is refused naming the bundle and the file, or merged as text."""

from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from screening import BundleError
from screening.disclosure.bundle import read_bundle, write_manifest
from screening.network.merge import (
    demo_network,
    merge_bundles,
    provenance_markdown,
    split_by_site,
    write_network_report,
)
from screening.rules.protocol import load_protocol
from screening.views.report import build_report

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
HOSTILE_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)> | *bold* [link](javascript:alert(3))"
HOSTILE_LABEL = "<img src=x onerror=alert(4)> $\\frac$ SLEDAI ≥ {min}"


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> list[Path]:
    return split_by_site(SYNTHETIC, tmp_path_factory.mktemp("extracts"))[:3]


@pytest.fixture(scope="module")
def bundles(sites) -> list[Path]:
    """The demo network's first three bundles (built once a session, shared with test_network and notebook 04)."""
    folder = demo_network(Path(__file__).resolve().parents[1] / "reports" / "network-demo")
    return [folder / s.name for s in sites]


def _copy(bundle: Path, tmp_path: Path, name: str | None = None) -> Path:
    return shutil.copytree(bundle, tmp_path / (name or bundle.name), symlinks=True)


def _edit_provenance(bundle: Path, change) -> None:
    """Rewrite provenance.json (and every table's embedded copy) as a forger would, then reseal the manifest."""
    for file in (bundle / "tables").glob("*.json"):
        payload = json.loads(file.read_text(encoding="utf-8"))
        if file.name == "provenance.json":
            payload = change(payload)
        else:
            payload["provenance"] = change(payload["provenance"])
        file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    write_manifest(bundle)


# ---- merge checks each bundle against itself ----

def test_an_edited_site_row_resealed_is_refused_by_the_bundles_own_sums(bundles, tmp_path):
    copy = _copy(bundles[1], tmp_path)
    table = copy / "tables" / "outcome_by_site.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    site, eligible, *rest = lines[1].split(",")
    lines[1] = ",".join([site, str(int(eligible) * 10), *rest])  # eligible 15 → 150, manifest recomputed
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_manifest(copy)
    with pytest.raises(BundleError, match=r"S02: tables/outcome_by_site.csv does not add up with "
                                          r"tables/headline.csv"):
        merge_bundles([bundles[0], copy])


def test_an_edited_composition_resealed_is_refused(bundles, tmp_path):
    copy = _copy(bundles[1], tmp_path)
    table = copy / "tables" / "composition.csv"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("sex,F,extract,850,", "sex,F,extract,1850,"), encoding="utf-8")
    write_manifest(copy)
    with pytest.raises(BundleError, match=r"S02: tables/composition.csv does not add up"):
        merge_bundles([bundles[0], copy])


def test_one_extract_under_two_site_labels_is_merged_once(sites, bundles, tmp_path):
    again = build_report(sites[0], out=tmp_path / "again", notebooks=False, site_label="Hospital A",
                         release_log=None)
    with pytest.raises(BundleError) as err:
        merge_bundles([bundles[0], bundles[1], again])
    message = str(err.value)
    assert "(S01)" in message and "(Hospital A)" in message and "were screened from the same extract" in message


def test_one_sites_tables_under_another_sites_provenance_are_refused(bundles, tmp_path):
    copy = _copy(bundles[1], tmp_path)
    shutil.copyfile(bundles[2] / "tables" / "provenance.json", copy / "tables" / "provenance.json")
    write_manifest(copy)
    with pytest.raises(BundleError, match=r"S02: tables/provenance.json is not the provenance "
                                          r"tables/headline.json was written with"):
        read_bundle(copy)
    # A forger who also rewrites every table's copy of provenance: the patient count still differs.
    other = json.loads((bundles[2] / "tables" / "provenance.json").read_text(encoding="utf-8"))
    _edit_provenance(copy, lambda meta: other)
    with pytest.raises(BundleError, match=rf"S02: tables/provenance.json says {other['patients']} patients but "
                                          r"tables/headline.csv 945"):
        merge_bundles([bundles[0], copy])


@pytest.mark.parametrize("key, value, expected", [
    ("site_label", 12345, "'site_label' is 12345; expected a site label"),
    ("site_label", "<img src=x onerror=alert(1)>", "'site_label' is \"<img src=x onerror=alert\\(1\\)>\"; expected"),
    ("patients", "lots", "'patients' is \"lots\"; expected the patient count as the disclosure rule shows it"),
    ("patients", 945, "'patients' is 945; expected the patient count"),
    ("extract_sha256", None, "'extract_sha256' is null; expected a SHA-256"),
    ("criteria", "all", "'criteria' is \"all\"; expected a list of criteria"),
    ("disclosure", {"rule": "round", "threshold": "10", "base": 5}, "'disclosure' is .*; expected a disclosure rule"),
])
def test_provenance_of_the_wrong_type_is_refused_naming_bundle_file_and_key(bundles, tmp_path, key, value, expected):
    copy = _copy(bundles[1], tmp_path)
    _edit_provenance(copy, lambda meta: {**meta, key: value})
    with pytest.raises(BundleError, match=r"S02: tables/provenance.json: " + expected):
        read_bundle(copy)


@pytest.mark.parametrize("content, expected", [
    ("{not json", "tables/provenance.json is not valid JSON"),
    ("[1, 2, 3]", "tables/provenance.json: expected a JSON object .* found a list"),
    ("[" * 100_000 + "]" * 100_000, "tables/provenance.json nests too deeply"),
    ('{"site_label": "S02", "parameters": {"a": [[[[[1]]]]]}}', "tables/provenance.json: nested more than 4 levels"),
    ("\udcff".encode("utf-8", "surrogateescape").decode("latin-1"), "tables/provenance.json is not valid JSON"),
])
def test_malformed_provenance_is_a_clear_error_naming_bundle_and_file(bundles, tmp_path, content, expected):
    copy = _copy(bundles[1], tmp_path)
    (copy / "tables" / "provenance.json").write_text(content, encoding="utf-8")
    write_manifest(copy)
    with pytest.raises(BundleError, match=r"S02: " + expected):
        read_bundle(copy)


def test_a_table_symlinked_elsewhere_is_refused(bundles, tmp_path):
    copy = _copy(bundles[1], tmp_path)
    target = tmp_path / "hostname"
    target.write_text("measure,patients\n", encoding="utf-8")
    (copy / "tables" / "criteria.csv").unlink()
    os.symlink(target, copy / "tables" / "criteria.csv")
    write_manifest(copy)  # the link's target's hash, as a forger would list it
    with pytest.raises(BundleError, match=r"S02: tables/criteria.csv is a symbolic link"):
        read_bundle(copy)
    linked = tmp_path / "linked"
    os.symlink(bundles[1], linked)
    with pytest.raises(BundleError, match=r"linked: the bundle folder is a symbolic link"):
        read_bundle(linked)


def test_a_binary_table_is_a_clear_error(bundles, tmp_path):
    copy = _copy(bundles[1], tmp_path)
    (copy / "tables" / "criteria.csv").write_bytes(b"\xff\xfe\x00\x00" * 100)
    write_manifest(copy)
    with pytest.raises(BundleError, match=r"S02: tables/criteria.csv is not a table a report writes"):
        read_bundle(copy)


# ---- what a bundle says is shown as text ----

class _Markup(HTMLParser):
    """Every element, attribute and text run of an HTML page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _live(page: _Markup) -> list:
    """Anything in the page that could run: script elements, event-handler attributes, javascript: links."""
    return [(tag, attrs) for tag, attrs in page.tags if tag in ("script", "iframe", "object", "embed")
            or any(k.startswith("on") for k in attrs)
            or any("javascript:" in (v or "").lower() for v in attrs.values())]


def _parse(text: str) -> _Markup:
    page = _Markup()
    page.feed(text)
    page.close()
    return page


def test_a_hostile_site_label_in_the_provenance_block_renders_as_text():
    from nbconvert.filters.markdown import markdown2html

    meta = {"protocol_title": HOSTILE_TITLE, "protocol_id": "x`<b>", "protocol_fingerprint": "abc",
            "overrides": {"a<script>": "</td><script>alert(5)</script>"}, "unknown_policy": "<i>separate</i>",
            "disclosure_text": "≤10 & more", "package_version": "1\n|x|",
            "sites": [{"site_label": "<img src=x onerror=alert(1)>"}, {"site_label": "S2"}]}
    page = _parse(markdown2html(provenance_markdown(meta)))
    assert _live(page) == []
    text = "".join(page.text)
    assert "<img src=x onerror=alert(1)>" in text and "<script>alert(1)</script>" in text
    assert {tag for tag, _ in page.tags} <= {"table", "thead", "tbody", "tr", "th", "td", "code"}


def test_a_network_of_hostile_bundles_shows_their_strings_as_text_under_a_csp(sites, tmp_path):
    protocol_file = tmp_path / "hostile.yaml"
    protocol_file.write_text(json.dumps({"id": "hostile-trial", "title": HOSTILE_TITLE,
                                         "extends": str(ROOT / "lib/screening/rules/protocols/misle-phase2.yaml"),
                                         "labels": {"sledai": HOSTILE_LABEL}}), encoding="utf-8")
    protocol = load_protocol(protocol_file)
    bundles = [build_report(s, protocol, out=tmp_path / "b" / s.name, notebooks=False, site_label=s.name,
                            release_log=None) for s in sites[:2]]
    out = write_network_report(bundles, tmp_path / "net")
    page = _parse((out / "04-network.html").read_text(encoding="utf-8"))
    assert _live(page) == []
    text = "".join(page.text)
    assert HOSTILE_TITLE.replace(" | ", " | ") in text  # shown, as text
    assert "<img src=x onerror=alert(4)>" in text
    csp = [a for tag, a in page.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1 and "script-src 'none'" in csp[0]["content"] and "default-src 'none'" in csp[0]["content"]


def test_a_site_report_shows_a_hostile_protocol_title_as_text_under_a_csp(tmp_path):
    from screening.views.notebook_runner import run_notebook

    protocol_file = tmp_path / "hostile.yaml"
    protocol_file.write_text(json.dumps({"id": "hostile-trial", "title": HOSTILE_TITLE,
                                         "extends": str(ROOT / "lib/screening/rules/protocols/misle-phase2.yaml"),
                                         "set": {"sledai.min": 4}}), encoding="utf-8")
    params = {"extract_path": str(SYNTHETIC), "protocol": str(protocol_file), "overrides": {}, "policy": "separate",
              "subgroup": "site", "small_cell": 10}
    run_notebook("01-eligible-pool.ipynb", tmp_path, params)
    page = _parse((tmp_path / "01-eligible-pool.html").read_text(encoding="utf-8"))
    assert _live(page) == []
    assert "<script>alert(1)</script><img src=x onerror=alert(2)>" in "".join(page.text)
    assert any(tag == "meta" and a.get("http-equiv") == "Content-Security-Policy" for tag, a in page.tags)
