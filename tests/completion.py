"""Completions of an extract: every missing value replaced by an admissible one.

A completion is what the registry might have recorded had nothing been missing.
It must pass the data dictionary (ranges, allowed values, dates not after
baseline, start not after stop) and respect the facts the rules rely on: whoever is
pregnant, breastfeeding or of child-bearing potential is a woman (a man's blank flags are
false), and the grades and flags :mod:`screening.rules.implied` reads together agree (never
had nephritis: renal BILAG E; in remission: C or D; neuropsychiatric D or E: CNS lupus not active). A drug
name the vocabulary did not know (missing) is some ingredient of its row's class; a class it
did not know (only ever beside an unknown name) is any class. An empty ``stop_date`` is not
missing (it means ongoing), so it is never filled.

Values are drawn to land on the rules' boundaries often: half from the values the
column already holds or the thresholds the criterion names (±1), half uniformly
over the admissible range; dates near window edges or anywhere in ten years.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from screening.io.extract import Extract
from screening.io.schema import TABLES
from screening.io.vocabulary import ingredients
from screening.rules.implied import IMPLIED, values_of

DAY = np.timedelta64(1, "D")
INGREDIENTS = ingredients()
BY_CLASS = {c: group["drug"].to_numpy() for c, group in INGREDIENTS.groupby("drug_class")}
WOMEN_ONLY = ("pregnant", "breastfeeding", "childbearing_potential")


def thresholds(params: dict) -> tuple[list[float], list[int]]:
    """Numbers a criterion compares against, and the window lengths (days) its dates may sit on."""
    numbers, days = [], [0]
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        numbers.append(float(value))
        if "month" in key:
            days.append(round(value * 365.25 / 12))
        elif "year" in key:
            days.append(round(value * 365.25))
        elif "week" in key:
            days.append(round(value * 7))
        elif "days" in key:
            days.append(int(value))
    return numbers, days


def _numbers(rng, f, col: pd.Series, n: int, numbers: list[float]) -> np.ndarray:
    lo = f.min if f.min is not None else 0.0
    hi = f.max if f.max is not None else 1000.0
    observed = col.dropna().to_numpy(dtype=float)
    near = np.array([v + d for v in numbers for d in (-1, -0.5, 0, 0.5, 1) if lo <= v + d <= hi] or [lo])
    pools = [rng.uniform(lo, hi, n), rng.choice(near, n), rng.choice(observed, n) if len(observed) else
             rng.uniform(lo, hi, n)]
    out = np.choose(rng.integers(0, 3, n), pools)
    out = np.clip(out, lo, hi)
    return np.round(out) if f.kind == "int" else out


def _offsets(rng, n: int, days: list[int], same: bool) -> np.ndarray:
    """Days before baseline: on a window edge (±1 day) or anywhere from a year after to ten years before.

    With ``same``, every date of the column lies a month after baseline or ten years before it.
    """
    if same and rng.random() < 0.5:
        return np.full(n, -30 if rng.random() < 0.5 else 3650)
    edge = rng.choice(np.array(days), n) + rng.integers(-1, 2, n)
    anywhere = rng.integers(-365, 3650, n)
    return np.where(rng.random(n) < 0.5, edge, anywhere)


#: id of a categorical's categories -> (those categories, held so the id stays theirs; each one's code)
_CODES: dict[int, tuple[pd.Index, dict]] = {}


def _codes(categories: pd.Index) -> dict:
    """Each of ``categories`` -> its code (a dictionary: a pandas lookup of a few values costs far more)."""
    if id(categories) not in _CODES:
        if len(_CODES) > 1000:
            _CODES.clear()
        _CODES[id(categories)] = categories, {v: i for i, v in enumerate(categories.to_numpy(dtype=object))}
    return _CODES[id(categories)][1]


def _put(frame: pd.DataFrame, column: str, rows: np.ndarray, values) -> None:
    """``frame.loc[rows, column] = values`` (``rows`` a boolean mask), as strict but written through the array.

    ``.loc`` re-validates a categorical's categories on every write (a millisecond each, most of a completion's
    time); a value outside the categories still raises here, as it does there.
    """
    col = frame[column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        wanted = np.broadcast_to(np.asarray(values, dtype=object), (int(rows.sum()),))
        code = _codes(col.cat.categories)
        new = np.fromiter((code.get(v, -1) for v in wanted), dtype=np.int64, count=len(wanted))
        if (new < 0).any():
            raise TypeError(f"{column}: {sorted(set(wanted[new < 0]))} are not among its categories")
        codes = col.cat.codes.to_numpy().copy()
        codes[rows] = new
        frame[column] = pd.Categorical.from_codes(codes, dtype=col.dtype)
    else:
        array = col.array.copy()
        array[rows] = values
        frame[column] = array


def _draw(rng: np.random.Generator, p: pd.DataFrame, column: str, rows: np.ndarray, allowed: tuple) -> None:
    if rows.any():
        _put(p, column, rows, rng.choice(np.array(allowed, dtype=object), int(rows.sum())))


def _fill_implied(p: pd.DataFrame, rng: np.random.Generator) -> None:
    """Blank renal and neuropsychiatric grades, nephritis status and CNS flag, each as its partner allows."""
    for column in ("lupus_nephritis", "bilag_neuropsychiatric"):  # one of each pair first, then its partner
        partner, allows = IMPLIED[column]
        if column not in p or partner not in p:
            continue
        _, back = IMPLIED[partner]
        gap, other = p[column].isna().to_numpy(), p[partner]
        both = gap & other.isna().to_numpy()
        _draw(rng, p, column, both, values_of(column))  # free, then the partner follows it
        for value in values_of(partner):
            _draw(rng, p, column, gap & ~both & (other == value).fillna(False).to_numpy(dtype=bool),
                  allows.get(value, values_of(column)))
        gap, mine = p[partner].isna().to_numpy(), p[column]
        for value in values_of(column):
            _draw(rng, p, partner, gap & (mine == value).fillna(False).to_numpy(dtype=bool),
                  back.get(value, values_of(partner)))


def _as(frame: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
    """``frame.astype(dtypes)``, casting only the columns whose type differs (most already have it)."""
    differ = {c: t for c, t in dtypes.items() if frame[c].dtype != t}
    return frame.astype(differ) if differ else frame


def complete(ex: Extract, rng: np.random.Generator, params: dict) -> Extract:
    """One random admissible completion of ``ex`` (nothing missing but ongoing stop dates).

    ``params`` holds the thresholds and windows to aim at (any names; numbers whose name holds
    ``month``, ``year`` or ``days`` are window lengths).
    """
    numbers, days = thresholds(params)
    # Half the completions give every flag one value, every coded column the same choice and every
    # number one end of its range: "none of the nine BILAG domains active" is then as likely as any.
    same = rng.random() < 0.5
    flag, choice = rng.random() < 0.5, int(rng.integers(0, 1000))
    p = ex.patients.copy()
    fields = {f.name: f for f in TABLES["patients"]}
    # A man's blank pregnancy, breastfeeding or child-bearing potential can only be false.
    man = (p["sex"] == "M").fillna(False).to_numpy() if "sex" in p else np.zeros(len(p), dtype=bool)
    for name in WOMEN_ONLY:
        if name in p:
            _put(p, name, man & p[name].isna().to_numpy(), False)
    for name, f in fields.items():
        if name not in p or f.kind == "date" or name == "sex" or name in IMPLIED:
            continue
        gap = p[name].isna().to_numpy()
        if not gap.any():
            continue
        k = int(gap.sum())
        if f.kind == "bool":
            values = np.full(k, flag) if same else rng.random(k) < 0.5
        elif f.kind == "category":
            values = np.full(k, f.allowed[choice % len(f.allowed)]) if same else rng.choice(np.array(f.allowed), k)
        elif f.kind in ("str", "id"):  # free text (site): one of the values the column holds
            values = rng.choice(p[name].dropna().astype(str).unique(), k)
        elif same:  # the range's low or high end: witnesses both sides of any one threshold
            values = np.full(k, f.min if rng.random() < 0.5 else f.max)
        else:
            values = _numbers(rng, f, p[name], k, numbers)
        _put(p, name, gap, values)
    # Sex last: whoever is pregnant, breastfeeding or of child-bearing potential is a woman.
    flags_true = np.zeros(len(p), dtype=bool)
    for name in WOMEN_ONLY:
        if name in p:
            flags_true |= p[name].fillna(False).to_numpy(dtype=bool)
    if "sex" in p:
        gap = p["sex"].isna().to_numpy()
        _put(p, "sex", gap, np.where(flags_true[gap] | (rng.random(int(gap.sum())) < 0.5), "F", "M"))
    _fill_implied(p, rng)
    # Baseline first (not before any dated test), then dates that may not come after it.
    dated = [n for n, f in fields.items() if f.kind == "date" and f.not_after == "baseline_date" and n in p]
    if "baseline_date" in p:
        gap = p["baseline_date"].isna().to_numpy()
        latest = p[dated].max(axis=1).to_numpy(dtype="datetime64[s]")
        observed = p["baseline_date"].dropna().to_numpy(dtype="datetime64[s]")
        guess = rng.choice(observed, len(p)) if len(observed) else np.full(len(p), np.datetime64("2024-06-15"))
        later = np.where(np.isnat(latest), guess, latest + rng.integers(0, 400, len(p)) * DAY)
        _put(p, "baseline_date", gap, later[gap])
    base = p["baseline_date"].to_numpy(dtype="datetime64[s]")
    for name in dated:
        gap = p[name].isna().to_numpy()
        back = np.clip(_offsets(rng, len(p), days, same), 0, None) * DAY
        _put(p, name, gap, (base - back)[gap])
    out = {"patients": _as(p, ex.patients.dtypes)}
    for table in ("medications", "malignancies", "infections"):
        events = ex.table(table).copy()
        rows = ex.patient_rows(table)
        ev_base = base[rows]
        # A drug's class first: an unrecognised name is then some ingredient of that class.
        for f in sorted(TABLES[table], key=lambda f: f.name == "drug"):
            if f.name not in events or f.name == "stop_date" or f.kind == "id":
                continue
            gap = events[f.name].isna().to_numpy()
            if not gap.any():
                continue
            k = int(gap.sum())
            if f.kind == "date":
                value = ev_base[gap] - _offsets(rng, k, days, same) * DAY
                if f.name == "start_date" and "stop_date" in events:
                    stop = events["stop_date"].to_numpy(dtype="datetime64[s]")[gap]
                    value = np.where(~np.isnat(stop) & (stop < value), stop, value)
                _put(events, f.name, gap, value)
            elif f.name == "drug":  # an unrecognised name: some ingredient of the row's class
                events[f.name] = events[f.name].cat.add_categories(
                    [d for d in INGREDIENTS["drug"] if d not in events[f.name].cat.categories])
                klass = events.loc[gap, "drug_class"].astype(str).to_numpy()
                _put(events, f.name, gap, [rng.choice(BY_CLASS[c]) for c in klass])
            elif f.kind == "category":
                _put(events, f.name, gap, rng.choice(np.array(f.allowed), k))
            elif same:
                _put(events, f.name, gap, f.min if rng.random() < 0.5 else f.max)
            else:
                value = _numbers(rng, f, events[f.name], k, numbers)
                if f.name == "dose":
                    # Stability turns on a missing dose equal to one of the same drug's other doses (any of
                    # them: the one beside it in the stable weeks may be the last): draw one of them often.
                    known = events[events["dose"].notna()]
                    known = known.iloc[rng.permutation(len(known))]
                    pick = known.groupby(["patient_id", "drug"], observed=True)["dose"].first()
                    keys = pd.MultiIndex.from_frame(events.loc[gap, ["patient_id", "drug"]].astype(object))
                    sibling = pick.reindex(keys).to_numpy(dtype=float, na_value=np.nan)
                    value = np.where(~np.isnan(sibling) & (rng.random(k) < 0.5), sibling, value)
                _put(events, f.name, gap, value)
        out[table] = _as(events, ex.table(table).dtypes.drop("drug", errors="ignore"))
    return replace(ex, **out, _rows=dict(ex._rows))


def blank(ex: Extract, rng: np.random.Generator, share: float) -> Extract:
    """``ex`` with a further ``share`` of its optional cells made missing (ongoing stop dates untouched)."""

    out = {}
    for table, fields in TABLES.items():
        frame = ex.table(table).copy()
        for f in fields:
            # A required coded value may be unrecognised (read as missing); ids never miss.
            if f.kind == "id" or f.name not in frame or f.name == "stop_date":
                continue
            hit = rng.random(len(frame)) < share
            if f.name == "drug_class":  # the loader takes a known drug's class from the vocabulary
                hit &= frame["drug"].isna().to_numpy()
            frame.loc[hit, f.name] = pd.NA if f.kind != "date" else pd.NaT
        out[table] = frame
    return replace(ex, **out, _rows=dict(ex._rows))


#: what a blanked required coded value is written as: a word no vocabulary knows, so it is read back missing
UNKNOWN_WORD = "Zz-unknown"


def written(ex: Extract) -> dict[str, pd.DataFrame]:
    """``ex``'s tables ready to write, a missing required coded value spelled as :data:`UNKNOWN_WORD`."""
    out = {}
    for table, fields in TABLES.items():
        frame = ex.patients.reset_index() if table == "patients" else ex.table(table)
        for f in fields:
            if f.required and f.kind != "id" and f.name in frame and frame[f.name].isna().any():
                col = frame[f.name].astype("category")
                frame = frame.assign(**{f.name: col.cat.add_categories([UNKNOWN_WORD]).fillna(UNKNOWN_WORD)})
        out[table] = frame
    return out


