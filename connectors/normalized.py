"""A delivery's raw batches → checked FOCUS line items, batch by batch, the same for every
source kind and every way of loading. The loader (`flows.loading`) hands what this yields
straight to the warehouse's transaction, or stages it as Parquet parts; the counts, control
totals and batch origins it keeps on the `PartitionLoad` are what the load ties out against and
names rows by.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import polars as pl
import pyarrow as pa

from costalloc.connectors.delivery import Connector, Delivery, RawBatch
from costalloc.connectors.money import add_totals, first_bad_money
from costalloc.core.errors import DataError
from costalloc.core.focus import conform, first_invalid_row
from costalloc.core.prefetch import prefetched
from costalloc.warehouse.partitions import BatchOrigin, PartitionLoad


def normalized(connector: Connector, delivery: Delivery, load: PartitionLoad,
               batches: Iterable[RawBatch] | None = None) -> Iterator[pa.Table]:
    """FOCUS tables, batch by batch, numbered in delivery order (`x_line_item_id` from 1);
    `load` gets the raw rows, control totals and where each batch came from as they stream.

    `batches`: the raw batches to normalize, when not the whole delivery's (`connector.read`):
    one file's, staged on a worker of its own and numbered from 1 there (`flows.file_staging`
    moves its ids past the files before it)."""
    next_id = 1
    raw = connector.read(delivery) if batches is None else batches
    for batch in prefetched(raw, name=f"read {connector.name}"):
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
        load.origins.append(BatchOrigin(batch.file, batch.first_row, next_id, batch.rows.height))
        load.emitted_rows += line_items.height
        next_id += line_items.height
        yield line_items.to_arrow()


def _check_money(connector: Connector, delivery: Delivery, batch: RawBatch) -> None:
    bad = first_bad_money(batch.rows, connector.money_columns(batch.rows),
                          connector.quantity_columns(batch.rows))
    if bad is not None:
        raise DataError(delivery.source, delivery.period,
                        f"`{batch.file}` data row {batch.first_row + bad.row}: column "
                        f"`{bad.column}` holds `{bad.value}`, {bad.problem}; "
                        "the previous load stays published")


def _check_rows(line_items: pl.DataFrame, delivery: Delivery, batch: RawBatch) -> None:
    """Every NOT NULL column of the contract, the currency code and the billing period, per
    batch, before anything reaches the warehouse."""
    bad = first_invalid_row(line_items, delivery.period)
    if bad is not None:
        raise DataError(delivery.source, delivery.period,
                        f"`{batch.file}` data row {batch.first_row + bad.row}: {bad.problem}; "
                        "the previous load stays published")
