"""Write an extract the way real registries do: the same facts, less tidy spelling.

Only the writing changes, never a value's meaning; every difference from the clean
writer is declared here, so a test can undo exactly these and get the clean files back:

- drug names in mixed case, upper case or as the brand names in :data:`BRANDS`;
- coded values written as the synonyms in :data:`SYNONYMS` (``Female``, ``Caucasian``,
  ``Corticosteroids``, ``Shingles``, ...), some with a no-break space between words or in
  full-width letters (``Ｆ``), which Unicode NFKC folds back;
- the columns in :data:`MIXED_CASE` (drug names and every fixed-list column) in lower, upper or title case;
- booleans spelled ``Yes``/``No``, ``TRUE``/``FALSE`` or ``1``/``0`` (all accepted by the loader);
- stray spaces around text cells;
- the columns in :data:`ABSENT` (read by no shipped protocol) left out.

Each choice is drawn per cell from a seeded generator, so a messy extract is
reproducible too. The vocabulary layer that reads such files back is tested on them.

Example
-------
>>> from screening.synth.synthetic import generate
>>> from screening.synth.messy import messy_tables
>>> t = messy_tables(generate(300, seed=2), seed=2)
>>> "proteinuria_g_per_g" in t["patients"].columns
False
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.io.schema import TABLES

__all__ = ["ABSENT", "BRANDS", "MIXED_CASE", "SYNONYMS", "BOOLEAN_SPELLINGS", "messy_tables"]

#: Brand names a registry may record instead of the ingredient.
BRANDS = {"belimumab": "Benlysta", "rituximab": "Rituxan", "mycophenolate": "CellCept", "anifrolumab": "Saphnelo"}
#: Columns written in mixed case (table -> columns): drug names and every fixed-list column, as the
#: vocabulary layer reads them.
MIXED_CASE = {table: (("drug",) if table == "medications" else ())
              + tuple(f.name for f in fields if f.kind == "category") for table, fields in TABLES.items()}
#: Other spellings a registry uses for coded values (column -> canonical -> spelling), each in vocabulary.csv.
SYNONYMS = {
    "sex": {"F": "Female", "M": "Male"},
    "race_ethnicity": {"White": "Caucasian", "Black": "Black or African American", "Hispanic": "Hispanic or Latino",
                       "Other": "Other race"},
    "lupus_nephritis": {"never": "No nephritis", "remission": "In remission"},
    "chest_xray": {"tb_or_fungal": "TB or fungal", "other_abnormal": "Other abnormal"},
    "drug_class": {"glucocorticoid": "Corticosteroids", "immunosuppressant": "Immunosuppressants",
                   "antimalarial": "Anti-malarial", "biologic": "Biologics"},
    "dose_unit": {"mg/day": "mg/d"},
    "malignancy_type": {"basal_cell_skin": "Basal cell carcinoma", "squamous_cell_skin": "Squamous cell skin",
                        "cervical_carcinoma_in_situ": "Cervical carcinoma in situ", "breast": "Breast cancer",
                        "other": "Other malignancy"},
    "infection_type": {"herpes_zoster": "Shingles", "serious_infection": "Serious infection"},
}
#: Share of coded cells written as their synonym, then with a no-break space or full-width letters.
SYNONYM_SHARE, UNICODE_SHARE = 0.4, 0.05
#: printable ASCII -> its full-width form (0xFEE0 above it), which NFKC folds back
_FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
#: (true, false) spellings used for booleans.
BOOLEAN_SPELLINGS = (("true", "false"), ("Yes", "No"), ("TRUE", "FALSE"), ("1", "0"))


#: Optional columns a messy extract leaves out (read by no shipped protocol; a test checks).
ABSENT = {"patients": ("proteinuria_g_per_g",)}


def _text(column: pd.Series) -> pd.Series:
    """A column as the clean writer spells it: dates YYYY-MM-DD, booleans true/false, blanks missing."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.strftime("%Y-%m-%d").astype(object)
    if pd.api.types.is_bool_dtype(column) or str(column.dtype) == "boolean":
        return column.map({True: "true", False: "false"}).astype(object)
    return column.astype(object).where(column.notna(), None).map(lambda v: v if v is None else str(v))


def _recase(rng, values: pd.Series) -> pd.Series:
    style = rng.integers(0, 4, len(values))
    text = values.astype("string")
    out = np.select([style == 1, style == 2, style == 3], [text.str.lower(), text.str.upper(), text.str.title()],
                    text)
    return pd.Series(out, index=values.index, dtype=object).where(values.notna(), None)


def _synonyms(rng, values: pd.Series, spelled: dict[str, str]) -> pd.Series:
    """Some values as their synonym; a few with a no-break space between words or in full-width letters."""
    synonym = values.map(spelled)
    out = values.where(~(synonym.notna().to_numpy() & (rng.random(len(values)) < SYNONYM_SHARE)), synonym)
    odd = out.notna().to_numpy() & (rng.random(len(values)) < UNICODE_SHARE)
    wide = rng.random(len(values)) < 0.5
    text = out.astype("string")
    nbsp = text.str.replace(" ", "\u00a0", regex=False)
    changed = np.where(wide, text.str.translate(_FULL_WIDTH), nbsp)
    return out.where(~odd, pd.Series(changed, index=values.index, dtype=object))


def messy_tables(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """The tables as text, spelled the way registries write them (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, table in tables.items():
        text = pd.DataFrame({col: _text(table[col]) for col in table.columns if col not in ABSENT.get(name, ())})
        if name == "medications":
            brand = table["drug"].map(BRANDS)
            use_brand = brand.notna().to_numpy() & (rng.random(len(table)) < 0.5)
            text["drug"] = text["drug"].where(~use_brand, brand)
        for col in MIXED_CASE.get(name, ()):
            if col in text:
                text[col] = _recase(rng, _synonyms(rng, text[col], SYNONYMS.get(col, {})))
        for col in text.columns:
            if str(table[col].dtype) in ("boolean", "bool"):
                pick = rng.integers(0, len(BOOLEAN_SPELLINGS), len(text))
                yes = np.array([s[0] for s in BOOLEAN_SPELLINGS], dtype=object)[pick]
                no = np.array([s[1] for s in BOOLEAN_SPELLINGS], dtype=object)[pick]
                text[col] = np.where(text[col] == "true", yes, np.where(text[col] == "false", no, None))
        # Stray spaces around a few text cells (never an id: those are keys).
        for col in text.columns:
            if col == "patient_id" or not (table[col].dtype == object or isinstance(table[col].dtype, pd.StringDtype)
                                           or isinstance(table[col].dtype, pd.CategoricalDtype)
                                           or col in MIXED_CASE.get(name, ())):
                continue
            pad = rng.random(len(text)) < 0.05
            values = text[col]
            text[col] = values.where(~(pad & values.notna().to_numpy()), " " + values.astype(str) + " ")
        out[name] = text
    return out
