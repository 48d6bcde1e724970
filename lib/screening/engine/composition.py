"""Who each criterion excludes: the pool's make-up at every step of the funnel.

SLE falls hardest on women and on Black, Hispanic and Asian patients, and renal,
haematological and prior-therapy criteria can remove some groups far more than
others. These tables answer "whom does this criterion exclude?" the way
ethics boards and diversity plans ask it:

* :func:`composition_along`: the distribution of each characteristic among the
  patients still in play after every step, with standardised mean differences
  (SMD) against the whole extract and against the step before;
* :func:`differential_exclusion`: per criterion and group, the share of the
  group's patients the criterion removes (alone, and in sequence), its ratio to
  the overall share, and how the step moves the group's share of the pool;
* :func:`leave_one_out_by`: how dropping each criterion would change each
  group's share of the eligible pool.

A missing value is a group of its own, ``(missing)``, never dropped. Counts here
are exact (internal); :mod:`screening.disclosure.shareable` protects them for sharing.

SMD for one level of a characteristic treats it as a yes/no indicator:
``(p1 - p2) / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)`` (Austin 2009, *Statistics
in Medicine* 28:3083, the form tableone and EquiFlow report per level). It is 0
when both shares are 0 or both are 1, and undefined (NaN) when one share is 0
and the other 1, or a population is empty.

Example
-------
>>> from screening import load_extract, screen
>>> s = screen(load_extract("data/synthetic"))
>>> along = composition_along(s, ["sex"])
>>> first = along[along["step"] == 0]
>>> int(first["patients"].sum()) == len(s.extract.patients)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.engine.counts import count_states, placement

__all__ = ["CHARACTERISTICS", "AGE_BINS", "composition_along", "differential_exclusion", "leave_one_out_by",
           "smd", "characteristic_groups"]

#: Age bands of the shared tables: under 18, 18–29, 30–39, 40–49, 50–65, 66 and over.
AGE_BINS = [0, 18, 30, 40, 50, 66, 91]

#: What the report describes by default, and the bands a numeric field is cut into.
CHARACTERISTICS: dict[str, list | None] = {
    "sex": None, "race_ethnicity": None, "age_years": AGE_BINS, "site": None,
}

#: Bands for clinical fields a user may name; anything else numeric must come with its bins.
CLINICAL_BANDS: dict[str, list] = {
    "sledai_2k": [0, 4, 6, 10, 106],
    "egfr": [0, 30, 60, 90, 201],
}

MISSING = "(missing)"


def characteristic_groups(s, column: str, bins=None) -> pd.Series:
    """Each patient's group for ``column`` as text, missing values as ``(missing)``.

    Numeric fields are cut into ``bins`` (left-closed bands); without bins, a known
    clinical field uses :data:`CLINICAL_BANDS` and age uses :data:`AGE_BINS`.
    """
    if bins is None:
        bins = CHARACTERISTICS.get(column) or CLINICAL_BANDS.get(column)
    return s._groups(column, bins)


def smd(p1, p2) -> np.ndarray:
    """Standardised difference of two shares (arrays broadcast); NaN where undefined."""
    p1, p2 = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    var = (p1 * (1 - p1) + p2 * (1 - p2)) / 2
    diff = p1 - p2
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(var > 0, diff / np.sqrt(var), np.where(diff == 0, 0.0, np.nan))
    return np.where(np.isnan(p1) | np.isnan(p2), np.nan, out)


def _leave_step(s) -> np.ndarray:
    """The step (1-based) at which each patient leaves the funnel; eligible patients never leave (k + 1)."""
    status, where = placement(s.states)
    return np.where(status == 0, len(s.criteria) + 1, where + 1)


def _in_play(s, groups: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Patients still in play after each step, per group: a (steps + 1) × groups matrix."""
    codes, levels = pd.factorize(groups, sort=True)
    k = len(s.criteria)
    leaving = np.zeros((k + 2, len(levels)), dtype=np.int64)
    np.add.at(leaving, (_leave_step(s), codes), 1)
    # In play after step j: everyone who leaves at a later step, or never.
    in_play = leaving[::-1].cumsum(axis=0)[::-1][1:]
    return in_play, [str(x) for x in levels]


