"""Drug names as registries write them: case, stray spaces and brand names read as the clean ingredient."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from screening import load_extract, load_protocol
from screening.engine.funnel import Screening
from screening.errors import ExtractError, ExtractWarning
from screening.io.vocabulary import canonical, normalise
from screening.rules.baselines.naive import naive_states
from screening.synth.synthetic import generate, write_extract

#: how a registry might write each ingredient of the synthetic extract
MESSY = {"prednisone": ["Prednisone", "PREDNISONE", " prednisone ", "Deltasone"],
         "hydroxychloroquine": ["Plaquenil", "HYDROXYCHLOROQUINE", "hydroxychloroquine\u00a0sulfate"],
         "mycophenolate": ["CellCept", "Mycophenolate Mofetil", "MYFORTIC"],
         "azathioprine": ["Imuran", "Azathioprine "], "cyclophosphamide": ["Cytoxan", "CYCLOPHOSPHAMIDE"],
         "belimumab": ["Benlysta", "Belimumab", "BELIMUMAB"], "rituximab": ["Rituxan", "MabThera", "RITUXIMAB"],
         "anifrolumab": ["Saphnelo", "Anifrolumab"], "methotrexate": ["Trexall", "Methotrexate"],
         "methylprednisolone": ["Medrol", "Solu-Medrol", "METHYLPREDNISOLONE"]}


def _states(ex, protocol) -> pd.DataFrame:
    s = Screening(ex, protocol)
    return pd.DataFrame(s.raw, index=ex.patients.index, columns=s.ids)


@pytest.fixture(scope="module")
def clean_and_messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("vocab")
    tables = generate(400, 11)
    clean = write_extract(tables, root / "clean")
    meds = tables["medications"].copy()
    rng = np.random.default_rng(11)
    spelled = [rng.choice(MESSY[d]) if d in MESSY else d for d in meds["drug"]]
    messy = write_extract({**tables, "medications": meds.assign(drug=spelled)}, root / "messy")
    return clean, messy


def test_every_drug_the_protocols_name_has_its_brand_names():
    drugs = canonical("drug")
    for brand, ingredient in {"benlysta": "belimumab", "rituxan": "rituximab", "cellcept": "mycophenolate",
                              "saphnelo": "anifrolumab", "imuran": "azathioprine", "cytoxan": "cyclophosphamide",
                              "plaquenil": "hydroxychloroquine"}.items():
        assert drugs[brand] == ingredient


def test_every_synonym_maps_to_a_value_the_dictionary_allows():
    from screening.io.schema import TABLES
    from screening.io.vocabulary import MAPPED_COLUMNS, VOCABULARY_FILE, ingredients

    rows = pd.read_csv(VOCABULARY_FILE, dtype=str, keep_default_na=False)
    fields = {f.name: f for fields in TABLES.values() for f in fields}
    mapped = {c for columns in MAPPED_COLUMNS.values() for c in columns}
    assert set(rows["column"]) <= mapped
    for column, part in rows.groupby("column"):
        allowed = set(ingredients()["drug"]) if column == "drug" else set(fields[column].allowed)
        assert set(part["canonical"]) <= allowed, column
    # one meaning per spelling: a normalised value maps to one canonical value in its column
    assert not rows.assign(key=normalise(rows["value"])).duplicated(["column", "key"]).any()


def test_sex_and_other_coded_spellings_normalise():
    assert canonical("sex")[normalise([" FEMALE "])[0]] == "F"
    assert canonical("sex")[normalise(["\uff2d"])[0]] == "M"  # full-width M
    assert canonical("race_ethnicity")[normalise(["White\u00a0"])[0]] == "White"
    assert canonical("infection_type")[normalise(["Herpes\u00a0Zoster"])[0]] == "herpes_zoster"
    assert canonical("bilag_renal")["a"] == "A"
    assert "\u041c".casefold() not in canonical("sex")  # Cyrillic look-alike: reported, not guessed


@pytest.mark.parametrize("protocol", ["misle-phase2", "misle-phase1-pilot"])
def test_messy_drug_names_give_exactly_the_clean_funnel(clean_and_messy, protocol):
    clean, messy = clean_and_messy
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtractWarning)  # nothing unrecognised, so nothing to warn about
        a, b = load_extract(clean), load_extract(messy)
    assert b.unrecognised.empty
    p = load_protocol(protocol)
    pd.testing.assert_frame_equal(Screening(a, p).attrition(), Screening(b, p).attrition())
    pd.testing.assert_frame_equal(_states(a, p), _states(b, p))


def test_baselines_read_messy_names_through_the_vocabulary_too(clean_and_messy):
    from screening.rules.baselines.sql import connect, states_sql

    _, messy = clean_and_messy
    ex, p = load_extract(messy), load_protocol("misle-phase2")
    engine = _states(ex, p)
    sql = connect(messy).execute(states_sql(p)).df().set_index("patient_id").loc[engine.index].astype(np.int8)
    for other in (naive_states(ex, p).astype(np.int8), sql):
        assert not (other != engine).any().any()


def test_duckdb_reads_every_coded_column_of_a_messy_extract_as_the_loader_does(tmp_path):
    from screening.rules.baselines.sql import connect, states_sql

    folder = write_extract(generate(400, 12), tmp_path / "messy", messy=True, seed=12)
    ex = load_extract(folder)
    assert ex.unrecognised.empty
    con = connect(folder)
    for column in ("sex", "race_ethnicity", "lupus_nephritis", "chest_xray", "bilag_renal"):
        sql = con.execute(f"SELECT patient_id, {column} FROM patients").df().set_index("patient_id")[column]
        assert sql.loc[ex.patients.index].astype(object).where(sql.notna(), None).tolist() == \
            ex.patients[column].astype(object).where(ex.patients[column].notna(), None).tolist(), column
    for name in ("anifrolumab-tulip2", "misle-phase2"):
        p = load_protocol(name)
        engine = _states(ex, p)
        states = con.execute(states_sql(p)).df().set_index("patient_id").loc[engine.index].astype(np.int8)
        assert not (states != engine).any().any(), name


def _with_unknown_drug(folder, tmp_path):
    import boundary

    tables = boundary.tables()
    meds = tables["medications"]
    extra = pd.DataFrame({"patient_id": ["E01", "E01", "E02"], "drug": ["Foobarimab", "Foobarimab", "zzz-pill"],
                          "drug_class": ["biologic", "biologic", "antimalarial"],
                          "start_date": ["2024-05-01", "2024-05-20", "2024-01-01"],
                          "stop_date": ["2024-05-01", "2024-05-20", None], "dose": [100.0, 100.0, 1.0],
                          "dose_unit": ["mg", "mg", "mg/day"]})
    return write_extract({**tables, "medications": pd.concat([meds, extra], ignore_index=True)}, tmp_path / folder)


def test_an_unknown_drug_name_is_reported_by_value_and_count_and_read_as_unknown(tmp_path):
    folder = _with_unknown_drug("unknown", tmp_path)
    with pytest.warns(ExtractWarning, match=r"'Foobarimab' \(2 rows\), 'zzz-pill' \(1 row\)"):
        ex = load_extract(folder)
    assert ex.unrecognised[["column", "value", "rows"]].values.tolist() == [["drug", "Foobarimab", 2],
                                                                            ["drug", "zzz-pill", 1]]
    assert ex.unrecognised["file"].str.endswith("medications.csv").all()
    out = Screening(ex, load_protocol("misle-phase2")).outcome()
    # An unknown biologic given a month before baseline might be belimumab: E01 cannot be called eligible.
    assert out.loc["E01", "status"] == "not_assessable" and out.loc["E01", "criterion"] == "belimumab"
    # An unknown antimalarial cannot be belimumab or another biologic: E02 stays eligible.
    assert out.loc["E02", "status"] == "eligible"


def test_strict_vocabulary_makes_an_unknown_drug_name_an_error(tmp_path):
    folder = _with_unknown_drug("strict", tmp_path)
    with pytest.raises(ExtractError, match=r"(?s)column 'drug'.*Foobarimab' \(2 rows\)"):
        load_extract(folder, strict=True)


def test_cli_strict_vocabulary_stops_with_one_line(tmp_path, capsys):
    from screening.cli import main

    folder = _with_unknown_drug("cli", tmp_path)
    assert main(["funnel", "--data", str(folder), "--strict-vocabulary"]) != 0
    err = capsys.readouterr().err
    assert "column 'drug'" in err and "Foobarimab" in err and "Traceback" not in err


def test_data_dictionary_names_the_vocabulary_of_every_coded_column():
    import re
    from pathlib import Path

    from screening.io.schema import TABLES

    text = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- vocabularies: start -->")[1].split("<!-- vocabularies: end -->")[0]
    named = set(re.findall(r"`([a-z_]+\.[a-z_*]+)`", block))
    for table, fields in TABLES.items():
        for f in fields:
            if f.kind in ("category", "str"):
                wildcard = f"{table}.{f.name.split('_')[0]}_*"
                assert f"{table}.{f.name}" in named or wildcard in named, f"{table}.{f.name} has no vocabulary"


def test_data_quality_lists_unrecognised_values(tmp_path):
    from screening.engine.quality import unrecognised

    with pytest.warns(ExtractWarning):
        ex = load_extract(_with_unknown_drug("quality", tmp_path))
    assert unrecognised(ex)[["value", "rows"]].values.tolist() == [["Foobarimab", 2], ["zzz-pill", 1]]
