"""The Summary sheet: per billing currency, the totals first, then allocated cost by provider,
environment, workstream and cost type, spend by workstream (and by month for a range), each
chart under its table.

One rounding story for the whole sheet: each currency's total and its unallocated amount are
their exact amounts rounded half-up, as every other report shows them; the cells are rounded by
largest remainder to add up to both (`rounding.round_with_part`), and every other figure (a
provider subtotal, a workstream) is a sum of those cells, so a figure is the same in every table
it appears in. Only the month table of a range is rounded on its own (month × workstream),
adding up to the same total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import duckdb

from costalloc.allocation.model import UNALLOCATED
from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import quantum, round_nested, round_with_part
from costalloc.reports.finance.sheets import Book, Sheet
from costalloc.reports.finance.tables import SUMMARY


@dataclass(frozen=True)
class _Cell:
    """One (provider, environment, workstream, cost type) of a currency: exact and as shown."""

    provider: str
    environment: str
    workstream: str
    cost_type: str
    rows: int
    billed: Decimal
    effective: Decimal
    shown_billed: Decimal = Decimal(0)
    shown_effective: Decimal = Decimal(0)

    @property
    def unallocated(self) -> bool:
        return UNALLOCATED in (self.environment, self.workstream, self.cost_type)


def _rounded(cells: list[_Cell], currency: str) -> list[_Cell]:
    """The cells as the Summary shows them: the currency's total and its unallocated amount
    are their exact amounts rounded half-up (the figures other reports show for them too), and
    every other figure on the sheet is a sum of these cells, so each table shows the same."""
    step = quantum(currency)
    part = [c.unallocated for c in cells]
    billed = round_with_part([c.billed for c in cells], part, step)
    effective = round_with_part([c.effective for c in cells], part, step)
    return [replace(c, shown_billed=b, shown_effective=e)
            for c, b, e in zip(cells, billed, effective, strict=True)]


def write_summary(book: Book, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                  last: BillingPeriod, span: str) -> None:
    sheet = book.sheet("Summary")
    sheet.line(f"Allocated cost, {span}", fmt=book.title)
    sheet.note("Amounts in each billing currency, rounded to the currency's minor unit: each "
               "currency's total and its unallocated amount are their exact amounts rounded "
               "half-up, and every other amount is rounded (largest remainder) so that every "
               "table on this sheet adds up to those same figures. Exact amounts are on the "
               "Detail sheet.")
    rows = SUMMARY.relation(con, first, last).fetchall()
    if not rows:
        sheet.skip()
        sheet.line(f"No allocated cost for {span}.", fmt=book.warning)
        return
    exact: dict[str, dict[tuple[str, str, str, str], list[Any]]] = defaultdict(dict)
    by_month: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for period, currency, provider, environment, workstream, cost_type, n, billed, effective, _ in rows:
        key = (provider, environment, workstream, cost_type)
        cell = exact[currency].setdefault(key, [0, Decimal(0), Decimal(0)])
        cell[0] += n
        cell[1] += billed
        cell[2] += effective
        month = by_month[currency][period]
        month[workstream] = month.get(workstream, Decimal(0)) + billed
    cells = {currency: _rounded([_Cell(*key, *values) for key, values in sorted(found.items())],
                                currency)
             for currency, found in sorted(exact.items())}
    sheet.skip()
    sheet.block()
    _totals(book, sheet, cells)
    for currency, currency_cells in cells.items():
        sheet.skip()
        sheet.block()
        _pivot(book, sheet, currency, currency_cells)
    for currency, currency_cells in cells.items():
        sheet.skip()
        sheet.block()
        _workstreams(book, sheet, currency, currency_cells)
    if first != last:
        for currency in sorted(by_month):
            sheet.skip()
            sheet.block()
            _months(book, sheet, currency, by_month[currency])


_PIVOT_HEADER = ("Currency", "Provider", "Environment", "Workstream", "Cost type",
                 "Allocated rows", "BilledCost", "EffectiveCost", "Share of BilledCost")


def _total_lines(book: Book, sheet: Sheet, currency: str, cells: list[_Cell]) -> None:
    """The currency's Total and `of which unallocated` rows, in the pivot's columns."""
    money_bold = book.format("cents", currency, bold=True)
    money = book.format("cents", currency)
    percent = book.format("percent")
    exact_total = sum((c.billed for c in cells), Decimal(0))
    unallocated = [c for c in cells if c.unallocated]
    sheet.line(currency, "Total", None, None, None, sum(c.rows for c in cells),
               sum((c.shown_billed for c in cells), Decimal(0)),
               sum((c.shown_effective for c in cells), Decimal(0)),
               Decimal(1) if exact_total else None,
               formats=[book.bold, book.bold, None, None, None, book.format("int", bold=True),
                        money_bold, money_bold, book.format("percent", bold=True)])
    sheet.line(currency, "of which unallocated", None, None, None,
               sum(c.rows for c in unallocated),
               sum((c.shown_billed for c in unallocated), Decimal(0)),
               sum((c.shown_effective for c in unallocated), Decimal(0)),
               _share(sum((c.billed for c in unallocated), Decimal(0)), exact_total),
               formats=[book.note, book.note, None, None, None, book.format("int"), money, money,
                        percent])


def _totals(book: Book, sheet: Sheet, cells: dict[str, list[_Cell]]) -> None:
    """Every currency's total and unallocated amount first, so the first page has them."""
    sheet.line("Totals per billing currency", fmt=book.bold)
    sheet.header("Currency", None, None, None, None, *_PIVOT_HEADER[5:])
    for currency, currency_cells in cells.items():
        _total_lines(book, sheet, currency, currency_cells)