def composition_along(s, columns: list[str] | None = None, bins: dict | None = None) -> pd.DataFrame:
    """The make-up of the patients still in play after every step, with SMDs.

    One row per step, characteristic and group: ``patients`` in play in the group,
    ``percent`` of those in play, and the SMD of the group's share against the
    extract (step 0) and against the previous step. After step *j*, the patients in
    play are those the first *j* criteria neither excluded nor set aside as not
    assessable, exactly as in :meth:`Screening.attrition`, so a step's groups add
    up to its ``in_play`` count.

    Example
    -------
    >>> from screening import load_extract, screen
    >>> s = screen(load_extract("data/synthetic"))
    >>> t = composition_along(s, ["sex"])
    >>> list(t.columns[3:7])
    ['characteristic', 'group', 'in_play', 'patients']
    """
    columns = list(CHARACTERISTICS) if columns is None else list(columns)
    bins = bins or {}
    parts = [_along(s, column, characteristic_groups(s, column, bins.get(column))) for column in columns]
    return pd.concat(parts, ignore_index=True)


def _along(s, column: str, groups: pd.Series) -> pd.DataFrame:
    steps = ["extract"] + s.ids
    labels = ["Patients in extract"] + [c.display_label for c in s.criteria]
    in_play, levels = _in_play(s, groups)
    totals = in_play.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals > 0, in_play / np.where(totals > 0, totals, 1), np.nan)
    previous = np.vstack([share[:1], share[:-1]])
    n_steps, n_levels = in_play.shape
    return pd.DataFrame({
        "step": np.repeat(np.arange(n_steps), n_levels),
        "criterion": np.repeat(steps, n_levels),
        "label": np.repeat(labels, n_levels),
        "characteristic": column,
        "group": np.tile(levels, n_steps),
        "in_play": np.repeat(totals[:, 0], n_levels),
        "patients": in_play.ravel(),
        "percent": np.round(100 * share, 1).ravel(),
        "smd_vs_extract": np.round(smd(share, np.broadcast_to(share[:1], share.shape)), 3).ravel() + 0.0,
        "smd_vs_previous": np.round(smd(share, previous), 3).ravel() + 0.0,
    })


def _group_counts(s, groups: pd.Series):
    """Funnel counts within each group (counts add up across groups)."""
    values = groups.to_numpy()
    levels = sorted(set(values))
    return levels, [count_states(s.states[values == level]) for level in levels]  # one pass per group


def differential_exclusion(s, column: str, bins=None) -> pd.DataFrame:
    """Per criterion and group: whom the criterion removes, against everyone.

    * ``removed_alone`` / ``share_alone``: the group's patients who fail the
      criterion whatever else they fail, as a share of the group's patients;
    * ``removed_in_sequence`` / ``share_in_sequence``: those excluded at this step
      of the funnel, as a share of the group's patients entering the step;
    * ``ratio_alone``, ``ratio_in_sequence``: the group's share over the share
      among all patients (above 1: the criterion hits the group harder);
    * ``pool_share_before`` / ``pool_share_after`` / ``share_change``: the group's
      percentage of the patients in play before and after the step, and the change
      in percentage points; ``rank_within_group`` orders criteria by how far they
      move that share (1 = the most).

    Example
    -------
    >>> from screening import load_extract, screen
    >>> s = screen(load_extract("data/synthetic"))
    >>> t = differential_exclusion(s, "sex")
    >>> len(t) == len(s.criteria) * t["sex"].nunique()
    True
    """
    return _differential(s, column, characteristic_groups(s, column, bins))


def _differential(s, column: str, groups: pd.Series) -> pd.DataFrame:
    levels, counts = _group_counts(s, groups)
    overall = count_states(s.states)
    in_play, in_play_levels = _in_play(s, groups)
    assert in_play_levels == [str(x) for x in levels]
    k = len(s.criteria)
    totals = in_play.sum(axis=1)

    def entering(c) -> np.ndarray:
        return c.total - np.concatenate([[0], np.cumsum(c.excluded_at + c.unknown_at)[:-1]])

    with np.errstate(invalid="ignore", divide="ignore"):
        all_alone = overall.fail_alone / overall.total if overall.total else np.full(k, np.nan)
        all_seq = overall.excluded_at / entering(overall)
        rows = []
        for j, (level, c) in enumerate(zip(levels, counts, strict=True)):
            alone = c.fail_alone / c.total
            seq = c.excluded_at / entering(c)
            before = 100 * in_play[:-1, j] / totals[:-1]
            after = 100 * in_play[1:, j] / totals[1:]
            rows.append(pd.DataFrame({
                "criterion": s.ids, "label": [x.display_label for x in s.criteria], "group": str(level),
                "patients_in_group": c.total, "removed_alone": c.fail_alone,
                "share_alone": np.round(100 * alone, 1), "ratio_alone": np.round(alone / all_alone, 2),
                "entering": entering(c), "removed_in_sequence": c.excluded_at,
                "share_in_sequence": np.round(100 * seq, 1), "ratio_in_sequence": np.round(seq / all_seq, 2),
                "pool_share_before": np.round(before, 1), "pool_share_after": np.round(after, 1),
                "share_change": np.round(after - before, 1) + 0.0,  # no "-0.0"
            }))
    table = pd.concat(rows, ignore_index=True).rename(columns={"group": column})
    table["rank_within_group"] = (table["share_change"].abs().groupby(table[column])
                                  .rank(method="first", ascending=False).astype("Int64"))
    return table


