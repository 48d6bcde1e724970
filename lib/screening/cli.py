"""Command line: ``python -m screening funnel|portfolio|report|merge|protocols|rules|lint|template|synth``.

Examples
--------
Print the sequential funnel of the bundled extract as CSV::

    python -m screening funnel --data data/synthetic --format csv

Screen against every shipped trial at once (who fits which, who fits several) and write the shareable tables::

    python -m screening portfolio --out reports/portfolio

Build the full report with a lower SLEDAI minimum::

    python -m screening report --data data/synthetic --set sledai.min=4 --out reports/sledai4

Write a protocol: list the rules, show a shipped protocol, check yours, write the extract it needs::

    python -m screening rules
    python -m screening rules --protocol anifrolumab-tulip2
    python -m screening protocols --show misle-phase2
    python -m screening lint --protocol my-trial.yaml
    python -m screening template --protocol my-trial.yaml --out extract-template

Merge the bundles several sites wrote with ``report --site-label``::

    python -m screening merge bundles/site-a bundles/site-b --out reports/network
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from screening import __version__
from screening.disclosure.rule import SHAREABLE, SmallCellRule
from screening.engine.status import POLICIES
from screening.errors import ProtocolError, ScreeningError
from screening.rules.protocol import parse_override, shipped_protocols

#: ``funnel --by``: the characteristic → its column; age_band as in ``report --subgroup``.
BY = {"sex": "sex", "race_ethnicity": "race_ethnicity", "age_band": "age_years", "age_years": "age_years"}

POLICY_HELP = "what missing data means: " + "; ".join(f"{k}: {v}" for k, v in POLICIES.items())


def _overrides(pairs: list[str]) -> dict[str, object]:
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


def _rule(args) -> SmallCellRule:
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return _run(args)
    except ScreeningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # Ctrl-C: one line, as for any other stop; a report in progress was removed
        done = " (nothing was written; an earlier report is unchanged)" if args.command in ("report", "merge") else ""
        print(f"interrupted{done}", file=sys.stderr)
        return 130


def _run(args) -> int:
    if args.command == "protocols":
        return _protocols(args.show)
    if args.command == "rules":
        if args.protocol:
            from screening.rules.protocol import load_protocol
            from screening.rules.trace import items_text

            print(items_text(load_protocol(args.protocol)))
            return 0
        print(_rules_text())
        return 0
    if args.command == "cache":
        from screening.io import cache

        folder, count, size = cache.usage()
        if folder is None:
            print("the cache is off (SCREENING_CACHE=off)")
        elif args.clear:
            print(f"removed {cache.clear()} cached extract(s) from {folder}")
        else:
            print(f"{folder}: {count} cached extract(s), {size / 2**20:.1f} MB")
        return 0
    if args.command in ("lint", "template"):
        from screening.rules.protocol import lint, load_protocol

        if args.command == "template":
            from screening.io.paths import check_out_folder

            check_out_folder(args.out, what="the template")  # before the protocol is read: every check first
        protocol = load_protocol(args.protocol)
        if args.command == "template":
            from screening.rules.template import write_template

            print(f"wrote the {protocol.id} extract template to {write_template(protocol, args.out)}")
            return 0
        issues = lint(protocol)
        for issue in issues:
            print(issue)
        print(f"{protocol.id}: {len(issues)} finding{'s' if len(issues) != 1 else ''}")
        return 1 if any(i.severity == "error" for i in issues) else 0
    if args.command == "synth":
        from screening.synth.synthetic import DEFAULT_SEED, generate, write_extract

        if args.calibration:
            from screening.io.extract import load_extract
            from screening.synth.calibration import calibration_markdown

            sys.stdout.write(calibration_markdown(load_extract(args.data)))
            return 0
        if not args.out:
            raise ProtocolError("synth", "--out", "a folder to write the extract into (or --calibration)")
        from screening.io.paths import check_out_folder

        check_out_folder(args.out, overwrite=args.overwrite, what="the extract")
        seed = args.seed if args.seed is not None else DEFAULT_SEED
        tables = generate(args.patients, seed, visits=args.visits, visit_years=args.visit_years)
        write_extract(tables, args.out, args.format, messy=args.messy, seed=seed)
        print(f"wrote {args.patients:,} synthetic patients{' with visits' if args.visits else ''} to {args.out}"
              f"{' (messy)' if args.messy else ''}")
        return 0

    if args.command == "merge":
        from screening.network.merge import write_network_report

        out = write_network_report(args.bundles, args.out, overwrite=args.overwrite, notebooks=not args.tables_only,
                                   progress=True)
        print(f"network report written to {out}")
        return 0

    from screening.io.sources import index_of, source_kind

    if (args.baseline or args.before or args.index) and source_kind(args.data) == "native":
        raise ScreeningError(f"--data {args.data}: --baseline, --before and --index apply to omop: and synthea: "
                             "sources; a native extract carries each patient's baseline_date (and its visits "
                             "table). Drop them, or prefix the folder with omop: or synthea:.")

    from screening.io.sources import load_source
    from screening.rules.protocol import load_protocol

    rule = _rule(args)
    if args.command == "report":
        from screening.disclosure.shareable import check_subgroup
        from screening.views.report import check_out

        check_subgroup(args.subgroup)  # every check before any computing
        check_out(args.out, args.data, args.overwrite, rule.internal)
    if args.command == "portfolio":
        from screening.views.portfolio import run_portfolio

        print(run_portfolio(args.data, args.protocol, args.policy, rule, args.out, args.overwrite, args.force,
                            baseline=args.baseline, before=args.before, cdm_schema=args.cdm_schema,
                            vocab_schema=args.vocab_schema, strict=args.strict_vocabulary, index=args.index))
        return 0
    if args.command == "funnel" and (args.index or index_of(args.data)[0]):
        raise ScreeningError(f"--data {args.data}: funnel prints the funnel at baseline only, so index dates "
                             f"({args.index or index_of(args.data)[0]}) would be read and then ignored. Drop "
                             "--index for the funnel at baseline, or screen at every index date with `report "
                             "--index ...` (its eligible-over-time tables).")
    if args.command == "funnel" and args.by and args.table == "attrition":
        raise ScreeningError(f"--by needs --table makeup, differential or leave_one_out (the funnel by "
                             f"group: report --subgroup {args.by.replace('age_years', 'age_band')})")
    protocol = load_protocol(args.protocol).with_overrides(_overrides(args.set), source="--set")
    if args.command == "funnel":
        return _funnel(args, rule, protocol)
    if args.command == "report":
        from screening.io.sources import with_index, with_schemas
        from screening.views.report import build_report

        spec = args.data
        if args.baseline and args.baseline != "last_visit" and ":" in spec:
            spec = f"{spec}@{args.baseline}"  # converted sources carry their baseline in the spec
        spec = with_index(with_schemas(spec, args.cdm_schema, args.vocab_schema), args.index, args.index_months)
        if args.strict_vocabulary:  # stop before any notebook runs (the second load reads the checked cache)
            load_source(spec, strict=True)
        out = build_report(spec, protocol, policy=args.policy, out=args.out, overwrite=args.overwrite,
                           small_cell=rule, subgroup=args.subgroup, notebooks=not args.tables_only,
                           progress=True, site_label=args.site_label, force=args.force, portfolio=args.portfolio,
                           sites=args.sites)
        print(f"report written to {out}; disclosure control: {rule.text()}")
        return 0
    raise AssertionError(args.command)  # pragma: no cover


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings about the input, as one plain message (no source line: the user did not write it)."""
    print(f"warning: {message}", file=sys.stderr)


