"""The command line's arguments: every verb's options, their checks and their help (:mod:`screening.cli` runs them).

>>> args = build_parser().parse_args(["funnel", "--set", "sledai.min=4", "--small-cell", "5"])
>>> overrides(args.set), disclosure_rule(args).threshold
({'sledai.min': 4}, 5)
"""

from __future__ import annotations

import argparse

from screening import __version__
from screening.disclosure.rule import SHAREABLE, SmallCellRule
from screening.engine.status import POLICIES
from screening.errors import ProtocolError, ScreeningError
from screening.rules.protocol import parse_override, shipped_protocols

__all__ = ["BY", "build_parser", "disclosure_rule", "overrides"]

#: ``funnel --by``: the characteristic → its column; age_band as in ``report --subgroup``.
BY = {"sex": "sex", "race_ethnicity": "race_ethnicity", "age_band": "age_years", "age_years": "age_years"}

POLICY_HELP = "what missing data means: " + "; ".join(f"{k}: {v}" for k, v in POLICIES.items())


def overrides(pairs: list[str]) -> dict[str, object]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ProtocolError("--set", pair, "name=value, e.g. sledai.min=4")
        name, value = pair.split("=", 1)
        if not name.strip():
            raise ProtocolError("--set", pair, "a parameter name before '=', e.g. sledai.min=4 "
                                "(python -m screening protocols --show NAME lists them)")
        out[name.strip()] = parse_override(value)
    return out