def _pivot(book: Book, sheet: Sheet, currency: str, cells: list[_Cell]) -> None:
    """Currency block: provider → environment × workstream × cost type, with subtotals."""
    providers = sorted({c.provider for c in cells})
    exact_total = sum((c.billed for c in cells), Decimal(0))
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    percent = book.format("percent")
    sheet.line(f"{currency}: allocated cost by environment × workstream × cost type",
               fmt=book.bold)
    sheet.header(*_PIVOT_HEADER)
    for provider in providers:
        group = [c for c in cells if c.provider == provider]
        for cell in group:
            sheet.line(currency, provider, cell.environment, cell.workstream, cell.cost_type,
                       cell.rows, cell.shown_billed, cell.shown_effective,
                       _share(cell.billed, exact_total),
                       formats=[None, None, None, None, None, book.format("int"), money, money,
                                percent])
        sheet.line(currency, f"{provider} subtotal", None, None, None,
                   sum(c.rows for c in group), sum((c.shown_billed for c in group), Decimal(0)),
                   sum((c.shown_effective for c in group), Decimal(0)),
                   _share(sum((c.billed for c in group), Decimal(0)), exact_total),
                   formats=[book.bold, book.bold, None, None, None, book.format("int", bold=True),
                            money_bold, money_bold, book.format("percent", bold=True)])
    _total_lines(book, sheet, currency, cells)


def _workstreams(book: Book, sheet: Sheet, currency: str, cells: list[_Cell]) -> None:
    """Spend by workstream, with a column chart of it under the table."""
    names = sorted({c.workstream for c in cells})
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    sheet.line(f"{currency}: spend by workstream", fmt=book.bold)
    sheet.header("Currency", "Workstream", "BilledCost", "EffectiveCost")
    first_row = sheet.row
    for name in names:
        sheet.line(currency, name,
                   sum((c.shown_billed for c in cells if c.workstream == name), Decimal(0)),
                   sum((c.shown_effective for c in cells if c.workstream == name), Decimal(0)),
                   formats=[None, None, money, money])
    last_row = sheet.row - 1
    sheet.line(currency, "Total", sum((c.shown_billed for c in cells), Decimal(0)),
               sum((c.shown_effective for c in cells), Decimal(0)),
               formats=[book.bold, book.bold, money_bold, money_bold])
    _column_chart(book, sheet, f"Spend by workstream ({currency})", currency,
                  {"BilledCost": 2, "EffectiveCost": 3}, (first_row, last_row, 1))


def _months(book: Book, sheet: Sheet, currency: str,
            months: dict[str, dict[str, Decimal]]) -> None:
    """BilledCost by month × workstream, with a stacked column chart under it. Each month's
    cells add up to its total and the month totals to the currency's total (the same figure
    as every other table's)."""
    step = quantum(currency)
    periods = sorted(months)
    workstreams = sorted({w for m in months.values() for w in m})
    total, month_totals, cells = round_nested(
        [[months[p].get(w, Decimal(0)) for w in workstreams] for p in periods], step)
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    sheet.line(f"{currency}: BilledCost by month and workstream", fmt=book.bold)
    sheet.header("Month", *workstreams, "Total")
    first_row = sheet.row
    for period, row, month_total in zip(periods, cells, month_totals, strict=True):
        sheet.line(period, *row, month_total,
                   formats=[None, *([money] * len(workstreams)), money_bold])
    last_row = sheet.row - 1
    sheet.line("Total", *([None] * len(workstreams)), total,
               formats=[book.bold, *([None] * len(workstreams)), money_bold])
    _column_chart(book, sheet, f"BilledCost by month ({currency})", currency,
                  {w: i for i, w in enumerate(workstreams, start=1)}, (first_row, last_row, 0),
                  stacked=True)


def _column_chart(book: Book, sheet: Sheet, title: str, currency: str, series: dict[str, int],
                  rows: tuple[int, int, int], *, stacked: bool = False) -> None:
    """A column chart of the table just written, under it: one series per `series` name →
    column, over `rows` (first row, last row, the column of the categories)."""
    first_row, last_row, categories = rows
    chart = book.workbook.add_chart({"type": "column", **({"subtype": "stacked"} if stacked
                                                          else {})})
    for name, col in series.items():
        chart.add_series({"name": name,
                          "categories": [sheet.name, first_row, categories, last_row, categories],
                          "values": [sheet.name, first_row, col, last_row, col]})
    chart.set_title({"name": title})
    chart.set_y_axis({"num_format": "#,##0", "name": currency})
    chart.set_legend({"position": "bottom"})
    sheet.skip()
    sheet.chart(chart)


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return part / whole if whole else None
