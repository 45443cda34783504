"""Write a period's tables as CSV, Parquet or an Excel workbook, streaming row batches.

Parquet goes Hive-partitioned by period (`<table>/x_billing_period=2026-10/part-0.parquet`)
so a range of months can be read as one dataset; CSV is one file per table and period.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.period import BillingPeriod
from sql import load

Table = Literal["allocated", "line-items"]
Format = Literal["csv", "parquet", "xlsx"]
_QUERIES: dict[str, str] = {"allocated": "reports/allocated_extract",
                            "line-items": "reports/line_items_extract"}
BATCH_ROWS = 100_000


def batches(con: duckdb.DuckDBPyConnection, table: Table, period: BillingPeriod) -> Iterator[
        pa.RecordBatch]:
    reader = con.sql(load(_QUERIES[table]), params={"period": str(period)})
    yield from reader.to_arrow_reader(BATCH_ROWS)


def export(con: duckdb.DuckDBPyConnection, table: Table, period: BillingPeriod, fmt: Format,
           out: Path) -> Path:
    """Write `table` for `period` under `out`; returns the file written."""
    name = table.replace("-", "_")
    if fmt == "parquet":
        target = out / name / f"x_billing_period={period}" / "part-0.parquet"
    elif fmt == "csv":
        target = out / f"{name}_{period}.csv"
    else:
        target = out / f"{name}_{period}.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    stream = batches(con, table, period)
    if fmt == "xlsx":
        from reports.workbook import write_detail_workbook

        write_detail_workbook(target, stream, title=f"{name} {period}")
        return target
    partial = target.with_name(target.name + ".partial")
    first = next(stream, None)
    schema = first.schema if first is not None else _empty_schema(con, table, period)
    if fmt == "parquet":
        with pq.ParquetWriter(partial, schema) as writer:
            for batch in _chain(first, stream):
                writer.write_batch(batch)
    else:
        with pacsv.CSVWriter(partial, schema) as writer:
            for batch in _chain(first, stream):
                writer.write_batch(batch)
    partial.replace(target)  # readers never see a half-written extract
    return target


def _chain(first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]) -> Iterator[
        pa.RecordBatch]:
    if first is not None:
        yield first
    yield from rest


def _empty_schema(con: duckdb.DuckDBPyConnection, table: Table, period: BillingPeriod) -> pa.Schema:
    return con.sql(load(_QUERIES[table]), params={"period": str(period)}).arrow().schema
