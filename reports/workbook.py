"""Excel output with xlsxwriter in constant-memory mode: rows stream to disk as written."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import xlsxwriter

EXCEL_MAX_ROWS = 1_048_576


def write_detail_workbook(target: Path, batches: Iterable[pa.RecordBatch], *, title: str) -> None:
    """One sheet per 1,048,575 rows (split, never truncated), numbers as numbers."""
    partial = target.with_name(target.name + ".partial.xlsx")
    workbook = xlsxwriter.Workbook(str(partial), {"constant_memory": True,
                                                  "remove_timezone": True})
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00########"})
    sheet = None
    row = 0
    sheets = 0
    columns: list[str] = []
    for batch in batches:
        columns = batch.schema.names
        decimal_columns = {i for i, f in enumerate(batch.schema) if pa.types.is_decimal(f.type)}
        for record in batch.to_pylist():
            if sheet is None or row >= EXCEL_MAX_ROWS:
                sheets += 1
                sheet = workbook.add_worksheet(f"Detail {sheets}" if sheets > 1 else "Detail")
                sheet.write_row(0, 0, columns, bold)
                sheet.freeze_panes(1, 0)
                row = 1
            for col, name in enumerate(columns):
                value = record[name]
                if value is None:
                    continue
                if col in decimal_columns:
                    sheet.write_number(row, col, float(value) if isinstance(value, Decimal)
                                       else value, money)
                else:
                    sheet.write(row, col, value)
            row += 1
    if sheet is None:
        sheet = workbook.add_worksheet("Detail")
        sheet.write(0, 0, f"No rows for {title}")
    workbook.close()
    partial.replace(target)
