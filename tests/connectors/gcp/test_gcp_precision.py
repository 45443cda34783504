"""GCP quantities keep every digit the export holds, from the export to `line_items`.

`usage.amount` and `usage.amount_in_pricing_units` are FLOAT64: a small bucket's storage is
9.115e-09 GiB-months, which DECIMAL(38, 10) cut to 9.1e-09 (1.2 % off). Unit prices are NUMERIC
(9 decimals)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from google.cloud import bigquery

from costalloc.connectors.gcp import BigQueryExportConnector
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.gcp_billing import (
    arrow_schema,
    create_export_table,
    insert_rows,
    write_parquet_dump,
)
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
# (usage.amount, usage.amount_in_pricing_units): a tiny object's byte-seconds, a value with all
# 17 significant digits a double carries, and a petabyte held for an hour.
USAGE = [(26_275_000.0, 9.115e-09), (0.12345678901234568, 0.12345678901234568),
         (4.053239664633856e18, 1_048_576.0)]


def _row(amount: float, in_pricing_units: float) -> dict[str, Any]:
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": "95FF-2EF5-5EA1", "description": "Cloud Storage"},
        "sku": {"id": "E5F0-6A5D-7BAD", "description": "Standard Storage US Multi-region"},
        "usage_start_time": datetime(2026, 10, 5, 3, tzinfo=UTC),
        "usage_end_time": datetime(2026, 10, 5, 4, tzinfo=UTC),
        "project": {"id": "payments-prod-7731", "number": "418275630941", "name": "Payments",
                    "labels": [], "ancestry_numbers": "/123/", "ancestors": []},
        "labels": [], "system_labels": [], "tags": [], "credits": [],
        "location": {"location": "us", "country": None, "region": None, "zone": None},
        "price": {"effective_price": Decimal("0.000000015"), "list_price": Decimal("0.026")},
        "export_time": datetime(2026, 10, 5, 9, tzinfo=UTC), "cost": 0.0, "currency": "USD",
        "usage": {"amount": amount, "unit": "byte-seconds",
                  "amount_in_pricing_units": in_pricing_units, "pricing_unit": "gibibyte month"},
        "invoice": {"month": "202610", "publisher_type": "Google"}, "cost_type": "regular",
        "cost_at_list": 0.0,
    }


def _export() -> pa.Table:
    return pa.Table.from_pylist([_row(*usage) for usage in USAGE], schema=arrow_schema())


def _stored(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[Decimal, ...]]:
    return con.sql("select ConsumedQuantity, PricingQuantity, ContractedUnitPrice, ListUnitPrice "
                   "from line_items where x_source = $s order by x_line_item_id",
                   params={"s": source}).fetchall()


def _expected() -> list[tuple[Decimal, ...]]:
    # a double's shortest text is the digits the export holds
    return [(Decimal(repr(amount)), Decimal(repr(in_units)), Decimal("0.000000015"),
             Decimal("0.026")) for amount, in_units in USAGE]


def test_a_parquet_dump_keeps_every_digit_of_its_quantities(
        tmp_path: Path, gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    write_parquet_dump(tmp_path / "dump", [_export()])
    source = BigQueryExportConnector(SourceSettings(name="gcp-dump", kind="gcp-bigquery",
                                                    uri=str(tmp_path / "dump")))
    assert load_partition(gcp_warehouse, source, OCTOBER, "r").rows == len(USAGE)
    assert _stored(gcp_warehouse, "gcp-dump") == _expected()
    assert _expected()[0][1] == Decimal("0.000000009115")


def test_the_export_table_keeps_every_digit_of_its_quantities(
        bq_client: bigquery.Client, new_table: Callable[[], str],
        table_source: Callable[..., BigQueryExportConnector],
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, _export())
    assert load_partition(gcp_warehouse, table_source(table), OCTOBER, "r").rows == len(USAGE)
    assert _stored(gcp_warehouse, "gcp-main") == _expected()