def stack(extracts: list[Extract]) -> Extract:
    """Extracts of the same patients (completions of one extract) as one: patient ``P1`` of the ``k``-th is
    ``P1~k``. A vectorised rule answers every patient of the stack as it answers them in their own extract,
    so one pass over ten completions costs about what one pass over one does.
    """
    n = extracts[0].n_patients
    index = pd.Index(np.concatenate([e.patients.index.astype(str) + f"~{k}" for k, e in enumerate(extracts)]),
                     dtype=extracts[0].patients.index.dtype, name=extracts[0].patients.index.name)
    out = {"patients": pd.concat([e.patients for e in extracts]).set_axis(index)}
    rows = {}
    for table in ("medications", "malignancies", "infections"):
        frames = [e.table(table).copy() for e in extracts]
        for k, frame in enumerate(frames):
            frame["patient_id"] = pd.Categorical(frame["patient_id"].astype(str) + f"~{k}", categories=index)
        for column in frames[0].columns:
            if isinstance(frames[0][column].dtype, pd.CategoricalDtype) and column != "patient_id":
                # A completion adds categories (a blank drug became some ingredient): share their union.
                union = pd.Index(pd.unique(np.concatenate([f[column].cat.categories.to_numpy(dtype=object)
                                                           for f in frames])))
                for frame in frames:
                    frame[column] = frame[column].cat.set_categories(
                        union.astype(frame[column].cat.categories.dtype))
        out[table] = pd.concat(frames, ignore_index=True)
        rows[table] = np.concatenate([e.patient_rows(table).astype(np.int64) + k * n for k, e in enumerate(extracts)])
    return replace(extracts[0], **out, _rows=rows)
