"""The report's tables as a reader sees them: no pandas index, no empty columns, whole patients, stated wholes.

The CSV and JSON files keep every column as computed; these are the notebooks'
views of them. :class:`Shown` displays a table without its row numbers, in HTML
and as text alike (nbval compares the text).

Example
-------
>>> import pandas as pd
>>> Shown(pd.DataFrame({"criterion": ["age"], "gain_if_dropped": ["≤10"]}))
criterion gain if dropped
      age             ≤10
"""

from __future__ import annotations

import html

import pandas as pd

from screening.disclosure.rule import HIDDEN
from screening.engine.enrolment import screen_failure_range
from screening.views.charts import group_name

__all__ = ["Shown", "header_words", "composition_view", "missingness_view", "enrolment_view", "enrolment_sentence",
           "bullets", "share_change_view", "leave_one_out_sentence", "ROUNDED_NOTE"]

#: Said under every table whose parts and total are both shown.
ROUNDED_NOTE = ("Each count is rounded on its own, so parts may differ from their total, and percentages from "
                "100 %, by the rounding: up to 2 patients per count, 0 to 10 for a ≤10.")


#: Headers that "_" → " " alone would not make plain (the CSV files keep the names as computed).
HEADER_WORDS = {"pct_of_previous": "remaining, % of entering", "pct_of_total": "remaining, % of all",
                "smd_vs_extract": "SMD against the extract", "smd_vs_previous": "SMD against the step before",
                "shapley": "Shapley share (patients)", "share_of_excluded": "% of the excluded",
                "n_dropped": "criteria dropped", "race_ethnicity": "race/ethnicity",
                "first_missing": "first not assessable here", "missing_any": "missing data"}


def header_words(column) -> str:
    """A column's header as a reader sees it.

    >>> [header_words(c) for c in ("not_assessable", "pct_of_total", "misle-phase2 (this report)")]
    ['not assessable', 'remaining, % of all', 'misle-phase2 (this report)']
    """
    return HEADER_WORDS.get(column, str(column).replace("_", " "))


class Shown:
    """A table displayed without its index (HTML in a report, text in nbval), with an optional caption.

    Headers read in words (:func:`header_words`), and so does the status ``not_assessable`` in a cell.
    """

    def __init__(self, frame: pd.DataFrame, caption: str = ""):
        frame = frame.reset_index(drop=True).rename(columns=header_words)
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]) and (frame[column] == "not_assessable").any():
                frame[column] = frame[column].astype(object).replace("not_assessable", "not assessable")
        self.frame, self.caption = frame, caption

    def _repr_html_(self) -> str:
        # Text left, numbers right (pandas' own table right-aligns both): the report reads as a table in a paper.
        frame = self.frame.astype(object).where(self.frame.notna(), "")
        right = [_numeric(frame[c]).notna().sum() + (frame[c].astype(str).isin(["≤10", "*", ""])).sum()
                 == len(frame) for c in frame.columns]

        def cell(tag: str, value, r: bool) -> str:
            return f'<{tag} style="text-align:{"right" if r else "left"}">{html.escape(str(value))}</{tag}>'

        head = "".join(cell("th", c, r) for c, r in zip(frame.columns, right, strict=True))
        body = "".join("<tr>" + "".join(cell("td", v, r) for v, r in zip(row, right, strict=True)) + "</tr>"
                       for row in frame.itertuples(index=False))
        note = f"<p><em>{html.escape(self.caption)}</em></p>" if self.caption else ""
        return f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}'

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False, na_rep="")
        return text + (f"\n{self.caption}" if self.caption else "")


def composition_view(composition: pd.DataFrame, headline: pd.DataFrame) -> Shown:
    """Patients and percent of each group in the extract, the eligible and the not assessable, each whole named.

    The percentages are of the population's shown total (the headline), from the shown counts.
    """
    head = headline.set_index("measure")["patients"].astype(str)
    whole = {"extract": head.iloc[0], "eligible": head.iloc[1], "not_assessable": head.iloc[2]}
    rows = composition.assign(characteristic=composition["column"].map(group_name))
    wide = None
    for population, n in whole.items():
        part = rows[rows["population"] == population][["characteristic", "group", "patients", "percent"]]
        name = population.replace("_", " ")
        part = part.rename(columns={"patients": f"{name} (n)", "percent": f"% of {n} {name}"})
        # Every population lists every declared group: a left merge keeps the table's own order.
        wide = part if wide is None else wide.merge(part, on=["characteristic", "group"], how="left")
    return Shown(wide.fillna(""), ROUNDED_NOTE)


