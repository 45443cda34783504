"""`costalloc`: the command line. Each command exits non-zero with one paragraph a person can
act on: 2 for a mistake in the command, the configuration or the rules, 1 for the rest (data,
sources, the warehouse, a folder that can't be written); tracebacks only with `--verbose`.
`--config` and `--verbose` go before or after the command. Reference: docs/cli.md."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from costalloc.core.errors import ConfigurationError, CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.flows.hints import DEFAULT_CONFIG, command
from costalloc.flows.runners import DEFAULT_MAX_WORKERS

if TYPE_CHECKING:
    import duckdb

    from costalloc.core.exchange import ExchangeRates
    from costalloc.core.settings import Settings
    from costalloc.flows.runners import RunnerChoice
    from costalloc.reports.planning.forecast import Events

Command = Callable[[argparse.Namespace], int]


class UsageError(CostallocError):
    """The command line asks for something impossible (a range that runs backwards)."""


class NoWarehouseYet(CostallocError):
    """A read command before the first load."""


class OutputError(CostallocError):
    """A file could not be written where the command was told to write it."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _quiet_prefect(args.verbose)
    try:
        _check_range(args)
        run: Command = args.command
        return run(args)
    except UsageError as error:
        print(f"costalloc: {error}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"costalloc: configuration error: {error}", file=sys.stderr)
        return 2
    except CostallocError as error:
        if args.verbose:
            raise
        print(f"costalloc: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("costalloc: interrupted; published data is unchanged for any step not finished",
              file=sys.stderr)
        return 130


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """`--config` and `--verbose`, on the program and again on every command, so they work
    before or after it. On commands their default is 'not given', so they never override a
    value given before the command."""
    parser.add_argument("--config", type=Path,
                        default=DEFAULT_CONFIG if defaults else argparse.SUPPRESS,
                        help=f"configuration file (default: {DEFAULT_CONFIG})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=False if defaults else argparse.SUPPRESS,
                        help="show Prefect logs and tracebacks")


class _Commands:
    """`add_parser` for subcommands that also take the global options."""

    def __init__(self, parent: argparse.ArgumentParser, metavar: str) -> None:
        self._actions = parent.add_subparsers(required=True, metavar=metavar)
        self._common = argparse.ArgumentParser(add_help=False)
        _global_options(self._common, defaults=False)

    def add_parser(self, name: str, *, help: str, description: str | None = None
                   ) -> argparse.ArgumentParser:
        """`help` is the command's line in `costalloc --help`, and its own `--help` unless a
        longer `description` is given."""
        return self._actions.add_parser(name, parents=[self._common], help=help,
                                        description=description or help)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="costalloc", description=(
        "Cloud billing exports → FOCUS line items in DuckDB → cost allocated by environment, "
        "workstream and cost type. --config and --verbose go before or after the command."))
    _global_options(parser, defaults=True)
    commands = _Commands(parser, "command")

    run = commands.add_parser("run", help="the nightly job: every source, current and previous "
                              "billing period")
    run.add_argument("--period", action="append", type=_period,
                     help="a billing period YYYY-MM instead of the default two (repeatable)")
    run.add_argument("--source", action="append", help="only this source (repeatable)")
    _runner_options(run)
    run.set_defaults(command=_run)

    backfill = commands.add_parser("backfill", help="load and allocate a month or a range")
    backfill.add_argument("--period", required=True, type=_period)
    backfill.add_argument("--to", type=_period, help="last period (inclusive)")
    backfill.add_argument("--source", action="append", help="only this source (repeatable)")
    backfill.add_argument("--force", action="store_true",
                          help="reload even when the delivery's fingerprint is already loaded")
    _runner_options(backfill)
    backfill.set_defaults(command=_backfill)

    reallocate = commands.add_parser("reallocate", help="re-apply the rules without reading "
                                     "sources")
    reallocate.add_argument("--period", required=True, type=_period)
    reallocate.add_argument("--to", type=_period)
    reallocate.set_defaults(command=_reallocate)

    schedule = commands.add_parser("schedule", help="serve the nightly run on its schedule (and "
                                   "the backfill and reallocate deployments) until stopped")
    schedule.add_argument("--cron", default="0 3 * * *", help="when the nightly run starts, a "
                          "cron expression in UTC (default: \"0 3 * * *\", 03:00 UTC)")
    schedule.set_defaults(command=_schedule)

    export = commands.add_parser("export", help="write a period's tables for finance: the "
                                 "workbook, or CSV / Parquet files with a column dictionary")
    export.add_argument("table", choices=["allocated", "line-items"])
    export.add_argument("--period", required=True, type=_period)
    export.add_argument("--to", type=_period, help="last period (inclusive); xlsx: one workbook "
                        "for the range, csv/parquet: files per period")
    export.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    export.add_argument("--out", type=Path, default=None, help="folder (default: reports_dir)")
    export.add_argument("--focus-version", choices=["1.3"], default=None,
                        help="allocated only: the rows as FOCUS 1.3 with its allocation columns")
    export.set_defaults(command=_export)

    serve = commands.add_parser("serve", help="the read-only web view and pull endpoint over the "
                                "warehouse (tokens from COSTALLOC_API_TOKENS)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                       "127.0.0.1; put a TLS proxy in front of anything else)")
    serve.add_argument("--port", type=_port, default=8765, help="port (default: 8765)")
    serve.set_defaults(command=_serve)

    migrate = commands.add_parser("migrate", help="bring a warehouse made by an earlier release "
                                  "to this release's schema (commands that write do it first)")
    migrate.set_defaults(command=_migrate)

    summary = commands.add_parser("summary", help="print spend by environment × workstream × "
                                  "cost type")
    summary.add_argument("--period", required=True, type=_period)
    summary.add_argument("--to", type=_period)
    _rate_options(summary)
    summary.set_defaults(command=_summary)

    review = commands.add_parser("review", help="the monthly review: actual vs budget per budget "
                                 "line with month-end projections, thresholds crossed, pilots "
                                 "past their end or cap, largest movers vs the previous month")
    review.add_argument("--period", required=True, type=_period)
    review.add_argument("--budgets", type=Path, help="budgets file (default: budgets.yaml beside "
                        "the rules, else beside the configuration)")
    review.add_argument("--as-of", type=_day, help="review the month as it stood on this day, "
                        "YYYY-MM-DD (default: the last day with allocated cost)")
    review.add_argument("--format", choices=["table", "csv", "xlsx"], default="table",
                        help="table (default, printed), csv files, or the workbook with a Review "
                        "sheet")
    review.add_argument("--out", type=Path, default=None, help="folder (default: reports_dir)")
    review.add_argument("--events", type=Path, help="xlsx: events file for the Forecast sheet "
                        "(default: events.yaml beside the rules, if there is one)")
    review.add_argument("--forecast-months", type=int, default=6, help="xlsx: months the "
                        "Forecast sheet projects from the next period (default: 6; 0: no sheet)")
    review.set_defaults(command=_review)

    unit_cost = commands.add_parser("unit-cost", help="allocated cost per unit (tickets, orders, "
                                    "inferences) per dimension value and month, with its trend")
    unit_cost.add_argument("--units", type=Path, default=None,
                           help="CSV/Parquet: period, value, units[, unit] (default: units.csv "
                           "beside the rules)")
    unit_cost.add_argument("--period", required=True, type=_period)
    unit_cost.add_argument("--to", type=_period)
    unit_cost.add_argument("--dimension", default="workstream")
    unit_cost.add_argument("--basis", choices=["EffectiveCost", "BilledCost"],
                           default="EffectiveCost")
    unit_cost.add_argument("--format", choices=["table", "csv"], default="table")
    unit_cost.add_argument("--out", type=Path, default=None)
    _rate_options(unit_cost)
    unit_cost.set_defaults(command=_unit_cost)

    forecast = commands.add_parser("forecast", help="spend per workstream for the coming months in "
                                   "three scenarios (conservative, expected, accelerated) from "
                                   "the recent trend, with the assumptions")
    forecast.add_argument("--from", dest="start", required=True, type=_period,
                          help="the first month to forecast, YYYY-MM")
    forecast.add_argument("--months", type=_positive, default=6, help="months ahead (default: 6)")
    forecast.add_argument("--events", type=Path, help="seasonality, scenario deltas and known "
                          "events (default: events.yaml beside the rules, if there is one)")
    forecast.add_argument("--history", type=_positive, default=6, help="months before --from the "
                          "trend is fitted over (default: 6)")
    forecast.add_argument("--basis", choices=["EffectiveCost", "BilledCost"],
                          default="EffectiveCost", help="amortized, fully allocated cost "
                          "(default) or the invoice's BilledCost")
    forecast.add_argument("--format", choices=["table", "csv", "xlsx"], default="table",
                          help="table (default, printed), a csv file, or a workbook with the "
                          "Forecast sheet and its charts")
    forecast.add_argument("--out", type=Path, default=None, help="folder (default: reports_dir)")
    forecast.set_defaults(command=_forecast)

    rules = commands.add_parser("rules", help="work with rules files")
    rules_commands = _Commands(rules, "action")
    check = rules_commands.add_parser(
        "check", help="validate a rules file, listing every problem; with --period also report "
        "coverage, rules never matched and rules shadowed on the loaded data")
    check.add_argument("file", type=Path)
    check.add_argument("--period", type=_period, help="a loaded billing period to test against")
    _rate_options(check)
    check.set_defaults(command=_rules_check)
    diff = rules_commands.add_parser("diff", help="how totals per dimension value move between "
                                     "two rules versions (dry run, nothing is published)")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.add_argument("--period", required=True, type=_period)
    diff.set_defaults(command=_rules_diff)

    azure = commands.add_parser("azure", help="Azure Cost Management exports: list, run, history")
    azure_commands = _Commands(azure, "action")
    azure_list = azure_commands.add_parser("exports", help="list a scope's exports")
    azure_list.add_argument("--scope", required=True,
                            help="e.g. subscriptions/<id> or providers/Microsoft.Billing/"
                            "billingAccounts/<id>")
    azure_list.set_defaults(command=_azure_exports)
    azure_run = azure_commands.add_parser("run-export", help="run an export for a whole month")
    azure_run.add_argument("--scope", required=True)
    azure_run.add_argument("--export", required=True, help="the export's name")
    azure_run.add_argument("--period", required=True, type=_period)
    azure_run.set_defaults(command=_azure_run_export)
    azure_runs = azure_commands.add_parser("runs", help="an export's run history, newest first")
    azure_runs.add_argument("--scope", required=True)
    azure_runs.add_argument("--export", required=True)
    azure_runs.set_defaults(command=_azure_runs)

    explain = commands.add_parser("explain", help="why a line item was allocated the way it was")
    explain.add_argument("line_item_id", type=int, help="x_line_item_id (in extracts and "
                         "workbooks)")
    explain.add_argument("--period", required=True, type=_period)
    explain.add_argument("--source", help="the source, when several have this id")
    explain.set_defaults(command=_explain)

    init = commands.add_parser("init", help="read a real export and write a starter "
                               "costalloc.yaml and rules.yaml (tag keys, spellings, accounts)")
    init.add_argument("--from", dest="uri", help="the export's own folder or bucket prefix "
                      "(s3://…, or a local copy); default: every source of --config")
    init.add_argument("--kind", help="the source kind (default: recognised from the export's "
                      "layout: aws-cur, azure-export or focus)")
    init.add_argument("--name", help="the source's name in costalloc.yaml (default: the "
                      "provider's, e.g. `aws`)")
    init.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="a source option (repeatable), e.g. table=proj.dataset.table")
    init.add_argument("--period", type=_period, help="the billing period to read (default: the "
                      "newest with a delivery)")
    init.add_argument("--dir", type=Path, default=Path("."), help="where to write the files "
                      "(default: here; without --from: beside --config)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(command=_init)

    demo = commands.add_parser("demo", help="write demo billing from every source kind (AWS, GCP, "
                               "Azure, an asset register), run the nightly flow over it and "
                               "print the summary", description=(
        "Write a realistic October 2026 from four sources, each in its provider's real layout: "
        "AWS CUR 2.0 (with a superseded delivery and two earlier months), a GCP billing export "
        "dump (with a late adjustment in November), Azure Cost Management exports (EA and MCA, "
        "ActualCost and AmortizedCost) and an on-premises asset register; with rules, budgets, "
        "events and units beside them. Then run the nightly flow over 2026-08..2026-11 and print "
        "October's allocation per currency, where the files are, and commands to try next."))
    demo.add_argument("--dir", type=Path, default=Path("costalloc-demo"),
                      help="where to write the demo: a new or empty folder, or one an earlier "
                      "demo made (files you edited there are kept) (default: ./costalloc-demo)")
    demo.set_defaults(command=_demo)
    return parser


def _period(text: str) -> BillingPeriod:
    try:
        return BillingPeriod.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"`{text}` is not a TCP port: ports run 1 to 65535")
    return int(text)


