"""From a month's figures to what the page shows: rounded cells with their exact values, links
to drill-downs and downloads, and the charts. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from costalloc.reports.planning.forecast import SCENARIOS
from costalloc.reports.serving.web import amounts, charts, pulls
from costalloc.reports.serving.web.month import Basis, Month
from costalloc.reports.serving.web.month_tables import Table, trend_workstreams


@dataclass(frozen=True)
class Shown:
    """One table cell as shown."""

    text: str
    exact: str | None = None  # money: the exact amount
    numeric: bool = False
    href: str | None = None
    negative: bool = False


@dataclass(frozen=True)
class ShownTable:
    table: Table
    rows: list[list[Shown]]
    footer: list[Shown] | None
    downloads: dict[pulls.Format, str]  # format → URL (signed-in session)
    pull_url: str  # absolute CSV URL with a pull token, for spreadsheets

    @property
    def name(self) -> str:
        return self.table.name


def show(table: Table, *, drill: str | None, pull: str, base_url: str,
         pull_token: str) -> ShownTable:
    """`table` rounded for reading. `drill` is the drill-down URL a row's filters are added to;
    `pull` the table's download URL without its extension (`/pull/allocation?...`)."""
    columns = [[row[i] for row in table.rows] for i in range(len(table.columns))]
    shown_columns: list[list[Shown]] = []
    footer: list[Shown] | None = [] if table.total is not None else None
    for i, column in enumerate(table.columns):
        values = columns[i]
        total = table.total[i] if table.total is not None else None
        if column.kind == "money":
            present = [v for v in values if v is not None]
            texts = iter(_rounded(present, total if isinstance(total, Decimal) else None))
            shown_columns.append([Shown("–", numeric=True) if v is None else
                                  Shown(next(texts), amounts.exact(v), True, negative=v < 0)
                                  for v in values])
            if footer is not None:
                footer.append(Shown("", numeric=True) if total is None else Shown(
                    amounts.money(total), amounts.exact(total), True, negative=total < 0))
        else:
            shown_columns.append([_plain(v, column.kind) for v in values])
            if footer is not None:
                footer.append(_plain(total, column.kind) if total not in (None, "") else Shown(""))
    rows = []
    for index, drill_filters in enumerate(table.drills):
        cells = [shown_columns[i][index] for i in range(len(table.columns))]
        if drill is not None and drill_filters is not None:
            href = f"{drill}&{urlencode(drill_filters)}"
            cells = [Shown(c.text, c.exact, c.numeric, href, c.negative)
                     if table.columns[i].key in table.drill_columns and c.exact is not None
                     else c for i, c in enumerate(cells)]
        rows.append(cells)
    downloads = {fmt: _with_format(pull, fmt) for fmt in pulls.FORMATS}
    pull_url = base_url.rstrip("/") + _with_format(pull, "csv") + f"&token={pull_token}"
    return ShownTable(table, rows, footer, downloads, pull_url)


def _with_format(pull: str, fmt: str) -> str:
    path, _, query = pull.partition("?")
    return f"{path}.{fmt}" + (f"?{query}" if query else "")


def _rounded(values: list[Decimal], total: Decimal | None) -> list[str]:
    """A money column rounded together; with the footer's total when they add up to it."""
    if total is not None and sum(values, Decimal(0)) == total:
        return amounts.column(values, total)
    return [amounts.money(v) for v in values]


def _plain(value: Any, kind: str) -> Shown:
    if value is None:
        return Shown("–", numeric=kind != "text")
    if kind == "count":
        return Shown(f"{int(value):,}", numeric=True)
    if kind == "percent":
        return Shown(amounts.ratio(Decimal(value)), numeric=True)
    return Shown(str(value))


# --- charts -----------------------------------------------------------------------------------

def allocation_chart(month: Month, basis: Basis) -> Markup:
    environments = sorted({c.environment for c in month.cells}, key=_order)
    items = [charts.Bar(charts.label(env), tuple(
        charts.Segment(c.workstream, c.amounts.on(basis))
        for c in sorted(month.cells, key=lambda c: _order(c.workstream)) if c.environment == env))
        for env in environments]
    workstreams = sorted({c.workstream for c in month.cells}, key=_order)
    return charts.bars(items, title=f"{basis} by environment and workstream, {month.currency}",
                       description="One bar per environment, split by workstream; the table "
                       "below has every number.", unit=month.currency, legend=workstreams)


