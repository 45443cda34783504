"""Streaming worksheets: xlsxwriter in constant-memory mode, tables that split at the row limit.

In constant-memory mode xlsxwriter writes each row to disk as soon as the next one starts, so a
month of millions of allocated rows never sits in memory. Two consequences shape this module:
rows go strictly top to bottom, and an Excel table must be declared before its rows are
written (its header row is the first row it writes), so every table is declared with its row
count known up front. A table longer than a sheet continues on `<title> 2`, `<title> 3`, … with
its header repeated: split, never truncated.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_range
from xlsxwriter.worksheet import Worksheet

EXCEL_MAX_ROWS = 1_048_576  # rows per worksheet, the header included
CHECK_EVERY_ROWS = 10_000  # rows written between two checkpoints
Checkpoint = Callable[[], None]  # raises to stop a write (the endpoint's client went away)
Kind = Literal["text", "int", "money", "cents", "ratio", "quantity", "percent", "datetime"]
_SHEET_NAME_MAX = 31
_FORBIDDEN_IN_SHEET_NAMES = str.maketrans({c: "_" for c in "[]:*?/\\"})
MONEY_COLUMNS = frozenset({"BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
                           "x_capitalized_cost", "x_amortization", "x_accumulated_amortization",
                           "x_net_book_value"})
RATIO_COLUMNS = frozenset({"x_split_ratio"})
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Column:
    """One column of a sheet table: its header, how its cells look, where its currency is."""

    header: str
    kind: Kind = "text"
    currency_column: int | None = None  # money / cents: the column holding the row's currency


class StreamingWorksheet(Worksheet):  # type: ignore[misc]
    """A worksheet that can declare an Excel table over rows it has not written yet."""

    constant_memory: int  # set by xlsxwriter from the workbook's options

    def add_streamed_table(self, first_row: int, last_row: int, columns: Sequence[str],
                           name: str, header_format: Format | None) -> bool:
        """An Excel table (filters, banded rows) over `first_row` (its header) to `last_row`.

        xlsxwriter refuses tables in constant-memory mode and checks every cell of the range
        for overlaps, so the table is declared over its header and first data row only and
        then widened to its full height; nothing else is written by the declaration. Returns
        False (the caller falls back to a plain autofilter) if this xlsxwriter keeps its tables
        in a shape this code doesn't know.
        """
        options = {"name": name, "style": "Table Style Medium 2",
                   "columns": [{"header": c, "header_format": header_format} for c in columns]}
        constant_memory = self.constant_memory
        self.constant_memory = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                status = self.add_table(first_row, 0, first_row + 1, len(columns) - 1, options)
        finally:
            self.constant_memory = constant_memory
        if status != 0 or not self.tables or not {"range", "a_range"} <= set(self.tables[-1]):
            return False
        table = self.tables[-1]
        table["range"] = table["a_range"] = xl_range(first_row, 0, last_row, len(columns) - 1)
        if "autofilter" in table:
            table["autofilter"] = table["a_range"]
        return True


class Book:
    """An xlsxwriter workbook in constant-memory mode with the formats the reports use.

    `checkpoint` is called before each sheet and every `CHECK_EVERY_ROWS` rows of a table; a
    long write stops there when it raises."""

    def __init__(self, path: Path, checkpoint: Checkpoint | None = None) -> None:
        self.checkpoint: Checkpoint = checkpoint or _carry_on
        self.workbook = xlsxwriter.Workbook(str(path), {
            "constant_memory": True,
            "remove_timezone": True,  # Excel has no time zones; every timestamp here is UTC
            "strings_to_formulas": False,  # a tag value "=cmd()" stays text
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd hh:mm",
        })
        self.bold = self.workbook.add_format({"bold": True})
        self.title = self.workbook.add_format({"bold": True, "font_size": 14})
        self.header = self.workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                                "valign": "top"})
        self.note = self.workbook.add_format({"italic": True, "font_color": "#595959"})
        self.warning = self.workbook.add_format({"bold": True, "font_color": "#C00000"})
        self.ok = self.workbook.add_format({"bold": True, "font_color": "#007A33"})
        self._formats: dict[tuple[str, str, bool], Format] = {}
        self._table_names: set[str] = set()
        self._sheet_names: set[str] = set()

    def format(self, kind: Kind, currency: str | None = None, *, bold: bool = False) -> Format | None:
        key = (kind, currency or "", bold)
        if key not in self._formats:
            spec: dict[str, Any] = {"bold": True} if bold else {}
            number = _NUMBER_FORMATS.get(kind)
            if kind in ("money", "cents") and currency and _ISO_CURRENCY.match(currency):
                number = f"[${currency}] {number}"
            if number:
                spec["num_format"] = number
            self._formats[key] = self.workbook.add_format(spec)
        return self._formats[key]

    def sheet(self, title: str) -> Sheet:
        self.checkpoint()
        name = _sheet_name(title)
        base, n = name, 1
        while name.lower() in self._sheet_names:
            n += 1
            name = _sheet_name(f"{base[:_SHEET_NAME_MAX - 4]} {n}")
        self._sheet_names.add(name.lower())
        worksheet = self.workbook.add_worksheet(name, worksheet_class=StreamingWorksheet)
        return Sheet(self, worksheet, title)

    def table_name(self, title: str) -> str:
        base = "".join(c if c.isalnum() else "_" for c in title).strip("_") or "Table"
        if base[0].isdigit():
            base = f"T_{base}"
        name, n = base, 1
        while name.lower() in self._table_names:
            n += 1
            name = f"{base}_{n}"
        self._table_names.add(name.lower())
        return name

    def close(self) -> None:
        """Write the file. A folder that can't be written raises its own OSError (xlsxwriter
        wraps it; the original says which path and why)."""
        try:
            self.workbook.close()
        except FileCreateError as error:
            cause = error.args[0] if error.args else None
            if isinstance(cause, OSError):
                raise cause from None
            raise


def _carry_on() -> None:
    """The checkpoint of a write nobody can cancel."""


_NUMBER_FORMATS: dict[str, str] = {
    "money": "#,##0.00########",  # exact amounts: cents always, more places when there are any
    "cents": "#,##0.00",
    "int": "#,##0",
    "ratio": "0.0000######",
    "quantity": "#,##0.##########",
    "percent": "0.0%",
    "datetime": "yyyy-mm-dd hh:mm",
}


class Sheet:
    """Rows written top to bottom on a worksheet; a table that doesn't fit continues on the
    next worksheet of the same title (`Detail`, `Detail 2`, …)."""

    def __init__(self, book: Book, worksheet: StreamingWorksheet, title: str) -> None:
        self.book = book
        self.worksheet = worksheet
        self.title = title
        self.row = 0
        self.part = 1
        self._widths: dict[int, float] = {}

    @property
    def name(self) -> str:
        return str(self.worksheet.get_name())

    def skip(self, rows: int = 1) -> None:
        self.row += rows

    def line(self, *cells: object, fmt: Format | None = None,
             formats: Sequence[Format | None] | None = None) -> int:
        """Write one row of labels and values; returns its (0-based) row number."""
        if self.row >= EXCEL_MAX_ROWS:
            self._continue()
        row = self.row
        for col, value in enumerate(cells):
            cell_format = formats[col] if formats is not None and col < len(formats) else fmt
            _write(self.worksheet, row, col, value, cell_format)
        self.row += 1
        return row

    def set_widths(self, widths: Mapping[int, float]) -> None:
        self._widths = dict(widths)
        for col, width in widths.items():
            self.worksheet.set_column(col, col, width)

    def table(self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]],
              count: int, *, freeze: bool = False) -> list[tuple[str, int, int]]:
        """`count` rows under one header as an Excel table; continues on a new worksheet when
        the sheet is full. Returns (sheet name, header row, last row) of every part."""
        parts: list[tuple[str, int, int]] = []
        headers = [c.header for c in columns]
        iterator = iter(rows)
        remaining = count
        while True:
            if EXCEL_MAX_ROWS - self.row < 2:  # not even a header and one row left
                self._continue()
            take = min(remaining, EXCEL_MAX_ROWS - self.row - 1)
            header_row = self.row
            if take > 0:
                declared = self.worksheet.add_streamed_table(
                    header_row, header_row + take, headers, self.book.table_name(title),
                    self.book.header)
                if not declared:
                    self.worksheet.autofilter(header_row, 0, header_row + take, len(columns) - 1)
            self.line(*headers, fmt=self.book.header)
            if freeze and header_row == 0:
                self.worksheet.freeze_panes(1, 0)
            if take == 0:
                self.line("(no rows)", fmt=self.book.note)
            for written in range(take):
                if written % CHECK_EVERY_ROWS == CHECK_EVERY_ROWS - 1:
                    self.book.checkpoint()
                values = next(iterator, None)
                if values is None:
                    raise RuntimeError(f"{title}: expected {count} rows, the query returned "
                                       f"{count - remaining}; the warehouse changed while the "
                                       "workbook was written")
                self._cells(columns, values)
                remaining -= 1
            parts.append((self.name, header_row, self.row - 1))
            if remaining == 0:
                break
            self._continue()
        if next(iterator, None) is not None:
            raise RuntimeError(f"{title}: the query returned more than the {count} rows counted; "
                               "the warehouse changed while the workbook was written")
        return parts

    def _cells(self, columns: Sequence[Column], values: Sequence[Any]) -> None:
        row = self.row
        for col, (column, value) in enumerate(zip(columns, values, strict=True)):
            if value is None:
                continue
            currency = (values[column.currency_column]
                        if column.currency_column is not None else None)
            _write(self.worksheet, row, col, value,
                   self.book.format(column.kind, currency if isinstance(currency, str) else None))
        self.row += 1

    def _continue(self) -> None:
        self.part += 1
        nxt = self.book.sheet(f"{self.title} {self.part}")
        self.worksheet, self.row = nxt.worksheet, 0
        for col, width in self._widths.items():
            self.worksheet.set_column(col, col, width)


def _write(worksheet: Worksheet, row: int, col: int, value: object, fmt: Format | None) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        worksheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        worksheet.write_number(row, col, value, fmt)
    elif isinstance(value, Decimal):
        worksheet.write_number(row, col, float(value), fmt)
    elif isinstance(value, (datetime, date)):
        worksheet.write_datetime(row, col, value, fmt)
    else:
        worksheet.write_string(row, col, str(value), fmt)


def _sheet_name(title: str) -> str:
    return title.translate(_FORBIDDEN_IN_SHEET_NAMES).strip("'")[:_SHEET_NAME_MAX]


# --- Arrow batches → sheet rows ---------------------------------------------------------------

def columns_of(schema: pa.Schema) -> list[Column]:
    """How each column of a query result looks in a sheet: money in its row's currency."""
    names = schema.names
    currency = names.index("BillingCurrency") if "BillingCurrency" in names else None
    columns = []
    for field in schema:
        kind: Kind = "text"
        if pa.types.is_decimal(field.type) or pa.types.is_floating(field.type):
            if field.name in MONEY_COLUMNS:
                kind = "money"
            elif field.name in RATIO_COLUMNS:
                kind = "ratio"
            else:
                kind = "quantity"
        elif pa.types.is_integer(field.type):
            kind = "int"
        elif pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            kind = "datetime"
        columns.append(Column(field.name, kind, currency if kind == "money" else None))
    return columns


def rows_of(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[Any, ...]]:
    """Rows of plain Python values, one batch in memory at a time. Decimals become the nearest
    double (through their exact text, so 0.78689983 stays 0.78689983), timestamps naive UTC."""
    for batch in batches:
        arrays = [_excel_values(column) for column in batch.columns]
        yield from zip(*(array.to_pylist() for array in arrays), strict=True)


def _excel_values(column: pa.Array) -> pa.Array:
    if pa.types.is_decimal(column.type):
        return pc.cast(pc.cast(column, pa.string()), pa.float64())
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        return pc.cast(column, pa.timestamp(column.type.unit))
    return column