def _small_cell(text: str) -> int:
    """``--small-cell``: a whole number of at least 0 (a negative one would turn protection off)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0 (0 turns suppression off), "
                                         f"got {value}")
    return value


def _sites(text: str) -> list[str]:
    """``--sites``: site codes, comma-separated, each once."""
    sites = [s.strip() for s in text.split(",") if s.strip()]
    if not sites or len(set(sites)) != len(sites):
        raise argparse.ArgumentTypeError(f"expected distinct site codes separated by commas, e.g. S01,S02, got "
                                         f"{text!r}")
    return sites


def _common(p: argparse.ArgumentParser, one_protocol: bool = True) -> None:
    p.add_argument("--data", default="data/synthetic",
                   help="extract folder (or omop:DIR / synthea:DIR); default: the bundled synthetic extract")
    if one_protocol:
        p.add_argument("--protocol", default="misle-phase2",
                       help="protocol YAML file or shipped name (" + ", ".join(shipped_protocols()) + ")")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="override a parameter, e.g. --set sledai.min=4 (repeatable)")
    p.add_argument("--policy", default="separate", choices=list(POLICIES), help=POLICY_HELP)
    p.add_argument("--baseline", default=None,
                   help="for omop:/synthea: sources: a baseline date YYYY-MM-DD, or last_visit (default)")
    p.add_argument("--before", default=None, help="with --baseline last_visit: the last visit on or before this date")
    p.add_argument("--index", default=None, choices=["visits", "monthly"],
                   help="for omop:/synthea: sources: also screen the SLE cohort at each visit before baseline, or "
                        "on a monthly grid back from it (eligible over time)")
    p.add_argument("--index-months", type=int, default=None, metavar="N",
                   help="with --index: index dates at most N months before baseline (default: from diagnosis)")
    p.add_argument("--strict-vocabulary", action="store_true",
                   help="stop on a coded value (drug name, sex, drug class, ...) the vocabulary "
                        "(lib/screening/vocabulary.csv) does not know, "
                        "instead of reporting it and reading its rows as unknown")
    p.add_argument("--cdm-schema", default=None, help="for omop: database URLs: the schema holding the CDM tables")
    p.add_argument("--vocab-schema", default=None,
                   help="for omop: database URLs: the schema holding concept, concept_ancestor, drug_strength "
                        "(default: the CDM schema)")


def _disclosure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--small-cell", type=_small_cell, default=SHAREABLE.threshold, metavar="N",
                   help=f"the small-cell threshold (default {SHAREABLE.threshold}: {SHAREABLE.text()}; "
                        "0 means --internal)")
    p.add_argument("--internal", action="store_true",
                   help="every count exact, every file marked 'internal: not for sharing'")


def disclosure_rule(args) -> SmallCellRule:
    """The disclosure rule, built once here and handed to every table, report and view."""
    if args.small_cell < 0:
        raise ScreeningError(f"--small-cell {args.small_cell}: a threshold cannot be negative (0 means --internal).")
    return SmallCellRule.of(0 if args.internal else args.small_cell)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m screening", description="Clinical-trial screening funnels.")
    parser.add_argument("--version", action="version", version=f"screening {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    f = sub.add_parser("funnel", help="print the sequential funnel (for scripts)")
    _common(f)
    f.add_argument("--format", choices=("table", "csv", "json"), default="table")
    f.add_argument("--table", choices=("attrition", "makeup", "differential", "leave_one_out"), default="attrition",
                   help="attrition (default); makeup: who is in play after each step; differential: whom each "
                        "criterion removes, by group; leave_one_out: each group's share if a criterion were dropped")
    f.add_argument("--by", choices=tuple(BY), default=None, metavar="{" + ",".join(BY) + "}",
                   help="the characteristic for --table makeup/differential/leave_one_out (default race_ethnicity; "
                        "age_band and age_years are the same bands)")
    _disclosure(f)

    r = sub.add_parser("report", help="run the notebooks and write the shareable report folder")
    _common(r)
    r.add_argument("--out", required=True, help="folder to write the report into")
    r.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    r.add_argument("--force", action="store_true",
                   help="write a shareable report even though it overlaps an earlier release of another extract "
                        "(one a few patients apart, say), which is otherwise refused; it is logged all the same")
    _disclosure(r)
    r.add_argument("--subgroup", default="site",
                   help="declared categorical column to split outcomes by: site (default), sex, race_ethnicity, "
                        "age_band")
    r.add_argument("--tables-only", action="store_true", help="write the tables without running notebooks")
    r.add_argument("--portfolio", action="store_true",
                   help="add the portfolio tables: every shipped trial beside this one (see the portfolio command)")
    r.add_argument("--sites", type=_sites, default=None, metavar="S01,S02,...",
                   help="every site of the registry, comma-separated: outcome_by_site lists each, with patients or "
                        "not (without it, sites of 10 patients or fewer are pooled into one unnamed row)")
    r.add_argument("--site-label", default=None,
                   help="make the report a site bundle for `merge`, labelled with this short name (no path)")

    pf = sub.add_parser("portfolio", help="screen against several trials at once: per trial, and who fits several")
    _common(pf, one_protocol=False)
    pf.add_argument("--protocol", action="append", default=None, metavar="NAME",
                    help="a protocol YAML file or shipped name (repeatable); default: every shipped protocol "
                         "(on a registry extract, less those written for EHR data)")
    pf.add_argument("--out", default=None, help="also write the shareable tables (CSV) and charts (PNG) here")
    pf.add_argument("--overwrite", action="store_true", help="replace an existing portfolio folder")
    pf.add_argument("--force", action="store_true", help="write --out even if it overlaps an earlier release "
                    "of another extract (see report --force)")
    _disclosure(pf)

    m = sub.add_parser("merge", help="merge several sites' bundles into a network report")
    m.add_argument("bundles", nargs="+", metavar="BUNDLE",
                   help="a site bundle (written by report --site-label), or a folder holding bundles")
    m.add_argument("--out", required=True, help="folder to write the network report into")
    m.add_argument("--overwrite", action="store_true", help="replace an existing network report folder")
    m.add_argument("--tables-only", action="store_true", help="write the tables without running notebook 04")

    pr = sub.add_parser("protocols", help="list the shipped protocols, or show one with its criteria")
    pr.add_argument("--show", metavar="NAME", help="print this protocol (shipped name or YAML path) criterion by "
                    "criterion")

    ru = sub.add_parser("rules", help="list every rule a protocol can use, with its parameters; with --protocol, "
                        "the trial's eligibility items with their status and the criteria that apply them")
    ru.add_argument("--protocol", default=None, help="protocol YAML file or shipped name")

    li = sub.add_parser("lint", help="check a protocol for criteria that cannot work as written")
    li.add_argument("--protocol", default="misle-phase2", help="protocol YAML file or shipped name")

    t = sub.add_parser("template", help="write header-only extract files with the columns a protocol needs")
    t.add_argument("--protocol", default="misle-phase2", help="protocol YAML file or shipped name")
    t.add_argument("--out", required=True, help="folder to write the template into (new or empty)")

    c = sub.add_parser("cache", help="show or clear the validated-extract cache ($SCREENING_CACHE)")
    c.add_argument("--clear", action="store_true", help="delete every cached extract")

    s = sub.add_parser("synth", help="write a synthetic extract, or print its calibration table")
    s.add_argument("--patients", type=int, default=5000)
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--format", choices=("csv", "parquet"), default="csv")
    s.add_argument("--out", help="folder to write the extract into (new or empty)")
    s.add_argument("--overwrite", action="store_true", help="replace the files of an existing extract in --out")
    s.add_argument("--messy", action="store_true",
                   help="write as registries do: brand and mixed-case names, stray spaces, optional columns left out")
    s.add_argument("--visits", action="store_true",
                   help="also write visits.csv: quarterly visits over up to four years before each baseline, "
                        "disease activity flaring and remitting (screening at every visit)")
    s.add_argument("--visit-years", type=float, default=4.0,
                   help="with --visits: the longest follow-up before a baseline, in years (the bundled extract: 2)")
    s.add_argument("--calibration", action="store_true",
                   help="print the calibration table (data/README.md) of the extract in --data instead")
    s.add_argument("--data", default="data/synthetic", help="with --calibration: the extract to measure")
    return parser
