"""The nightly run: load every source's changed deliveries, then re-allocate the periods whose
line items (or rules) changed. Thin Prefect wrappers over plain functions.

First the run triages with cheap reads (`flows.triage`): a partition whose delivery is the one
published, or has none yet, is settled without a task. Each other (source, period): take its
lock in the warehouse and read the published fingerprint (here), load it the way the task
runner calls for (`flows.loading_tasks`: staged as Parquet parts on the runner — a bounded
thread pool, or Dask, one task per file where the connector reads file by file — then
published here, one at a time), release the
lock. A period is allocated, under its own lock, as soon as all of its partitions are done. A
failing source fails its own task and the run, never the other sources' loads.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.task_runners import TaskRunner

from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import AllocationResult, allocate_period
from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, load_settings
from costalloc.flows.loading import (
    PartitionFailed,
    discard_scratch,
    new_run_id,
    record_stage_failure,
    warehouse,
)
from costalloc.flows.loading_tasks import PendingLoad, claim_partition, start_load
from costalloc.flows.plan import Partition, parse_periods
from costalloc.flows.publish import publish_run_outputs
from costalloc.flows.retries import BUSY_RETRIES, retry_transient, with_backoff
from costalloc.flows.run_report import Progress, RunReport, Step
from costalloc.flows.runners import DEFAULT_MAX_WORKERS, RunnerChoice, task_runner
from costalloc.flows.triage import NO_RULES_NOTE, allocation_state, ruleset_of, triage
from costalloc.warehouse import locks

log = logging.getLogger(__name__)

CONFIG_VARIABLE = "COSTALLOC_CONFIG"  # the configuration file when a run names none


@task(name="allocate-period", cache_policy=NONE, retries=BUSY_RETRIES,
      retry_condition_fn=retry_transient)
def allocate(settings: Settings, period: BillingPeriod, run_id: str) -> AllocationResult:
    """Allocate `period` under its lock; publishes only if it conserves cost."""
    ruleset = ruleset_of(settings)
    key = locks.allocate_key(period)
    with warehouse(settings.warehouse) as con:
        gone = locks.acquire(con, key, locks.Holder.here(run_id))
        if gone is not None:
            run_log().warning("took over lock `%s` from %s, which is no longer running", key,
                              gone.describe())
        try:
            return allocate_period(con, ruleset, period, run_id)
        finally:
            locks.release(con, key, run_id)


def run_pipeline(settings: Settings, periods: list[BillingPeriod] | None, *,
                 sources: list[str] | None = None, force: bool = False,
                 progress: Progress | None = None, run_id: str | None = None,
                 runner: TaskRunner[Any] | None = None, today: date | None = None) -> RunReport:
    """Load, then allocate what changed. Every partition is tried; failures are collected.

    `periods=None` means each source's open periods (see `flows.plan`).
    """
    ruleset = ruleset_of(settings)  # a bad rules file fails before any source is read
    found = triage(settings, ruleset.version, periods, sources, force=force,
                   today=today or datetime.now(UTC).date())
    report = RunReport(run_id or new_run_id(), found.periods)
    tell = progress or (lambda step: None)
    if settings.rules is None:
        tell(Step("note", NO_RULES_NOTE))
    for settled in found.settled:
        report.loads.append(settled)
        tell(Step("load", settled.describe()))
    waiting = Counter(p.period for p in found.to_load)
    held: dict[Partition, str] = {}

    def allocate_when_done(partition: Partition | None, period: BillingPeriod) -> None:
        if partition is not None:
            waiting[period] -= 1
            if partition in held:
                _release(settings, held.pop(partition), report.run_id)
        if waiting[period] == 0:
            _allocate_if_needed(settings, ruleset, period, report, tell)

    def fail(partition: Partition, error: BaseException) -> None:
        message = str(error) if isinstance(error, CostallocError) else \
            f"{partition.name}: {type(error).__name__}: {error}"
        report.failures.append(message)
        tell(Step("load", f"FAILED {message}", failed=True))

    try:
        with runner or task_runner("threads") as pool:
            loading: list[tuple[Partition, PendingLoad]] = []
            for partition in found.to_load:
                source, period = partition.source.name, partition.period
                try:
                    claim = with_backoff(claim_partition).with_options(
                        task_run_name=f"lock {partition.name}")
                    published = claim(settings, source, period, report.run_id)
                except CostallocError as error:
                    fail(partition, error)
                    allocate_when_done(partition, period)
                    continue
                held[partition] = locks.load_key(source, period)
                load = start_load(settings, partition, report.run_id, published, force, pool)
                # queued partition by partition, files included, so the pool works through the
                # periods in order and a backfill allocates its first months first
                load.begin()
                load.launch()
                loading.append((partition, load))
            for period in report.periods:
                if period not in waiting:
                    allocate_when_done(None, period)
            for partition, load in loading:
                try:
                    result = load.result()
                except PartitionFailed as error:
                    with warehouse(settings.warehouse) as con:
                        record_stage_failure(con, error, partition.source.name,
                                             partition.period, report.run_id)
                    fail(partition, error)
                except Exception as error:  # one partition's bug must not stop the others
                    fail(partition, error)
                else:
                    report.loads.append(result)
                    tell(Step("load", result.describe()))
                allocate_when_done(partition, partition.period)
    finally:
        for key in held.values():
            _release(settings, key, report.run_id)
        if not settings.lake:
            discard_scratch(settings, report.run_id)
    return report


@flow(name="costalloc-nightly")
def nightly(config: str | None = None, periods: list[str] | None = None,
            sources: list[str] | None = None, force: bool = False, task_runner: str = "threads",
            dask_address: str | None = None, max_workers: int = DEFAULT_MAX_WORKERS,
            dask_cluster: str | None = None,
            dask_cluster_options: dict[str, Any] | None = None) -> RunReport:
    """Every source's current billing period, and the previous one while its provider may still
    restate it (or exactly `periods`: `YYYY-MM` or `YYYY-MM..YYYY-MM`). Fails if any step did.
    The task runner: `flows.runners.task_runner`."""
    runner = RunnerChoice(task_runner, dask_address, dask_cluster, dask_cluster_options or {},
                          max_workers)
    return run_checked("nightly", config, periods, sources, force, runner,
                       progress=lambda step: announce(step.message))


def run_checked(what: str, config: str | None, periods: list[str] | None,
                sources: list[str] | None, force: bool, runner: RunnerChoice,
                progress: Progress) -> RunReport:
    """Run the pipeline with the chosen task runner; raise if any step failed (the run ends
    failed in Prefect, and the command line exits non-zero with every failure listed)."""
    settings = load_settings(config_path(config))
    chosen = parse_periods(periods) if periods else None
    report = run_pipeline(settings, chosen, sources=sources, force=force, progress=progress,
                          runner=runner.build())
    published = sorted({a.period for a in report.allocations})
    outputs = publish_run_outputs(settings, config_path(config), published, report.run_id,
                                  run_log())
    for breach in outputs.breaches:
        progress(Step("allocate", f"budget {breach.period}: {breach.message}"))
    for overdue in outputs.overdue:
        progress(Step("note", f"WARNING {overdue}"))
    if not report.ok:
        raise CostallocError(f"{what} run {report.run_id}: {len(report.failures)} step(s) "
                             "failed:\n" + "\n".join(report.failures))
    return report


def config_path(config: str | None) -> Path:
    """`config`, else `$COSTALLOC_CONFIG`, else `costalloc.yaml` in the working directory."""
    return Path(config or os.environ.get(CONFIG_VARIABLE) or "costalloc.yaml")


def announce(message: str) -> None:
    """Tell both the person at the terminal and the Prefect run log."""
    print(message, flush=True)
    run_log().info(message)


def run_log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run's logger (shown in the UI), or this module's outside a run."""
    try:
        return get_run_logger()
    except Exception:  # outside a Prefect run (plain function calls, tests)
        return log


