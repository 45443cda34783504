"""The nightly run: load every source's changed deliveries, then re-allocate the periods whose
line items (or rules) changed. Thin Prefect wrappers over plain functions.

Per (source, period): take its lock in the warehouse and read the published fingerprint (here),
stage the delivery as Parquet parts (on the task runner: a bounded thread pool, or Dask),
publish it into `line_items` (here, one at a time), release the lock. `stage` and `publish` are
the two halves of `flows.loading.load_partition`, the one loading path the tests use too. A
period is allocated, under its own lock, as soon as all of its partitions are done. A failing
source fails its own task and the run, never the other sources' loads.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import duckdb
from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner
from prefect.tasks import exponential_backoff

from costalloc.allocation.loader import load_rules
from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import AllocationResult, allocate_period
from costalloc.core.errors import CostallocError, TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, load_settings
from costalloc.flows.loading import (
    LoadResult,
    PartitionFailed,
    Staged,
    discard_scratch,
    new_run_id,
    partition_store,
    publish,
    record_stage_failure,
    stage,
    warehouse,
)
from costalloc.flows.plan import Partition, parse_periods, plan
from costalloc.flows.publish import publish_run_outputs
from costalloc.flows.runners import DEFAULT_MAX_WORKERS, task_runner
from costalloc.sql import load
from costalloc.warehouse import locks
from costalloc.warehouse.partitions import published_fingerprint

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

CONFIG_VARIABLE = "COSTALLOC_CONFIG"  # the configuration file when a run names none
RETRY_BASE_VARIABLE = "COSTALLOC_RETRY_BASE_SECONDS"  # first retry delay; doubles each time
RETRY_BASE_SECONDS = 10.0
SOURCE_RETRIES = 3  # throttling, 5xx, timeouts: 10 s, 20 s, 40 s
BUSY_RETRIES = 4  # a lock or the warehouse held by another run: 10 s … 80 s
# Without `rules:` every line item gets the defaults; the version is the one an empty rules
# file has (the hash of no bytes), so adding an empty file later changes nothing.
NO_RULES_VERSION = hashlib.sha256(b"").hexdigest()[:12]
NO_RULES_NOTE = ("no `rules:` in the configuration: every line item is allocated to the "
                 "defaults (`unallocated`, cost_type `opex`) until you add a rules file")


@dataclass(frozen=True)
class Step:
    """One thing a run did, for the terminal, the Prefect log and the progress bar."""

    kind: Literal["load", "allocate", "note"]  # a note: something to know, not a step
    message: str
    failed: bool = False


Progress = Callable[[Step], None]


@dataclass
class RunReport:
    run_id: str
    periods: list[BillingPeriod]
    loads: list[LoadResult] = field(default_factory=list)
    allocations: list[AllocationResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def retry_transient(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry throttling, 5xx, timeouts and a busy warehouse; never configuration, source or
    data errors (they fail the same way until a person fixes them)."""
    return isinstance(state.data, TransientError)


@task(name="claim-partition", cache_policy=NONE, retries=BUSY_RETRIES,
      retry_condition_fn=retry_transient)
def claim_partition(settings: Settings, source: str, period: BillingPeriod,
                    run_id: str) -> str | None:
    """Take the (source, period) lock; the fingerprint published before this run."""
    with warehouse(settings.warehouse) as con:
        _take(con, locks.load_key(source, period), run_id)
        return published_fingerprint(con, source, period)


@task(name="stage-partition", cache_policy=NONE, retries=SOURCE_RETRIES,
      retry_condition_fn=retry_transient)
def stage_partition(settings: Settings, source: str, period: BillingPeriod, run_id: str,
                    published: str | None, force: bool = False) -> Staged:
    """Read and normalize one delivery into Parquet parts (runs on the task runner)."""
    store, _ = partition_store(settings, run_id)
    return stage(settings.source(source), period, run_id, store, published=published,
                 force=force)


@task(name="publish-partition", cache_policy=NONE, retries=BUSY_RETRIES,
      retry_condition_fn=retry_transient)
def publish_partition(settings: Settings, staged: Staged, run_id: str) -> LoadResult:
    store, keep = partition_store(settings, run_id)
    with warehouse(settings.warehouse) as con:
        return publish(con, staged, store, run_id, keep=keep)


@task(name="allocate-period", cache_policy=NONE, retries=BUSY_RETRIES,
      retry_condition_fn=retry_transient)
def allocate(settings: Settings, period: BillingPeriod, run_id: str) -> AllocationResult:
    """Allocate `period` under its lock; publishes only if it conserves cost."""
    ruleset = _rules(settings)
    key = locks.allocate_key(period)
    with warehouse(settings.warehouse) as con:
        _take(con, key, run_id)
        try:
            return allocate_period(con, ruleset, period, run_id)
        finally:
            locks.release(con, key, run_id)


def _take(con: duckdb.DuckDBPyConnection, key: str, run_id: str) -> None:
    gone = locks.acquire(con, key, locks.Holder.here(run_id))
    if gone is not None:
        run_log().warning("took over lock `%s` from %s, which is no longer running", key,
                          gone.describe())


