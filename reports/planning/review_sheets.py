"""The Review and Forecast sheets of the workbook, as sheet writers the finance workbook puts
first (`review_sheet`, `forecast_sheet`).

Review: per currency, every budget line against its actual with the projections, thresholds
and status; pilots; the largest movers since the previous month. Forecast: per currency, the
actual months and the three scenarios, totals and per workstream, each with a native Excel
line chart under each table, and the assumptions above them. Amounts are rounded to the
currency's minor unit with largest remainder per column (the exact amounts are in the CSV
files); a currency's whole allocated cost is its exact amount rounded half-up, the figure the
Summary shows. Both sheets print one page wide, each block starting a new page when it would
not fit on the current one (`reports.finance.print_layout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import partial

from costalloc.reports.finance.rounding import quantum, round_half_up
from costalloc.reports.finance.sheets import Book, Sheet
from costalloc.reports.finance.workbook import SheetWriter
from costalloc.reports.planning.forecast import SCENARIOS, Forecast, Series
from costalloc.reports.planning.review import LineReview, Review, displayed, displayed_or_none, percent_text


def review_sheet(review: Review) -> SheetWriter:
    return SheetWriter("Review", "actual vs budget per budget line (variance, share used, linear "
                       "and usage-curve projections, thresholds crossed), pilots past their end "
                       "or over their cap, largest movers since the previous month",
                       partial(write_review_sheet, review=review))


def forecast_sheet(forecast: Forecast) -> SheetWriter:
    return SheetWriter("Forecast", "spend per workstream in three scenarios (conservative, "
                       "expected, accelerated) with the assumptions, and line charts of the "
                       "actual months and the scenarios",
                       partial(write_forecast_sheet, forecast=forecast))


def write_review_sheet(book: Book, review: Review) -> None:
    sheet = book.sheet("Review")
    period = review.period
    sheet.line(f"Budget review, {period}", fmt=book.title)
    if review.as_of is None:
        sheet.line(f"Nothing is allocated for {period} yet.", fmt=book.warning)
    else:
        state = "the month is complete" if review.complete else "month to date"
        sheet.note(f"As of {review.as_of}: {review.elapsed_days} of {review.days_in_month} days "
                   f"({state}). Budgets: {review.budgets.path or 'budgets'} (version "
                   f"{review.budgets.version or '-'}).")
    sheet.note(f"Amounts on {review.basis} (fully allocated, amortized) unless a line's Basis "
               "says otherwise; variance = actual − budget (positive: over budget). Linear "
               "projection: month to date ÷ days elapsed × days in month. Usage-curve "
               "projection: month to date + the remaining days of usage at the trend of the "
               "last 7 days' usage. Rounded to the currency's minor unit (largest remainder).")
    for currency in review.currencies:
        sheet.skip()
        sheet.block()
        _lines(book, sheet, review, currency)
    sheet.skip()
    sheet.block()
    _pilots(book, sheet, review)
    sheet.skip()
    sheet.block()
    _movers(book, sheet, review)


def _lines(book: Book, sheet: Sheet, review: Review, currency: str) -> None:
    block = [r for r in review.lines if r.line.currency == currency]
    step = quantum(currency)
    money = book.format("cents", currency)
    money_bold = book.format("cents", currency, bold=True)
    percent = book.format("percent")
    sheet.line(f"{currency}: budget lines, {review.period}", fmt=book.bold)
    sheet.header("Line", "Owner", "Dimensions", "Currency", "Basis", "Budget", "Actual",
                 "BilledCost", "EffectiveCost", "Variance", "Used", "Linear projection",
                 "Usage-curve projection", "Projected used", "Thresholds", "Crossed",
                 "Projected to cross", "Status")
    columns = {
        "budget": displayed_or_none([r.budget for r in block], step),
        "actual": displayed_or_none([r.actual for r in block], step),
        "billed": displayed_or_none([r.billed for r in block], step),
        "effective": displayed_or_none([r.effective for r in block], step),
        "linear": displayed_or_none([r.projection.linear if r.projection else None for r in block], step),
        "curve": displayed_or_none([r.projection.curve if r.projection else None for r in block], step),
    }
    for i, r in enumerate(block):
        budget, actual = columns["budget"][i], columns["actual"][i]
        variance = None if budget is None or actual is None else actual - budget
        status_format = book.warning if r.crossed else None
        sheet.line(r.line.id, r.line.owner, r.line.scope.describe(), currency, r.line.basis,
                   budget, actual, columns["billed"][i], columns["effective"][i], variance,
                   r.used, columns["linear"][i], columns["curve"][i], r.projected_used,
                   _percents(r.line.thresholds), _percents(r.crossed) or "-",
                   _percents(r.projected_crossings) or "-", _status(r, review),
                   formats=[book.bold, None, None, None, None, money, money, money, money, money,
                            percent, money, money, percent, None, status_format, None,
                            status_format])
    if not block:
        sheet.line(f"(no budget line in {currency})", fmt=book.note)
    overlaps = review.overlapping(currency)
    budgets = columns["budget"]
    if block and not overlaps and all(b is not None for b in budgets):
        total_budget = sum((b for b in budgets if b is not None), Decimal(0))
        total_actual = sum((a for a in columns["actual"] if a is not None), Decimal(0))
        sheet.line("Total (lines do not overlap)", None, None, currency, None, total_budget,
                   total_actual, None, None, total_actual - total_budget,
                   formats=[book.bold, None, None, None, None, money_bold, money_bold, None,
                            None, money_bold])
    elif overlaps:
        a, b = overlaps[0]
        sheet.line(f"No total: lines overlap (`{a}` and `{b}`"
                   + (f", {len(overlaps) - 1} more pair(s))" if len(overlaps) > 1 else ")"),
                   fmt=book.note)
    total = review.basis_total(currency)
    if total:
        outside = review.uncovered.get(currency, Decimal(0))
        sheet.line("Outside every line", None, None, currency, review.basis, None,
                   round_half_up(outside, step), None, None, None, outside / total,
                   formats=[book.note, None, None, None, None, None, money, None, None, None,
                            percent])
        sheet.line(f"All allocated cost in {currency}", None, None, currency, review.basis, None,
                   round_half_up(total, step),
                   formats=[book.note, None, None, None, None, None, money])


def _status(r: LineReview, review: Review) -> str:
    text = r.status(review.period)
    others = "; ".join(f"also {displayed([a], quantum(c))[0]:,} {c} in this scope, not counted"
                       for c, a in r.other_currencies)
    return f"{text}; {others}" if others else text


def _pilots(book: Book, sheet: Sheet, review: Review) -> None:
    sheet.line("Pilots (time-boxed experiments)", fmt=book.bold)
    sheet.note("Spend from the start date counts against the cap; spend on days after the end "
               "date is flagged.")
    sheet.header("Pilot", "Owner", "Dimensions", "Currency", "Basis", "Start", "End", "Cap",
                 "Spend to date", f"Spend in {review.period}", "Used", "Spent after end",
                 "Last day with spend", "Flagged", "Thresholds", "Crossed", "Status")
    if not review.pilots:
        sheet.line("(no pilots in the budgets file)", fmt=book.note)
    for p in review.pilots:
        step = quantum(p.pilot.currency)
        money = book.format("cents", p.pilot.currency)
        cap, to_date, in_period, after = (displayed([a], step)[0] for a in (
            p.pilot.cap, p.to_date, p.in_period, p.after_end))
        flag_format = book.warning if p.flagged else None
        sheet.line(p.pilot.id, p.pilot.owner, p.pilot.scope.describe(), p.pilot.currency,
                   p.pilot.basis, str(p.pilot.start), str(p.pilot.end), cap, to_date, in_period,
                   p.used, after, str(p.last_spend_day) if p.last_spend_day else "-",
                   "yes" if p.flagged else "no", _percents(p.pilot.thresholds),
                   _percents(p.crossed) or "-", p.status(),
                   formats=[book.bold, None, None, None, None, None, None, money, money, money,
                            book.format("percent"), money, None, flag_format, None, None,
                            flag_format])


def _movers(book: Book, sheet: Sheet, review: Review) -> None:
    previous = review.period.previous()
    sheet.line(f"Largest movers since {previous} ({review.basis})", fmt=book.bold)
    sheet.note("Per currency and dimension, the values whose cost changed most, with the "
               "services that drove the change.")
    sheet.header("Currency", "Dimension", "Value", f"{previous}", f"{review.period}", "Change",
                 "Change %", "What", "What changed (by service)")
    sheet.repeat_header()  # the sheet's last table, and its longest
    if not review.movers:
        sheet.line(f"(no allocated cost in {previous} to compare with, or nothing changed)",
                   fmt=book.note)
    for m in review.movers:
        step = quantum(m.currency)
        money = book.format("cents", m.currency)
        before, after = displayed([m.previous], step)[0], displayed([m.current], step)[0]
        sheet.line(m.currency, m.dimension, m.value, before, after, after - before,
                   m.change_ratio, m.what, m.explain(),
                   formats=[None, None, book.bold, money, money, money, book.format("percent")])


def _percents(values: Sequence[Decimal]) -> str:
    return ", ".join(percent_text(v) for v in values)


# --- Forecast ---------------------------------------------------------------------------------

def write_forecast_sheet(book: Book, forecast: Forecast) -> None:
    sheet = book.sheet("Forecast")
    sheet.line(f"Forecast of {forecast.basis} per workstream, {forecast.start} to "
               f"{forecast.months[-1]} ({len(forecast.months)} months)", fmt=book.title)
    sheet.line("Assumptions", fmt=book.bold)
    for text in forecast.assumptions():
        sheet.note(text)
    if not forecast.series:
        sheet.skip()
        sheet.line(f"No allocated cost in the {forecast.history_asked} month(s) before "
                   f"{forecast.start} to forecast from.", fmt=book.warning)
    for currency in forecast.currencies:
        sheet.skip()
        sheet.block()
        actual, totals = forecast.totals(currency)
        _forecast_block(book, sheet, f"{currency}: all workstreams", currency, forecast, actual,
                        totals, [() for _ in forecast.months])
        for series in forecast.of(currency):
            sheet.skip()
            sheet.block()
            history = dict(series.history)
            _forecast_block(book, sheet, f"{currency}: {series.workstream} — {series.describe()}",
                            currency, forecast,
                            [history.get(p) for p in forecast.history],
                            {n: list(series.scenarios[n]) for n in SCENARIOS},
                            _notes(series))


def _notes(series: Series) -> list[tuple[str, ...]]:
    return [((f"season ×{f.normalize():f}",) if f != 1 else ()) + notes
            for f, notes in zip(series.factors, series.notes, strict=True)]


def _forecast_block(book: Book, sheet: Sheet, title: str, currency: str, forecast: Forecast,
                    actual: Sequence[Decimal | None], scenarios: dict[str, list[Decimal]],
                    notes: Sequence[tuple[str, ...]]) -> None:
    """A table of months (actual, then the scenarios) with a line chart of it under it."""
    step = quantum(currency)
    money = book.format("cents", currency)
    sheet.line(title, fmt=book.bold)
    sheet.header("Month", "Actual", "Conservative", "Expected", "Accelerated",
                 "Events and seasonality")
    first_row = sheet.row
    shown_actual = displayed_or_none(actual, step)
    for period, value in zip(forecast.history, shown_actual, strict=True):
        sheet.line(str(period), value, formats=[None, money])
    columns = [displayed(scenarios[n], step) for n in SCENARIOS]
    for i, period in enumerate(forecast.months):
        sheet.line(str(period), None, *(c[i] for c in columns), "; ".join(notes[i]) or None,
                   formats=[None, None, money, money, money, book.note])
    last_row = sheet.row - 1
    sheet.line(f"Total {forecast.start}..{forecast.months[-1]}", None,
               *(sum(c, Decimal(0)) for c in columns),
               formats=[book.bold, None, *([book.format("cents", currency, bold=True)] * 3)])
    chart = book.workbook.add_chart({"type": "line"})
    styles = {"Actual": {"color": "#404040", "width": 2.5},
              "Conservative": {"color": "#2E75B6", "dash_type": "dash"},
              "Expected": {"color": "#007A33", "width": 2.25},
              "Accelerated": {"color": "#C00000", "dash_type": "dash"}}
    for col, name in enumerate(styles, start=1):
        chart.add_series({"name": name,
                          "categories": [sheet.name, first_row, 0, last_row, 0],
                          "values": [sheet.name, first_row, col, last_row, col],
                          "line": styles[name], "marker": {"type": "circle", "size": 4}})
    chart.set_title({"name": title if len(title) <= 60 else title.split(" — ")[0]})
    chart.set_y_axis({"num_format": "#,##0", "name": currency})
    chart.set_legend({"position": "bottom"})
    chart.show_blanks_as("gap")
    sheet.skip()
    sheet.chart(chart)
