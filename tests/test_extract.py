"""The loader on good data and on a corpus of broken extracts (one fault each)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import boundary
from screening import ExtractError, load_extract
from screening.errors import ExtractWarning
from screening.io.schema import TABLES
from screening.synth.synthetic import generate, write_extract


def test_boundary_extract_loads_with_dictionary_types(boundary_extract):
    p = boundary_extract.patients
    assert len(p) == 54 and p.index.name == "patient_id"
    assert str(p["age_years"].dtype) == "Int32"
    assert str(p["weight_kg"].dtype) == "Float64"
    assert str(p["hiv_positive"].dtype) == "boolean"
    assert str(p["baseline_date"].dtype) == "datetime64[s]"
    assert list(p["bilag_renal"].cat.categories) == ["A", "B", "C", "D", "E"]
    assert len(boundary_extract.hash) == 64


def test_missing_values_stay_missing(boundary_extract):
    p = boundary_extract.patients
    assert pd.isna(p.loc["N13", "sledai_2k"])
    assert pd.isna(p.loc["N46", "weight_kg"])
    assert pd.isna(p.loc["N32", "chest_xray"])
    assert p["sledai_2k"].notna().sum() == 54 - 3


def test_csv_and_parquet_load_the_same(tmp_path):
    tables = generate(300, seed=7)
    a = load_extract(write_extract(tables, tmp_path / "csv", "csv"))
    b = load_extract(write_extract(tables, tmp_path / "pq", "parquet"))
    assert a.format == "csv" and b.format == "parquet"
    for left, right in ((a.patients, b.patients), (a.medications, b.medications)):
        _assert_same_values(left, right)


def _assert_same_values(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same dtypes and values; a categorical may list its categories in another order (sorted vs. stored)."""
    assert list(left.columns) == list(right.columns)
    for col in left.columns:
        a, b = left[col], right[col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert isinstance(b.dtype, pd.CategoricalDtype), col
            a, b = a.astype("string"), b.astype("string")
        pd.testing.assert_series_equal(a, b, check_dtype=True, obj=col)


def test_nothing_is_dropped(tmp_path):
    tables = generate(400, seed=11)
    ex = load_extract(write_extract(tables, tmp_path))
    for name in TABLES:
        assert len(ex.table(name)) == len(tables[name]), name


# --- the bad-input corpus ----------------------------------------------------------------------

def _broken(tmp_path, table: str, edit) -> str:
    """Write the boundary extract, then apply ``edit`` to one table's CSV text or frame."""
    folder = boundary.write(tmp_path / "x")
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    result = edit(frame)
    if isinstance(result, str):
        path.write_text(result, encoding="utf-8")
    elif result is not None:
        result.to_csv(path, index=False)
    return folder


def _rewritten(tmp_path, table: str, edit) -> str:
    """Write the boundary extract, then replace one table's CSV text with ``edit(text)``."""
    folder = boundary.write(tmp_path / "x")
    path = folder / f"{table}.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def _set(column, rows, value):
    def edit(frame):
        frame.loc[rows, column] = value
        return frame
    return edit


CASES = [
    # id, table, edit, column, lines named in the message, words the message must hold
    ("negative age", "patients", _set("age_years", [2, 5], "-1"), "age_years", [4, 7], "from 0 to 90"),
    ("SLEDAI above maximum", "patients", _set("sledai_2k", [0], "120"), "sledai_2k", [2], "from 0 to 105"),
    ("text in a number column", "patients", _set("egfr", [3], "ninety"), "egfr", [5], "a number"),
    ("fractional integer", "patients", _set("acr_criteria_count", [1], "4.5"), "acr_criteria_count", [3],
     "whole number"),
    ("day-first date", "patients", _set("baseline_date", [6], "15/06/2024"), "baseline_date", [8], "YYYY-MM-DD"),
    ("impossible date", "patients", _set("ana_date", [0], "2024-02-30"), "ana_date", [2], "YYYY-MM-DD"),
    ("test after baseline", "patients", _set("ana_date", [9], "2024-07-01"), "ana_date", [11],
     "not after baseline_date"),
    ("diagnosis after baseline", "patients", _set("sle_diagnosis_date", [3], "2024-06-16"), "sle_diagnosis_date",
     [5], "not after baseline_date"),
    ("unknown boolean word", "patients", _set("hiv_positive", [4], "maybe"), "hiv_positive", [6], "true or false"),
    ("duplicate patient id", "patients", _set("patient_id", [3], "E01"), "patient_id", [2, 5], "each patient_id once"),
    ("missing patient id", "patients", _set("patient_id", [3], ""), "patient_id", [5], "a value in every row"),
    ("negative dose", "medications", _set("dose", [1], "-5"), "dose", [3], "a number from 0 to"),
    ("stop before start", "medications", _set("stop_date", [1], "2019-01-01"), "stop_date", [3],
     "not before start_date"),
    ("orphan medication", "medications", _set("patient_id", [2], "Z99"), "patient_id", [4],
     "present in the patients table"),
    ("orphan infection", "infections", _set("patient_id", [0], "Z98"), "patient_id", [2],
     "present in the patients table"),
]


#: coded values the vocabulary does not know: read as unknown with a warning, or under strict an error
CODED = [
    ("unknown category", "patients", _set("bilag_renal", [7], "F"), "bilag_renal", [9], "one of A, B, C, D, E"),
    ("unknown sex code", "patients", _set("sex", [1], "X"), "sex", [3], "one of F, M"),
    ("unknown dose unit", "medications", _set("dose_unit", [0], "mg/kg"), "dose_unit", [2], "one of mg/day, mg"),
    ("unknown malignancy type", "malignancies", _set("malignancy_type", [0], "sarcoma?"), "malignancy_type", [2],
     "one of basal_cell_skin"),
]


@pytest.mark.parametrize("name, table, edit, column, lines, words", CODED, ids=[c[0] for c in CODED])
def test_unknown_coded_value_under_strict_names_file_column_and_lines(tmp_path, name, table, edit, column, lines,
                                                                      words):
    folder = _broken(tmp_path, table, edit)
    with pytest.raises(ExtractError) as info:
        load_extract(folder, strict=True)
    err = info.value
    assert err.file.endswith(f"{table}.csv") and err.column == column and err.rows == lines
    message = str(err)
    assert f"'{column}'" in message and words in message and "vocabulary.csv" in message and "Line" in message


@pytest.mark.parametrize("name, table, edit, column, lines, words", CODED, ids=[c[0] for c in CODED])
def test_unknown_coded_value_is_reported_and_read_as_unknown(tmp_path, name, table, edit, column, lines, words):
    folder = _broken(tmp_path, table, edit)
    with pytest.warns(ExtractWarning, match=rf"column '{column}': 1 value .*1 rows read as an unknown {column}"):
        ex = load_extract(folder)
    assert ex.unrecognised[["column", "rows"]].values.tolist() == [[column, 1]]
    frame = ex.table(table).reset_index()
    assert bool(frame[column].isna().iloc[lines[0] - 2])


@pytest.mark.parametrize("name, table, edit, column, lines, words", CASES, ids=[c[0] for c in CASES])
def test_bad_value_names_file_column_and_lines(tmp_path, name, table, edit, column, lines, words):
    folder = _broken(tmp_path, table, edit)
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    err = info.value
    assert err.file.endswith(f"{table}.csv")
    assert err.column == column
    assert err.rows[: len(lines)] == lines
    message = str(err)
    assert f"{table}.csv" in message and f"'{column}'" in message and words in message
    assert "Line" in message


def test_absent_columns_load_as_missing_and_screening_lists_them_one_per_line(tmp_path):
    import warnings

    from screening import screen
    from screening.engine.quality import missingness
    from screening.errors import ExtractWarning

    folder = _broken(tmp_path, "patients", lambda f: f.drop(columns=["sledai_2k", "egfr"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading is not the place: only a protocol knows what it needs
        ex = load_extract(folder)
    assert ex.absent == {"patients": ("sledai_2k", "egfr")}
    assert ex.patients["sledai_2k"].isna().all() and str(ex.patients["sledai_2k"].dtype) == "Int32"
    with pytest.warns(ExtractWarning) as caught:
        s = screen(ex)
    blank = "Read as blank in every row, unknown unless other fields settle it"
    assert str(caught[0].message).endswith(
        ": 2 columns the protocol misle-phase2 reads are absent:\n"
        f"  patients.sledai_2k: SLEDAI-2K total at screening. {blank}: sledai.\n"
        f"  patients.egfr: Estimated GFR nearest to baseline. {blank}: egfr.")
    assert (s.states[:, s.ids.index("sledai")] == -1).all()  # every patient unknown on SLEDAI: nothing else settles it
    row = missingness(ex).set_index("column").loc["sledai_2k"]
    assert row["missing"] == 54 and row["note"] == "absent from the extract: read as blank (not recorded) in every row"


def test_absent_event_column_makes_the_criterion_not_assessable_rather_than_ongoing(tmp_path):
    import warnings

    from screening import screen

    # Without stop_date every course would look ongoing: the criteria that read it must say unknown instead.
    folder = _broken(tmp_path, "medications", lambda f: f.drop(columns=["stop_date"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = screen(load_extract(folder))
    for cid in ("belimumab", "other_biologic", "glucocorticoid", "immunosuppressant_change", "nephritis_therapy"):
        assert (s.states[:, s.ids.index(cid)] == -1).all(), cid
    assert s.extract.notes["stop_date"] == ("absent from the extract (a blank would mean ongoing at extraction): "
                                            "criteria that read it are not assessable")


def test_missing_required_columns_are_listed_one_per_line(tmp_path):
    folder = _broken(tmp_path, "medications", lambda f: f.drop(columns=["drug", "drug_class"]))
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    assert str(info.value).startswith("{}: expected the required columns of the data dictionary".format(
        folder / "medications.csv"))
    assert "\n    drug: Ingredient" in str(info.value) and "\n    drug_class: Therapeutic class" in str(info.value)


def test_repeated_header_column_is_an_error(tmp_path):
    folder = _rewritten(tmp_path, "patients", lambda text: text.replace("egfr,", "egfr,egfr,", 1))
    with pytest.raises(ExtractError, match=r"patients.csv, column 'egfr': 1 line does not match: expected each "
                                           r"column name once in the header.\n  Line 1"):
        load_extract(folder)


def test_short_row_in_the_middle_is_named_by_line_not_padded(tmp_path):
    def drop_last_fields(text):
        lines = text.split("\n")
        lines[5] = lines[5].rsplit(",", 3)[0]  # line 6 loses its last three fields
        return "\n".join(lines)

    folder = _rewritten(tmp_path, "patients", drop_last_fields)
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    assert info.value.rows == [6] and info.value.file.endswith("patients.csv")
    assert "fields on every line, as in the header" in str(info.value)


def test_time_zoned_parquet_dates_count_on_their_local_day(tmp_path):
    tables = generate(40, seed=3)
    folder = write_extract(tables, tmp_path / "pq", "parquet")
    frame = pd.read_parquet(folder / "infections.parquet")
    frame["onset_date"] = pd.to_datetime(frame["onset_date"]).dt.tz_localize("Europe/Paris")
    frame.to_parquet(folder / "infections.parquet", index=False)
    ex = load_extract(folder)
    plain = load_extract(write_extract(tables, tmp_path / "csv", "csv"))
    assert len(ex.infections) > 0
    assert ex.infections["onset_date"].tolist() == plain.infections["onset_date"].tolist()


def test_missing_patients_file_is_named(tmp_path):
    folder = boundary.write(tmp_path / "x")
    (folder / "patients.csv").unlink()
    with pytest.raises(ExtractError, match=r"patients.csv: expected the patients table"):
        load_extract(folder)


def test_missing_event_file_loads_empty_and_marked_absent(tmp_path):
    folder = boundary.write(tmp_path / "x")
    (folder / "infections.csv").unlink()
    ex = load_extract(folder)
    assert ex.absent == {"infections": ("*",)} and len(ex.infections) == 0
    assert list(ex.infections.columns) == ["patient_id", "infection_type", "onset_date"]


def test_missing_folder(tmp_path):
    with pytest.raises(ExtractError, match="expected a folder"):
        load_extract(tmp_path / "nowhere")


def test_semicolon_delimited_file_gets_a_hint(tmp_path):
    folder = _broken(tmp_path, "patients", lambda f: f.to_csv(index=False, sep=";"))
    with pytest.raises(ExtractError, match="save the file with commas"):
        load_extract(folder)


def test_wrong_encoding(tmp_path):
    folder = boundary.write(tmp_path / "x")
    path = folder / "patients.csv"
    path.write_bytes(path.read_text(encoding="utf-8").replace("White", "Wéite").encode("latin-1"))
    with pytest.raises(ExtractError, match="UTF-8"):
        load_extract(folder)


def test_truncated_row(tmp_path):
    folder = _rewritten(tmp_path, "medications", lambda text: text + 'E01,"prednisone,glucocorticoid\n')
    with pytest.raises(ExtractError, match="medications.csv"):
        load_extract(folder)


def test_both_csv_and_parquet_is_ambiguous(tmp_path):
    folder = boundary.write(tmp_path / "x")
    shutil.copy(folder / "infections.csv", folder / "infections.parquet")
    with pytest.raises(ExtractError, match="found both"):
        load_extract(folder)


def test_error_lists_first_rows_and_how_many(tmp_path):
    folder = _broken(tmp_path, "patients", _set("age_years", list(range(0, 12)), "200"))
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    assert info.value.n_rows == 12
    assert "Lines 2, 3, 4, 5, 6 and 7 more" in str(info.value)


def test_input_files_are_never_modified(tmp_path):
    folder = boundary.write(tmp_path / "x")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    load_extract(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_empty_extract_is_an_error(tmp_path):
    folder = _broken(tmp_path, "patients", lambda f: f.iloc[0:0])
    with pytest.raises(ExtractError, match="at least one patient row"):
        load_extract(folder)


def test_file_cut_off_mid_line_is_an_error(tmp_path):
    # no line end, and the last row short
    folder = _rewritten(tmp_path, "patients", lambda text: text.rstrip("\n")[:-200])
    with pytest.raises(ExtractError, match="looks truncated") as info:
        load_extract(folder)
    assert info.value.rows == [55]


def test_column_empty_in_every_row_warns_and_loads(tmp_path):
    from screening.errors import ExtractWarning

    folder = _broken(tmp_path, "patients", _set("egfr", slice(None), ""))
    with pytest.warns(ExtractWarning, match="patients.csv: column egfr empty in every row"):
        ex = load_extract(folder)
    assert ex.patients["egfr"].isna().all() and ex.n_patients == 54


def test_row_longer_than_the_header_is_an_error_not_a_shift(tmp_path):
    # the first data row gets one field too many
    folder = _rewritten(tmp_path, "patients", lambda text: text.replace("\nE01,", "\nE01,extra,", 1))
    with pytest.raises(ExtractError, match="more fields than the header"):
        load_extract(folder)


def test_optional_diagnosis_date_may_be_left_out_without_a_warning(tmp_path):
    import warnings

    folder = _broken(tmp_path, "patients", lambda f: f.drop(columns=["sle_diagnosis_date"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex = load_extract(folder)
    dx = ex.patients["sle_diagnosis_date"]
    assert str(dx.dtype) == "datetime64[s]" and dx.isna().all() and ex.n_patients == 54


# --- every problem of a failed load, listed -----------------------------------------------------

def _three_problems(tmp_path, fmt: str = "csv"):
    """An age out of range, a course stopped before it started, and an infection of an unknown patient."""
    folder = boundary.write(tmp_path / "x")
    for table, edit in (("patients", _set("age_years", [2], "200")),
                        ("medications", _set("stop_date", [1], "2019-01-01")),
                        ("infections", _set("patient_id", [0], "Z98"))):
        path = folder / f"{table}.csv"
        edit(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)
    if fmt == "parquet":  # the same text, as a registry's Parquet export of text columns holds it
        for table in TABLES:
            path = folder / f"{table}.csv"
            pd.read_csv(path, dtype=str, keep_default_na=False).to_parquet(path.with_suffix(".parquet"), index=False)
            path.unlink()
    return folder


def _thorough_only(monkeypatch):
    """Make the fast path doubt every table, so that the thorough path reads and checks each one."""
    from screening.io import columnar

    def doubt(*args, **kwargs):
        raise columnar.Suspect("forced by the test")
    monkeypatch.setattr(columnar, "read_checked", doubt)


@pytest.mark.parametrize("path", ["fast", "thorough"])
def test_a_failed_load_lists_every_problem_in_every_table(tmp_path, monkeypatch, path):
    folder = _three_problems(tmp_path)
    if path == "thorough":
        _thorough_only(monkeypatch)
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    err = info.value
    assert err.failure_cases.assign(file=err.failure_cases["file"].str.rsplit("/", n=1).str[-1]).to_dict("records") == [
        {"file": "patients.csv", "column": "age_years", "check": "in_range", "rows": 1, "examples": "line 4: 200"},
        {"file": "medications.csv", "column": "stop_date", "check": "not_before", "rows": 1,
         "examples": "line 3: '2019-01-01'"},
        {"file": "infections.csv", "column": "patient_id", "check": "in_patients", "rows": 1,
         "examples": "line 2: 'Z98'"},
    ]
    # the first problem reads as it always has; the other two follow it in the same message
    first = (f"{folder / 'patients.csv'}, column 'age_years': 1 line does not match: expected a whole number "
             "from 0 to 90.\n  Line 4 (values 200).")
    assert str(err).startswith(first + "\n2 more checks fail:\n- ")
    message = str(err)
    assert "'stop_date': 1 line does not match: expected a date not before start_date in the same row." in message
    assert "'patient_id': 1 line does not match: expected a patient_id present in the patients table." in message
    assert err.file.endswith("patients.csv") and err.rows == [4] and [e.column for e in err.others] == [
        "stop_date", "patient_id"]


@pytest.mark.parametrize("path", ["fast", "thorough"])
def test_a_failed_parquet_load_lists_every_problem_by_row(tmp_path, monkeypatch, path):
    folder = _three_problems(tmp_path, "parquet")
    if path == "thorough":
        _thorough_only(monkeypatch)
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    assert info.value.failure_cases[["column", "check", "examples"]].values.tolist() == [
        ["age_years", "in_range", "row 3: 200"], ["stop_date", "not_before", "row 2: '2019-01-01'"],
        ["patient_id", "in_patients", "row 1: 'Z98'"]]


def test_a_value_that_does_not_parse_is_listed_with_the_other_problems_of_its_column(tmp_path):
    folder = _broken(tmp_path, "patients", lambda f: _set("age_years", [2], "200")(_set("age_years", [5], "abc")(f)))
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    cases = info.value.failure_cases
    assert cases[["column", "check", "rows", "examples"]].values.tolist() == [
        ["age_years", "format", 1, "line 7: 'abc'"], ["age_years", "in_range", 1, "line 4: 200"]]


def test_strict_lists_unknown_coded_values_with_the_other_problems(tmp_path):
    folder = _broken(tmp_path, "patients", lambda f: _set("sex", [1], "X")(_set("age_years", [2], "200")(f)))
    with pytest.raises(ExtractError) as info:
        load_extract(folder, strict=True)
    assert info.value.failure_cases[["column", "check"]].values.tolist() == [["age_years", "in_range"],
                                                                            ["sex", "allowed"]]


def test_events_of_a_missing_patient_id_are_named_once(tmp_path):
    folder = _broken(tmp_path, "medications", _set("patient_id", [2], ""))
    with pytest.raises(ExtractError) as info:
        load_extract(folder)
    assert info.value.failure_cases[["column", "check", "examples"]].values.tolist() == [
        ["patient_id", "required", "line 4: <NA>"]]


def test_converted_tables_list_every_problem_too():
    from screening.io.extract import extract_from_tables

    tables = generate(60, seed=4)
    tables["patients"].loc[3, "age_years"] = 120
    tables["medications"].loc[0, "dose"] = -1.0
    with pytest.raises(ExtractError) as info:
        extract_from_tables(tables, "omop", "hash")
    assert info.value.failure_cases[["file", "column", "check", "rows"]].values.tolist() == [
        ["omop/patients (converted)", "age_years", "in_range", 1],
        ["omop/medications (converted)", "dose", "in_range", 1]]