def leave_one_out_by(s, column: str, bins=None) -> pd.DataFrame:
    """Per criterion and group: the group's share of the eligible pool now, and with the criterion dropped.

    Example
    -------
    >>> from screening import load_extract, screen
    >>> s = screen(load_extract("data/synthetic"))
    >>> t = leave_one_out_by(s, "sex")
    >>> bool((t.groupby("criterion")["eligible_without"].sum() >= t.groupby("criterion")["eligible"].sum()).all())
    True
    """
    return _leave_one_out(s, column, characteristic_groups(s, column, bins))


def _leave_one_out(s, column: str, groups: pd.Series) -> pd.DataFrame:
    levels, counts = _group_counts(s, groups)
    eligible = np.array([c.status[0] for c in counts])
    without = np.vstack([c.eligible_without for c in counts])  # groups × criteria
    pool, pool_without = eligible.sum(), without.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_now = 100 * eligible / pool if pool else np.full(len(levels), np.nan)
        share_without = 100 * without / pool_without
    rows = []
    for i, cid in enumerate(s.ids):
        rows.append(pd.DataFrame({
            "criterion": cid, "label": s.criteria[i].display_label, column: [str(x) for x in levels],
            "eligible": eligible, "eligible_without": without[:, i],
            "share_now": np.round(share_now, 1), "share_without": np.round(share_without[:, i], 1),
            "share_change": np.round(share_without[:, i] - share_now, 1) + 0.0,
        }))
    return pd.concat(rows, ignore_index=True)


# --- shareable: the same tables as published counts, with the relations their definitions imply ----------------

#: Characteristics the shareable report describes along the funnel, and those it breaks exclusion down by.
SHARED_ALONG = ("sex", "race_ethnicity", "age_years", "site")
SHARED_BY = ("sex", "race_ethnicity", "age_years")
SMALL_GROUPS = "(small groups merged)"


def merge_small_groups(groups: pd.Series, min_patients: int) -> tuple[pd.Series, list[str]]:
    """Groups with fewer than ``min_patients`` in the extract merged into one; missing values stay apart.

    Returns the relabelled groups and the merged names (listed in provenance).
    """
    sizes = groups.value_counts()
    small = sorted(str(g) for g, n in sizes.items() if n < min_patients and g != MISSING)
    if not small:
        return groups, []
    return groups.where(~groups.isin(small), SMALL_GROUPS), small


def min_group_size(threshold: int) -> int:
    """Fewer patients than this in the extract and a group is too small to describe along the funnel.

    Most of such a group's 25 step counts would be at or below the threshold anyway.
    """
    return 3 * threshold