def _check_range(args: argparse.Namespace) -> None:
    """`--to` before `--period` is a mistake, not an empty range."""
    first, last = getattr(args, "period", None), getattr(args, "to", None)
    if isinstance(first, BillingPeriod) and isinstance(last, BillingPeriod) and last < first:
        raise UsageError(f"--to {last} is before --period {first}; a range runs forward "
                         f"(--period {last} --to {first})")


def _quiet_prefect(verbose: bool) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def _periods(args: argparse.Namespace) -> list[BillingPeriod]:
    first: BillingPeriod = args.period
    return first.through(args.to) if args.to else [first]


def _run(args: argparse.Namespace) -> int:
    from costalloc.flows.nothing_to_do import finished_without_prefect

    periods = sorted(set(args.period)) if args.period else None
    runner = _runner(args)
    if finished_without_prefect(args.config, periods, args.source, force=False,
                                tell=lambda step: print(step.message, flush=True)):
        return 0
    from costalloc.flows.nightly import nightly

    _start_flows(args)
    nightly(config=str(args.config), periods=[str(p) for p in periods] if periods else None,
            sources=args.source, task_runner=runner.kind, dask_address=runner.dask_address,
            max_workers=runner.max_workers, dask_cluster=runner.dask_cluster,
            dask_cluster_options=runner.dask_cluster_options or None)
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from costalloc.flows.nothing_to_do import finished_without_prefect

    runner = _runner(args)
    if finished_without_prefect(args.config, _periods(args), args.source, force=args.force,
                                tell=lambda step: print(step.message, file=sys.stderr,
                                                        flush=True)):
        return 0
    from costalloc.flows.backfill import backfill_with_progress

    _start_flows(args)
    return backfill_with_progress(args.config, _periods(args), args.source, args.force, runner)


