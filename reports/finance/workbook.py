"""The finance workbook: Summary, Detail, Unallocated, CapEx, Reconciliation and About sheets,
after any sheets the caller adds in front (`SheetWriter`: the monthly review puts its Review
and Forecast sheets there, see `reports.planning.exports`).

Every sheet is read from one snapshot of the warehouse, so the Summary, the Detail and the
Reconciliation describe the same data. Amounts are values, never only formulas. Summary and
Reconciliation show amounts rounded to the currency's minor unit with the largest-remainder
method (`reports.finance.rounding`): the rounded rows add up to the rounded subtotals and totals
shown. Detail, Unallocated and CapEx show exact amounts (as Excel doubles).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import largest_remainder, quantum, round_nested
from costalloc.reports.finance.sheets import Book, Checkpoint, Sheet, columns_of, rows_of
from costalloc.reports.finance.snapshot import read_snapshot
from costalloc.reports.finance.tables import (
    CAPEX,
    CAPEX_SCHEDULE,
    DETAIL,
    RECONCILIATION,
    SUMMARY,
    UNALLOCATED,
    FinanceTable,
)
from costalloc.sql import load

BATCH_ROWS = 50_000
UNALLOCATED_LABEL = "unallocated"
_DETAIL_WIDTHS = {0: 12, 1: 10, 2: 10}


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
                           checkpoint: Checkpoint | None = None) -> Path:
    """Write the workbook for `first`..`last` to `target` (atomically: a reader never sees a
    half-written file) and return `target`. The `leading` sheets come first, in their order.
    `checkpoint` is called between sheets and every few thousand rows; when it raises, the
    write stops and nothing is left behind."""
    with read_snapshot(con) as snapshot, _atomic_book(target, checkpoint) as book:
        span = _span(first, last)
        for writer in leading:
            writer.write(book)
        _summary(book, snapshot, first, last, span)
        _streamed(book, snapshot, DETAIL, "Detail", first, last)
        _streamed(book, snapshot, UNALLOCATED, "Unallocated", first, last)
        _capex(book, snapshot, first, last, span)
        _reconciliation(book, snapshot, first, last, span)
        _about(book, snapshot, first, last, span, generated_at or datetime.now(UTC),
               extra=[(writer.name, writer.about) for writer in leading])
    return target


def write_table_workbook(target: Path, batches: pa.RecordBatchReader, count: int, *,
                         title: str, checkpoint: Checkpoint | None = None) -> Path:
    """`count` rows of one table (line items, a grouped extract) on as many sheets as they need,
    each part an Excel table with a frozen header."""
    with _atomic_book(target, checkpoint) as book:
        sheet = book.sheet(title)
        sheet.table(title, columns_of(batches.schema), rows_of(batches), count, freeze=True)
    return target


def write_sheets_workbook(target: Path, writers: Sequence[SheetWriter]) -> Path:
    """A workbook of only the `writers`' sheets (the forecast on its own)."""
    with _atomic_book(target, None) as book:
        for writer in writers:
            writer.write(book)
    return target


