"""Loading one (source, period) in two steps, as plain functions the flows wrap as tasks.

`stage` runs wherever the task runner puts it (a thread here, a Dask worker elsewhere): it
finds the source's current delivery and, unless that delivery is the one already published,
reads, checks and normalizes it, batch by batch, into Parquet parts. It never opens the
warehouse. `publish` runs in the flow's process, one partition at a time: it ties the parts out
against the export's own totals, makes them the lake's version of the partition (lake mode) and
replaces the partition of `line_items` in one transaction. DuckDB has one writer per file, so
the warehouse is held only for that short write, never while a source is being read.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow.fs as pafs

from costalloc.connectors.delivery import Delivery
from costalloc.connectors.ingest import IngestResult, normalized
from costalloc.connectors.registry import connector_for
from costalloc.connectors.storage import open_location
from costalloc.core.errors import CostallocError, TransientError, WarehouseBusyError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, SourceSettings
from costalloc.flows.plan import connector_settings
from costalloc.warehouse.connection import connect
from costalloc.warehouse.lake import PartitionStore
from costalloc.warehouse.partitions import (
    PartitionLoad,
    record_failure,
    replace_partition,
    replace_partition_from_parquet,
)

WAREHOUSE_WAIT_SECONDS = 60.0  # how long to wait for another process to close the warehouse
SCRATCH = ".costalloc-scratch"
_SCRATCH_KEPT_SECONDS = 24 * 3600
StageOutcome = Literal["staged", "unchanged", "no-delivery"]


@dataclass(frozen=True)
class Staged:
    """What `stage` left for `publish`: the delivery, its Parquet parts and its raw totals."""

    source: str
    period: BillingPeriod
    outcome: StageOutcome
    fingerprint: str | None = None
    files: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    raw_rows: int = 0
    emitted_rows: int = 0
    raw_totals: dict[str, Decimal] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class PartitionFailed(CostallocError):
    """A (source, period) could not be staged.

    Keeps the message and kind of the error that stopped it, and the delivery it was reading,
    so the failure is logged against that delivery; pickles whole, so it crosses from a Dask
    worker to the flow intact.
    """

    def __init__(self, message: str, *, kind: str, fingerprint: str | None = None,
                 files: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.fingerprint = fingerprint
        self.files = files

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), self.kind, self.fingerprint, self.files))


class TransientPartitionFailed(PartitionFailed, TransientError):
    """A staging failure worth retrying: throttling, 5xx, timeouts, a busy warehouse."""


def _rebuild(cls: type[PartitionFailed], message: str, kind: str, fingerprint: str | None,
             files: tuple[str, ...]) -> PartitionFailed:
    return cls(message, kind=kind, fingerprint=fingerprint, files=files)


def stage(source: SourceSettings, period: BillingPeriod, run_id: str, store: PartitionStore, *,
          published: str | None, force: bool = False) -> Staged:
    """Read and normalize the current delivery of (`source`, `period`) into Parquet parts,
    unless its fingerprint is `published` (and not `force`). Never touches the warehouse."""
    started_at = datetime.now(UTC)
    delivery: Delivery | None = None
    try:
        connector = connector_for(connector_settings(source))
        delivery = connector.find_delivery(period)
        if delivery is None:
            return Staged(source.name, period, "no-delivery", started_at=started_at)
        if not force and delivery.fingerprint == published:
            return Staged(source.name, period, "unchanged", delivery.fingerprint,
                          started_at=started_at)
        load = PartitionLoad(source.name, period, delivery.fingerprint, run_id,
                             files=list(delivery.files))
        parts = store.write(source.name, period, run_id, normalized(connector, delivery, load))
    except CostallocError as error:
        kind = TransientPartitionFailed if isinstance(error, TransientError) else PartitionFailed
        raise kind(str(error), kind=type(error).__name__,
                   fingerprint=delivery.fingerprint if delivery else None,
                   files=delivery.files if delivery else ()) from error
    return Staged(source.name, period, "staged", delivery.fingerprint, delivery.files,
                  tuple(parts), load.raw_rows, load.emitted_rows, dict(load.raw_totals),
                  started_at)


def publish(con: duckdb.DuckDBPyConnection, staged: Staged, store: PartitionStore, run_id: str,
            *, keep: bool) -> IngestResult:
    """Make the staged parts the published partition, or change nothing.

    `keep` (lake mode): the parts become the lake's `part-*.parquet` files of the partition and
    the previous version's files go; otherwise they are removed once loaded.
    """
    if staged.outcome != "staged" or staged.fingerprint is None:
        return IngestResult(staged.source, staged.period, _outcome(staged), staged.fingerprint)
    load = PartitionLoad(staged.source, staged.period, staged.fingerprint, run_id,
                         files=list(staged.files), raw_rows=staged.raw_rows,
                         emitted_rows=staged.emitted_rows, raw_totals=dict(staged.raw_totals),
                         started_at=staged.started_at)
    parts = list(staged.parts)
    try:
        store.check(parts, load)
        if keep:
            parts = store.promote(staged.source, staged.period, parts)
        if store.is_local:  # DuckDB reads local Parquet itself, on every core
            replace_partition_from_parquet(con, load, parts)
        else:
            replace_partition(con, load, store.read(parts, staged.source, staged.period))
    except CostallocError as error:
        if not isinstance(error, TransientError):
            record_failure(con, load, str(error))
            if not keep:
                store.remove(parts)
        raise
    if not keep:
        store.remove(parts)
    return IngestResult(staged.source, staged.period, "loaded", staged.fingerprint,
                        load.loaded_rows, {c: f"{a:f}" for c, a in load.loaded_totals.items()})


def record_stage_failure(con: duckdb.DuckDBPyConnection, error: PartitionFailed, source: str,
                         period: BillingPeriod, run_id: str) -> None:
    """Log a delivery that could not be staged (when it got as far as finding one)."""
    if error.fingerprint is not None:
        record_failure(con, PartitionLoad(source, period, error.fingerprint, run_id,
                                          files=list(error.files)), str(error))


def partition_store(settings: Settings, run_id: str) -> tuple[PartitionStore, bool]:
    """The lake (kept) when `lake:` is configured, else this run's scratch folder next to the
    warehouse (emptied as partitions publish). Workers must see the same store."""
    if settings.lake:
        location = open_location(settings.lake)
        return PartitionStore(location.filesystem, location.root), True
    scratch = Path(settings.warehouse).parent / SCRATCH / run_id
    return PartitionStore(pafs.LocalFileSystem(), scratch.as_posix()), False


def discard_scratch(settings: Settings, run_id: str) -> None:
    """Remove this run's scratch folder, and those runs that died left a day ago or more."""
    folder = Path(settings.warehouse).parent / SCRATCH
    shutil.rmtree(folder / run_id, ignore_errors=True)
    if folder.is_dir():
        for old in folder.iterdir():
            if time.time() - old.stat().st_mtime > _SCRATCH_KEPT_SECONDS:
                shutil.rmtree(old, ignore_errors=True)


@contextmanager
def warehouse(path: Path | str, *,
              wait_seconds: float = WAREHOUSE_WAIT_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, waiting up to `wait_seconds` while another process has it open for
    writing (each holds it for a short write); then `WarehouseBusyError`, which is retried."""
    deadline = time.monotonic() + wait_seconds
    pause = 0.05
    while True:
        try:
            con = connect(path)
            break
        except WarehouseBusyError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 2.0)
    try:
        yield con
    finally:
        con.close()


def _outcome(staged: Staged) -> Literal["unchanged", "no-delivery"]:
    return "unchanged" if staged.outcome == "unchanged" else "no-delivery"