def _protocols(show: str | None) -> int:
    from screening.rules.protocol import format_value, lint, load_protocol

    if not show:
        for name in shipped_protocols():
            print(f"{name}: {load_protocol(name).title}")
        return 0
    p = load_protocol(show)
    print(f"{p.id}: {p.title}")
    if p.source:
        print(f"source: {p.source}")
    from screening.rules.trace import coverage_sentence

    print(f"coverage of the trial's text: {coverage_sentence(p)} (rules --protocol {show} lists the items)")
    for i, c in enumerate(p.criteria, 1):
        print(f"\n{i:>2}. {c.id} ({c.kind}): {c.display_label}")
        print(f"    rule {c.rule}" + (f"; source: {c.source}" if c.source else ""))
        for name, value in c.params.items():
            print(f"    {name} = {format_value(value) if value is not None else 'none'}")
    issues = lint(p)
    if issues:
        print("\nlint:")
        for issue in issues:
            print(f"  {issue}")
    return 0


def _rules_text() -> str:
    """Every rule, its one-line meaning, what it reads and its parameters, from the rule registry."""
    from screening.rules.criteria import RULES
    from screening.rules.protocol import format_value

    blocks = []
    for r in RULES.values():
        lines = [f"{r.name}: {r.doc}"]
        if r.reads:
            lines.append(f"  reads: {', '.join(r.reads)}")
        for name, spec in r.params.items():
            default = "none" if spec.default is None else format_value(spec.default) or "(empty)"
            unit = f" [{spec.unit}]" if spec.unit else ""
            lines.append(f"  {name}: {spec.type}{unit}, default {default}. {spec.meaning}.")
            if spec.choices:
                lines.append(f"      allowed: {', '.join(map(str, spec.choices))}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _funnel(args, rule, protocol) -> int:
    """``funnel``: one table as published, to fit a terminal (or as CSV/JSON), then the headline in one line."""
    import json

    from screening.disclosure.shareable import funnel_table
    from screening.engine.funnel import Screening
    from screening.io.sources import load_source
    from screening.views.terminal import funnel_text, json_records

    extract = load_source(args.data, args.baseline, args.before, args.cdm_schema, args.vocab_schema,
                          strict=args.strict_vocabulary, protocol=protocol, index=args.index,
                          index_months=args.index_months)
    screening = Screening(extract, protocol, args.policy)
    table, headline = funnel_table(screening, rule, headline=True)
    if args.table != "attrition":
        table = _makeup_table(screening, rule, args.table, BY[args.by or "race_ethnicity"])
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False, lineterminator="\n"))
    elif args.format == "json":
        sys.stdout.write(json.dumps(json_records(table), indent=2, ensure_ascii=False) + "\n")
    else:
        print(funnel_text(table, headline, rule, args.table))
    return 0


def _makeup_table(screening, rule, name: str, by: str):
    """One make-up table, protected together with the whole report's tables (the audit needs them all)."""
    from screening.disclosure.shareable import shareable_tables

    tables = shareable_tables(screening, rule, whatif=False)
    if name == "makeup":
        table = tables["makeup"]
        return table[table["characteristic"] == by].reset_index(drop=True)
    return tables[f"{name}_{by}"]


if __name__ == "__main__":
    sys.exit(main())