@contextmanager
def _atomic_book(target: Path, checkpoint: Checkpoint | None) -> Iterator[Book]:
    """A book written beside `target` and renamed onto it when complete; removed if the
    write fails or is stopped, so neither a half workbook nor its scraps stay behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial.xlsx")
    book = Book(partial, checkpoint)
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


def _count(relation: duckdb.DuckDBPyRelation) -> int:
    return int(relation.aggregate("count(*)").fetchall()[0][0])


# --- Summary ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cell:
    provider: str
    environment: str
    workstream: str
    cost_type: str
    rows: int
    billed: Decimal
    effective: Decimal

    @property
    def unallocated(self) -> bool:
        return UNALLOCATED_LABEL in (self.environment, self.workstream, self.cost_type)


def _summary(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
             last: BillingPeriod, span: str) -> None:
    sheet = book.sheet("Summary")
    sheet.set_widths({0: 11, 1: 16, 2: 14, 3: 24, 4: 12, 5: 12, 6: 18, 7: 18, 8: 11})
    sheet.line(f"Allocated cost, {span}", fmt=book.title)
    sheet.line("Amounts in each billing currency, rounded to the currency's minor unit so the "
               "rows add up to the subtotals and totals shown (largest remainder). Exact "
               "amounts are on the Detail sheet.", fmt=book.note)
    rows = SUMMARY.relation(con, first, last).fetchall()
    if not rows:
        sheet.skip()
        sheet.line(f"No allocated cost for {span}.", fmt=book.warning)
        return
    cells: dict[str, dict[tuple[str, str, str, str], list[Any]]] = defaultdict(dict)
    by_workstream: dict[str, dict[str, list[Decimal]]] = defaultdict(dict)
    by_month: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for period, currency, provider, environment, workstream, cost_type, n, billed, effective, _ in rows:
        key = (provider, environment, workstream, cost_type)
        cell = cells[currency].setdefault(key, [0, Decimal(0), Decimal(0)])
        cell[0] += n
        cell[1] += billed
        cell[2] += effective
        ws = by_workstream[currency].setdefault(workstream, [Decimal(0), Decimal(0)])
        ws[0] += billed
        ws[1] += effective
        month = by_month[currency][period]
        month[workstream] = month.get(workstream, Decimal(0)) + billed
    for currency in sorted(cells):
        sheet.skip()
        cell_list = [_Cell(*key, *values) for key, values in sorted(cells[currency].items())]
        _pivot(book, sheet, currency, cell_list)
    for currency in sorted(by_workstream):
        sheet.skip()
        _workstreams(book, sheet, currency, by_workstream[currency])
    if first != last:
        for currency in sorted(by_month):
            sheet.skip()
            _months(book, sheet, currency, by_month[currency])


def _pivot(book: Book, sheet: Sheet, currency: str, cells: list[_Cell]) -> None:
    """Currency block: provider → environment × workstream × cost type, with subtotals."""
    step = quantum(currency)
    providers = sorted({c.provider for c in cells})
    groups = [[c for c in cells if c.provider == p] for p in providers]
    billed_total, billed_subtotals, billed = round_nested([[c.billed for c in g] for g in groups],
                                                          step)
    effective_total, effective_subtotals, effective = round_nested(
        [[c.effective for c in g] for g in groups], step)
    exact_total = sum((c.billed for c in cells), Decimal(0))
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    percent = book.format("percent")
    percent_bold = book.format("percent", bold=True)
    sheet.line(f"{currency}: allocated cost by environment × workstream × cost type",
               fmt=book.bold)
    sheet.line("Currency", "Provider", "Environment", "Workstream", "Cost type", "Allocated rows",
               "BilledCost", "EffectiveCost", "Share of BilledCost", fmt=book.header)
    unallocated_billed = Decimal(0)
    unallocated_effective = Decimal(0)
    for g, provider in enumerate(providers):
        for i, cell in enumerate(groups[g]):
            sheet.line(currency, provider, cell.environment, cell.workstream, cell.cost_type,
                       cell.rows, billed[g][i], effective[g][i], _share(cell.billed, exact_total),
                       formats=[None, None, None, None, None, book.format("int"), money, money,
                                percent])
            if cell.unallocated:
                unallocated_billed += billed[g][i]
                unallocated_effective += effective[g][i]
        subtotal_exact = sum((c.billed for c in groups[g]), Decimal(0))
        sheet.line(currency, f"{provider} subtotal", None, None, None,
                   sum(c.rows for c in groups[g]), billed_subtotals[g], effective_subtotals[g],
                   _share(subtotal_exact, exact_total),
                   formats=[book.bold, book.bold, None, None, None, book.format("int", bold=True),
                            money_bold, money_bold, percent_bold])
    sheet.line(currency, "Total", None, None, None, sum(c.rows for c in cells), billed_total,
               effective_total, Decimal(1) if exact_total else None,
               formats=[book.bold, book.bold, None, None, None, book.format("int", bold=True),
                        money_bold, money_bold, percent_bold])
    unallocated_exact = sum((c.billed for c in cells if c.unallocated), Decimal(0))
    sheet.line(currency, "of which unallocated", None, None, None,
               sum(c.rows for c in cells if c.unallocated), unallocated_billed,
               unallocated_effective, _share(unallocated_exact, exact_total),
               formats=[book.note, book.note, None, None, None, book.format("int"), money, money,
                        percent])


def _workstreams(book: Book, sheet: Sheet, currency: str,
                 amounts: dict[str, list[Decimal]]) -> None:
    """Spend by workstream, with a column chart of it beside the table."""
    step = quantum(currency)
    names = sorted(amounts)
    billed = largest_remainder([amounts[n][0] for n in names], step)
    effective = largest_remainder([amounts[n][1] for n in names], step)
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    sheet.line(f"{currency}: spend by workstream", fmt=book.bold)
    sheet.line("Currency", "Workstream", "BilledCost", "EffectiveCost", fmt=book.header)
    first_row = sheet.row
    for name, b, e in zip(names, billed, effective, strict=True):
        sheet.line(currency, name, b, e, formats=[None, None, money, money])
    last_row = sheet.row - 1
    sheet.line(currency, "Total", sum(billed, Decimal(0)), sum(effective, Decimal(0)),
               formats=[book.bold, book.bold, money_bold, money_bold])
    chart = book.workbook.add_chart({"type": "column"})
    for col, series in ((2, "BilledCost"), (3, "EffectiveCost")):
        chart.add_series({"name": series,
                          "categories": [sheet.name, first_row, 1, last_row, 1],
                          "values": [sheet.name, first_row, col, last_row, col]})
    chart.set_title({"name": f"Spend by workstream ({currency})"})
    chart.set_y_axis({"num_format": "#,##0", "name": currency})
    chart.set_legend({"position": "bottom"})
    sheet.worksheet.insert_chart(first_row - 2, 10, chart, {"x_scale": 1.3, "y_scale": 1.1})
    sheet.skip(max(0, 16 - (last_row - first_row + 4)))  # room for the chart before the next block


def _months(book: Book, sheet: Sheet, currency: str,
            months: dict[str, dict[str, Decimal]]) -> None:
    """BilledCost by month × workstream, with a stacked column chart. Each month's cells add up
    to its total and the month totals to the total shown."""
    step = quantum(currency)
    periods = sorted(months)
    workstreams = sorted({w for m in months.values() for w in m})
    total, month_totals, cells = round_nested(
        [[months[p].get(w, Decimal(0)) for w in workstreams] for p in periods], step)
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    sheet.line(f"{currency}: BilledCost by month and workstream", fmt=book.bold)
    sheet.line("Month", *workstreams, "Total", fmt=book.header)
    first_row = sheet.row
    for period, row, month_total in zip(periods, cells, month_totals, strict=True):
        sheet.line(period, *row, month_total,
                   formats=[None, *([money] * len(workstreams)), money_bold])
    last_row = sheet.row - 1
    sheet.line("Total", *([None] * len(workstreams)), total,
               formats=[book.bold, *([None] * len(workstreams)), money_bold])
    chart = book.workbook.add_chart({"type": "column", "subtype": "stacked"})
    for i, workstream in enumerate(workstreams, start=1):
        chart.add_series({"name": workstream,
                          "categories": [sheet.name, first_row, 0, last_row, 0],
                          "values": [sheet.name, first_row, i, last_row, i]})
    chart.set_title({"name": f"BilledCost by month ({currency})"})
    chart.set_y_axis({"num_format": "#,##0", "name": currency})
    chart.set_legend({"position": "bottom"})
    sheet.worksheet.insert_chart(first_row - 2, len(workstreams) + 3, chart,
                                 {"x_scale": 1.3, "y_scale": 1.1})
    sheet.skip(max(0, 16 - (last_row - first_row + 4)))


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return part / whole if whole else None


# --- Detail, Unallocated: streamed ------------------------------------------------------------

def _streamed(book: Book, con: duckdb.DuckDBPyConnection, table: FinanceTable, title: str,
              first: BillingPeriod, last: BillingPeriod) -> None:
    relation = table.relation(con, first, last)
    count = _count(relation)
    reader = table.relation(con, first, last).to_arrow_reader(BATCH_ROWS)
    sheet = book.sheet(title)
    sheet.set_widths(_DETAIL_WIDTHS)
    sheet.table(title, columns_of(reader.schema), rows_of(reader), count, freeze=True)


# --- CapEx ------------------------------------------------------------------------------------

def _capex(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
           last: BillingPeriod, span: str) -> None:
    sheet = book.sheet("CapEx")
    sheet.set_widths({0: 12, 1: 16, 2: 10, 3: 22, 4: 14, 5: 24, 6: 10})
    sheet.line(f"CapEx: project cost, {span}", fmt=book.title)
    sheet.line("capitalized = cost_type capex under an approved project phase; expensed = project "
               "cost in a phase that is not capitalized; asset purchase / depreciation = rows of "
               "the asset register.", fmt=book.note)
    sheet.skip()
    _fetched_table(book, sheet, "CapEx project cost", CAPEX.relation(con, first, last))
    sheet.skip()
    sheet.line(f"Amortization schedule as of {last}", fmt=book.bold)
    sheet.line("Straight line over the useful life, from the month after the asset's last "
               "capitalized month; each month is round(cost × m / life) − round(cost × (m − 1) / "
               "life) in cents, so the months add up to the capitalized cost. `provisional`: the "
               "asset still capitalized in the as-of month, so its start may move.", fmt=book.note)
    _fetched_table(book, sheet, "CapEx schedule", CAPEX_SCHEDULE.relation(con, first, last))


def _fetched_table(book: Book, sheet: Sheet, title: str,
                   relation: duckdb.DuckDBPyRelation) -> None:
    count = _count(relation)
    reader = relation.to_arrow_reader(BATCH_ROWS)
    sheet.table(title, columns_of(reader.schema), rows_of(reader), count)


# --- Reconciliation ---------------------------------------------------------------------------

_RECONCILED_AMOUNTS = ("x_raw_export_total", "x_line_items_billed_cost", "x_allocated_billed_cost",
                       "x_line_items_effective_cost", "x_allocated_effective_cost")


def _reconciliation(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                    last: BillingPeriod, span: str) -> None:
    sheet = book.sheet("Reconciliation")
    sheet.set_widths({0: 10, 1: 16, 2: 10, 3: 38, 4: 17, 5: 17, 6: 17, 7: 17, 8: 17, 9: 11,
                      10: 11, 11: 24, 12: 12, 13: 60})
    sheet.line(f"Reconciliation, {span}: raw export = line_items = allocated, per source and "
               "currency", fmt=book.title)
    sheet.line("Amounts rounded to the currency's minor unit (largest remainder: rows add up to "
               "the totals shown); Status compares the exact amounts, and Differences gives them "
               "exactly.", fmt=book.note)
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
    sheet.line("Period", "Source", "Currency", "Delivery fingerprint", "Raw export total",
               "line_items BilledCost", "Allocated BilledCost", "line_items EffectiveCost",
               "Allocated EffectiveCost", "Line items", "Allocated line items", "Invoice ids",
               "Status", "Differences (exact)", fmt=book.header)
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
    sheet.set_widths({0: 24, 1: 40, 2: 16, 3: 24, 4: 12, 5: 12, 6: 20, 7: 40})
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
    sheet.skip()
    sheet.line("Allocations", fmt=book.bold)
    sheet.line("Period", "Allocation run id", "Rules version", "Published at (UTC)", "Line items",
               "Allocated rows", "Latest attempt", "Latest attempt's message", fmt=book.header)
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
    sheet.line("Period", "Source", "Delivery fingerprint", "Ingest run id", "Files", "Line items",
               "Loaded at (UTC)", "Raw export totals", fmt=book.header)
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

