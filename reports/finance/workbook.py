"""The finance workbook: Summary, Detail, Unallocated, CapEx, Reconciliation and About sheets,
after any sheets the caller adds in front (`SheetWriter`: the monthly review puts its Review
and Forecast sheets there, see `reports.planning.exports`).

Every sheet is read from one snapshot of the warehouse, so the Summary, the Detail and the
Reconciliation describe the same data. Amounts are values, never only formulas. Summary and
Reconciliation show amounts rounded to the currency's minor unit (`reports.finance.rounding`):
the rounded rows add up to the subtotals and totals shown, and a currency's total is its exact
total rounded half-up on both sheets (`summary_sheet` says how the Summary keeps one rounding
for all its tables). Detail, Unallocated and CapEx show exact amounts (as Excel doubles).

Every column is as wide as its widest value, every sheet prints landscape with the report's
title on every page (`print_layout`), and a value too long for a cell is cut visibly and listed
on the About sheet (`sheets`).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.print_layout import PageTitle
from costalloc.reports.finance.rounding import largest_remainder, quantum
from costalloc.reports.finance.sheets import (
    EXCEL_MAX_CHARS,
    NOTE_WIDTH,
    Book,
    Checkpoint,
    Sheet,
    columns_of,
)
from costalloc.reports.finance.snapshot import read_snapshot
from costalloc.reports.finance.summary_sheet import write_summary
from costalloc.reports.finance.tables import (
    CAPEX,
    CAPEX_SCHEDULE,
    DETAIL,
    RECONCILIATION,
    UNALLOCATED,
    FinanceTable,
)
from costalloc.sql import load

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class SheetWriter:
    """Sheets from outside finance (the review, the forecast) for a workbook: `write` adds them
    to the book; `name` and `about` say what they hold on the About sheet."""

    name: str
    about: str
    write: Callable[[Book], None]


def write_finance_workbook(con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                           last: BillingPeriod, target: Path, *,
                           generated_at: datetime | None = None,
                           leading: Sequence[SheetWriter] = (),
                           checkpoint: Checkpoint | None = None,
                           report: str = "allocated cost") -> Path:
    """Write the workbook for `first`..`last` to `target` (atomically: a reader never sees a
    half-written file) and return `target`. The `leading` sheets come first, in their order.
    `checkpoint` is called between sheets and every few thousand rows; when it raises, the
    write stops and nothing is left behind. `report` names the workbook at the top of every
    printed page."""
    generated_at = generated_at or datetime.now(UTC)
    span = _span(first, last)
    title = PageTitle(f"costalloc: {report}, {span}", _generated(generated_at))
    with read_snapshot(con) as snapshot, _atomic_book(target, checkpoint, title) as book:
        for writer in leading:
            writer.write(book)
        write_summary(book, snapshot, first, last, span)
        _streamed(book, snapshot, DETAIL, "Detail", first, last)
        _streamed(book, snapshot, UNALLOCATED, "Unallocated", first, last)
        _capex(book, snapshot, first, last, span)
        _reconciliation(book, snapshot, first, last, span)
        _about(book, snapshot, first, last, span, generated_at,
               extra=[(writer.name, writer.about) for writer in leading])
    return target


def write_table_workbook(target: Path, batches: pa.RecordBatchReader, count: int, *,
                         title: str, checkpoint: Checkpoint | None = None) -> Path:
    """`count` rows of one table (line items, a grouped extract) on as many sheets as they need,
    each part an Excel table with a frozen header, repeated on every printed page. An About
    sheet follows only when a value was too long for its cell, to say which."""
    with _atomic_book(target, checkpoint, PageTitle(f"costalloc: {title}")) as book:
        sheet = book.sheet(title)
        sheet.table(title, columns_of(batches.schema), batches, count, freeze=True, repeat=True)
        if book.cut_cells:
            about = book.sheet("About")
            about.line(f"About this workbook: {title}", fmt=book.title)
            _cut_cells_line(book, about)
    return target


def write_sheets_workbook(target: Path, writers: Sequence[SheetWriter], *,
                          title: str = "costalloc") -> Path:
    """A workbook of only the `writers`' sheets (the forecast on its own)."""
    with _atomic_book(target, None, PageTitle(title)) as book:
        for writer in writers:
            writer.write(book)
    return target


