"""The synthetic registry: deterministic, valid, documented, calibrated, and joint patterns that hold."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from screening import load_extract
from screening.cli import main
from screening.io.extract import extract_hash
from screening.io.schema import OPTIONAL_TABLES, TABLES
from screening.rules.protocol import load_protocol, shipped_protocols
from screening.synth.calibration import TARGETS, calibration_markdown, calibration_table
from screening.synth.messy import ABSENT, BOOLEAN_SPELLINGS, BRANDS, MIXED_CASE, SYNONYMS
from screening.synth.synthetic import DEFAULT_PATIENTS, DEFAULT_SEED, generate, write_extract

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_extract_is_rebuilt_byte_for_byte(tmp_path):
    # as `make data` builds it: with its visits, up to 2 years before each baseline
    rebuilt = write_extract(generate(DEFAULT_PATIENTS, DEFAULT_SEED, visits=True, visit_years=2.0), tmp_path)
    bundled = ROOT / "data" / "synthetic"
    assert extract_hash(sorted(rebuilt.iterdir())) == extract_hash(sorted(bundled.glob("*.csv")))


def test_same_seed_same_tables_other_seed_other_tables():
    a, b, c = generate(300, 5), generate(300, 5), generate(300, 6)
    for name in TABLES:
        assert a[name].equals(b[name])
    assert not a["patients"].equals(c["patients"])


def test_generated_extract_passes_the_loader(tmp_path):
    ex = load_extract(write_extract(generate(2000, 3), tmp_path))
    assert ex.n_patients == 2000


# --- calibration: every row of data/README.md, measured on the bundled extract ------------------

@pytest.fixture(scope="module")
def calibration(synthetic_extract) -> pd.DataFrame:
    return calibration_table(synthetic_extract)


@pytest.mark.parametrize("target", TARGETS, ids=[t.quantity for t in TARGETS])
def test_calibration_target_is_met_by_the_bundled_extract(target, synthetic_extract):
    value = target.measure(synthetic_extract)
    assert target.lo - 1e-9 <= value <= target.hi + 1e-9, f"{target.quantity}: {value} not in {target.tolerance()}"


def test_every_target_cites_a_source_or_says_assumption():
    for t in TARGETS:
        assert t.source.strip() and ("assumption" in t.source or re.search(r"(19|20)\d\d|PMC\d+|https://", t.source)), t


def test_readme_table_is_what_the_calibration_command_prints(synthetic_extract, capsys):
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- calibration table: start -->\n(.*?)<!-- calibration table: end -->", text, re.S)
    assert block, "data/README.md lost its calibration table markers"
    assert main(["synth", "--calibration", "--data", str(ROOT / "data" / "synthetic")]) == 0
    printed = capsys.readouterr().out
    assert printed == calibration_markdown(synthetic_extract)
    assert block.group(1) == printed, "run `python scripts/calibration.py` after `make data`"


# --- joint patterns on another seed: they follow from the generator's structure, not from luck -------

@pytest.fixture(scope="module")
def other(tmp_path_factory):
    return load_extract(write_extract(generate(3000, seed=7), tmp_path_factory.mktemp("seed7")))


STRUCTURAL = ("dated history before SLE diagnosis", "malignancies diagnosed before age 17", "renal grade agrees",
              "pregnant women using contraception", "low count (platelets", "musculoskeletal and mucocutaneous",
              "kidney biopsy class without lupus nephritis", "creatinine agrees with eGFR")


@pytest.mark.parametrize("start", STRUCTURAL)
def test_structural_targets_hold_for_another_seed(start, other):
    target = next(t for t in TARGETS if t.quantity.startswith(start))
    assert target.lo <= target.measure(other) <= target.hi


def test_a_domain_never_involved_is_graded_e_and_cns_lupus_follows_its_domain(other):
    p = other.patients
    cns = p["cns_lupus_active"].fillna(False).astype(bool)
    assert p.loc[cns, "bilag_neuropsychiatric"].dropna().isin(["A", "B"]).all()
    # SLEDAI-2K is summed from items: a neuropsychiatric A/B alone scores 8.
    np_active = p["bilag_neuropsychiatric"].isin(["A", "B"])
    assert (p.loc[np_active, "sledai_2k"].dropna() >= 8).all()


def test_sledai_rises_with_the_number_of_active_domains(other):
    p = other.patients
    grades = p[[c for c in p.columns if c.startswith("bilag_")]]
    n_active = grades.isin(["A", "B"]).sum(axis=1)[grades.notna().all(axis=1)]
    sledai = p.loc[n_active.index, "sledai_2k"].astype(float)
    means = sledai.groupby(n_active.clip(upper=2)).mean()
    assert means[0] < means[1] < means[2]


def test_dialysis_means_low_egfr_and_no_nephritis_no_nephritis_drugs(other):
    p = other.patients
    assert (p.loc[p["dialysis"].fillna(False).astype(bool), "egfr"].dropna() < 15).all()
    m = other.medications
    never = p.index[(p["lupus_nephritis"] == "never").fillna(False).to_numpy()]
    assert not m[m["patient_id"].isin(never)]["drug"].isin(["cyclophosphamide"]).any()


def test_steroid_dose_rises_with_activity(other):
    p = other.patients
    m = other.medications
    current = m[(m["drug"] == "prednisone") & m["stop_date"].isna()].groupby("patient_id", observed=True)["dose"].max()
    dose = current.reindex(p.index).fillna(0)
    sledai = p["sledai_2k"]
    assert dose[(sledai >= 10).fillna(False)].mean() > 2 * dose[(sledai == 0).fillna(False)].mean()


def test_the_optional_fields_leave_every_other_column_as_it_was(monkeypatch):
    """They come from a stream of their own: drawing them or not changes no other value."""
    import screening.synth.synthetic as synthetic

    with_fields = generate(300, seed=9)
    monkeypatch.setattr(synthetic, "sle_fields", lambda rng, p, t: None)
    without = generate(300, seed=9)
    for name in TABLES:
        pd.testing.assert_frame_equal(with_fields[name][without[name].columns], without[name])
    assert set(with_fields["patients"].columns) - set(without["patients"].columns) == {
        "physician_global", "c3", "c4", "antiphospholipid_positive", "antiphospholipid_date", "renal_biopsy_class",
        "renal_biopsy_date", "neutrophils", "creatinine", "creatinine_uln", "tb_status", "latent_tb_treated"}


def test_the_optional_fields_agree_with_the_rest(other):
    p = other.patients
    assert (p["neutrophils"] <= p["wbc"]).dropna().all()
    dated = p[p["renal_biopsy_date"].notna() & p["sle_diagnosis_date"].notna()]
    assert dated["renal_biopsy_date"].between(dated["sle_diagnosis_date"], dated["baseline_date"]).all()
    assert p.loc[(p["lupus_nephritis"] == "never").fillna(False), "renal_biopsy_date"].isna().all()
    end_stage = p.loc[p["renal_biopsy_class"] == "VI", ["dialysis", "organ_transplant"]].dropna()
    assert len(end_stage) and end_stage.any(axis=1).all()  # class VI only after end-stage renal disease
    status, test = p["tb_status"], p["tb_positive"]
    assert test[status.isin(["latent", "active"])].dropna().all() and not test[status == "negative"].any()
    assert p.loc[status != "latent", "latent_tb_treated"].isna().all()
    pga = p["physician_global"].astype(float).groupby(p["sledai_2k"].clip(upper=12)).mean()
    assert pga[0] < pga[4] < pga[8] < pga[12]


def test_missingness_follows_the_site(synthetic_extract):
    p = synthetic_extract.patients
    missing = p["bilag_renal"].isna().groupby(p["site"]).mean()
    assert missing["S08"] > 0.8 and missing["S01"] < 0.15
    weight = p["weight_kg"].isna().groupby(p["site"]).mean()
    assert weight["S05"] > weight["S01"]


def test_every_column_is_documented():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", text, flags=re.M))
    for name, fields in (TABLES | OPTIONAL_TABLES).items():
        assert f"### `{name}`" in text
        for f in fields:
            assert f.name in documented, f"{name}.{f.name} missing from data/README.md"


# --- the messy writer: the same facts, spelled the way registries spell them -----------------------

@pytest.fixture(scope="module")
def clean_and_messy(tmp_path_factory):
    tables = generate(600, seed=4)
    root = tmp_path_factory.mktemp("messy")
    clean = write_extract(tables, root / "clean")
    messy = write_extract(tables, root / "messy", messy=True, seed=4)
    read = {}
    for name in TABLES:
        read[name] = tuple(pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
                           for folder in (clean, messy))
    return read


def _undo(name: str, messy: pd.DataFrame) -> pd.DataFrame:
    """Undo exactly the declared differences: spaces, case of the mixed-case columns, brands, booleans."""
    out = messy.apply(lambda col: col.str.normalize("NFKC").str.strip())
    ingredient = {brand.casefold(): drug for drug, brand in BRANDS.items()}
    if name == "medications":
        out["drug"] = out["drug"].map(lambda v: ingredient.get(v.casefold(), v))
    for col in (c for c in MIXED_CASE.get(name, ()) if c in out):
        spelled = {synonym.casefold(): value.casefold() for value, synonym in SYNONYMS.get(col, {}).items()}
        out[col] = out[col].str.casefold().map(lambda v: spelled.get(v, v))
    spelled = {s: "true" for s, _ in BOOLEAN_SPELLINGS} | {s: "false" for _, s in BOOLEAN_SPELLINGS}
    booleans = [f.name for f in TABLES[name] if f.kind == "bool" and f.name in out]
    for col in booleans:
        out[col] = out[col].map(lambda v: spelled.get(v, v))
    return out


def test_messy_writer_differs_from_the_clean_one_only_as_declared(clean_and_messy):
    for name, (clean, messy) in clean_and_messy.items():
        expected = clean.drop(columns=list(ABSENT.get(name, ())))
        for col in MIXED_CASE.get(name, ()):
            if col in expected:  # an optional coded column the generator does not draw is not written
                expected[col] = expected[col].str.casefold()
        pd.testing.assert_frame_equal(_undo(name, messy), expected, obj=name)


def test_messy_writer_really_is_messy(clean_and_messy):
    clean, messy = clean_and_messy["medications"]
    assert {b.casefold() for b in BRANDS.values()} <= set(messy["drug"].str.strip().str.casefold())
    assert messy["drug"].str.strip().str.isupper().any() and (messy["drug"] != messy["drug"].str.strip()).any()
    patients = clean_and_messy["patients"][1]
    assert {"Yes", "No", "1", "0", "TRUE", "FALSE"} <= set(patients["pregnant"]) | set(patients["dialysis"])
    assert not set(ABSENT["patients"]) & set(patients.columns)
    # coded values as synonyms, upper case and Unicode compatibility forms (full-width, no-break space)
    assert {"female", "male"} <= set(patients["sex"].str.strip().str.casefold())
    assert (patients["race_ethnicity"].str.strip().str.casefold() == "caucasian").any()
    assert patients["sex"].str.contains("\uff26|\uff2d|\uff46|\uff4d|\u00a0").any() or \
        patients["race_ethnicity"].str.contains("[\uff01-\uff5e\u00a0]").any()
    assert (messy["drug_class"].str.strip().str.casefold() == "corticosteroids").any()
    assert (clean_and_messy["infections"][1]["infection_type"].str.strip().str.casefold() == "shingles").any()


def test_messy_extract_is_reproducible(tmp_path):
    tables = generate(200, seed=8)
    a = write_extract(tables, tmp_path / "a", messy=True, seed=8)
    b = write_extract(tables, tmp_path / "b", messy=True, seed=8)
    assert extract_hash(sorted(a.iterdir())) == extract_hash(sorted(b.iterdir()))


def test_columns_left_out_of_a_messy_extract_are_read_by_no_shipped_protocol():
    for name in shipped_protocols():
        read = load_protocol(name).columns()
        for table, columns in ABSENT.items():
            assert not set(columns) & set(read.get(table, ())), name


def test_messy_cli_writes_a_messy_extract(tmp_path, capsys):
    assert main(["synth", "--patients", "50", "--messy", "--out", str(tmp_path)]) == 0
    assert "(messy)" in capsys.readouterr().out
    header = (tmp_path / "patients.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "proteinuria_g_per_g" not in header and "sledai_2k" in header


def test_synth_without_out_or_calibration_is_a_one_line_error(capsys):
    assert main(["synth"]) == 2
    assert capsys.readouterr().err.startswith("error: synth, --out: expected a folder")



def test_messy_extract_loads_to_the_clean_facts_apart_from_drug_names(tmp_path):
    tables = generate(800, seed=6)
    clean = load_extract(write_extract(tables, tmp_path / "clean"))
    messy = load_extract(write_extract(tables, tmp_path / "messy", messy=True, seed=6))
    gone = list(ABSENT["patients"])
    assert messy.patients[gone].isna().all().all()  # left out of the file: read as not recorded
    kept = [c for c in clean.patients.columns if c not in gone]
    pd.testing.assert_frame_equal(messy.patients[kept], clean.patients[kept], check_categorical=False)
    for name in ("malignancies", "infections"):
        pd.testing.assert_frame_equal(messy.table(name), clean.table(name), check_categorical=False)
    others = [c for c in clean.medications.columns if c != "drug"]
    pd.testing.assert_frame_equal(messy.medications[others], clean.medications[others], check_categorical=False)


@pytest.mark.parametrize("protocol", shipped_protocols())
def test_a_messy_extract_gives_exactly_the_clean_extracts_funnel(tmp_path_factory, protocol):
    """Brand names, synonyms of coded values (Female, Caucasian, Shingles, ...), odd case, full-width letters,
    stray spaces and other boolean spellings change nothing the funnel counts."""
    from screening import load_extract, screen

    tables = generate(1500, seed=11)
    root = tmp_path_factory.mktemp("messy-funnel")
    clean = load_extract(write_extract(tables, root / "clean"))
    messy = load_extract(write_extract(tables, root / "messy", messy=True, seed=11))
    assert messy.unrecognised.empty  # every brand and spelling maps to an ingredient
    a, b = screen(clean, protocol), screen(messy, protocol)
    pd.testing.assert_frame_equal(a.attrition(), b.attrition())
    assert (a.states == b.states).all()