def run_pipeline(settings: Settings, periods: list[BillingPeriod] | None, *,
                 sources: list[str] | None = None, force: bool = False,
                 progress: Progress | None = None, run_id: str | None = None,
                 runner: TaskRunner[Any] | None = None, today: date | None = None) -> RunReport:
    """Load, then allocate what changed. Every partition is tried; failures are collected.

    `periods=None` means each source's open periods (see `flows.plan`).
    """
    ruleset = _rules(settings)  # a bad rules file fails before any source is read
    partitions = plan(settings, periods, sources, today or datetime.now(UTC).date())
    report = RunReport(run_id or new_run_id(),
                       sorted({p.period for p in partitions} | set(periods or [])))
    tell = progress or (lambda step: None)
    if settings.rules is None:
        tell(Step("note", NO_RULES_NOTE))
    waiting = Counter(p.period for p in partitions)
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

    stage_task = _with_backoff(stage_partition)
    try:
        with runner or task_runner("threads") as pool:
            staging: dict[PrefectFuture[Staged], Partition] = {}
            for partition in partitions:
                source, period = partition.source.name, partition.period
                try:
                    claim = _with_backoff(claim_partition).with_options(
                        task_run_name=f"lock {partition.name}")
                    published = claim(settings, source, period, report.run_id)
                except CostallocError as error:
                    fail(partition, error)
                    allocate_when_done(partition, period)
                    continue
                held[partition] = locks.load_key(source, period)
                named = stage_task.with_options(task_run_name=f"load {partition.name}")
                future = pool.submit(named, parameters={
                    "settings": settings, "source": source, "period": period,
                    "run_id": report.run_id, "published": published, "force": force})
                staging[future] = partition
            for period in report.periods:
                if period not in waiting:
                    allocate_when_done(None, period)
            for future in as_completed(list(staging)):
                partition = staging[future]
                try:
                    publish_step = _with_backoff(publish_partition).with_options(
                        task_run_name=f"publish {partition.name}")
                    result = publish_step(settings, future.result(), report.run_id)
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
            dask_address: str | None = None,
            max_workers: int = DEFAULT_MAX_WORKERS) -> RunReport:
    """Every source's current billing period, and the previous one while its provider may still
    restate it (or exactly `periods`: `YYYY-MM` or `YYYY-MM..YYYY-MM`). Fails if any step did."""
    return run_checked("nightly", config, periods, sources, force, task_runner, dask_address,
                       max_workers, progress=lambda step: announce(step.message))


def run_checked(what: str, config: str | None, periods: list[str] | None,
                sources: list[str] | None, force: bool, kind: str, dask_address: str | None,
                max_workers: int, progress: Progress) -> RunReport:
    """Run the pipeline with the chosen task runner; raise if any step failed (the run ends
    failed in Prefect, and the command line exits non-zero with every failure listed)."""
    settings = load_settings(config_path(config))
    chosen = parse_periods(periods) if periods else None
    runner = task_runner(kind, dask_address=dask_address, max_workers=max_workers)
    report = run_pipeline(settings, chosen, sources=sources, force=force, progress=progress,
                          runner=runner)
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


def _with_backoff(step: Task[P, R]) -> Task[P, R]:
    """`step` with exponential backoff from `$COSTALLOC_RETRY_BASE_SECONDS` (default 10 s),
    jittered by up to 20 % so runs that failed together don't retry together."""
    base = float(os.environ.get(RETRY_BASE_VARIABLE) or RETRY_BASE_SECONDS)
    return step.with_options(retry_delay_seconds=exponential_backoff(backoff_factor=base),
                             retry_jitter_factor=0.2)


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
        result = _with_backoff(allocate).with_options(task_run_name=f"allocate {period}")(
            settings, period, report.run_id)
    except CostallocError as error:
        report.failures.append(str(error))
        tell(Step("allocate", f"FAILED {error}", failed=True))
        return
    report.allocations.append(result)
    tell(Step("allocate", f"allocated {period} under rules {ruleset.version}"))


def _rules(settings: Settings) -> RuleSet:
    if settings.rules is None:
        return RuleSet(version=NO_RULES_VERSION)
    return load_rules(settings.rules)


def _allocation_is_current(settings: Settings, ruleset: RuleSet, period: BillingPeriod,
                           report: RunReport) -> str | None:
    """Why `period` needs no allocation now, or None when it does: a load changed it, or its
    rules or line items moved on since its allocation was published (so a re-run after an
    interruption allocates only the periods it had not finished)."""
    if any(r.outcome == "loaded" and r.period == period for r in report.loads):
        return None
    with warehouse(settings.warehouse) as con:
        rows = con.sql(load("allocation/allocation_state"),
                       params={"period": str(period)}).fetchall()
    line_item_rows, loaded_at, published_version, published_at = rows[0]
    if not line_item_rows:
        return "no line items loaded; nothing to allocate"
    if (published_version != ruleset.version or published_at is None
            or (loaded_at is not None and loaded_at > published_at)):
        return None
    return f"allocation under rules {ruleset.version} is current; not re-allocated"
