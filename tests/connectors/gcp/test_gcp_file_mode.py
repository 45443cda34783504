"""File mode: the export table dumped as Parquet reads to the same line items as the table."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from google.cloud import bigquery
from polars.testing import assert_frame_equal

from costalloc.connectors.gcp import BigQueryExportConnector
from costalloc.core.errors import DataError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.gcp_billing import (
    TABLE_NAME,
    arrow_schema,
    create_export_table,
    generate_month,
    insert_rows,
    write_demo_month,
    write_parquet_dump,
)
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
NOVEMBER = BillingPeriod(2026, 11)
# what differs between two sources that read the same rows
_LINEAGE = ["x_source", "x_source_file", "x_line_item_id", "x_ingest_run_id"]


def dump_source(uri: Path | str, name: str = "gcp-dump", **options: object) -> BigQueryExportConnector:
    return BigQueryExportConnector(SourceSettings(name=name, kind="gcp-bigquery", uri=str(uri),
                                                  options={"batch_rows": 300, **options}))


def line_items(con: duckdb.DuckDBPyConnection, source: str) -> pl.DataFrame:
    frame = con.sql("select * from line_items where x_source = $s", params={"s": source}).pl()
    ordered = frame.drop(_LINEAGE)
    return ordered.sort(ordered.columns, nulls_last=True)


def totals(con: duckdb.DuckDBPyConnection, source: str, period: BillingPeriod) -> tuple[
        int, dict[str, Decimal]]:
    rows = con.sql("select BillingCurrency, count(*), sum(BilledCost) from line_items "
                   "where x_source = $s and x_billing_period = $p group by 1",
                   params={"s": source, "p": str(period)}).fetchall()
    return sum(int(r[1]) for r in rows), {str(r[0]): Decimal(r[2]) for r in rows}


def test_file_mode_gives_the_same_line_items_as_table_mode(
        tmp_path: Path, bq_client: bigquery.Client, new_table: Callable[[], str],
        table_source: Callable[..., BigQueryExportConnector],
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    month = generate_month("2026-10", seed=21, rows=500, late_rows=50)
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, month.rows)
    write_parquet_dump(tmp_path / "dump", [month.first, month.late], rows_per_file=200)

    for period in (OCTOBER, NOVEMBER):
        table_loaded = load_partition(gcp_warehouse, table_source(table, name="gcp-table"),
                                      period, "r")
        assert table_loaded.outcome == "loaded"
        assert load_partition(gcp_warehouse, dump_source(tmp_path / "dump"), period, "r").outcome == "loaded"

    from_table, from_files = line_items(gcp_warehouse, "gcp-table"), line_items(gcp_warehouse, "gcp-dump")
    assert from_table.height == month.expected_rows("202610") + month.expected_rows("202611")
    assert_frame_equal(from_files, from_table)


def test_a_rewritten_dump_with_late_rows_reloads_the_month_once(
        tmp_path: Path, gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    month = generate_month("2026-10", seed=5, rows=400, late_rows=40)
    source = dump_source(tmp_path / "dump")
    write_parquet_dump(tmp_path / "dump", [month.first])
    first = load_partition(gcp_warehouse, source, OCTOBER, "night-1")
    write_parquet_dump(tmp_path / "dump", [month.first, month.late])
    second = load_partition(gcp_warehouse, source, OCTOBER, "night-2")
    third = load_partition(gcp_warehouse, source, OCTOBER, "night-3")

    assert (first.outcome, second.outcome, third.outcome) == ("loaded", "loaded", "unchanged")
    assert first.rows == 400
    assert totals(gcp_warehouse, "gcp-dump", OCTOBER) == (
        month.expected_rows("202610"), month.expected_totals("202610"))


def test_month_folders_of_a_dump_are_skipped_for_other_months(
        tmp_path: Path, gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    month = generate_month("2026-10", seed=9, rows=100, late_rows=10)
    rows = month.rows
    for invoice_month in ("202610", "202611"):
        in_month = rows.filter(pa.compute.equal(rows["invoice"].combine_chunks().field("month"),
                                                invoice_month))
        write_parquet_dump(tmp_path / "dump" / f"invoice_month={invoice_month}", [in_month])
    source = dump_source(tmp_path / "dump")

    delivery = source.find_delivery(NOVEMBER)

    assert delivery is not None
    assert delivery.files == ("invoice_month=202611/000000000000.parquet",)
    assert delivery.details["rows"] == "1"
    assert load_partition(gcp_warehouse, source, NOVEMBER, "r").outcome == "loaded"
    assert totals(gcp_warehouse, "gcp-dump", NOVEMBER) == (1, {"USD": Decimal("-12.34")})


def test_a_parquet_file_that_is_not_a_billing_dump_is_refused_by_name(tmp_path: Path) -> None:
    write_parquet_dump(tmp_path / "dump", [generate_month(rows=10, late_rows=0).first])
    pq.write_table(pa.table({"cost": [1.0]}), tmp_path / "dump" / "notes.parquet")
    with pytest.raises(DataError, match=r"gcp-dump 2026-10: `.*notes.parquet` has no `invoice.month`"):
        dump_source(tmp_path / "dump").find_delivery(OCTOBER)


def test_a_folder_without_a_dump_has_no_delivery(tmp_path: Path) -> None:
    (tmp_path / "nothing-here").mkdir()  # a missing folder is an error (test_gcp_missing.py)
    assert dump_source(tmp_path / "nothing-here").find_delivery(OCTOBER) is None


def test_the_demo_month_loads_to_the_totals_it_promises(
        tmp_path: Path, gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    written = write_demo_month(str(tmp_path), period="2026-10", seed=7)
    assert written.uri == str(tmp_path / "gcp" / TABLE_NAME)
    source = dump_source(written.uri, name="gcp-demo")

    october = load_partition(gcp_warehouse, source, OCTOBER, "demo")
    november = load_partition(gcp_warehouse, source, NOVEMBER, "demo")

    assert (october.outcome, november.outcome) == ("loaded", "loaded")
    assert totals(gcp_warehouse, "gcp-demo", OCTOBER) == (written.rows, written.totals)
    assert totals(gcp_warehouse, "gcp-demo", NOVEMBER) == (written.next_month_rows,
                                                           written.next_month_totals)
    assert written.rows == 6_606


def test_a_credit_that_is_not_a_number_is_refused_with_where_it_is(
        tmp_path: Path, gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = generate_month(rows=20, late_rows=0).first.to_pylist()
    with_credit = next(i for i, r in enumerate(rows) if r["credits"])
    rows[with_credit]["credits"][0]["amount"] = float("nan")
    write_parquet_dump(tmp_path / "dump", [pa.Table.from_pylist(rows, schema=arrow_schema())])

    with pytest.raises(DataError, match=(rf"gcp-dump 2026-10: `000000000000.parquet` data row "
                                         rf"{with_credit + 1}: column `credits.amount` holds `NaN`")):
        load_partition(gcp_warehouse, dump_source(tmp_path / "dump"), OCTOBER, "r")
    assert gcp_warehouse.sql("select count(*) from line_items").fetchall() == [(0,)]


def test_a_dump_in_s3_reads_like_a_local_one(bucket: str, s3_filesystem: pafs.S3FileSystem,
                                             gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    month = generate_month(rows=120, late_rows=12)
    pq.write_table(month.rows, f"{bucket}/billing/dump/000000000000.parquet",
                   filesystem=s3_filesystem)

    result = load_partition(gcp_warehouse, dump_source(f"s3://{bucket}/billing/dump"), OCTOBER, "r")

    assert result.outcome == "loaded"
    assert totals(gcp_warehouse, "gcp-dump", OCTOBER) == (
        month.expected_rows("202610"), month.expected_totals("202610"))


def test_a_dumps_fingerprint_does_not_depend_on_batching_or_file_split(tmp_path: Path) -> None:
    month = generate_month(rows=300, late_rows=30)
    write_parquet_dump(tmp_path / "one", [month.rows])
    write_parquet_dump(tmp_path / "many", [month.rows], rows_per_file=37)
    deliveries = [dump_source(tmp_path / "one", batch_rows=1000).find_delivery(OCTOBER),
                  dump_source(tmp_path / "one", batch_rows=7).find_delivery(OCTOBER),
                  dump_source(tmp_path / "many").find_delivery(OCTOBER)]
    assert all(d is not None for d in deliveries)
    assert len({d.fingerprint for d in deliveries if d}) == 1
    assert len(deliveries[2].files if deliveries[2] else ()) == 10  # 337 rows, 37 a file
