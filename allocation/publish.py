"""Allocate a billing period in the warehouse and publish it only if it conserves cost.

Line items stream out of DuckDB in batches, get their dimensions, and stream back into
`allocated_costs` inside one transaction that first removes the period's old allocation.
The conservation audit runs before the commit: a difference of one ten-billionth of a cent
rolls everything back, and the previous allocation stays published.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl
import pyarrow as pa

from allocation.engine import RULE_COLUMN, assign_dimensions
from allocation.model import RuleSet
from core.errors import ConservationError
from core.period import BillingPeriod
from sql import load

BATCH_ROWS = 250_000
_CARRIED = ["x_source", "x_billing_period", "x_line_item_id", "ProviderName",
            "ServiceProviderName", "BillingAccountId", "SubAccountId", "SubAccountName",
            "ServiceCategory", "ServiceName", "ChargeCategory", "ChargePeriodStart", "ResourceId", "RegionId",
            "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "Tags"]


@dataclass(frozen=True)
class AllocationResult:
    period: BillingPeriod
    line_items: int
    allocated_rows: int
    rules_version: str
    totals: list[dict[str, str]]


def allocate_period(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, period: BillingPeriod,
                    run_id: str, *, batch_rows: int = BATCH_ROWS) -> AllocationResult:
    params = {"period": str(period)}
    reader = con.cursor().sql(load("allocation/period_line_items"), params=params)
    batches = reader.to_arrow_reader(batch_rows)
    allocated_at = datetime.now(UTC)
    line_item_rows = 0
    con.begin()
    try:
        con.execute(load("allocation/delete_period"), params)
        for batch in batches:
            line_item_rows += batch.num_rows
            for table in _allocated(batch, ruleset, run_id, allocated_at):
                con.register("incoming_allocated", table)
                con.execute("insert into allocated_costs by name select * from incoming_allocated")
                con.unregister("incoming_allocated")
        _gate(con, period)
        totals = [dict(zip(("source", "currency", "billed", "effective"), row, strict=True))
                  for row in con.sql(load("allocation/period_totals"), params=params).fetchall()]
        allocated_rows = int(con.sql("select count(*) from allocated_costs "
                                     "where x_billing_period = $period",
                                     params=params).fetchall()[0][0])
        con.execute(load("allocation/record_allocation"), {
            "run_id": run_id, "period": str(period), "rules_version": ruleset.version,
            "status": "published", "line_item_rows": line_item_rows,
            "allocated_rows": allocated_rows, "totals": json.dumps(totals), "message": None})
        con.commit()
    except BaseException as error:
        con.rollback()
        if isinstance(error, ConservationError):
            con.execute(load("allocation/record_allocation"), {
                "run_id": run_id, "period": str(period), "rules_version": ruleset.version,
                "status": "refused", "line_item_rows": line_item_rows, "allocated_rows": 0,
                "totals": "[]", "message": str(error)})
        raise
    return AllocationResult(period, line_item_rows, allocated_rows, ruleset.version, totals)


def _allocated(batch: pa.RecordBatch, ruleset: RuleSet, run_id: str,
               allocated_at: datetime) -> Iterator[pa.Table]:
    line_items = pl.from_arrow(batch)
    assert isinstance(line_items, pl.DataFrame)
    dimensions = list(ruleset.dimensions)
    rule_columns = [RULE_COLUMN.format(dimension=d) for d in dimensions]
    lineage = pl.struct(
        pl.struct([pl.col(c).alias(d) for c, d in zip(rule_columns, dimensions, strict=True)])
        .alias("rules"),
        pl.lit(ruleset.version).alias("rules_version"),
    ).struct.json_encode()
    allocated = (
        assign_dimensions(line_items.lazy(), ruleset)
        .select(
            *_CARRIED,
            *dimensions,
            *rule_columns,
            pl.struct(dimensions).struct.json_encode().alias("x_dimensions"),
            pl.lit(None, dtype=pl.String).alias("x_split_rule"),
            pl.lit(1, dtype=pl.Decimal(38, 18)).alias("x_split_ratio"),
            pl.lit("tagging").alias("AllocatedMethodId"),
            lineage.alias("AllocatedMethodDetails"),
            pl.lit(ruleset.version).alias("x_rules_version"),
            pl.lit(run_id).alias("x_allocation_run_id"),
            pl.lit(allocated_at).alias("x_allocated_at"),
        )
        .collect()
    )
    standard = {"environment", "workstream", "cost_type"}
    extra = [d for d in dimensions if d not in standard]
    yield allocated.drop(extra + [RULE_COLUMN.format(dimension=d) for d in extra]).to_arrow()


def _gate(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> None:
    broken = con.sql(load("audits/conservation"), params={"period": str(period)}).fetchall()
    if broken:
        source, currency, sb, ab, se, ae, sn, an = broken[0]
        raise ConservationError(
            f"{period}: allocation does not conserve cost for {len(broken)} (source, currency) "
            f"pair(s); first: {source} {currency} line items BilledCost {sb} vs allocated {ab}, "
            f"EffectiveCost {se} vs {ae}, line items {sn} vs {an}. Nothing was published; the "
            "previous allocation stays.")
