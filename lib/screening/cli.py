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

import os
import sys
import warnings

from screening.cli_args import BY, build_parser, disclosure_rule, overrides
from screening.errors import ProtocolError, ScreeningError


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

    rule = disclosure_rule(args)
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
    protocol = load_protocol(args.protocol).with_overrides(overrides(args.set), source="--set")
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
    from screening.rules.protocol import format_value, lint, load_protocol, shipped_protocols

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
