"""Allocate a billing period in the warehouse and publish it only if it conserves cost.

Line items stream out of DuckDB in batches, get their dimensions and CapEx/OpEx treatment,
and stream back into `allocated_costs` inside one transaction that first removes the
period's old allocation; then the splits run in SQL. The conservation audit runs before the
commit: a difference of one ten-billionth of a cent rolls everything back, and the previous
allocation stays published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pyarrow as pa

from allocation import splits
from allocation.capitalization import CAPEX_COLUMNS
from allocation.engine import RULE_COLUMN, assign_dimensions
from allocation.model import RuleSet
from core.errors import ConservationError
from core.period import BillingPeriod
from sql import load
from warehouse.connection import append

BATCH_ROWS = 50_000  # line items tagged at a time: memory stays flat, whatever the month
CARRIED = ["x_source", "x_billing_period", "x_line_item_id", "ProviderName",
           "ServiceProviderName", "BillingAccountId", "SubAccountId", "SubAccountName",
           "ServiceCategory", "ServiceName", "ChargeCategory", "ChargePeriodStart", "ResourceId",
           "RegionId", "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "Tags"]
TOTALS = ("source", "currency", "billed", "effective")


@dataclass(frozen=True)
class DimensionTotal:
    dimension: str
    value: str
    currency: str
    billed: Decimal
    effective: Decimal


@dataclass(frozen=True)
class AllocationResult:
    period: BillingPeriod
    line_items: int
    allocated_rows: int
    rules_version: str
    totals: list[dict[str, str]]
    by_dimension: list[DimensionTotal] = field(default_factory=list)


def allocate_period(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, period: BillingPeriod,
                    run_id: str, *, batch_rows: int = BATCH_ROWS,
                    publish: bool = True) -> AllocationResult:
    """Allocate `period`; with `publish=False` compute everything, then roll it back (dry run)."""
    params = {"period": str(period)}
    batches = con.cursor().sql(load("allocation/period_line_items"),
                               params=params).to_arrow_reader(batch_rows)
    allocated_at = datetime.now(UTC)
    line_item_rows = 0
    con.begin()
    try:
        con.execute(load("allocation/delete_period"), params)
        splits.prepare(con)
        for batch in batches:
            line_item_rows += batch.num_rows
            flagged = _tagged(batch, ruleset, run_id, allocated_at)
            splits.record_candidates(con, flagged, ruleset)
            split_may_take = splits.taken(ruleset)
            append(con, "allocated_costs",
                   _allocated_columns(flagged.filter(~split_may_take), ruleset))
            append(con, "split_rows", _allocated_columns(flagged.filter(split_may_take), ruleset))
        splits.apply_splits(con, ruleset, period, ruleset.base_dir)
        _gate(con, period)
        totals = [dict(zip(TOTALS, row, strict=True))
                  for row in con.sql(load("allocation/period_totals"), params=params).fetchall()]
        allocated_rows = int(con.sql("select count(*) from allocated_costs "
                                     "where x_billing_period = $period",
                                     params=params).fetchall()[0][0])
        by_dimension = [DimensionTotal(*row) for row in con.sql(
            load("allocation/dimension_totals"), params=params).fetchall()]
        result = AllocationResult(period, line_item_rows, allocated_rows, ruleset.version, totals,
                                  by_dimension)
        if not publish:
            con.rollback()
            return result
        _record(con, run_id, period, ruleset, "published", line_item_rows, allocated_rows, totals)
        con.commit()
    except BaseException as error:
        con.rollback()
        if publish and isinstance(error, ConservationError):
            _record(con, run_id, period, ruleset, "refused", line_item_rows, 0, [], str(error))
        raise
    return result


def _tagged(batch: pa.RecordBatch, ruleset: RuleSet, run_id: str,
            allocated_at: datetime) -> pl.DataFrame:
    line_items = pl.from_arrow(batch)
    assert isinstance(line_items, pl.DataFrame)
    dimensions = list(ruleset.dimensions)
    rule_columns = [RULE_COLUMN.format(dimension=d) for d in dimensions]
    lineage = pl.struct(
        pl.struct([pl.col(c).alias(d) for c, d in zip(rule_columns, dimensions, strict=True)])
        .alias("x_rules"),
        pl.lit(ruleset.version).alias("x_rules_version"),
        pl.lit("1").alias("AllocatedRatio"),
    ).struct.json_encode()
    return (
        assign_dimensions(line_items.lazy(), ruleset)
        .with_columns(
            pl.struct(dimensions).struct.json_encode().alias("x_dimensions"),
            pl.lit(None, dtype=pl.String).alias("x_split_rule"),
            pl.lit(None, dtype=pl.String).alias("x_split_method"),
            pl.lit(None, dtype=pl.String).alias("x_split_basis"),
            pl.lit(1, dtype=pl.Decimal(38, 18)).alias("x_split_ratio"),
            pl.lit(None, dtype=pl.Decimal(38, 10)).alias("x_driver_quantity"),
            pl.lit("tagging").alias("AllocatedMethodId"),
            lineage.alias("AllocatedMethodDetails"),
            pl.lit(ruleset.version).alias("x_rules_version"),
            pl.lit(run_id).alias("x_allocation_run_id"),
            pl.lit(allocated_at).alias("x_allocated_at"),
        )
        .collect(engine="in-memory")  # one batch, already in memory: faster than streaming
    )


def _allocated_columns(flagged: pl.DataFrame, ruleset: RuleSet) -> pa.Table:
    """The `allocated_costs` columns: user dimensions live in `x_dimensions` only."""
    standard = ["environment", "workstream", "cost_type"]
    columns = [*CARRIED, *standard, *(RULE_COLUMN.format(dimension=d) for d in standard),
               "x_dimensions", "x_split_rule", "x_split_method", "x_split_basis", "x_split_ratio",
               "x_driver_quantity", *CAPEX_COLUMNS, "AllocatedMethodId", "AllocatedMethodDetails",
               "x_rules_version", "x_allocation_run_id", "x_allocated_at"]
    return flagged.select(columns).to_arrow()


def _record(con: duckdb.DuckDBPyConnection, run_id: str, period: BillingPeriod, ruleset: RuleSet,
            status: str, line_item_rows: int, allocated_rows: int, totals: list[dict[str, str]],
            message: str | None = None) -> None:
    con.execute(load("allocation/record_allocation"), {
        "run_id": run_id, "period": str(period), "rules_version": ruleset.version,
        "status": status, "line_item_rows": line_item_rows, "allocated_rows": allocated_rows,
        "totals": json.dumps(totals), "message": message})


def _gate(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> None:
    broken = con.sql(load("audits/conservation"), params={"period": str(period)}).fetchall()
    if broken:
        source, currency, sb, ab, se, ae, sn, an = broken[0]
        raise ConservationError(
            f"{period}: allocation does not conserve cost for {len(broken)} (source, currency) "
            f"pair(s); first: {source} {currency} line items BilledCost {sb} vs allocated {ab}, "
            f"EffectiveCost {se} vs {ae}, line items {sn} vs {an}. Nothing was published; the "
            "previous allocation stays.")