def add_makeup(pub, s, subgroup: tuple[str, str] | None = None) -> list[str]:
    """Register the make-up tables in ``pub`` (a :class:`~screening.engine.counts.Published`) with their relations.

    Published counts: ``makeup`` (patients in play per step and group),
    ``differential_<column>`` (removed alone and in sequence per criterion and group)
    and ``leave_one_out_<column>`` (eligible gained per group if a criterion were
    dropped). What ties them to the funnel, and to each other:

    * a step's groups add up to the patients in play after it (the attrition table);
      step 0 is the extract's composition, the last step the eligible pool's;
    * a group never grows along the funnel, and a step removes no more of it than
      entered minus what is left;
    * per criterion, the groups' removals add up to the criterion's own (alone) and
      to the step's excluded count (in sequence); the first step removes exactly who
      fails its criterion; in sequence never exceeds alone;
    * per criterion, the groups' gains add up to its gain if dropped.

    Groups smaller than :func:`min_group_size` are merged; a merged group still that
    small is withheld (then a step's groups add up to at most its total). Returns
    what was merged or withheld, for provenance. ``subgroup`` is the report's
    (table name, column) split by outcome, whose totals are the same patients.
    """
    notes: list[str] = []
    k = len(s.criteria)
    minimum = min_group_size(pub.rule.threshold)
    groups: dict[str, pd.Series] = {}
    complete: dict[str, bool] = {}  # False: the merged group is still too small, so it is withheld
    for column in SHARED_ALONG:
        if column not in s.extract.patients.columns:
            continue
        g, small = merge_small_groups(characteristic_groups(s, column), minimum)
        merged = int((g == SMALL_GROUPS).sum())
        complete[column] = not 0 < merged < minimum
        if small:
            notes.append(f"makeup / {column}: merged {', '.join(small)} into {SMALL_GROUPS}" if complete[column]
                         else f"makeup / {column}: withheld {', '.join(small)} (too few patients even merged)")
        groups[column] = g
    if not groups:
        return notes
    along = pd.concat([_along(s, c, g) for c, g in groups.items()], ignore_index=True)
    withheld = (along["group"] == SMALL_GROUPS) & ~along["characteristic"].map(complete)
    along = along[~withheld].reset_index(drop=True)
    table = along[["step", "criterion", "label", "characteristic", "group", "patients"]]
    pub.add("makeup", table, ["patients"])
    row = {(r.characteristic, r.step, r.group): i for i, r in enumerate(table.itertuples())}
    cell = lambda char, step, group: ("makeup", row[(char, step, group)], "patients")  # noqa: E731
    for (char, step), part in table.groupby(["characteristic", "step"], sort=False):
        parts = [("makeup", i, "patients") for i in part.index]
        if complete[char]:
            pub.total(("attrition", int(step), "remaining"), parts)
        else:
            pub.le(parts, ("attrition", int(step), "remaining"))
    for (char, step, group), i in row.items():
        if step > 0:
            pub.le(("makeup", i, "patients"), cell(char, step - 1, group))
    _tie_to_breakdowns(pub, row, groups, k, subgroup)
    for column in SHARED_BY:
        if column in groups and complete[column]:
            _add_by(pub, s, column, groups[column], cell)
    return notes


def _tie_to_breakdowns(pub, row: dict, groups: dict, k: int, subgroup) -> None:
    """Step 0 and the last step are the extract's and the eligible pool's composition (and the subgroup table's)."""
    ties = []  # (column, population step, published table, row position, column of that table)
    if "composition" in pub.tables:
        comp = pub.tables["composition"]
        for j, r in enumerate(comp.itertuples()):
            step = {"extract": 0, "eligible": k}.get(r.population)
            if step is not None:
                ties.append((r.column, step, str(r.group), ("composition", j, "patients")))
    if subgroup is not None and subgroup[0] in pub.tables:
        name, column = subgroup
        outcome = pub.tables[name]
        for j, group in enumerate(outcome.iloc[:, 0].astype(str)):
            ties += [(column, 0, group, (name, j, "total")), (column, k, group, (name, j, "eligible"))]
    merged: dict[tuple, list] = {}
    for column, step, group, other in ties:
        if column not in groups:
            continue
        if (column, step, group) in row:
            pub.same(("makeup", row[(column, step, group)], "patients"), other)
        elif (column, step, SMALL_GROUPS) in row:  # a merged group is the sum of its parts
            merged.setdefault((column, step, other[0], other[2]), []).append(other)
    for (column, step, _table, _col), parts in merged.items():
        pub.total(("makeup", row[(column, step, SMALL_GROUPS)], "patients"), parts)


def _add_by(pub, s, column: str, groups: pd.Series, cell) -> None:
    """Differential exclusion and leave-one-out by ``column``, tied to the criteria table and the make-up."""
    d = _differential(s, column, groups)
    name = f"differential_{column}"
    pub.add(name, d[["criterion", "label", column, "removed_alone", "removed_in_sequence"]],
            ["removed_alone", "removed_in_sequence"])
    loo = _leave_one_out(s, column, groups)
    loo = loo.assign(gain=loo["eligible_without"] - loo["eligible"])
    loo_name = f"leave_one_out_{column}"
    pub.add(loo_name, loo[["criterion", "label", column, "gain"]], ["gain"])
    for j, cid in enumerate(s.ids):
        rows = np.flatnonzero(d["criterion"].to_numpy() == cid)
        pub.total(("criteria", j, "excluded_alone"), [(name, int(i), "removed_alone") for i in rows])
        pub.total(("attrition", j + 1, "excluded"), [(name, int(i), "removed_in_sequence") for i in rows])
        gains = np.flatnonzero(loo["criterion"].to_numpy() == cid)
        pub.total(("criteria", j, "gain_if_dropped"), [(loo_name, int(i), "gain") for i in gains])
        for i in rows:
            i, group = int(i), str(d[column].iloc[i])
            alone, seq = (name, i, "removed_alone"), (name, i, "removed_in_sequence")
            pub.le(seq, alone)
            pub.le(alone, cell(column, 0, group))
            pub.le([seq, cell(column, j + 1, group)], cell(column, j, group))
            if j == 0:
                pub.same(seq, alone)