@contextmanager
def _atomic_book(target: Path, checkpoint: Checkpoint | None,
                 title: PageTitle) -> Iterator[Book]:
    """A book written beside `target` and renamed onto it when complete; removed if the
    write fails or is stopped, so neither a half workbook nor its scraps stay behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial.xlsx")
    book = Book(partial, checkpoint, title=title)
    try:
        yield book
    except BaseException:
        with suppress(Exception):  # the first error is the one to report
            book.close()
        partial.unlink(missing_ok=True)
        raise
    book.close()
    partial.replace(target)


def _span(first: BillingPeriod, last: BillingPeriod) -> str:
    return str(first) if first == last else f"{first} to {last}"


def _generated(at: datetime) -> str:
    return f"Generated {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _count(relation: duckdb.DuckDBPyRelation) -> int:
    return int(relation.aggregate("count(*)").fetchall()[0][0])


# --- Detail, Unallocated: streamed ------------------------------------------------------------

def _streamed(book: Book, con: duckdb.DuckDBPyConnection, table: FinanceTable, title: str,
              first: BillingPeriod, last: BillingPeriod) -> None:
    relation = table.relation(con, first, last)
    count = _count(relation)
    reader = table.relation(con, first, last).to_arrow_reader(BATCH_ROWS)
    sheet = book.sheet(title)
    sheet.table(title, columns_of(reader.schema), reader, count, freeze=True, repeat=True)


# --- CapEx ------------------------------------------------------------------------------------

def _capex(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
           last: BillingPeriod, span: str) -> None:
    sheet = book.sheet("CapEx")
    sheet.line(f"CapEx: project cost, {span}", fmt=book.title)
    sheet.note("capitalized = cost_type capex under an approved project phase; expensed = project "
               "cost in a phase that is not capitalized; asset purchase / depreciation = rows of "
               "the asset register.")
    sheet.skip()
    _fetched_table(sheet, "CapEx project cost", CAPEX.relation(con, first, last))
    sheet.skip()
    sheet.block()
    sheet.line(f"Amortization schedule as of {last}", fmt=book.bold)
    sheet.note("Straight line over the useful life, from the month after the asset's last "
               "capitalized month; each month is round(cost × m / life) − round(cost × (m − 1) / "
               "life) in cents, so the months add up to the capitalized cost. `provisional`: the "
               "asset still capitalized in the as-of month, so its start may move.")
    _fetched_table(sheet, "CapEx schedule", CAPEX_SCHEDULE.relation(con, first, last),
                   repeat=True)


def _fetched_table(sheet: Sheet, title: str, relation: duckdb.DuckDBPyRelation, *,
                   repeat: bool = False) -> None:
    count = _count(relation)
    reader = relation.to_arrow_reader(BATCH_ROWS)
    sheet.table(title, columns_of(reader.schema), reader, count, repeat=repeat)


# --- Reconciliation ---------------------------------------------------------------------------

_RECONCILED_AMOUNTS = ("x_raw_export_total", "x_line_items_billed_cost", "x_allocated_billed_cost",
                       "x_line_items_effective_cost", "x_allocated_effective_cost")


def _reconciliation(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                    last: BillingPeriod, span: str) -> None:
    sheet = book.sheet("Reconciliation")
    sheet.line(f"Reconciliation, {span}: raw export = line_items = allocated, per source and "
               "currency", fmt=book.title)
    sheet.note("Amounts rounded to the currency's minor unit (largest remainder: rows add up to "
               "the totals shown, each total is the exact total rounded half-up); Status "
               "compares the exact amounts, and Differences gives them exactly.")
    relation = RECONCILIATION.relation(con, first, last)
    names = relation.columns
    rows = [dict(zip(names, r, strict=True)) for r in relation.fetchall()]
    differing = [r for r in rows if r["x_status"] == "differs"]
    if not rows:
        sheet.line(f"Nothing loaded for {span}.", fmt=book.warning)
    elif differing:
        first_bad = differing[0]
        sheet.line(f"{len(differing)} of {len(rows)} (period, source, currency) rows differ; first: "
                   f"{first_bad['x_billing_period']} {first_bad['x_source']} "
                   f"{first_bad['BillingCurrency']}: {first_bad['x_differences']}",
                   fmt=book.warning)
    else:
        sheet.line(f"All {len(rows)} (period, source, currency) rows tie out exactly.", fmt=book.ok)
    sheet.skip()
    sheet.header("Period", "Source", "Currency", "Delivery fingerprint", "Raw export total",
                 "line_items BilledCost", "Allocated BilledCost", "line_items EffectiveCost",
                 "Allocated EffectiveCost", "Line items", "Allocated line items", "Invoice ids",
                 "Status", "Differences (exact)")
    sheet.repeat_header()
    sheet.worksheet.freeze_panes(sheet.row, 3)
    for currency in sorted({r["BillingCurrency"] for r in rows}):
        block = [r for r in rows if r["BillingCurrency"] == currency]
        step = quantum(currency)
        rounded = {name: largest_remainder([r[name] or Decimal(0) for r in block], step)
                   for name in _RECONCILED_AMOUNTS}
        money = book.format("cents", currency)
        money_bold = book.format("cents", currency, bold=True)
        integer = book.format("int")
        for i, r in enumerate(block):
            amounts = [rounded[name][i] if r[name] is not None else None
                       for name in _RECONCILED_AMOUNTS]
            status_format = book.ok if r["x_status"] == "ties out" else book.warning
            sheet.line(r["x_billing_period"], r["x_source"], currency, r["x_delivery_fingerprint"],
                       *amounts, r["x_line_items"], r["x_allocated_line_items"],
                       r["x_invoice_ids"], r["x_status"], r["x_differences"],
                       formats=[None, None, None, None, *([money] * 5), integer, integer, None,
                                status_format, None])
        totals = [sum(rounded[name], Decimal(0)) for name in _RECONCILED_AMOUNTS]
        sheet.line("Total", None, currency, None, *totals,
                   sum(r["x_line_items"] for r in block),
                   sum(r["x_allocated_line_items"] for r in block),
                   formats=[book.bold, None, book.bold, None, *([money_bold] * 5),
                            book.format("int", bold=True), book.format("int", bold=True)])


# --- About ------------------------------------------------------------------------------------

def _about(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod, last: BillingPeriod,
           span: str, generated_at: datetime, extra: Sequence[tuple[str, str]] = ()) -> None:
    sheet = book.sheet("About")
    params = {"first_period": str(first), "last_period": str(last)}
    allocations = con.sql(load("reports/finance_allocations"), params=params).fetchall()
    deliveries = con.sql(load("reports/finance_deliveries"), params=params).fetchall()
    sheet.line("About this workbook", fmt=book.title)
    sheet.line("Report", "costalloc allocated cost", formats=[book.bold])
    sheet.line("Billing period(s)", span, formats=[book.bold])
    sheet.line("Generated at (UTC)", generated_at.astimezone(UTC).replace(tzinfo=None),
               formats=[book.bold, book.format("datetime")])
    run_ids = sorted({str(a[5]) for a in allocations if a[5]})
    versions = sorted({str(a[6]) for a in allocations if a[6]})
    sheet.line("Allocation run id(s)", ", ".join(run_ids) or "none published",
               formats=[book.bold])
    sheet.line("Rules version(s)", ", ".join(versions) or "none published", formats=[book.bold])
    to = f" --to {last}" if last != first else ""
    _cut_cells_line(book, sheet, f"`costalloc export allocated --period {first}{to} --format "
                                 "parquet` (or `csv`)")
    sheet.skip()
    sheet.line("Allocations", fmt=book.bold)
    sheet.header("Period", "Allocation run id", "Rules version", "Published at (UTC)",
                 "Line items", "Allocated rows", "Latest attempt", "Latest attempt's message")
    for (period, _latest_run, latest_status, message, _finished, run_id, version, line_items,
         allocated_rows, _totals, published_at) in allocations:
        sheet.line(period, run_id, version, published_at, line_items, allocated_rows,
                   latest_status, message,
                   formats=[None, None, None, book.format("datetime"), book.format("int"),
                            book.format("int")])
    if not allocations:
        sheet.line("(no allocation of these periods yet)", fmt=book.note)
    sheet.skip()
    sheet.line("Sources", fmt=book.bold)
    sheet.header("Period", "Source", "Delivery fingerprint", "Ingest run id", "Files",
                 "Line items", "Loaded at (UTC)", "Raw export totals")
    for period, source, fingerprint, run_id, files, rows, raw_totals, loaded_at in deliveries:
        sheet.line(period, source, fingerprint, run_id, files, rows, loaded_at,
                   _totals_text(raw_totals),
                   formats=[None, None, None, None, book.format("int"), book.format("int"),
                            book.format("datetime")])
    if not deliveries:
        sheet.line("(no delivery loaded for these periods)", fmt=book.note)
    sheet.skip()
    sheet.line("Sheets", fmt=book.bold)
    for name, text in (*extra, *_SHEET_NOTES):
        sheet.line(name, text, formats=[book.bold])


def _cut_cells_line(book: Book, sheet: Sheet,
                    full_values: str = "the CSV / Parquet extract of the same table") -> None:
    """Which values were too long for their cell, and where to read them whole."""
    cut = book.cut_cells
    if not cut:
        sheet.line("Cells cut", f"none: every value fits in its cell (at most {EXCEL_MAX_CHARS:,} "
                                "characters)", formats=[book.bold])
        return
    listed = "; ".join(c.describe() for c in cut[:_CUT_CELLS_LISTED])
    more = f"; and {len(cut) - _CUT_CELLS_LISTED:,} more" if len(cut) > _CUT_CELLS_LISTED else ""
    text = (f"{len(cut):,} value(s) longer than the {EXCEL_MAX_CHARS:,} characters an Excel cell "
            f"holds, each cut and marked `[cut: …]` at its start: {listed}{more}. The full "
            f"values are in {full_values}.")
    for i, part in enumerate(textwrap.wrap(text, NOTE_WIDTH)):
        sheet.line("Cells cut" if i == 0 else None, part, formats=[book.bold, book.warning])


_CUT_CELLS_LISTED = 5

_SHEET_NOTES: Sequence[tuple[str, str]] = (
    ("Summary", "allocated cost by environment × workstream × cost type per provider and "
                "currency, spend by workstream (and by month for a range), rounded so rows add "
                "up to the totals shown"),
    ("Detail", "one row per allocated row (a line item, or its share after a split): FOCUS "
               "columns, dimensions, the rule that set each, split rule and ratio; exact amounts"),
    ("Unallocated", "cost no rule claimed for some dimension, with its tags, largest first"),
    ("CapEx", "project and asset cost (capitalized, expensed, asset purchase, depreciation) and "
              "the amortization schedule of capitalized cloud cost"),
    ("Reconciliation", "raw export total = line_items = allocated, per source and currency, with "
                       "invoice ids"),
    ("Columns", "the meaning of every column: the `*_columns.md` dictionary next to the CSV / "
                "Parquet extracts, or docs/finance-outputs.md"),
)


def _totals_text(raw_totals: object) -> str:
    if raw_totals is None:
        return ""
    totals = json.loads(raw_totals) if isinstance(raw_totals, str) else raw_totals
    if not isinstance(totals, dict):
        return str(raw_totals)
    return "; ".join(f"{currency} {amount}" for currency, amount in sorted(totals.items()))