def missingness_view(missingness: pd.DataFrame, rows: int = 20) -> Shown:
    """The fields most often missing, with a note column only when some field has a note."""
    table = missingness.head(rows)
    if "note" in table and not table["note"].fillna("").astype(str).str.strip().any():
        table = table.drop(columns="note")
    return Shown(table.rename(columns={"percent": "% of patients"}))


def _whole(value: float) -> str:
    return str(int(value + 0.5))


def enrolment_view(pools: list[str], consent_rate: float, screen_failure) -> Shown:
    """Expected enrolment in whole patients, from each shown pool, over the screen-failure range.

    A pool shown as ``≤10`` or hidden gives no estimate (``*``).
    """
    low, high = screen_failure_range(screen_failure)
    scenarios = ["eligible on registry data", "if every not-assessable patient qualified"]

    def estimate(pool: str, rate: float) -> str:
        return _whole(int(pool) * (1 - rate) * consent_rate) if pool.isdigit() else HIDDEN

    return Shown(pd.DataFrame({
        "pool": scenarios, "patients": pools,
        f"enrol if {high:.0%} fail screening": [estimate(p, high) for p in pools],
        f"enrol if {low:.0%} fail screening": [estimate(p, low) for p in pools]}))


def enrolment_sentence(pools: list[str], consent_rate: float, screen_failure) -> str:
    """The estimate in one sentence, the consent rate stated."""
    low, high = screen_failure_range(screen_failure)
    if not pools[0].isdigit():
        return f"With a consent rate of {consent_rate:.0%}, the pool is too small to estimate enrolment."
    least = _whole(int(pools[0]) * (1 - high) * consent_rate)
    most = _whole(int(pools[0]) * (1 - low) * consent_rate)
    upper = (f", up to {_whole(int(pools[1]) * (1 - low) * consent_rate)} if every not-assessable patient "
             "qualified") if pools[1].isdigit() else ""
    return (f"With a consent rate of {consent_rate:.0%} and {low:.0%} to {high:.0%} failing screening, "
            f"**{least} to {most} patients** would enrol from the eligible pool{upper}.")


def bullets(items) -> str:
    """Markdown bullets, one per item (a list printed as a Python list reads as code)."""
    return "\n".join(f"- {item}" for item in items) or "- (none)"


def _numeric(column: pd.Series) -> pd.Series:
    text = column.astype(str)
    return pd.to_numeric(text.where(text.str.fullmatch(r"-?\d+(\.\d+)?")), errors="coerce")


def share_change_view(leave_one_out: pd.DataFrame, by: str, order: list[str]) -> tuple[str, Shown | None]:
    """Each group's change in share of the pool if a criterion were dropped: the criteria it can be said for,
    and one sentence for those whose gain is too small to split by group (all ``*``).

    A table that is mostly ``*`` says less than the sentence: returns (sentence, table of the rest or None).
    """
    wide = leave_one_out.pivot(index="criterion", columns=by, values="share_change").reindex(order)
    labels = leave_one_out.drop_duplicates("criterion").set_index("criterion")["label"]
    said = wide.apply(lambda row: _numeric(row).notna().any(), axis=1)
    what = group_name(by)
    sentence = (f"Dropping {int((~said).sum())} of the {len(wide)} criteria gains too few patients to split by "
                f"{what}: their shares are withheld.")
    if not said.any():
        return sentence, None
    table = wide[said].rename(index=labels).reset_index().rename(columns={"criterion": "if dropped"})
    table.columns.name = None
    return (sentence + f" For the other {int(said.sum())}, each group's share of the eligible pool changes by "
            "(percentage points; `*` where withheld):"), Shown(table)


def leave_one_out_sentence(leave_one_out: pd.DataFrame, top: int = 3) -> str:
    """What the leave-one-out gains say, in words: the largest few by name, how many more gain a shown
    count, and how many gain ≤10 (a column mostly of ``≤10`` says less than this sentence)."""
    gain = _numeric(leave_one_out["gain"])
    ranked = leave_one_out.assign(_g=gain).sort_values("_g", ascending=False, kind="stable")
    shown = ranked[ranked["_g"].notna()]
    named, more = shown.head(top), shown.iloc[top:]
    parts = [f"{label} (+{int(g)})" for label, g in zip(named["label"], named["_g"], strict=True)]
    said = ("Dropping one criterion gains the most for " + ", ".join(parts) + ". ") if parts else ""
    if len(more):
        low, high = int(more["_g"].min()), int(more["_g"].max())
        said += f"{len(more)} more gain {low if low == high else f'{low} to {high}'} each. "
    small = int(gain.isna().sum())
    hidden = set(leave_one_out["gain"][gain.isna()].astype(str))
    each = "≤10 patients" if hidden <= {"≤10"} else "≤10 patients or a count hidden (`*`)"
    return (said + (f"Each of the other {small} gains {each}." if small else "")).strip()
