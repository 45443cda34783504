"""Loading one (source, period): the one path every load takes, in the flows and in the tests.

`stage` runs wherever the task runner puts it (a thread, a Dask worker): it finds the source's
current delivery and, unless that delivery is the one already published, reads, checks and
normalizes it (`connectors.normalized`, polars), batch by batch, into Parquet parts
(`flows.file_staging` does it one file per task). It never opens the warehouse. `publish` runs
in the flow's process, one partition at a time: it ties the parts out, makes them the lake's
version of the partition (lake mode) and replaces the partition of `line_items` in one
transaction, DuckDB reading the parts itself, so the warehouse is held only for that write.

Handing the normalized Arrow batches straight to DuckDB instead was measured and dropped: it
took a third longer on a 10M-line-item month, and 0.4 GB more memory on a 1M one, than staging
the parts and letting DuckDB read them on every core (docs/performance.md).

`load_partition` is `stage` then `publish` in this process, with scratch beside the warehouse.
The nightly flow does exactly this per partition, adding only locks, retries and a task runner.
Whatever stops a load is raised as one paragraph (source, period, file, row and column where
known, and what stays published) and recorded in `ingest_log` against the delivery.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from costalloc import sql
from costalloc.connectors.delivery import Connector, Delivery, RefusedDelivery, check_file_list
from costalloc.connectors.normalized import normalized
from costalloc.connectors.registry import connector_for
from costalloc.connectors.storage import open_location
from costalloc.core.errors import CostallocError, DataError, TransientError, WarehouseBusyError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, SourceSettings
from costalloc.flows.plan import connector_settings
from costalloc.warehouse.connection import connect
from costalloc.warehouse.lake import PartitionStore
from costalloc.warehouse.partitions import (
    BatchOrigin,
    PartitionLoad,
    published_fingerprint,
    record_failure,
    replace_partition,
    replace_partition_from_parquet,
)
from costalloc.warehouse.refused_rows import first_refused_row

WAREHOUSE_WAIT_SECONDS = 60.0  # how long to wait for another process to close the warehouse
SCRATCH = ".costalloc-scratch"
_SCRATCH_KEPT_SECONDS = 24 * 3600
_SAID = 160  # characters of the database's own message quoted in an error
StageOutcome = Literal["staged", "unchanged", "no-delivery"]
Outcome = Literal["loaded", "unchanged", "no-delivery"]


@dataclass(frozen=True)
class LoadResult:
    """What loading one (source, period) did."""

    source: str
    period: BillingPeriod
    outcome: Outcome
    fingerprint: str | None = None
    rows: int = 0
    totals: dict[str, str] | None = None
    duplicate_rows: int | None = None  # None: the source's rows carry no provider identity
    duplicate_example: str | None = None

    def describe(self) -> str:
        if self.outcome == "loaded":
            money = ", ".join(f"{c} {a}" for c, a in sorted((self.totals or {}).items()))
            repeated = (f"; {self.duplicate_rows} line item(s) repeat another's provider "
                        f"identity (e.g. `{self.duplicate_example}`), kept as billed"
                        if self.duplicate_rows else "")
            return (f"{self.source} {self.period}: loaded {self.rows} line items "
                    f"(delivery {self.fingerprint}; {money}){repeated}")
        if self.outcome == "unchanged":
            return f"{self.source} {self.period}: delivery {self.fingerprint} already loaded"
        return f"{self.source} {self.period}: no delivery yet"


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
    declared_empty: bool = False
    origins: tuple[BatchOrigin, ...] = ()
    # per part, how far its line item ids move as it is published (parts staged file by file
    # number from 1); empty: none move
    offsets: tuple[int, ...] = ()


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


def load_partition(target: duckdb.DuckDBPyConnection | Path | str,
                   source: SourceSettings | Connector, period: BillingPeriod,
                   run_id: str | None = None, *, force: bool = False,
                   store: PartitionStore | None = None) -> LoadResult:
    """Make the warehouse (`target`: a connection or the file) hold the current delivery of
    (`source`, `period`) exactly once, as the nightly flow does: staged as Parquet parts in
    `store` (default: a scratch folder beside the warehouse, removed after) and published.

    `source` is a source's settings (its connector is built as the flows build it) or a
    connector built with its own client. Raises the error that stopped the load, after
    recording it in `ingest_log`; the published partition is then unchanged.
    """
    if not isinstance(target, duckdb.DuckDBPyConnection):
        with warehouse(target) as con:
            return load_partition(con, source, period, run_id, force=force, store=store)
    con = target
    run_id = run_id or new_run_id()
    scratch = None if store is not None else _scratch_beside(con, run_id)
    try:
        store = store or PartitionStore(pafs.LocalFileSystem(), str(scratch))
        try:
            staged = stage(source, period, run_id, store,
                           published=published_fingerprint(con, source.name, period), force=force)
        except PartitionFailed as failed:
            record_stage_failure(con, failed, source.name, period, run_id)
            cause = failed.__cause__
            raise (cause if isinstance(cause, CostallocError) else failed) from None
        return publish(con, staged, store, run_id, keep=False)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _scratch_beside(con: duckdb.DuckDBPyConnection, run_id: str) -> Path:
    """This load's scratch folder: beside the warehouse file, or a temporary one for an
    in-memory warehouse."""
    rows = con.sql(sql.load("warehouse/database_path")).fetchall()
    if rows and rows[0][0]:
        return scratch_folder(str(rows[0][0]), run_id)
    return Path(tempfile.mkdtemp(prefix=f"costalloc-scratch-{run_id}-"))


def find(source: SourceSettings | Connector, period: BillingPeriod) -> tuple[Connector,
                                                                             Delivery | None]:
    """The source's connector (built as the flows build it) and its current delivery of
    `period`; a failure is `PartitionFailed`."""
    with reading(None):
        connector = (connector_for(connector_settings(source))
                     if isinstance(source, SourceSettings) else source)
        return connector, connector.find_delivery(period)


def stage(source: SourceSettings | Connector, period: BillingPeriod, run_id: str,
          store: PartitionStore, *, published: str | None, force: bool = False) -> Staged:
    """Read and normalize the current delivery of (`source`, `period`) into Parquet parts,
    unless its fingerprint is `published` (and not `force`). Never touches the warehouse."""
    started_at = datetime.now(UTC)
    connector, delivery = find(source, period)
    if delivery is None:
        return Staged(source.name, period, "no-delivery", started_at=started_at)
    if not force and delivery.fingerprint == published:
        return Staged(source.name, period, "unchanged", delivery.fingerprint,
                      started_at=started_at)
    load = partition_load(delivery, run_id)
    with reading(delivery):
        check_file_list(delivery)
        parts = store.write(source.name, period, run_id, normalized(connector, delivery, load))
    return Staged(source.name, period, "staged", delivery.fingerprint, delivery.files,
                  tuple(parts), load.raw_rows, load.emitted_rows, dict(load.raw_totals),
                  started_at, delivery.declared_empty, tuple(load.origins))


def partition_load(delivery: Delivery, run_id: str, *,
                   files: tuple[str, ...] | None = None) -> PartitionLoad:
    """What loading `delivery` (or some of its `files`) will count as it reads."""
    return PartitionLoad(delivery.source, delivery.period, delivery.fingerprint, run_id,
                         files=list(delivery.files if files is None else files),
                         declared_empty=delivery.declared_empty)


@contextmanager
def reading(delivery: Delivery | None) -> Iterator[None]:
    """An error finding, reading or normalizing `delivery` as `PartitionFailed` (transient ones
    as `TransientPartitionFailed`, which are retried), naming the delivery it stopped."""
    try:
        yield
    except PartitionFailed:
        raise
    except CostallocError as error:
        kind = TransientPartitionFailed if isinstance(error, TransientError) else PartitionFailed
        found = (delivery.fingerprint, delivery.files) if delivery else (
            (error.fingerprint, error.files) if isinstance(error, RefusedDelivery) else (None, ()))
        raise kind(str(error), kind=type(error).__name__, fingerprint=found[0],
                   files=found[1]) from error


def publish(con: duckdb.DuckDBPyConnection, staged: Staged, store: PartitionStore, run_id: str,
            *, keep: bool) -> LoadResult:
    """Make the staged parts the published partition, or change nothing.

    `keep` (lake mode): the parts become the lake's `part-*.parquet` files of the partition and
    the previous version's files go; otherwise they are removed once loaded. A failure (other
    than a transient one, which is retried) is recorded in `ingest_log`; a row the warehouse
    refuses is named by file, data row and column; a disk that fills up (or a warehouse that
    can't be written) is `WarehouseWriteError`.
    """
    if staged.outcome != "staged" or staged.fingerprint is None:
        return LoadResult(staged.source, staged.period, _outcome(staged), staged.fingerprint)
    load = PartitionLoad(staged.source, staged.period, staged.fingerprint, run_id,
                         files=list(staged.files), raw_rows=staged.raw_rows,
                         emitted_rows=staged.emitted_rows, raw_totals=dict(staged.raw_totals),
                         started_at=staged.started_at, declared_empty=staged.declared_empty,
                         origins=list(staged.origins))
    parts = list(staged.parts)
    offsets = list(staged.offsets) or [0] * len(parts)
    try:
        store.check(parts, load)
        if keep:
            if any(offsets):  # the lake's files are read as they are: ids must be final
                raise ValueError("parts to keep in the lake must carry their final ids")
            parts = store.promote(staged.source, staged.period, parts)
        try:
            if store.is_local:  # DuckDB reads local Parquet itself, on every core
                replace_partition_from_parquet(con, load, parts, offsets)
            else:
                replace_partition(con, load, store.read(parts, staged.source, staged.period,
                                                        offsets=offsets))
        except duckdb.Error as error:  # a disk error is WarehouseWriteError by now
            raise _refused(con, error, load, store.read(parts, load.source, load.period,
                                                        offsets=offsets)) from None
    except Exception as error:
        if not isinstance(error, TransientError):
            record_failure(con, load, _said(error))
            if not keep:
                store.remove(parts)
        raise
    if not keep:
        store.remove(parts)
    return _loaded(load)


def _loaded(load: PartitionLoad) -> LoadResult:
    return LoadResult(load.source, load.period, "loaded", load.fingerprint, load.loaded_rows,
                      {c: f"{a:f}" for c, a in load.loaded_totals.items()},
                      load.duplicate_rows, load.duplicate_example)


def _said(error: BaseException) -> str:
    return str(error) if isinstance(error, CostallocError) else f"{type(error).__name__}: {error}"


def _refused(con: duckdb.DuckDBPyConnection, error: duckdb.Error, load: PartitionLoad,
             line_items: Iterable[pa.Table]) -> DataError:
    """The warehouse refused the partition's rows (`line_items`, or the batch it refused):
    find the first refused row and say where it came from (DuckDB's message names neither file
    nor row)."""
    said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    said = said if len(said) <= _SAID else said[:_SAID] + "…"
    refused = first_refused_row(con, line_items)
    if refused is None:
        return DataError(load.source, load.period,
                         f"the warehouse refused the delivery's line items ({said}); the "
                         "previous load stays published")
    return DataError(load.source, load.period,
                     f"{load.where(refused.line_item_id)}: column `{refused.column}` "
                     f"{refused.problem}; the warehouse refused the delivery ({said}); the "
                     "previous load stays published")


def record_stage_failure(con: duckdb.DuckDBPyConnection, error: PartitionFailed, source: str,
                         period: BillingPeriod, run_id: str) -> None:
    """Log a delivery that could not be staged (when it got as far as finding one)."""
    if error.fingerprint is not None:
        record_failure(con, PartitionLoad(source, period, error.fingerprint, run_id,
                                          files=list(error.files)), str(error))


def partition_store(settings: Settings, run_id: str) -> tuple[PartitionStore, bool]:
    """Where staged parts go: the lake (kept) when `lake:` is configured, else this run's
    scratch folder next to the warehouse (emptied as partitions publish). Workers must see the
    same store."""
    if settings.lake:
        location = open_location(settings.lake)
        return PartitionStore(location.filesystem, location.root), True
    scratch = scratch_folder(settings.warehouse, run_id)
    return PartitionStore(pafs.LocalFileSystem(), scratch.as_posix()), False


def scratch_folder(warehouse_path: Path | str, run_id: str) -> Path:
    """Where a run stages its parts without a lake: beside the warehouse, on its disk."""
    return Path(warehouse_path).parent / SCRATCH / run_id


def discard_scratch(settings: Settings, run_id: str) -> None:
    """Remove this run's scratch folder, and those runs that died left a day ago or more."""
    folder = scratch_folder(settings.warehouse, run_id).parent
    shutil.rmtree(folder / run_id, ignore_errors=True)
    if folder.is_dir():
        for old in folder.iterdir():
            if time.time() - old.stat().st_mtime > _SCRATCH_KEPT_SECONDS:
                shutil.rmtree(old, ignore_errors=True)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


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