def capex_chart(month: Month, basis: Basis) -> Markup:
    groups: dict[str, dict[str, Decimal]] = {}
    for c in month.capitalization:
        name = c.project or "no capitalization project"
        groups.setdefault(name, {}).setdefault(c.cost_type, Decimal(0))
        groups[name][c.cost_type] += c.amounts.on(basis)
    items = [charts.Bar(name, tuple(charts.Segment(kind, amount)
                                    for kind, amount in sorted(parts.items())))
             for name, parts in sorted(groups.items(), key=lambda g: -abs(sum(g[1].values(), Decimal(0))))]
    return charts.bars(items, title=f"CapEx and OpEx by project, {basis}, {month.currency}",
                       description="One bar per capitalization project, split into CapEx and "
                       "OpEx; the table below has every number.", unit=month.currency,
                       legend=sorted({c.cost_type for c in month.capitalization}))


def unallocated_chart(month: Month, basis: Basis) -> Markup:
    items = [charts.Bar(s.key or "(no service)", (charts.Segment("unallocated",
                                                                  s.amounts.on(basis)),))
             for s in month.services]
    return charts.bars(items, title=f"Unallocated {basis} by service, {month.currency}",
                       description="The services with the most unallocated cost; the table "
                       "below names the rule that would catch each.", unit=month.currency)


def trend_chart(month: Month, basis: Basis) -> Markup:
    workstreams = trend_workstreams(month)
    labels = [_short(m.period.year, m.period.month) for m in month.trend]
    stacks = {w: [m.by_workstream[w].on(basis) if w in m.by_workstream else Decimal(0)
                  for m in month.trend] for w in workstreams}
    return charts.columns(labels, stacks, title=f"{basis} by month and workstream, "
                          f"{month.currency}", description=f"The {len(labels)} months up to "
                          f"{month.run.period}, stacked by workstream; the table below has every "
                          "number.", unit=month.currency)


def budget_chart(month: Month) -> Markup | None:
    """None when no budget line in the month's currency has a budget for the month."""
    items = [charts.Gauge(r.line.id, r.actual, r.budget, r.line.thresholds,
                          r.projection.curve if r.projection else None, bool(r.crossed))
             for r in month.lines if r.line.currency == month.currency and r.budget]
    if not items:
        return None
    return charts.gauges(items, title=f"Budget used per line, {month.currency}",
                         description="Each bar is a budget line's actual as a share of its "
                         "budget; ticks mark its thresholds, the diamond the month-end "
                         "projection. The table below has every number.")


def forecast_chart(month: Month) -> Markup:
    forecast = month.forecast
    assert forecast is not None
    actual, scenarios = forecast.totals(month.currency)
    periods = [*forecast.history, *forecast.months]
    labels = [_short(p.year, p.month) for p in periods]
    history = len(forecast.history)
    lines = [charts.Series("actual", (*actual, *([None] * len(forecast.months))),
                           colour="#1f2937")]
    styles = {"conservative": charts.PALETTE[2], "expected": charts.PALETTE[0],
              "accelerated": charts.PALETTE[4]}
    for name in SCENARIOS:
        joined: list[Decimal | None] = [None] * max(history - 1, 0)
        joined += [actual[-1]] if actual else []
        lines.append(charts.Series(name, (*joined, *scenarios[name]), dashed=True,
                                   colour=styles[name]))
    return charts.columns(labels, {}, title=f"EffectiveCost, actual and forecast, "
                          f"{month.currency}", description="The months before and the "
                          f"{len(forecast.months)} months after {month.run.period}: actual "
                          "cost, then the conservative, expected and accelerated scenarios; the "
                          "table below has every number.", unit=month.currency, lines=lines)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _short(year: int, month: int) -> str:
    return f"{_MONTHS[month - 1]} {year % 100:02d}"


def month_title(year: int, month: int) -> str:
    names = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
    return f"{names[month - 1]} {year}"


def _order(value: str) -> tuple[int, str]:
    known = charts.KNOWN
    return (known.index(value) if value in known else len(known) + (value == "unallocated"),
            value)