def _runner_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--task-runner", choices=["threads", "dask"], default="threads",
                         help="where sources are read and normalized: threads in this process "
                         "(default) or a Dask cluster")
    command.add_argument("--dask-address", help="scheduler of a running Dask cluster, e.g. "
                         "tcp://scheduler:8786 (default: a local cluster of --max-workers "
                         "processes)")
    command.add_argument("--max-workers", type=int, default=DEFAULT_MAX_WORKERS,
                         help="files or partitions staged at once (threads), or local Dask "
                              f"worker processes (default: {DEFAULT_MAX_WORKERS})")
    command.add_argument("--dask-cluster", help="a Dask cluster class to start (or reconnect "
                         "to) instead, e.g. coiled.Cluster or "
                         "dask_kubernetes.operator.KubeCluster")
    command.add_argument("--dask-option", action="append", default=[], metavar="KEY=VALUE",
                         help="a keyword argument of --dask-cluster (repeatable), e.g. "
                         "n_workers=8")


def _runner(args: argparse.Namespace) -> RunnerChoice:
    """The task runner the options name; a mistake in them is said before anything is read."""
    from costalloc.flows.runners import RunnerChoice

    choice = RunnerChoice(args.task_runner, args.dask_address, args.dask_cluster,
                          _options(args.dask_option, "--dask-option"), args.max_workers)
    choice.check()
    return choice


