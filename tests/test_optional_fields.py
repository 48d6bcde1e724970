"""The optional SLE fields of the data dictionary (PGA, complement, biopsy, neutrophils, creatinine, TB status).

An extract without them loads as before, on the fast (Arrow) path and on the thorough (pandas)
path alike; one with them gets them parsed and checked like any dictionary column.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import boundary
from screening import ExtractError, load_extract
from screening.errors import ExtractWarning
from screening.io.schema import BIOPSY_CLASSES, TB_STATUS
from screening.synth.synthetic import write_extract

NEW = {"physician_global": "Float64", "c3": "Float64", "c4": "Float64", "antiphospholipid_positive": "boolean",
       "antiphospholipid_date": "datetime64[s]", "renal_biopsy_class": "category",
       "renal_biopsy_date": "datetime64[s]", "neutrophils": "Float64", "creatinine": "Float64",
       "creatinine_uln": "Float64", "tb_status": "category", "latent_tb_treated": "boolean"}


@pytest.fixture(params=["fast", "thorough"])
def path(request, monkeypatch):
    if request.param == "thorough":  # make the fast path doubt every table, as a suspect file would
        from screening.io import columnar

        def doubt(*args, **kwargs):
            raise columnar.Suspect("forced by the test")
        monkeypatch.setattr(columnar, "read_checked", doubt)
    return request.param


def _tables(drop_new: bool, **cells) -> dict:
    tables = boundary.tables()
    p = tables["patients"]
    if drop_new:
        tables["patients"] = p.drop(columns=list(NEW))
    for col, values in cells.items():  # values for the first rows, in order
        tables["patients"][col] = pd.Series(values + [None] * (len(p) - len(values)), dtype=object)
    return tables


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_extract_without_the_new_fields_loads_them_as_not_recorded(tmp_path, path, fmt):
    folder = write_extract(_tables(drop_new=True), tmp_path / f"{path}{fmt}", fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex = load_extract(folder)
    p = ex.patients
    for col, dtype in NEW.items():
        assert str(p[col].dtype) == dtype, col
        assert p[col].isna().all(), col
    assert list(p["renal_biopsy_class"].cat.categories) == list(BIOPSY_CLASSES)
    assert list(p["tb_status"].cat.categories) == list(TB_STATUS)
    assert ex.n_patients == 54


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_new_fields_are_parsed_when_present(tmp_path, path, fmt):
    tables = _tables(drop_new=False, physician_global=["1.5", "0"], c3=["62", "110.5"],
                     renal_biopsy_class=["IV-G+V", "III"],
                     renal_biopsy_date=["2023-02-01", ""], tb_status=["latent", "negative"],
                     latent_tb_treated=["yes", ""], creatinine=["1.9", ""], creatinine_uln=["1.1", ""],
                     c3_date=["2024-05-01", ""])
    ex = load_extract(write_extract(tables, tmp_path / f"{path}{fmt}", fmt))
    p = ex.patients
    first, second = p.index[:2]
    assert p.loc[first, "physician_global"] == 1.5 and p.loc[second, "physician_global"] == 0
    assert p.loc[first, "c3"] == 62 and p.loc[second, "c3"] == 110.5
    assert p.loc[first, "c3_date"] == pd.Timestamp("2024-05-01") and pd.isna(p.loc[second, "c3_date"])
    assert list(p["renal_biopsy_class"].iloc[:3].astype(object).fillna("-")) == ["IV-G+V", "III", "-"]
    assert p.loc[first, "renal_biopsy_date"] == pd.Timestamp("2023-02-01")
    assert list(p["tb_status"].iloc[:2]) == ["latent", "negative"]
    assert p.loc[first, "latent_tb_treated"] and pd.isna(p.loc[second, "latent_tb_treated"])
    assert p.loc[first, "creatinine"] == 1.9 and p.loc[first, "creatinine_uln"] == 1.1


def test_a_new_field_out_of_range_or_after_baseline_is_named(tmp_path, path):
    tables = _tables(drop_new=False, physician_global=["4"], renal_biopsy_date=["", "2024-07-01"])
    with pytest.raises(ExtractError) as info:
        load_extract(write_extract(tables, tmp_path / path))
    text = str(info.value)
    assert "physician_global" in text and "renal_biopsy_date" in text


def test_an_unknown_biopsy_class_is_read_as_unknown_with_a_warning(tmp_path, path):
    tables = _tables(drop_new=False, renal_biopsy_class=["class 7"])
    with pytest.warns(ExtractWarning, match="renal_biopsy_class"):
        ex = load_extract(write_extract(tables, tmp_path / path))
    assert ex.patients["renal_biopsy_class"].isna().all()
