"""Budget thresholds and pilot limits crossed, recorded once per period, for the nightly run.

After each allocation the nightly flow calls `evaluate_thresholds` for the periods it
allocated. A budget line's threshold (e.g. 80 % of its monthly budget), a pilot's threshold of
its cap, or a pilot's spend after its end date is a *breach*; each is recorded in
`budget_breaches` the first time it happens in a billing period (the table's key makes a second
evaluation record nothing), and only those new breaches are returned: for a Prefect artifact
(`breach_markdown`) and the optional webhook (`reports.notify`).

Pilot breaches are raised in a period only when the pilot spent in that period, so a pilot
that went over its cap in September and spent nothing since is not announced again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import duckdb

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import quantum
from costalloc.reports.planning.budgets import Budgets
from costalloc.reports.planning.review import (
    LineReview,
    PilotReview,
    displayed,
    percent_text,
    period_spend,
    review_line,
    review_pilots,
)
from costalloc.sql import load

BreachKind = Literal["budget", "pilot_cap", "pilot_end"]


@dataclass(frozen=True)
class Breach:
    period: BillingPeriod
    budget_id: str
    kind: BreachKind
    threshold: Decimal  # percent of the budget (of the cap); 0 for pilot_end
    owner: str
    scope: str
    currency: str
    basis: str
    limit: Decimal  # the period's budget, the pilot's cap, or 0 (nothing after a pilot's end)
    actual: Decimal
    message: str

    @property
    def used(self) -> Decimal | None:
        return self.actual / self.limit if self.limit else None


def evaluate_thresholds(con: duckdb.DuckDBPyConnection, budgets: Budgets,
                        periods: Iterable[BillingPeriod], run_id: str, *,
                        now: datetime | None = None) -> list[Breach]:
    """Find the breaches of `periods` in the published allocation, record those not recorded
    before (in one transaction) and return them, oldest period first. Call it outside an open
    transaction, after the allocation is published."""
    found = [breach for period in sorted(set(periods))
             for breach in find_breaches(con, budgets, period)]
    detected_at = now or datetime.now(UTC)
    new: list[Breach] = []
    con.begin()
    try:
        for breach in found:
            recorded = con.execute(load("reports/budget_breach_record"), {
                "billing_period": str(breach.period), "budget_id": breach.budget_id,
                "kind": breach.kind, "threshold_percent": breach.threshold,
                "owner": breach.owner, "scope": breach.scope, "currency": breach.currency,
                "basis": breach.basis, "limit_amount": breach.limit, "actual": breach.actual,
                "message": breach.message, "budgets_version": budgets.version,
                "run_id": run_id, "detected_at": detected_at}).fetchall()
            if recorded:
                new.append(breach)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return new


def find_breaches(con: duckdb.DuckDBPyConnection, budgets: Budgets,
                  period: BillingPeriod) -> list[Breach]:
    """Every threshold and pilot limit crossed in `period` (recorded or not)."""
    rows, as_of = period_spend(con, budgets, period)
    breaches = []
    for line in budgets.lines:
        breaches += _line_breaches(review_line(line, rows, period, as_of), period)
    for pilot in review_pilots(con, budgets, period, as_of, rows):
        breaches += _pilot_breaches(pilot, period)
    return breaches


def _line_breaches(result: LineReview, period: BillingPeriod) -> list[Breach]:
    line, budget = result.line, result.budget
    if budget is None:
        return []
    actual_text, budget_text = _amounts(line.currency, result.actual, budget)
    used = f" ({result.used * 100:.1f}%)" if result.used is not None else ""
    return [Breach(period, line.id, "budget", threshold, line.owner, line.scope.describe(),
                   line.currency, line.basis, budget, result.actual,
                   f"`{line.id}` ({line.scope.describe()}) reached {percent_text(threshold)} of "
                   f"its {period} budget: {actual_text} of {budget_text} {line.currency} "
                   f"{line.basis}{used}")
            for threshold in result.crossed]


def _pilot_breaches(result: PilotReview, period: BillingPeriod) -> list[Breach]:
    pilot = result.pilot
    if result.in_period == 0:
        return []
    breaches = []
    spent_text, cap_text = _amounts(pilot.currency, result.to_date, pilot.cap)
    for threshold in result.crossed:
        breaches.append(Breach(
            period, pilot.id, "pilot_cap", threshold, pilot.owner, pilot.scope.describe(),
            pilot.currency, pilot.basis, pilot.cap, result.to_date,
            f"pilot `{pilot.id}` reached {percent_text(threshold)} of its cap: {spent_text} of "
            f"{cap_text} {pilot.currency} {pilot.basis} since {pilot.start}"))
    if result.after_end_in_period != 0:
        after_text = _amounts(pilot.currency, result.after_end_in_period)[0]
        breaches.append(Breach(
            period, pilot.id, "pilot_end", Decimal(0), pilot.owner, pilot.scope.describe(),
            pilot.currency, pilot.basis, Decimal(0), result.after_end_in_period,
            f"pilot `{pilot.id}` ended {pilot.end} but {after_text} {pilot.currency} "
            f"{pilot.basis} was spent after it in {period}"))
    return breaches


def _amounts(currency: str, *amounts: Decimal) -> list[str]:
    step = quantum(currency)
    return [f"{displayed([a], step)[0]:,}" for a in amounts]


def breach_markdown(breaches: Sequence[Breach]) -> str:
    """The new breaches as a Markdown table (a Prefect artifact); a sentence when there are
    none."""
    if not breaches:
        return "## Budget breaches\n\nNo budget threshold or pilot limit was crossed for the " \
               "first time in this run."
    lines = [f"## Budget breaches: {len(breaches)} new", "",
             "| period | budget / pilot | owner | crossed | spent | limit | currency | what |",
             "|---|---|---|---|---|---|---|---|"]
    for b in breaches:
        crossed = {"budget": f"{percent_text(b.threshold)} of budget",
                   "pilot_cap": f"{percent_text(b.threshold)} of cap",
                   "pilot_end": "spend after end"}[b.kind]
        spent, limit = _amounts(b.currency, b.actual, b.limit)
        lines.append(f"| {b.period} | `{_cell(b.budget_id)}` | {_cell(b.owner)} | {crossed} | "
                     f"{spent} | {limit} | {b.currency} | {_cell(b.message)} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
