"""Streaming worksheets: xlsxwriter in constant-memory mode, tables that split at the row limit.

In constant-memory mode xlsxwriter writes each row to disk as soon as the next one starts, so a
month of millions of allocated rows never sits in memory. Two consequences shape this module:
rows go strictly top to bottom, and an Excel table must be declared before its rows are
written (its header row is the first row it writes), so every table is declared with its row
count known up front. A table longer than a sheet continues on `<title> 2`, `<title> 3`, … with
its header repeated: split, never truncated.

Column widths and print setup are written after the rows, so a sheet measures every value as
it goes (`cell_width`) and is sized and set up for printing (`print_layout`) when the book is
closed. A value longer than a cell holds (32,767 characters) is written cut, marked as cut at
its start, and listed on `Book.cut_cells` for the About sheet: never silently shortened.
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.chart import Chart
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_range, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from costalloc.reports.finance.cell_width import (
    BOLD,
    FILTER_BUTTON,
    MAX_TEXT_WIDTH,
    batch_width,
    column_pixels,
    column_width,
    header_width,
    shown_width,
)
from costalloc.reports.finance.print_layout import (
    ROW_PIXELS,
    ROW_POINTS,
    PageTitle,
    PrintSetup,
    fit_scale,
    plan_breaks,
)

EXCEL_MAX_ROWS = 1_048_576  # rows per worksheet, the header included
EXCEL_MAX_CHARS = 32_767  # characters (UTF-16 units) per cell
DEFAULT_WIDTH = 8.43  # Excel's width of a column nobody sized
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


@dataclass(frozen=True)
class CutCell:
    """A value longer than an Excel cell holds, written cut and marked as such."""

    sheet: str
    cell: str  # A1 reference
    column: str | None  # the table column's header, when the cell is in a table
    length: int  # characters of the whole value

    def describe(self) -> str:
        where = f"{self.sheet}!{self.cell}"
        return f"{where} ({self.column}, {self.length:,} characters)" if self.column else (
            f"{where} ({self.length:,} characters)")


class Book:
    """An xlsxwriter workbook in constant-memory mode with the formats the reports use.

    `checkpoint` is called before each sheet and every `CHECK_EVERY_ROWS` rows of a table; a
    long write stops there when it raises. `title` is printed at the top of every page. Each
    sheet gets its column widths and print setup when the book is closed (xlsxwriter writes
    both after the rows, so a streamed sheet can be measured while it is written)."""

    def __init__(self, path: Path, checkpoint: Checkpoint | None = None, *,
                 title: PageTitle | None = None) -> None:
        self.checkpoint: Checkpoint = checkpoint or _carry_on
        self.page_title = title or PageTitle("costalloc")
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
        self.header = self.workbook.add_format({"bold": True, "bottom": 1,
                                                "valign": "top"})
        self.note = self.workbook.add_format({"italic": True, "font_color": "#595959"})
        self.warning = self.workbook.add_format({"bold": True, "font_color": "#C00000"})
        self.ok = self.workbook.add_format({"bold": True, "font_color": "#007A33"})
        self.cut_cells: list[CutCell] = []
        self._formats: dict[tuple[str, str, bool], Format] = {}
        self._table_names: set[str] = set()
        self._sheet_names: set[str] = set()
        self._sheets: list[Sheet] = []

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
        """A new worksheet named after `title`."""
        sheet = Sheet(self, self.worksheet(title), title)
        self._sheets.append(sheet)
        return sheet

    def worksheet(self, title: str) -> StreamingWorksheet:
        self.checkpoint()
        name = _sheet_name(title)
        base, n = name, 1
        while name.lower() in self._sheet_names:
            n += 1
            name = _sheet_name(f"{base[:_SHEET_NAME_MAX - 4]} {n}")
        self._sheet_names.add(name.lower())
        worksheet: StreamingWorksheet = self.workbook.add_worksheet(
            name, worksheet_class=StreamingWorksheet)
        return worksheet

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
        """Size and set up every sheet, then write the file. A folder that can't be written
        raises its own OSError (xlsxwriter wraps it; the original says which path and why)."""
        for sheet in self._sheets:
            sheet.finish()
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
NOTE_WIDTH = 110  # characters per line of a note: about a landscape page at full size
CHART_ROWS = 14  # rows a chart takes under its table: a dozen rows and their chart fit a page
_CUT_MARK = ("[cut: {length:,} characters, more than the {limit:,} an Excel cell holds; the "
             "full value is in the CSV / Parquet extract] ")


@dataclass
class _Part:
    """One worksheet of a sheet (`Detail`, `Detail 2`, …) and what its print setup needs."""

    worksheet: StreamingWorksheet
    last_row: int = -1
    last_col: int = -1
    heights: dict[int, float] = field(default_factory=dict)  # rows taller than one line
    blocks: list[int] = field(default_factory=list)
    charts: list[tuple[int, Chart, int]] = field(default_factory=list)  # row, chart, rows
    repeat: int | None = None


class Sheet:
    """Rows written top to bottom on a worksheet; a table that doesn't fit continues on the
    next worksheet of the same title (`Detail`, `Detail 2`, …).

    Every value written is measured, so each column ends as wide as its widest value under its
    number format (`cell_width`). Text that ends its row (a title, a note, a status) runs over
    the empty cells to its right, so it widens its column only by what the columns to its
    right, up to the sheet's last, can't hold: it shows whole on screen and on paper."""

    def __init__(self, book: Book, worksheet: StreamingWorksheet, title: str) -> None:
        self.book = book
        self.worksheet = worksheet
        self.title = title
        self.row = 0
        self.part = 1
        self._parts = [_Part(worksheet)]
        self._text: dict[int, int] = {}  # column → characters of its widest text
        self._numbers: dict[int, int] = {}  # column → characters of its widest number
        self._trailing: dict[int, int] = {}  # column → characters of its widest row-ending text

    @property
    def name(self) -> str:
        return str(self.worksheet.get_name())

    def skip(self, rows: int = 1) -> None:
        self.row += rows

    def line(self, *cells: object, fmt: Format | None = None,
             formats: Sequence[Format | None] | None = None) -> int:
        """Write one row of labels and values; returns its (0-based) row number."""
        return self._row(cells, fmt, formats, measure=True)

    def _row(self, cells: Sequence[object], fmt: Format | None,
             formats: Sequence[Format | None] | None, *, measure: bool) -> int:
        if self.row >= EXCEL_MAX_ROWS:
            self._continue()
        row = self.row
        last = max((col for col, value in enumerate(cells) if value is not None), default=-1)
        alone = last == 0  # a title or a note: written whole, never cut
        for col, value in enumerate(cells):
            cell_format = formats[col] if formats is not None and col < len(formats) else fmt
            self._put(row, col, value, cell_format)
            if not measure or value is None:
                continue
            if col == last and isinstance(value, str):
                width = _drawn(shown_width(value, None), cell_format)
                self._trailing[col] = max(self._trailing.get(col, 0),
                                          width if alone else min(width, MAX_TEXT_WIDTH))
            else:
                self._measure(col, value, cell_format)
        self._wrote(row, len(cells) - 1)
        size = getattr(fmt, "font_size", 11) if fmt is not None else 11
        if size > 11:
            self._parts[-1].heights[row] = size * 4 / 3 + 0.75
        self.row += 1
        return row

    def header(self, *cells: str | None, filters: bool = False) -> int:
        """A table's header row: bold, on one line, a line under it. `filters`: the row
        carries filter buttons (an Excel table), which take room beside the text."""
        row = self._row(cells, self.book.header, None, measure=False)
        for col, text in enumerate(cells):
            if text:
                width = header_width(text) * BOLD + (FILTER_BUTTON if filters else 0)
                self._text[col] = max(self._text.get(col, 0), math.ceil(width))
        return row

    def note(self, text: str, fmt: Format | None = None) -> None:
        """A paragraph of explanation, in lines that fit a page (a cell does not wrap text that
        runs over its neighbours, and the print area stops at the last column)."""
        for part in textwrap.wrap(text, NOTE_WIDTH) or [""]:
            self.line(part, fmt=fmt or self.book.note)

    def block(self) -> None:
        """What follows (a table, its chart) prints on one page: it starts a new page when the
        rest of the current one is too short for it."""
        self._parts[-1].blocks.append(self.row)

    def repeat_header(self) -> None:
        """Repeat the header row just written at the top of every page it runs over (one per
        sheet, from where it first appears: the sheet's last long table)."""
        self._parts[-1].repeat = self.row - 1

    def chart(self, chart: Chart, rows: int = CHART_ROWS) -> None:
        """`chart` under what was written last, across the sheet's printed width, `rows`
        high; sized when the sheet's columns are."""
        self._parts[-1].charts.append((self.row, chart, rows))
        self._wrote(self.row + rows - 1, 0)
        self.row += rows

    def table(self, title: str, columns: Sequence[Column], batches: Iterable[pa.RecordBatch],
              count: int, *, freeze: bool = False, repeat: bool = False) -> list[tuple[str, int, int]]:
        """`count` rows under one header as an Excel table; continues on a new worksheet when
        the sheet is full. `repeat`: the header is printed at the top of every page the table
        runs over. Returns (sheet name, header row, last row) of every part."""
        parts: list[tuple[str, int, int]] = []
        headers = [c.header for c in columns]
        iterator = self._measured(columns, batches)
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
            self.header(*headers, filters=take > 0)
            if repeat:
                self.repeat_header()
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

    def finish(self) -> None:
        """Give every column its width and every worksheet its print setup and charts."""
        widths = {col: column_width(max(min(self._text.get(col, 0), MAX_TEXT_WIDTH),
                                        self._numbers.get(col, 0)))
                  for col in self._text.keys() | self._numbers.keys()}
        last_col = max(part.last_col for part in self._parts)
        for col in sorted(self._trailing, reverse=True):  # a column widens those to its left
            right = sum(widths.get(c, DEFAULT_WIDTH) for c in range(col + 1, last_col + 1))
            need = column_width(self._trailing[col]) - right
            if need > widths.get(col, DEFAULT_WIDTH):
                widths[col] = need
        for part in self._parts:
            for col, width in widths.items():
                part.worksheet.set_column(col, col, width)
            across = sum(column_pixels(widths.get(col, DEFAULT_WIDTH))
                         for col in range(part.last_col + 1))
            for row, chart, rows in part.charts:
                chart.set_size({"width": across, "height": rows * ROW_PIXELS})
                part.worksheet.insert_chart(row, 0, chart, {"object_position": 1})
            heights = [part.heights.get(row, ROW_POINTS) for row in range(part.last_row + 1)]
            PrintSetup(self.book.page_title, part.last_row, part.last_col,
                       (part.repeat, part.repeat) if part.repeat is not None else None,
                       plan_breaks(heights, part.blocks, fit_scale(across))).apply(part.worksheet)

    def _measured(self, columns: Sequence[Column],
                  batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[Any, ...]]:
        """The batches' rows, each batch measured for the column widths before its rows go."""
        codes = [getattr(self.book.format(c.kind, "USD" if c.currency_column is not None
                                          else None), "num_format", None) for c in columns]
        for batch in batches:
            for col, (column, code) in enumerate(zip(batch.columns, codes, strict=True)):
                width = batch_width(column, code)
                target = self._text if columns[col].kind == "text" else self._numbers
                if width > target.get(col, 0):
                    target[col] = width
            yield from rows_of([batch])

    def _measure(self, col: int, value: object, fmt: Format | None) -> None:
        code = getattr(fmt, "num_format", None) if fmt is not None else None
        width = _drawn(shown_width(value, code), fmt)
        target = self._text if isinstance(value, str) else self._numbers
        if width > target.get(col, 0):
            target[col] = width

    def _wrote(self, row: int, col: int) -> None:
        part = self._parts[-1]
        part.last_row = max(part.last_row, row)
        part.last_col = max(part.last_col, col)

    def _cells(self, columns: Sequence[Column], values: Sequence[Any]) -> None:
        row = self.row
        for col, (column, value) in enumerate(zip(columns, values, strict=True)):
            if value is None:
                continue
            currency = (values[column.currency_column]
                        if column.currency_column is not None else None)
            if isinstance(value, str) and _too_long(value):  # inline: a million cells a month
                value = self._cut(row, col, value, column.header)
            _write(self.worksheet, row, col, value,
                   self.book.format(column.kind, currency if isinstance(currency, str) else None))
        self._wrote(row, len(columns) - 1)
        self.row += 1

    def _put(self, row: int, col: int, value: object, fmt: Format | None) -> None:
        if isinstance(value, str) and _too_long(value):
            value = self._cut(row, col, value, None)
        _write(self.worksheet, row, col, value, fmt)

    def _cut(self, row: int, col: int, value: str, column: str | None) -> str:
        """A value too long for a cell, marked as cut at its start (so nobody takes the rest
        for the whole: a cut JSON object would still look like one) and noted on the book."""
        length = _utf16_length(value)
        self.book.cut_cells.append(CutCell(self.name, xl_rowcol_to_cell(row, col), column,
                                           length))
        mark = _CUT_MARK.format(length=length, limit=EXCEL_MAX_CHARS)
        room = EXCEL_MAX_CHARS - _utf16_length(mark)
        # whole UTF-16 units: a character outside the BMP is two, and is dropped if split
        kept = value.encode("utf-16-le")[:room * 2].decode("utf-16-le", errors="ignore")
        return mark + kept

    def _continue(self) -> None:
        self.part += 1
        self.worksheet, self.row = self.book.worksheet(f"{self.title} {self.part}"), 0
        self._parts.append(_Part(self.worksheet))


def _drawn(characters: int, fmt: Format | None) -> int:
    """Characters of the default font that `characters` in `fmt` take: bold and larger type
    are wider."""
    if fmt is None:
        return characters
    scale = getattr(fmt, "font_size", 11) / 11 * (BOLD if getattr(fmt, "bold", False) else 1)
    return math.ceil(characters * scale)


def _too_long(text: str) -> bool:
    """More characters than a cell holds (counting as Excel does; only long text is encoded)."""
    return len(text) > EXCEL_MAX_CHARS // 2 and _utf16_length(text) > EXCEL_MAX_CHARS


def _utf16_length(text: str) -> int:
    """Excel counts a cell's characters in UTF-16 units."""
    return len(text.encode("utf-16-le")) // 2


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
    for entry in schema:
        kind: Kind = "text"
        if pa.types.is_decimal(entry.type) or pa.types.is_floating(entry.type):
            if entry.name in MONEY_COLUMNS:
                kind = "money"
            elif entry.name in RATIO_COLUMNS:
                kind = "ratio"
            else:
                kind = "quantity"
        elif pa.types.is_integer(entry.type):
            kind = "int"
        elif pa.types.is_timestamp(entry.type) or pa.types.is_date(entry.type):
            kind = "datetime"
        columns.append(Column(entry.name, kind, currency if kind == "money" else None))
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
