"""Fuzzing: whatever the input, the loader and the protocol reader either succeed or raise the project's error."""

from __future__ import annotations

import os
import warnings

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import boundary
from screening import ScreeningError, load_extract, load_protocol


# FUZZ_EXAMPLES=400 for a longer hunt; 60 keeps make test quick.
def _loads_or_raises(folder) -> None:
    """The property under test: the loader succeeds or raises the project's own error, nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load_extract(folder)
        except ScreeningError:
            pass


FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

cells = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(str),
                  st.sampled_from(["", "NA", "true", "2024-02-30", "1/2/2024", "1e309", '"', ",", "\n", "é"]))


@FUZZ
@given(st.data())
def test_any_patients_file_loads_or_raises_extract_errors(tmp_path_factory, data):
    folder = boundary.write(tmp_path_factory.mktemp("f"))
    path = folder / "patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    # change a few cells of a few rows to arbitrary text
    for _ in range(data.draw(st.integers(1, 4))):
        r = data.draw(st.integers(1, len(lines) - 1))
        row = lines[r].split(",")
        c = data.draw(st.integers(0, len(header) - 1))
        row[c] = data.draw(cells)
        lines[r] = ",".join(row)
    if data.draw(st.booleans()):  # a row cut short in the middle of the file
        r = data.draw(st.integers(1, len(lines) - 1))
        lines[r] = ",".join(lines[r].split(",")[: data.draw(st.integers(0, len(header) - 1))])
    if data.draw(st.booleans()):  # a header naming one column twice
        lines[0] = lines[0] + "," + data.draw(st.sampled_from(header))
    path.write_text("\n".join(lines) + data.draw(st.sampled_from(["\n", ""])), encoding="utf-8")
    _loads_or_raises(folder)


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_as_a_table_load_or_raise(tmp_path_factory, blob):
    folder = boundary.write(tmp_path_factory.mktemp("b"))
    (folder / "infections.csv").write_bytes(blob)
    _loads_or_raises(folder)


yaml_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                           max_leaves=8)
criterion = st.fixed_dictionaries({"id": st.text(max_size=6), "kind": st.sampled_from(
    ["inclusion", "exclusion", "screening_visit", "other"]), "rule": st.sampled_from(
    ["age", "sledai", "column", "drug_exposure", "nope"])}, optional={"params": st.dictionaries(
        st.sampled_from(["min", "max", "min_age", "months", "column", "op", "value", "drugs", "x"]), yaml_values,
        max_size=3), "label": st.one_of(st.text(max_size=10), st.sampled_from(
            ["{min}", "{min.nope}", "{0}", "{", "}", "{min!r}", "{min:%}"]))})


@FUZZ
@given(st.one_of(st.fixed_dictionaries({"criteria": st.lists(criterion, max_size=4)}),
                 st.fixed_dictionaries({"extends": st.one_of(st.none(), st.just(""), st.lists(st.just(
                     "misle-phase2"), max_size=2), st.integers())}),
                 st.fixed_dictionaries({"extends": st.just("misle-phase2"),
                                        "set": st.dictionaries(st.sampled_from(
                                            ["sledai.min", "age.max_age", "belimumab.months", "months",
                                             "egfr.value", "x.y"]), yaml_values, max_size=3)}),
                 yaml_values))
def test_any_protocol_loads_or_raises_protocol_errors(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("p") / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        load_protocol(path)
    except ScreeningError:
        pass


@FUZZ
@given(st.dictionaries(st.sampled_from(["sledai.min", "max_mg_per_kg", "age.min_age", "belimumab.drugs",
                                        "malignancy.lookback_years", "nosuch", "egfr.op"]),
                       st.one_of(st.text(max_size=8), st.integers(-5, 200), st.floats(allow_nan=True),
                                 st.booleans(), st.none()), max_size=3))
def test_any_override_applies_or_raises(overrides):
    try:
        load_protocol("misle-phase2", overrides)
    except ScreeningError:
        pass