def _number(text: pd.Series) -> pd.Series:
    """Shown counts as numbers; redacted (≤N) or hidden (*) ones as missing."""
    text = text.astype(str)
    return pd.to_numeric(text.where(text.str.fullmatch(r"\d+")), errors="coerce")


def _text(values, digits: int) -> np.ndarray:
    """Rounded numbers as text, ``*`` where a count they derive from is not shown."""
    values = np.round(np.asarray(values, dtype=float), digits) + 0.0
    return np.where(np.isfinite(values), values.astype(str), "*").astype(object)


def render_makeup(out: dict[str, pd.DataFrame]) -> None:
    """Percentages, SMDs, shares and ratios of the make-up tables, from the counts as shown (rounded).

    ``out`` holds every published table with its counts as labels; the derived
    columns are computed from those labels alone, so they say no more than the counts.
    """
    if "makeup" not in out:
        return
    m = out["makeup"]
    remaining = _number(out["attrition"]["remaining"]).to_numpy()
    patients = _number(m["patients"]).to_numpy()
    total = remaining[m["step"].to_numpy()]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, patients / total, np.nan)
    keys = list(zip(m["characteristic"], m["group"], strict=True))
    first = {key: share[i] for i, key in enumerate(keys) if m["step"].iloc[i] == 0}
    by_step = {(key, int(step)): share[i] for i, (key, step) in enumerate(zip(keys, m["step"], strict=True))}
    p0 = np.array([first.get(key, np.nan) for key in keys])
    prev = np.array([by_step.get((key, max(int(step) - 1, 0)), np.nan) for key, step in zip(keys, m["step"],
                                                                                            strict=True)])
    m["percent"] = _text(100 * share, 1)
    m["smd_vs_extract"] = _text(smd(share, p0), 3)
    m["smd_vs_previous"] = _text(smd(share, prev), 3)
    n = _number(out["headline"]["patients"]).iloc[0]
    crit = out.get("criteria")
    for name in [t for t in out if t.startswith("differential_")]:
        d, column = out[name], name.removeprefix("differential_")
        j = d["criterion"].map({c: i for i, c in enumerate(crit["criterion"])}).to_numpy()
        size = np.array([by_step.get(((column, g), 0), np.nan) for g in d[column]]) * n
        entering = np.array([by_step.get(((column, g), int(i)), np.nan) for g, i in zip(d[column], j, strict=True)])
        entering = entering * remaining[j]
        alone, seq = _number(d["removed_alone"]).to_numpy(), _number(d["removed_in_sequence"]).to_numpy()
        all_alone = _number(crit["excluded_alone"]).to_numpy()[j] / n
        all_seq = _number(out["attrition"]["excluded"]).to_numpy()[j + 1] / remaining[j]
        after = np.array([by_step.get(((column, g), int(i) + 1), np.nan) for g, i in zip(d[column], j, strict=True)])
        before = np.array([by_step.get(((column, g), int(i)), np.nan) for g, i in zip(d[column], j, strict=True)])
        with np.errstate(invalid="ignore", divide="ignore"):
            d["share_alone"] = _text(100 * alone / size, 1)
            d["ratio_alone"] = _text(alone / size / all_alone, 2)
            d["share_in_sequence"] = _text(100 * seq / entering, 1)
            d["ratio_in_sequence"] = _text(seq / entering / all_seq, 2)
            d["share_change"] = _text(100 * (after - before), 1)
        change = pd.to_numeric(d["share_change"], errors="coerce").abs()
        d["rank_within_group"] = change.groupby(d[column]).rank(method="first", ascending=False).astype("Int64")
    eligible = _number(out["headline"]["patients"]).iloc[1]
    for name in [t for t in out if t.startswith("leave_one_out_")]:
        t, column = out[name], name.removeprefix("leave_one_out_")
        j = t["criterion"].map({c: i for i, c in enumerate(crit["criterion"])}).to_numpy()
        last = len(remaining) - 1
        now = np.array([by_step.get(((column, g), last), np.nan) for g in t[column]]) * eligible
        gain, gain_all = _number(t["gain"]).to_numpy(), _number(crit["gain_if_dropped"]).to_numpy()[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            t["share_now"] = _text(100 * now / eligible, 1)
            t["share_without"] = _text(100 * (now + gain) / (eligible + gain_all), 1)
            t["share_change"] = _text(100 * ((now + gain) / (eligible + gain_all) - now / eligible), 1)
