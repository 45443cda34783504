"""A delivery's raw batches → checked FOCUS line items, batch by batch, the same for every
source kind. The loader (`flows.loading.stage`) stages what this yields; the counts, control
totals and batch origins it keeps on the `PartitionLoad` are what the publish step ties out
against and names rows by.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pyarrow as pa

from costalloc.connectors.delivery import Connector, Delivery, RawBatch
from costalloc.connectors.money import add_totals, first_bad_money
from costalloc.core.currencies import ISO_4217
from costalloc.core.errors import DataError
from costalloc.core.focus import conform
from costalloc.core.prefetch import prefetched
from costalloc.warehouse.partitions import BatchOrigin, PartitionLoad


def normalized(connector: Connector, delivery: Delivery, load: PartitionLoad) -> Iterator[
        pa.Table]:
    """FOCUS tables, batch by batch, numbered in delivery order (`x_line_item_id` from 1);
    `load` gets the raw rows, control totals and where each batch came from as they stream."""
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
        load.origins.append(BatchOrigin(batch.file, batch.first_row, next_id, batch.rows.height))
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
    """Per batch: the not-null columns a connector's mapping most often misses, the billing
    period and the currency code. A row breaking another constraint of `line_items` is named
    when the warehouse refuses it (`warehouse.refused_rows`)."""
    period_start = delivery.period.start
    problems = {
        "BilledCost is missing": pl.col("BilledCost").is_null(),
        "BillingCurrency is not an ISO 4217 code": pl.col("BillingCurrency").is_null()
        | ~pl.col("BillingCurrency").is_in(sorted(ISO_4217)),
        "ChargePeriodStart is missing or not a date": pl.col("ChargePeriodStart").is_null(),
        f"the row's billing period is not {delivery.period}": pl.col("BillingPeriodStart").is_null()
        | (pl.col("BillingPeriodStart") != period_start),
        "BillingAccountId is missing": pl.col("BillingAccountId").is_null(),
    }
    for problem, test in problems.items():
        bad = line_items.select(test.arg_true().first()).item()
        if bad is not None:
            row = line_items.row(int(bad), named=True)
            found = (f" (found `{row['BillingCurrency']}`)" if "Currency" in problem else "")
            raise DataError(delivery.source, delivery.period,
                            f"`{batch.file}` data row {batch.first_row + int(bad)}: {problem}"
                            f"{found}; the previous load stays published")
