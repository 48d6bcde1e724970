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
are exact (internal); :func:`makeup_tables` gathers those a shareable report
publishes, which :mod:`screening.disclosure.makeup` ties together and protects.

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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screening.engine.counts import count_states, placement
from screening.engine.groups import (
    CHARACTERISTICS,
    CLINICAL_BANDS,
    MISSING,
    SMALL_GROUPS,
    declared_levels,
    group_of,
    merge_small_groups,
)
from screening.engine.status import Status

__all__ = ["composition_along", "differential_exclusion", "leave_one_out_by", "smd", "characteristic_groups",
           "Makeup", "makeup_tables"]

def characteristic_groups(s, column: str, bins=None) -> pd.Series:
    """Each patient's group for ``column`` as text, missing values as ``(missing)``.

    Numeric fields are cut into ``bins`` (left-closed bands); without bins, a known
    clinical field uses :data:`~screening.engine.groups.CLINICAL_BANDS` and age uses
    :data:`~screening.engine.groups.AGE_BINS`.
    """
    if bins is None:
        bins = CHARACTERISTICS.get(column) or CLINICAL_BANDS.get(column)
    return group_of(s.extract.patients, column, bins)


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
    return np.where(status == Status.ELIGIBLE, len(s.criteria) + 1, where + 1)


def _levels(groups: pd.Series) -> tuple[np.ndarray, list]:
    """Each patient's group as a code, and the groups: a categorical's every category (held or not), else those
    held; sorted."""
    if isinstance(groups.dtype, pd.CategoricalDtype):
        return groups.cat.codes.to_numpy(), list(groups.cat.categories)
    codes, levels = pd.factorize(groups, sort=True)
    return codes, list(levels)


def _in_play(s, groups: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Patients still in play after each step, per group: a (steps + 1) × groups matrix."""
    codes, levels = _levels(groups)
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
    codes, levels = _levels(groups)
    return levels, [count_states(s.states[codes == j]) for j in range(len(levels))]  # one pass per group


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


# --- the make-up tables a shareable report publishes, small groups merged ---------------------------------------


@dataclass
class Makeup:
    """The make-up along the funnel and whom each criterion excludes, by characteristic, as true counts.

    ``along``: patients in play per step and group (a group still too small once merged left out);
    ``complete``: per characteristic, False when that merged group was left out;
    ``merged``: per characteristic, the small groups merged into :data:`~screening.engine.groups.SMALL_GROUPS`;
    ``differential`` and ``leave_one_out``: per characteristic broken down by (complete ones only).
    """

    along: pd.DataFrame
    complete: dict[str, bool]
    merged: dict[str, list[str]]
    differential: dict[str, pd.DataFrame] = field(default_factory=dict)
    leave_one_out: dict[str, pd.DataFrame] = field(default_factory=dict)


def makeup_tables(s, along: tuple[str, ...], by: tuple[str, ...], min_group: int) -> Makeup | None:
    """The make-up tables of ``s`` for the characteristics ``along`` and ``by`` the extract holds.

    Groups with fewer than ``min_group`` patients are merged; a merged group still that small
    is left out. None when the extract holds none of the characteristics.
    """
    groups: dict[str, pd.Series] = {}
    complete: dict[str, bool] = {}
    merged: dict[str, list[str]] = {}
    for column in along:
        if column not in s.extract.patients.columns:
            continue
        declared = declared_levels(column, CHARACTERISTICS.get(column))
        g, small = merge_small_groups(characteristic_groups(s, column), min_group, declared)
        n_merged = int((g == SMALL_GROUPS).sum())
        # A merged row of fewer patients (none, even: every small group declared but absent) is left out.
        complete[column] = not small or n_merged >= min_group
        merged[column] = small
        if declared is not None:  # every group listed, held or not: a row listed only when held would say so
            listed = sorted({*g.unique(), MISSING} | ({SMALL_GROUPS} if small else set()))
            g = pd.Series(pd.Categorical(g, categories=listed), index=g.index)
        groups[column] = g
    if not groups:
        return None
    table = pd.concat([_along(s, c, g) for c, g in groups.items()], ignore_index=True)
    withheld = (table["group"] == SMALL_GROUPS) & ~table["characteristic"].map(complete)
    table = table[~withheld].reset_index(drop=True)[["step", "criterion", "label", "characteristic", "group",
                                                      "patients"]]
    out = Makeup(table, complete, merged)
    for column in by:
        if column in groups and complete[column]:
            out.differential[column] = _differential(s, column, groups[column])
            out.leave_one_out[column] = _leave_one_out(s, column, groups[column])
    return out
