"""Load one (source, billing period): discover → read → check → normalize → replace partition.

This is the whole ingestion contract in one place, the same for every source kind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import duckdb
import polars as pl
import pyarrow as pa

from costalloc.connectors.delivery import Connector, Delivery, RawBatch
from costalloc.connectors.money import add_totals, first_bad_money
from costalloc.core.errors import CostallocError, DataError, WarehouseWriteError
from costalloc.core.focus import conform, first_invalid_row
from costalloc.core.period import BillingPeriod
from costalloc.core.prefetch import prefetched
from costalloc.warehouse.partitions import (
    PartitionLoad,
    published_fingerprint,
    record_failure,
    replace_partition,
)

log = logging.getLogger(__name__)
Outcome = Literal["loaded", "unchanged", "no-delivery"]


@dataclass(frozen=True)
class IngestResult:
    source: str
    period: BillingPeriod
    outcome: Outcome
    fingerprint: str | None = None
    rows: int = 0
    totals: dict[str, str] | None = None

    def describe(self) -> str:
        if self.outcome == "loaded":
            money = ", ".join(f"{c} {a}" for c, a in sorted((self.totals or {}).items()))
            return (f"{self.source} {self.period}: loaded {self.rows} line items "
                    f"(delivery {self.fingerprint}; {money})")
        if self.outcome == "unchanged":
            return f"{self.source} {self.period}: delivery {self.fingerprint} already loaded"
        return f"{self.source} {self.period}: no delivery yet"


def ingest(con: duckdb.DuckDBPyConnection, connector: Connector, period: BillingPeriod,
           run_id: str, *, force: bool = False) -> IngestResult:
    """Make `line_items` hold the current delivery of (source, period), exactly once."""
    delivery = connector.find_delivery(period)
    if delivery is None:
        return IngestResult(connector.name, period, "no-delivery")
    if not force and published_fingerprint(con, connector.name, period) == delivery.fingerprint:
        return IngestResult(connector.name, period, "unchanged", delivery.fingerprint)
    load = PartitionLoad(connector.name, period, delivery.fingerprint, run_id,
                         files=list(delivery.files))
    try:
        replace_partition(con, load, _normalized(connector, delivery, load))
    except CostallocError as error:
        record_failure(con, load, str(error))
        raise
    except duckdb.IOException as error:
        raise WarehouseWriteError(
            f"{connector.name} {period}: writing the warehouse failed: {error}. Free space (or "
            "fix permissions) where the warehouse lives and run again; the previous load "
            "stays published") from None
    log.info("%s %s: loaded %d rows from %d files", connector.name, period, load.loaded_rows,
             len(load.files))
    return IngestResult(connector.name, period, "loaded", delivery.fingerprint,
                        load.loaded_rows, {c: f"{a:f}" for c, a in load.loaded_totals.items()})


def normalized(connector: Connector, delivery: Delivery, load: PartitionLoad) -> Iterator[
        pa.Table]:
    """The checked FOCUS batches `ingest` loads, for loaders that stage them elsewhere first
    (the flows' Parquet parts); `load` gets the raw rows and control totals as they stream."""
    return _normalized(connector, delivery, load)


def _normalized(connector: Connector, delivery: Delivery, load: PartitionLoad) -> Iterator[
        pa.Table]:
    """FOCUS tables, batch by batch, with raw row counts and control totals kept on `load`."""
    next_id = 1
    for batch in prefetched(connector.read(delivery), name=f"read {connector.name}"):
        _check_money(connector, delivery, batch)
        load.raw_rows += batch.rows.height
        add_totals(load.raw_totals, connector.control_totals(batch.rows))
        line_items = (
            connector.to_focus(batch.rows.lazy())
            .with_columns(
                pl.lit(connector.name).alias("x_source"),
                pl.lit(str(delivery.period)).alias("x_billing_period"),
                (pl.int_range(pl.len(), dtype=pl.Int64) + next_id).alias("x_line_item_id"),
                pl.lit(batch.file).alias("x_source_file"),
                pl.lit(load.run_id).alias("x_ingest_run_id"),
            )
            .pipe(conform)
            .collect(engine="in-memory")  # a batch already in memory: faster than streaming
        )
        _check_rows(line_items, delivery, batch)
        load.emitted_rows += line_items.height
        next_id += line_items.height
        yield line_items.to_arrow()


def _check_money(connector: Connector, delivery: Delivery, batch: RawBatch) -> None:
    bad = first_bad_money(batch.rows, connector.money_columns(batch.rows))
    if bad is not None:
        raise DataError(delivery.source, delivery.period,
                        f"`{batch.file}` data row {batch.first_row + bad.row}: column "
                        f"`{bad.column}` holds `{bad.value}`, which is not a number; "
                        "the previous load stays published")


def _check_rows(line_items: pl.DataFrame, delivery: Delivery, batch: RawBatch) -> None:
    """Every NOT NULL column of the contract, the currency code and the billing period, per batch."""
    bad = first_invalid_row(line_items, delivery.period)
    if bad is not None:
        raise DataError(delivery.source, delivery.period,
                        f"`{batch.file}` data row {batch.first_row + bad.row}: {bad.problem}; "
                        "the previous load stays published")
