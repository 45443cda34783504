"""Write a period's finance tables as CSV, Parquet or an Excel workbook, streaming row batches.

`allocated` writes the finance tables (`reports.tables.ALLOCATED_TABLES`): the allocated rows
themselves plus summary, unallocated, capex, capex_schedule and reconciliation, and a column
dictionary. `line-items` writes the FOCUS line items. Layout under `out`:

    parquet  <table>/x_billing_period=2026-10/part-0.parquet   (Hive-partitioned by period)
    csv      <table>_2026-10.csv
    xlsx     allocated_2026-10.xlsx (allocated_2026-09_2026-10.xlsx for a range)
    both     allocated_columns.csv and allocated_columns.md: every column, its type, its meaning

The `allocated` table's file keeps its name (`allocated`), so existing readers still find it.
The monthly review and the forecast are planning's files (`reports.planning.exports`).
Every file is written to `<name>.partial` first and renamed: a reader never sees half of one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.csv_text import write_csv
from costalloc.reports.finance.snapshot import read_snapshot
from costalloc.reports.finance.tables import (
    ALLOCATED_FOCUS_1_3,
    ALLOCATED_TABLES,
    LINE_ITEMS,
    DictionaryEntry,
    FinanceTable,
    dictionary,
)
from costalloc.reports.finance.workbook import write_finance_workbook, write_table_workbook

Table = Literal["allocated", "line-items"]
Format = Literal["csv", "parquet", "xlsx"]
FocusVersion = Literal["1.3"]
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class Extract:
    """What one export wrote: the file asked for first, then the companion tables and the
    column dictionary."""

    files: tuple[Path, ...]

    @property
    def main(self) -> Path:
        return self.files[0]


def export(con: duckdb.DuckDBPyConnection, table: Table, period: BillingPeriod, fmt: Format,
           out: Path) -> Path:
    """Write `table` for `period` under `out`; returns the main file written (the allocated
    rows, the line items, or the workbook). Companion tables are written beside it."""
    return export_period(con, table, period, fmt, out).main


def export_period(con: duckdb.DuckDBPyConnection, table: Table, period: BillingPeriod,
                  fmt: Format, out: Path, *, focus_version: FocusVersion | None = None) -> Extract:
    """Every file of `table` for one period; `focus_version="1.3"` writes the allocated rows
    alone, as FOCUS 1.3 rows with its allocation columns (`allocated_focus_1_3`)."""
    if focus_version is not None:
        if table != "allocated" or fmt == "xlsx":
            raise ValueError("--focus-version applies to `allocated` as csv or parquet")
        tables: tuple[FinanceTable, ...] = (ALLOCATED_FOCUS_1_3,)
    elif fmt == "xlsx":
        return Extract((export_workbook(con, table, period, period, out),))
    else:
        tables = ALLOCATED_TABLES if table == "allocated" else (LINE_ITEMS,)
    with read_snapshot(con) as snapshot:  # every table of the extract from the same state
        written = [_write_table(snapshot, finance_table, period, fmt, out)
                   for finance_table in tables]
        written += write_dictionary(dictionary(snapshot, tables, period), out,
                                    tables[0].name)
    return Extract(tuple(written))


def export_workbook(con: duckdb.DuckDBPyConnection, table: Table, first: BillingPeriod,
                    last: BillingPeriod, out: Path) -> Path:
    """The finance workbook for `first`..`last` (allocated), or one period's line items."""
    span = str(first) if first == last else f"{first}_{last}"
    if table == "allocated":
        return write_finance_workbook(con, first, last, out / f"allocated_{span}.xlsx")
    if first != last:
        raise ValueError("line items are written one billing period per workbook")
    relation = LINE_ITEMS.relation(con, first)
    count = int(relation.aggregate("count(*)").fetchall()[0][0])
    return write_table_workbook(out / f"line_items_{span}.xlsx",
                                LINE_ITEMS.relation(con, first).to_arrow_reader(BATCH_ROWS), count,
                                title="Line items")


def _write_table(con: duckdb.DuckDBPyConnection, table: FinanceTable, period: BillingPeriod,
                 fmt: Format, out: Path) -> Path:
    if fmt == "parquet":
        target = out / table.name / f"x_billing_period={period}" / "part-0.parquet"
    else:
        target = out / f"{table.name}_{period}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    reader = table.relation(con, period, period).to_arrow_reader(BATCH_ROWS)
    if fmt == "csv":
        return write_csv(target, reader, reader.schema)
    partial = target.with_name(target.name + ".partial")
    with pq.ParquetWriter(partial, reader.schema) as writer:
        for batch in _batches(reader):
            writer.write_batch(batch)
    partial.replace(target)
    return target


def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if batch.num_rows:
            yield batch


def write_dictionary(entries: Sequence[DictionaryEntry], out: Path, name: str) -> list[Path]:
    """`<name>_columns.csv` and `<name>_columns.md`: each table's columns, types and meanings."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{name}_columns.csv"
    partial = csv_path.with_name(csv_path.name + ".partial")
    with partial.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["table", "column", "type", "meaning"])
        writer.writerows([e.table, e.column, e.type, e.meaning] for e in entries)
    partial.replace(csv_path)
    markdown = out / f"{name}_columns.md"
    lines = [f"# Columns of the `{name}` extract", "",
             "Money is exact (DECIMAL(38, 10)) in the billing currency of the row; Parquet is "
             "Hive-partitioned by `x_billing_period`. In CSV files, text that a spreadsheet "
             "would run as a formula (starting with `=`, `+`, `-`, `@`) is prefixed with `'`."]
    for table in dict.fromkeys(e.table for e in entries):
        lines += ["", f"## {table}", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{e.column}` | {e.type} | {e.meaning.replace('|', '/')} |"
                  for e in entries if e.table == table]
    partial = markdown.with_name(markdown.name + ".partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(markdown)
    return [csv_path, markdown]