def _release(settings: Settings, key: str, run_id: str) -> None:
    try:
        with warehouse(settings.warehouse) as con:
            locks.release(con, key, run_id)
    except CostallocError as error:  # the lock stays until a run finds this process gone
        run_log().warning("could not release lock `%s`: %s", key, error)


def _allocate_if_needed(settings: Settings, ruleset: RuleSet, period: BillingPeriod,
                        report: RunReport, tell: Progress) -> None:
    try:
        current = _allocation_is_current(settings, ruleset, period, report)
        if current is not None:
            tell(Step("allocate", f"{period}: {current}"))
            return
        result = with_backoff(allocate).with_options(task_run_name=f"allocate {period}")(
            settings, period, report.run_id)
    except CostallocError as error:
        report.failures.append(str(error))
        tell(Step("allocate", f"FAILED {error}", failed=True))
        return
    report.allocations.append(result)
    tell(Step("allocate", f"allocated {period} under rules {ruleset.version}"))


def _allocation_is_current(settings: Settings, ruleset: RuleSet, period: BillingPeriod,
                           report: RunReport) -> str | None:
    """Why `period` needs no allocation now, or None when it does: a load changed it, or its
    published allocation is older than its line items or made under other rules (so a re-run
    after an interruption allocates only the periods it had not finished)."""
    if any(r.outcome == "loaded" and r.period == period for r in report.loads):
        return None
    with warehouse(settings.warehouse) as con:
        return allocation_state(con, ruleset.version, period)