def _start_flows(args: argparse.Namespace) -> None:
    """Before a flow runs: a broken configuration fails now, before a Prefect server is started
    for nothing; then the server Prefect would start is started and tied to this process. (`run`
    and `backfill` first see whether there is anything to do: `flows.nothing_to_do`.)"""
    from costalloc.core.settings import load_settings
    from costalloc.flows.server_guard import guard_ephemeral_server

    load_settings(args.config)
    guard_ephemeral_server()


def _schedule(args: argparse.Namespace) -> int:
    if os.environ.get("PREFECT_LOGGING_LEVEL") == "CRITICAL":  # scheduled runs log to the UI
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    from costalloc.flows.schedule import serve_deployments

    return serve_deployments(args.config, cron=args.cron)


def _reallocate(args: argparse.Namespace) -> int:
    from costalloc.flows.reallocate import reallocate

    _start_flows(args)
    reallocate(config=str(args.config), periods=[str(p) for p in _periods(args)])
    return 0


def _export(args: argparse.Namespace) -> int:
    """Prints the main file of each export on stdout (one line per period, or the workbook);
    the companion tables and the column dictionary are listed on stderr."""
    from costalloc.reports.finance.extracts import export_period, export_workbook

    if args.focus_version and (args.table != "allocated" or args.format == "xlsx"):
        raise ConfigurationError("--focus-version writes `allocated` as csv or parquet")
    out = _out_folder(args)
    periods = _periods(args)
    with _warehouse(args, read_only=True) as con, _writing(out):
        if args.format == "xlsx" and args.table == "allocated":
            print(export_workbook(con, args.table, periods[0], periods[-1], out))
            return 0
        for period in periods:
            extract = export_period(con, args.table, period, args.format, out,
                                    focus_version=args.focus_version)
            print(extract.main)
            if len(extract.files) > 1:
                print(f"costalloc: with it: {', '.join(str(p) for p in extract.files[1:])}",
                      file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from costalloc.core.settings import load_settings
    from costalloc.reports.serving.endpoint import run_server, tokens_from_environment
    from costalloc.reports.serving.web import web_files

    settings = load_settings(args.config)
    tokens = tokens_from_environment()
    _require_warehouse(args, settings.warehouse)
    run_server(settings.warehouse, tokens, host=args.host, port=args.port,
               web=web_files(settings, args.config.parent))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from costalloc.core.settings import load_settings
    from costalloc.warehouse.connection import connect
    from costalloc.warehouse.migrations import recorded_version

    settings = load_settings(args.config)
    con = connect(settings.warehouse)  # a read-write open migrates
    try:
        print(f"warehouse `{settings.warehouse}` is at schema version {recorded_version(con)}")
    finally:
        con.close()
    return 0


def _summary(args: argparse.Namespace) -> int:
    from costalloc.core.settings import load_settings
    from costalloc.reports.finance.summary import allocation_summary, render

    settings = load_settings(args.config)
    _require_warehouse(args, settings.warehouse)  # before asking for anything else
    rates = _exchange_rates(args, settings)
    with _warehouse(args, read_only=True) as con:
        print(render(allocation_summary(con, args.period, args.to, rates)))
    return 0


def _init(args: argparse.Namespace) -> int:
    from costalloc.allocation.starter import propose
    from costalloc.core.settings import load_settings
    from costalloc.flows import hints
    from costalloc.flows.init import (
        describe,
        detect_source,
        inspect,
        source_settings,
        write_project,
    )

    today = date.today()
    if args.uri:
        directory = args.dir
        uri = args.uri if "://" in args.uri else str(Path(args.uri).resolve())
        options = _options(args.option)
        name = args.name or (args.kind or "").split("-")[0] or None
        if args.kind:
            source = source_settings(name or args.kind, args.kind, uri, options)
        else:
            source = detect_source(name or "export", uri, options, args.period, today)
            if name is None:
                source = source.model_copy(update={"name": source.kind.split("-")[0]})
        sources = [source]
    else:
        settings = load_settings(args.config)
        if not settings.sources:
            raise ConfigurationError(f"{args.config} names no sources; pass --from URI")
        directory, sources = args.config.parent, list(settings.sources)
    inspected, census = inspect(sources, args.period, today)
    starter = propose(census)
    if args.uri:  # a local export is written relative to the new configuration's folder
        inspected = [i if "://" in i.source.uri else type(i)(
            i.source.model_copy(update={"uri": os.path.relpath(i.source.uri, directory)}),
            i.period, i.delivery) for i in inspected]
    written = write_project(directory, inspected, starter, config=bool(args.uri),
                            force=args.force)
    for line in describe(inspected, starter):
        print(line)
    for path in written:
        print(f"wrote {path}")
    config = directory / "costalloc.yaml" if args.uri else args.config
    print(f"next:  {hints.command('rules', 'check', directory / 'rules.yaml', config=config)}")
    print(f"       {hints.command('backfill', '--period', inspected[0].period, config=config)}")
    return 0


def _options(pairs: list[str], option: str = "--option") -> dict[str, object]:
    import yaml

    options: dict[str, object] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ConfigurationError(f"{option} `{pair}` is not KEY=VALUE")
        options[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return options


def _rate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rates", type=Path, default=None, help="exchange rates (CSV/Parquet: "
                        "period or date, from_currency, to_currency, rate) to also show figures "
                        "converted into --currency (default: `exchange_rates` in the "
                        "configuration; see docs/currencies.md)")
    parser.add_argument("--currency", type=str.upper, default=None, help="the reporting "
                        "currency to convert into (default: `reporting_currency` in the "
                        "configuration)")


def _exchange_rates(args: argparse.Namespace, settings: Settings) -> ExchangeRates | None:
    """`--rates` / `--currency`, each falling back on the configuration's `exchange_rates` /
    `reporting_currency`; None when neither names anything (figures stay per currency)."""
    from costalloc.core.exchange import read_rates

    path = args.rates or settings.exchange_rates
    currency = args.currency or settings.reporting_currency
    if path is None and currency is None:
        return None
    if path is None:
        raise UsageError(f"--currency {currency} needs exchange rates: pass --rates FILE or set "
                         "`exchange_rates` in the configuration (see docs/currencies.md)")
    if currency is None:
        raise UsageError("--rates needs the currency to convert into: pass --currency CODE or "
                         "set `reporting_currency` in the configuration")
    return read_rates(path, currency)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a day of the form YYYY-MM-DD") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"`{text}` is not a whole number of at least 1")
    return int(text)


def _declared_dimensions(settings: Settings) -> dict[str, list[str]] | None:
    """The rules' dimensions and values, which budgets and events are checked against."""
    from costalloc.allocation.loader import load_rules

    return dict(load_rules(settings.rules).dimensions) if settings.rules is not None else None


def _review(args: argparse.Namespace) -> int:
    """The review table on stdout; with --format csv|xlsx the main file on stdout and the
    companion files on stderr."""
    from costalloc.core.settings import load_settings
    from costalloc.reports.planning.budgets import budgets_path_beside, load_budgets
    from costalloc.reports.planning.exports import export_review
    from costalloc.reports.planning.forecast import forecast
    from costalloc.reports.planning.review import render, review

    settings = load_settings(args.config)
    _require_warehouse(args, settings.warehouse)  # before asking for anything else
    dimensions = _declared_dimensions(settings)
    path = args.budgets or budgets_path_beside(settings.rules, args.config.parent)
    if args.budgets is None and not path.is_file():
        raise ConfigurationError(f"no budgets file: `{path}` does not exist; write one beside the "
                                 "rules (see docs/planning.md) or pass --budgets FILE")
    budgets = load_budgets(path, dimensions)
    if args.as_of is not None and args.as_of < args.period.first_day:
        raise UsageError(f"--as-of {args.as_of} is before the period {args.period}")
    events = _events(args, settings, dimensions) if args.format == "xlsx" else None
    with _warehouse(args, read_only=True) as con:
        result = review(con, budgets, args.period, as_of=args.as_of)
        if args.format == "table":
            print(render(result))
            return 0
        ahead = (forecast(con, args.period.next(), args.forecast_months, events=events,
                          basis=budgets.basis)
                 if args.format == "xlsx" and args.forecast_months > 0 else None)
        out = _out_folder(args, settings.reports_dir)
        with _writing(out):
            extract = export_review(con, result, args.format, out, forecast=ahead)
    print(extract.main)
    if len(extract.files) > 1:
        print(f"costalloc: with it: {', '.join(str(p) for p in extract.files[1:])}",
              file=sys.stderr)
    return 0


def _unit_cost(args: argparse.Namespace) -> int:
    from costalloc.allocation.loader import load_rules
    from costalloc.core.settings import load_settings
    from costalloc.reports.planning.unit_cost import read_units, render, to_frame, unit_costs

    settings = load_settings(args.config)
    _require_warehouse(args, settings.warehouse)  # before asking for anything else
    if settings.rules is not None and args.dimension not in load_rules(settings.rules).dimensions:
        raise ConfigurationError(f"`{args.dimension}` is not a dimension the rules declare")
    units_file = args.units or ((settings.rules.parent if settings.rules else args.config.parent)
                                / "units.csv")
    units = read_units(units_file)
    rates = _exchange_rates(args, settings)
    with _warehouse(args, read_only=True) as con:
        results = unit_costs(con, units, args.period, args.to or args.period,
                             dimension=args.dimension, basis=args.basis, rates=rates)
    if args.format == "table":
        print(render(results, args.dimension, args.basis, rates))
        return 0
    out = _out_folder(args, settings.reports_dir)
    target = out / f"unit_cost_{args.period}.csv"
    with _writing(out):
        out.mkdir(parents=True, exist_ok=True)
        to_frame(results).write_csv(target)
    print(target)
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from costalloc.core.settings import load_settings
    from costalloc.reports.planning.exports import export_forecast
    from costalloc.reports.planning.forecast import forecast, render

    settings = load_settings(args.config)
    _require_warehouse(args, settings.warehouse)  # before asking for anything else
    events = _events(args, settings, _declared_dimensions(settings))
    with _warehouse(args, read_only=True) as con:
        result = forecast(con, args.start, args.months, events=events, history=args.history,
                          basis=args.basis)
    if args.format == "table":
        print(render(result))
        return 0
    out = _out_folder(args, settings.reports_dir)
    with _writing(out):
        print(export_forecast(result, args.format, out).main)
    return 0


def _events(args: argparse.Namespace, settings: Settings,
            dimensions: dict[str, list[str]] | None) -> Events | None:
    """The events file given, else `events.yaml` beside the rules when there is one."""
    from costalloc.reports.planning.forecast import events_path_beside, load_events

    if args.events is not None:
        return load_events(args.events, dimensions)
    path = events_path_beside(settings.rules, args.config.parent)
    return load_events(path, dimensions) if path.is_file() else None


def _rules_check(args: argparse.Namespace) -> int:
    from costalloc.allocation.inspect import render_report, rule_statistics
    from costalloc.allocation.loader import load_rules

    ruleset = load_rules(args.file)
    print(f"{args.file}: OK — {len(ruleset.rules)} rule(s), {len(ruleset.splits)} split(s), "
          f"{len(ruleset.capitalization)} capitalization entr(ies); dimensions "
          f"{', '.join(ruleset.dimension_order())}; version {ruleset.version}")
    if args.period is not None:
        from costalloc.core.settings import load_settings

        settings = load_settings(args.config)
        _require_warehouse(args, settings.warehouse)  # before asking for anything else
        rates = _exchange_rates(args, settings)
        with _warehouse(args, read_only=True) as con:
            print(render_report(rule_statistics(con, ruleset, args.period), ruleset, rates))
    return 0


def _rules_diff(args: argparse.Namespace) -> int:
    from costalloc.allocation.inspect import diff_rules
    from costalloc.allocation.loader import load_rules

    old, new = load_rules(args.old), load_rules(args.new)
    with _warehouse(args, read_only=False) as con:
        print(diff_rules(con, old, new, args.period))
    return 0


def _explain(args: argparse.Namespace) -> int:
    from costalloc.allocation.explain import explain
    from costalloc.allocation.loader import load_rules
    from costalloc.core.settings import load_settings

    settings = load_settings(args.config)
    _require_warehouse(args, settings.warehouse)  # before asking for anything else
    ruleset = load_rules(settings.rules) if settings.rules is not None else None
    known = [source.name for source in settings.sources]
    with _warehouse(args, read_only=True) as con:
        try:
            print(explain(con, args.line_item_id, args.period, args.source, ruleset))
        except CostallocError:
            if args.source is not None and args.source not in known:
                raise UsageError(f"no such source `{args.source}`; the configuration names "
                                 f"{', '.join(f'`{name}`' for name in known) or 'none'}"
                                 ) from None
            raise
    return 0


def _azure_exports(args: argparse.Namespace) -> int:
    from costalloc.connectors.azure import cost_management_client, list_exports

    for export in list_exports(cost_management_client(), args.scope):
        print(export.describe())
    return 0


def _azure_run_export(args: argparse.Namespace) -> int:
    from costalloc.connectors.azure import cost_management_client, run_export

    run_export(cost_management_client(), args.scope, args.export, args.period)
    runs = command("azure", "runs", "--scope", args.scope, "--export", args.export,
                   config=args.config)
    print(f"started export `{args.export}` for {args.period}; `{runs}` shows its progress")
    return 0


def _azure_runs(args: argparse.Namespace) -> int:
    from costalloc.connectors.azure import cost_management_client, export_runs

    for run in export_runs(cost_management_client(), args.scope, args.export):
        print(run.describe())
    return 0


@contextmanager
def _warehouse(args: argparse.Namespace, *, read_only: bool) -> Iterator[
        duckdb.DuckDBPyConnection]:
    """The configured warehouse, which must exist: every command that opens it reads it."""
    from costalloc.core.settings import load_settings
    from costalloc.warehouse.connection import connect

    path = load_settings(args.config).warehouse
    _require_warehouse(args, path)
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def _require_warehouse(args: argparse.Namespace, path: Path) -> None:
    if path.is_file():
        return
    first = getattr(args, "period", None)
    last = getattr(args, "to", None)
    period = first if isinstance(first, BillingPeriod) else "YYYY-MM"
    words = ["backfill", "--period", period, *(["--to", last] if last else [])]
    raise NoWarehouseYet(f"no warehouse yet at `{path}`; run `{command(*words, config=args.config)}` "
                         "first (it loads and allocates the months you name)")


def _out_folder(args: argparse.Namespace, default: Path | None = None) -> Path:
    """The folder files are written into: `--out`, else `reports_dir`. A file there is a
    mistake said before anything is read."""
    out: Path
    if args.out is not None:
        out = args.out
    elif default is not None:
        out = default
    else:
        from costalloc.core.settings import load_settings

        out = load_settings(args.config).reports_dir
    if out.exists() and not out.is_dir():
        option = "--out" if args.out is not None else "`reports_dir` in the configuration"
        raise UsageError(f"{option} `{out}` is a file; name a folder (the files are written "
                         "inside it); nothing was written")
    return out


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """A folder or file that can't be written is one paragraph, not a traceback."""
    try:
        yield
    except OSError as error:
        where = f"`{error.filename}`" if error.filename else f"under `{out}`"
        raise OutputError(f"could not write {where}: {error.strerror or error}; files "
                          "finished before it are in place, nothing half-written is left"
                          ) from None


def _demo(args: argparse.Namespace) -> int:
    from costalloc.flows.demo import run_demo
    from costalloc.flows.server_guard import guard_ephemeral_server

    return run_demo(args.dir, before_flows=guard_ephemeral_server)


if __name__ == "__main__":
    raise SystemExit(main())
