"""What a run has to do, decided with cheap reads before any Prefect machinery starts.

For each (source, period) a run looks at, the current delivery's fingerprint (the provider's
manifest, a folder listing, one small BigQuery query) is compared with the one published in
`ingest_log`; for each period, the published allocation with the rules version and the time
its line items last changed. A partition whose delivery is the published one, or that has no
delivery yet, is settled here and never becomes a task. Everything else goes to the loading
step, which finds the delivery again under the partition's lock: a new delivery, `force`, a
source whose discovery failed here (the loading step meets the error again, retries it if it
is transient and reports it), and a kind that makes a new delivery each time it is asked
(`delivers_on_request` in the source registry).

No Prefect import here: `flows.nothing_to_do` runs this before deciding whether Prefect is
needed at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from costalloc.allocation.loader import load_rules
from costalloc.allocation.model import RuleSet
from costalloc.connectors.delivery import Connector
from costalloc.connectors.registry import connector_for, kind_of
from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings
from costalloc.flows.loading import LoadResult
from costalloc.flows.plan import Partition, connector_settings, plan
from costalloc.sql import load
from costalloc.warehouse.connection import connect
from costalloc.warehouse.partitions import published_fingerprint

# Without `rules:` every line item gets the defaults; the version is the one an empty rules
# file has (the hash of no bytes), so adding an empty file later changes nothing.
NO_RULES_VERSION = hashlib.sha256(b"").hexdigest()[:12]
NO_RULES_NOTE = ("no `rules:` in the configuration: every line item is allocated to the "
                 "defaults (`unallocated`, cost_type `opex`) until you add a rules file")


def ruleset_of(settings: Settings) -> RuleSet:
    """The configured rules (a bad file fails here, before any source is read)."""
    if settings.rules is None:
        return RuleSet(version=NO_RULES_VERSION)
    return load_rules(settings.rules)


@dataclass(frozen=True)
class Triage:
    """The partitions a run must load, those already settled, and, for each period no load
    touches, why its published allocation needs nothing (a period missing there needs one)."""

    periods: list[BillingPeriod]
    to_load: list[Partition] = field(default_factory=list)
    settled: list[LoadResult] = field(default_factory=list)
    allocation_current: dict[BillingPeriod, str] = field(default_factory=dict)

    @property
    def has_work(self) -> bool:
        return bool(self.to_load) or any(p not in self.allocation_current for p in self.periods)


def triage(settings: Settings, rules_version: str, periods: list[BillingPeriod] | None,
           sources: list[str] | None, *, force: bool, today: date) -> Triage:
    """Which partitions of the run (see `flows.plan`) need loading, and which periods need
    allocating when nothing is loaded into them."""
    partitions = plan(settings, periods, sources, today)
    run_periods = sorted({p.period for p in partitions} | set(periods or []))
    published = _published_state(settings.warehouse, partitions, run_periods, rules_version)
    if force or published is None:
        return Triage(run_periods, list(partitions))
    fingerprints, current = published
    to_load: list[Partition] = []
    settled: list[LoadResult] = []
    connectors: dict[str, Connector] = {}
    for partition in partitions:
        result = _settled(partition, fingerprints.get(partition), connectors)
        if result is None:
            to_load.append(partition)
        else:
            settled.append(result)
    loading = {p.period for p in to_load}
    return Triage(run_periods, to_load, settled,
                  {period: why for period, why in current.items() if period not in loading})


def allocation_state(con: duckdb.DuckDBPyConnection, rules_version: str,
                     period: BillingPeriod) -> str | None:
    """Why `period`'s published allocation needs nothing now, or None when it must be
    allocated: another rules version, no published allocation, or line items loaded since."""
    rows = con.sql(load("allocation/allocation_state"), params={"period": str(period)}).fetchall()
    line_item_rows, loaded_at, published_version, published_at = rows[0]
    if not line_item_rows:
        return "no line items loaded; nothing to allocate"
    if (published_version != rules_version or published_at is None
            or (loaded_at is not None and loaded_at > published_at)):
        return None
    return f"allocation under rules {rules_version} is current; not re-allocated"


def _published_state(warehouse: Path, partitions: list[Partition], periods: list[BillingPeriod],
                     rules_version: str) -> tuple[dict[Partition, str | None],
                                                  dict[BillingPeriod, str]] | None:
    """Published fingerprints and current allocations, read in one short read-only look; None
    when the warehouse can't be read now (busy, or to be migrated): the loading step decides."""
    if not warehouse.is_file():
        return {}, {period: "no line items loaded; nothing to allocate" for period in periods}
    try:
        con = connect(warehouse, read_only=True)
    except (CostallocError, duckdb.Error):
        return None
    try:
        fingerprints = {p: published_fingerprint(con, p.source.name, p.period)
                        for p in partitions}
        current = {period: why for period in periods
                   if (why := allocation_state(con, rules_version, period)) is not None}
    finally:
        con.close()
    return fingerprints, current


def _settled(partition: Partition, published: str | None,
             connectors: dict[str, Connector]) -> LoadResult | None:
    """The partition's outcome when cheap reads settle it, else None (it is to be loaded)."""
    source = partition.source
    if kind_of(source.kind).delivers_on_request:
        return None
    try:
        if source.name not in connectors:
            connectors[source.name] = connector_for(connector_settings(source))
        delivery = connectors[source.name].find_delivery(partition.period)
    except Exception:  # the loading step meets it again, retries or reports it
        return None
    if delivery is None:
        return LoadResult(source.name, partition.period, "no-delivery")
    if delivery.fingerprint == published:
        return LoadResult(source.name, partition.period, "unchanged", delivery.fingerprint)
    return None
