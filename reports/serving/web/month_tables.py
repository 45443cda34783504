"""The month page's tables, defined once: the page shows them rounded, every download (CSV,
xlsx, Parquet) carries the same rows exactly.

A table has named columns of a kind (text, count, money, percent) and rows of plain values;
cells may link to a drill-down. `TABLES` names every table a month offers, which is also the
list the pull URL accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Literal

from costalloc.reports.planning.forecast import SCENARIOS
from costalloc.reports.planning.review import percent_text
from costalloc.reports.serving.web.charts import label
from costalloc.reports.serving.web.drill import NO_PROJECT
from costalloc.reports.serving.web.month import Month, Unallocated

Kind = Literal["text", "count", "money", "percent"]


@dataclass(frozen=True)
class Column:
    key: str  # the column's name in downloads
    heading: str
    kind: Kind = "text"


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    drills: list[dict[str, str] | None] = field(default_factory=list)  # per row: cell filters
    total: list[Any] | None = None  # the footer, shown only (downloads hold the rows)
    drill_columns: tuple[str, ...] = ("BilledCost", "EffectiveCost")  # which link to the drill

    def add(self, values: list[Any], drill: dict[str, str] | None = None) -> None:
        self.rows.append(values)
        self.drills.append(drill)


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    with localcontext() as context:
        context.prec = 28
        return part / whole


def allocation(month: Month) -> Table:
    table = Table("allocation", "Allocated cost by environment, workstream and cost type", [
        Column("environment", "Environment"), Column("workstream", "Workstream"),
        Column("cost_type", "Cost type"), Column("x_allocated_rows", "Rows", "count"),
        Column("BilledCost", "BilledCost", "money"),
        Column("EffectiveCost", "EffectiveCost", "money"),
        Column("share_of_billed", "Share", "percent")])
    total = month.total
    for cell in month.cells:
        a = cell.amounts
        table.add([cell.environment, cell.workstream, cell.cost_type, a.rows, a.billed,
                   a.effective, _share(a.billed, total.billed)],
                  {"environment": cell.environment, "workstream": cell.workstream,
                   "cost_type": cell.cost_type})
    table.total = ["Total", "", "", total.rows, total.billed, total.effective,
                   Decimal(1) if total.billed else None]
    return table


def capex(month: Month) -> Table:
    table = Table("capex", "CapEx and OpEx by capitalization project, phase and approval", [
        Column("cost_type", "Cost type"), Column("x_capex_project", "Project"),
        Column("x_capex_phase", "Phase"), Column("x_capex_approval", "Approval"),
        Column("x_useful_life_months", "Life, months", "count"),
        Column("x_allocated_rows", "Rows", "count"),
        Column("BilledCost", "BilledCost", "money"),
        Column("EffectiveCost", "EffectiveCost", "money")])
    for c in sorted(month.capitalization, key=lambda c: (c.cost_type != "capex", c.project is None,
                                                           c.project or "", c.phase or "")):
        drill = {"cost_type": c.cost_type, "project": c.project or NO_PROJECT}
        if c.phase:
            drill["phase"] = c.phase
        table.add([c.cost_type, c.project, c.phase, c.approval, c.useful_life_months,
                   c.amounts.rows, c.amounts.billed, c.amounts.effective], drill)
    total = month.total
    table.total = ["Total", "", "", "", None, total.rows, total.billed, total.effective]
    return table


def _unallocated(name: str, title: str, key: Column, items: Sequence[Unallocated],
                 drill_key: str, column: str, named: bool) -> Table:
    columns = [key, *([Column("SubAccountName", "Account name")] if named else []),
               Column("x_unallocated_dimensions", "Left unallocated"),
               Column("x_allocated_rows", "Rows", "count"),
               Column("BilledCost", "BilledCost", "money"),
               Column("EffectiveCost", "EffectiveCost", "money"),
               Column("x_catching_rule", "Rule that would catch it")]
    table = Table(name, title, columns)
    for item in items:
        table.add([item.key, *([item.name] if named else []), ", ".join(item.dimensions),
                   item.amounts.rows, item.amounts.billed, item.amounts.effective,
                   catching_text(item, column)],
                  {drill_key: item.key or "", "unallocated": "1"} if item.key else None)
    return table


def catching_text(item: Unallocated, column: str) -> str:
    """Per unallocated dimension: the rule whose condition matches this cost (it would set the
    dimension, given a declared tag or account value), or, when none does, the condition a rule
    would need."""
    if item.rules is None:
        return "not computed (the server's rules file is not the one this month ran under)"
    parts = []
    for dimension in item.dimensions:
        rule = item.catching(dimension)
        if rule is not None:
            parts.append(f"{dimension}: `{rule.rule}` matches {rule.rows:,} row(s) but finds no "
                         "declared value in its tags or account")
        else:
            parts.append(f"{dimension}: no rule matches; one with `when: {{{column}: "
                         f"\"{item.key}\"}}` would catch it")
    return "; ".join(parts)


def unallocated_services(month: Month) -> Table:
    return _unallocated("unallocated-services", "Unallocated cost: top services",
                        Column("ServiceName", "Service"), month.services, "service",
                        "ServiceName", named=False)


def unallocated_accounts(month: Month) -> Table:
    return _unallocated("unallocated-accounts", "Unallocated cost: top accounts",
                        Column("SubAccountId", "Account"), month.accounts, "account",
                        "SubAccountId", named=True)


def trend(month: Month) -> Table:
    workstreams = trend_workstreams(month)
    basis = month.basis
    table = Table("trend", f"{basis} by month and workstream", [
        Column("x_billing_period", "Month"),
        *(Column(w, label(w).capitalize(), "money") for w in workstreams),
        Column(basis, f"Total {basis}", "money")])
    for m in month.trend:
        zero = Decimal(0)
        table.add([str(m.period), *(m.by_workstream[w].on(basis) if w in m.by_workstream
                                    else zero for w in workstreams), m.total(basis)])
    return table


def trend_workstreams(month: Month) -> list[str]:
    seen = {w for m in month.trend for w in m.by_workstream}
    return sorted(seen, key=lambda w: (w == "unallocated", w))


def budgets(month: Month) -> Table:
    table = Table("budgets", f"Budget lines in {month.currency}", [
        Column("line", "Line"), Column("owner", "Owner"), Column("basis", "Basis"),
        Column("budget", "Budget", "money"), Column("actual", "Actual", "money"),
        Column("variance", "Variance", "money"), Column("used", "Used", "percent"),
        Column("projected_usage_curve", "Projected (usage curve)", "money"),
        Column("thresholds_crossed", "Thresholds crossed"), Column("status", "Status")],
        drill_columns=("actual",))
    for r in month.lines:
        if r.line.currency != month.currency:
            continue
        table.add([r.line.id, r.line.owner, r.line.basis, r.budget, r.actual, r.variance, r.used,
                   r.projection.curve if r.projection else None,
                   ", ".join(percent_text(t) for t in r.crossed) or "–",
                   r.status(month.run.period)], _scope_drill(r.line.scope.dimensions))
    return table


def pilots(month: Month) -> Table:
    table = Table("pilots", f"Pilots in {month.currency}", [
        Column("pilot", "Pilot"), Column("owner", "Owner"), Column("start", "Start"),
        Column("end", "End"), Column("cap", "Cap", "money"),
        Column("spend_to_date", "Spend to date", "money"),
        Column("spend_after_end", "Spend after its end", "money"), Column("used", "Used", "percent"),
        Column("status", "Status")], drill_columns=("spend_to_date",))
    for p in month.pilots:
        if p.pilot.currency != month.currency:
            continue
        table.add([p.pilot.id, p.pilot.owner, str(p.pilot.start), str(p.pilot.end), p.pilot.cap,
                   p.to_date, p.after_end, p.used, p.status()],
                  _scope_drill(p.pilot.scope.dimensions))
    return table


def _scope_drill(dimensions: Sequence[tuple[str, frozenset[str]]]) -> dict[str, str] | None:
    """A drill-down for a budget scope when each of its dimensions is one standard value."""
    drill = {}
    for name, values in dimensions:
        if name not in ("environment", "workstream", "cost_type") or len(values) != 1:
            return None
        drill[name] = next(iter(values))
    return drill or None


def forecast(month: Month) -> Table:
    table = Table("forecast", f"EffectiveCost in {month.currency}: actual, then three scenarios", [
        Column("month", "Month"), Column("actual", "Actual", "money"),
        *(Column(name, name.capitalize(), "money") for name in SCENARIOS)])
    if month.forecast is None:
        return table
    actual, scenarios = month.forecast.totals(month.currency)
    for period, amount in zip(month.forecast.history, actual, strict=True):
        table.add([str(period), amount, None, None, None])
    for index, period in enumerate(month.forecast.months):
        table.add([str(period), None, *(scenarios[name][index] for name in SCENARIOS)])
    return table


def forecast_detail(month: Month) -> Table:
    table = Table("forecast-workstreams", "Forecast by workstream", [
        Column("month", "Month"), Column("workstream", "Workstream"),
        *(Column(name, name.capitalize(), "money") for name in SCENARIOS),
        Column("events", "Events")])
    if month.forecast is None:
        return table
    for series in month.forecast.of(month.currency):
        for index, period in enumerate(series.months):
            table.add([str(period), series.workstream,
                       *(series.scenarios[name][index] for name in SCENARIOS),
                       "; ".join(series.notes[index])])
    return table


TABLES: dict[str, Callable[[Month], Table]] = {
    "allocation": allocation, "capex": capex, "unallocated-services": unallocated_services,
    "unallocated-accounts": unallocated_accounts, "trend": trend, "budgets": budgets,
    "pilots": pilots, "forecast": forecast, "forecast-workstreams": forecast_detail,
}
