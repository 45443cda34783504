"""The nightly run and the backfill: load every source's changed deliveries, then re-allocate
the periods whose line items (or rules) changed. Thin wrappers over plain functions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from allocation.loader import load_rules
from allocation.model import RuleSet
from allocation.publish import AllocationResult, allocate_period
from connectors.ingest import IngestResult, ingest
from connectors.registry import connector_for
from core.errors import ConfigurationError, CostallocError
from core.period import BillingPeriod
from core.settings import Settings, load_settings
from sql import load
from warehouse.connection import connect

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass
class RunReport:
    run_id: str
    periods: list[BillingPeriod]
    loads: list[IngestResult] = field(default_factory=list)
    allocations: list[AllocationResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def default_periods(today: datetime | None = None) -> list[BillingPeriod]:
    """The current month and the previous one, which AWS restates for about two weeks."""
    current = BillingPeriod.containing((today or datetime.now(UTC)).date())
    return [current.previous(), current]


@task(name="load-partition", cache_policy=NONE)
def load_partition(settings: Settings, source: str, period: BillingPeriod, run_id: str,
                   force: bool = False) -> IngestResult:
    connector = connector_for(settings.source(source))
    con = connect(settings.warehouse)
    try:
        return ingest(con, connector, period, run_id, force=force)
    finally:
        con.close()


@task(name="allocate-period", cache_policy=NONE)
def allocate(settings: Settings, period: BillingPeriod, run_id: str) -> AllocationResult:
    ruleset = _rules(settings)
    con = connect(settings.warehouse)
    try:
        return allocate_period(con, ruleset, period, run_id)
    finally:
        con.close()


def run_pipeline(settings: Settings, periods: list[BillingPeriod], *,
                 sources: list[str] | None = None, force: bool = False,
                 progress: Progress | None = None, run_id: str | None = None) -> RunReport:
    """Load, then allocate what changed. Every source is tried; failures are collected."""
    ruleset = _rules(settings)
    report = RunReport(run_id or uuid.uuid4().hex[:12], periods)
    chosen = [settings.source(name) for name in sources] if sources else settings.sources
    for period in periods:
        for source in chosen:
            try:
                result = load_partition(settings, source.name, period, report.run_id, force)
                report.loads.append(result)
                if progress:
                    progress(result.describe())
            except CostallocError as error:
                report.failures.append(str(error))
                if progress:
                    progress(f"FAILED {error}")
    for period in periods:
        if not _needs_allocation(settings, ruleset, period, report):
            continue
        try:
            report.allocations.append(allocate(settings, period, report.run_id))
            if progress:
                progress(f"allocated {period} under rules {ruleset.version}")
        except CostallocError as error:
            report.failures.append(str(error))
            if progress:
                progress(f"FAILED {error}")
    return report


@flow(name="costalloc-nightly")
def nightly(config: str = "costalloc.yaml", periods: list[str] | None = None,
            sources: list[str] | None = None, force: bool = False) -> RunReport:
    """Every source, the current and previous billing period (or `periods`)."""
    settings = load_settings(Path(config))
    chosen = [BillingPeriod.parse(p) for p in periods] if periods else default_periods()
    report = run_pipeline(settings, chosen, sources=sources, force=force, progress=announce)
    if not report.ok:
        raise CostallocError(f"{len(report.failures)} step(s) failed:\n" +
                             "\n".join(report.failures))
    return report


def announce(message: str) -> None:
    """Tell both the person at the terminal and the Prefect run log."""
    print(message, flush=True)
    get_run_logger().info(message)


def _rules(settings: Settings) -> RuleSet:
    if settings.rules is None:
        raise ConfigurationError("the configuration names no `rules:` file; allocation needs one")
    return load_rules(settings.rules)


def _needs_allocation(settings: Settings, ruleset: RuleSet, period: BillingPeriod,
                      report: RunReport) -> bool:
    """A period is re-allocated when a load changed it, or its rules or line items moved on."""
    if any(r.outcome == "loaded" and r.period == period for r in report.loads):
        return True
    con = connect(settings.warehouse)
    try:
        rows = con.sql(load("allocation/allocation_state"),
                       params={"period": str(period)}).fetchall()
    finally:
        con.close()
    line_item_rows, loaded_at, published_version, published_at = rows[0]
    if not line_item_rows:
        return False
    return bool(published_version != ruleset.version or published_at is None
                or (loaded_at is not None and loaded_at > published_at))
