"""Backfill a billing period or a range, with a progress bar per (source, period).

Resumable: a delivery whose fingerprint is already loaded is skipped, and a period whose
published allocation is current (same rules, line items not newer) is not allocated again, so
re-running after an interruption does only what is missing. `force` reloads everything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from costalloc.core.errors import ConfigurationError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.flows.nightly import announce, config_path, run_checked, run_log
from costalloc.flows.plan import parse_periods, plan
from costalloc.flows.run_report import RunReport, Step
from costalloc.flows.runners import DEFAULT_MAX_WORKERS, RunnerChoice

_listeners: list[Callable[[Step], None]] = []


def _notify(step: Step) -> None:
    """To the progress bar when the command line started the run, else the terminal; and to
    the Prefect run log either way."""
    if not _listeners:
        announce(step.message)
        return
    run_log().info(step.message)
    for listener in _listeners:
        listener(step)


@flow(name="costalloc-backfill")
def backfill(config: str | None = None, periods: list[str] | None = None,
             sources: list[str] | None = None, force: bool = False, task_runner: str = "threads",
             dask_address: str | None = None, max_workers: int = DEFAULT_MAX_WORKERS,
             dask_cluster: str | None = None,
             dask_cluster_options: dict[str, Any] | None = None) -> RunReport:
    """Load and allocate `periods` (`YYYY-MM` or `YYYY-MM..YYYY-MM`) for every source, or
    `sources`. Fails if any step did; re-running it does only what is still missing. The task
    runner: `flows.runners.task_runner`."""
    if not periods:
        raise ConfigurationError("backfill needs `periods`, e.g. [\"2026-01..2026-06\"]")
    runner = RunnerChoice(task_runner, dask_address, dask_cluster, dask_cluster_options or {},
                          max_workers)
    return run_checked("backfill", config, periods, sources, force, runner, progress=_notify)


def backfill_with_progress(config: Path, periods: list[BillingPeriod],
                           sources: list[str] | None, force: bool,
                           runner: RunnerChoice | None = None) -> int:
    settings = load_settings(config_path(str(config)))
    partitions = plan(settings, parse_periods([str(p) for p in periods]), sources, date.today())
    # One message per line wherever stderr goes (rich wraps at 80 columns off a terminal, which
    # splits a record for grep); the bar only on a terminal, where it redraws in place.
    console = Console(stderr=True, soft_wrap=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        loads = bar.add_task("load (source × period)", total=len(partitions))
        allocations = bar.add_task("allocate (period)", total=len(periods))

        def listener(step: Step) -> None:
            bar.console.print(step.message, highlight=False)
            if step.kind == "load":
                bar.advance(loads)
            elif step.kind == "allocate":
                bar.advance(allocations)

        _listeners.append(listener)
        try:
            chosen = runner or RunnerChoice()
            backfill(config=str(config), periods=[str(p) for p in periods], sources=sources,
                     force=force, task_runner=chosen.kind, dask_address=chosen.dask_address,
                     max_workers=chosen.max_workers, dask_cluster=chosen.dask_cluster,
                     dask_cluster_options=chosen.dask_cluster_options or None)
        finally:
            _listeners.remove(listener)
            bar.update(loads, completed=len(partitions))
            bar.update(allocations, completed=len(periods))
    return 0
