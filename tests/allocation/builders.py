"""Tiny line item tables for allocation tests, loaded straight into a warehouse."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from costalloc.core.focus import conform
from costalloc.core.period import BillingPeriod

OCTOBER = BillingPeriod(2026, 10)


def line_item(amount: str, *, tags: dict[str, str] | None = None, **columns: Any) -> dict[str, Any]:
    return {"BilledCost": amount, "EffectiveCost": columns.pop("effective", amount),
            "Tags": json.dumps(tags) if tags else None, **columns}


def load_line_items(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]],
                    source: str = "aws") -> None:
    base = {"x_source": source, "x_billing_period": str(OCTOBER), "x_source_file": "f",
            "x_ingest_run_id": "r", "BillingCurrency": "USD", "BillingAccountId": "1",
            "ChargeCategory": "Usage", "ChargePeriodStart": datetime(2026, 10, 2, tzinfo=UTC),
            "ChargePeriodEnd": datetime(2026, 10, 3, tzinfo=UTC),
            "BillingPeriodStart": OCTOBER.start, "BillingPeriodEnd": OCTOBER.end,
            "InvoiceIssuerName": "AWS", "ProviderName": "AWS", "PublisherName": "AWS",
            "ServiceCategory": "Compute", "ServiceName": "EC2", "SubAccountId": "111"}
    records = [{**base, **row, "x_line_item_id": index, "ListCost": row["BilledCost"],
                "ContractedCost": row["BilledCost"]} for index, row in enumerate(rows, 1)]
    frame = pl.DataFrame(records, infer_schema_length=None).lazy().pipe(conform).collect()
    con.register("incoming", frame.to_arrow())
    con.execute("insert into line_items by name select * from incoming")
    con.unregister("incoming")


def allocated(con: duckdb.DuckDBPyConnection, *columns: str) -> list[tuple[Any, ...]]:
    listed = ", ".join(columns)
    return con.sql(f"select {listed} from allocated_costs order by x_line_item_id, "
                   f"{listed}").fetchall()


def total(con: duckdb.DuckDBPyConnection, table: str) -> Decimal:
    value: Decimal = con.sql(f"select sum(BilledCost) from {table}").fetchall()[0][0]
    return value
