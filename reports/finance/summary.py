"""The run summary: spend by environment × workstream × cost type, and the unallocated share.

One block per billing currency: amounts in two currencies are never added. Given exchange
rates (`core.exchange`), one more block shows all of it converted into the reporting currency,
each billing period's amounts at that period's rates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from costalloc.allocation.model import UNALLOCATED
from costalloc.core.exchange import ExchangeRates, Rate
from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import quantum, round_with_part
from costalloc.reports.finance.tables import SUMMARY
from costalloc.sql import load


@dataclass(frozen=True)
class SummaryRow:
    currency: str
    environment: str
    workstream: str
    cost_type: str
    allocated_rows: int
    billed_cost: Decimal
    effective_cost: Decimal

    @property
    def unallocated(self) -> bool:
        return UNALLOCATED in (self.environment, self.workstream, self.cost_type)


@dataclass(frozen=True)
class Summary:
    first: BillingPeriod
    last: BillingPeriod
    rows: list[SummaryRow]
    converted: Summary | None = None  # every currency in the reporting currency, with rates
    rates: ExchangeRates | None = None
    rates_used: tuple[Rate, ...] = ()

    def total(self, currency: str) -> Decimal:
        return sum((r.billed_cost for r in self.rows if r.currency == currency), Decimal(0))

    def unallocated_total(self, currency: str) -> Decimal:
        return sum((r.billed_cost for r in self.rows if r.currency == currency and r.unallocated),
                   Decimal(0))

    def unallocated_share(self, currency: str) -> Decimal:
        total = self.total(currency)
        return self.unallocated_total(currency) / total if total else Decimal(0)

    def marginal(self, currency: str, dimension: str) -> list[tuple[str, Decimal, Decimal]]:
        """(value, billed, effective) per value of one dimension, largest billed first."""
        sums: dict[str, tuple[Decimal, Decimal]] = {}
        for r in self.rows:
            if r.currency == currency:
                value = str(getattr(r, dimension))
                billed, effective = sums.get(value, (Decimal(0), Decimal(0)))
                sums[value] = (billed + r.billed_cost, effective + r.effective_cost)
        return sorted(((v, b, e) for v, (b, e) in sums.items()), key=lambda t: -t[1])

    @property
    def currencies(self) -> list[str]:
        return sorted({r.currency for r in self.rows})


def allocation_summary(con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                       last: BillingPeriod | None = None,
                       rates: ExchangeRates | None = None) -> Summary:
    """Per currency; with `rates` also `converted` into the reporting currency."""
    last = last or first
    rows = con.sql(load("reports/allocation_summary"),
                   params={"first_period": str(first), "last_period": str(last)}).fetchall()
    summary = Summary(first, last, [SummaryRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]),
                                               int(r[4]), Decimal(r[5]), Decimal(r[6]))
                                    for r in rows])
    if rates is None or not rows:
        return summary
    return _converted(con, summary, rates)


def _converted(con: duckdb.DuckDBPyConnection, summary: Summary, rates: ExchangeRates) -> Summary:
    """`summary` with its `converted` block: every (period, currency) row of the finance summary
    at its period's rate, exact, then added up in the reporting currency."""
    cells: dict[tuple[str, str, str], list[Decimal]] = {}
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    used: dict[tuple[str, str], Rate] = {}
    rows = SUMMARY.relation(con, summary.first, summary.last).fetchall()
    rates.require((row[0], row[1]) for row in rows)
    for period, currency, _provider, environment, workstream, cost_type, n, billed, effective, \
            _list in rows:
        if currency != rates.currency:
            used[(period, currency)] = rates.quote(period, currency)
        key = (str(environment), str(workstream), str(cost_type))
        amounts = cells.setdefault(key, [Decimal(0), Decimal(0)])
        amounts[0] += rates.convert(Decimal(billed), currency, period)
        amounts[1] += rates.convert(Decimal(effective), currency, period)
        counts[key] += int(n)
    converted = Summary(summary.first, summary.last, [
        SummaryRow(rates.currency, *key, counts[key], billed, effective)
        for key, (billed, effective) in sorted(cells.items())])
    return Summary(summary.first, summary.last, summary.rows, converted, rates,
                   tuple(used[k] for k in sorted(used)))


def render(summary: Summary) -> str:
    """A fixed-width table for the terminal. Amounts are rounded as the workbook's Summary
    rounds them (`round_with_part`): each currency's total and unallocated amount are their
    exact amounts rounded half-up, the rows add up to both, and every subtotal (by cost type,
    environment, workstream) is a sum of the rows shown, so a figure printed twice is the same
    twice."""
    span = str(summary.first) if summary.first == summary.last else (
        f"{summary.first} to {summary.last}")
    if not summary.rows:
        return f"No allocated cost for {span}."
    lines = [f"Allocated cost, {span}"]
    for currency in summary.currencies:
        lines += ["", f"[{currency}]", *_block(summary, currency)]
    if summary.converted is not None and summary.rates is not None:
        currency = summary.rates.currency
        lines += ["", f"[all currencies in {currency}, at the rates in `{summary.rates.path}`]",
                  *_block(summary.converted, currency)]
        lines += [f"converted at {rate.describe()}" for rate in summary.rates_used]
    return "\n".join(lines)


def _block(summary: Summary, currency: str) -> list[str]:
    header = f"{'environment':<13} {'workstream':<22} {'cost type':<11} {'billed':>16} " \
             f"{'effective':>16} {'share':>7}"
    rows = [r for r in summary.rows if r.currency == currency]
    step = quantum(currency)
    part = [r.unallocated for r in rows]
    billed = round_with_part([r.billed_cost for r in rows], part, step)
    effective = round_with_part([r.effective_cost for r in rows], part, step)
    unallocated = sum((b for r, b in zip(rows, billed, strict=True) if r.unallocated),
                      Decimal(0))
    total = summary.total(currency)
    lines = [header, "-" * len(header)]
    for r, b, e in zip(rows, billed, effective, strict=True):
        share = r.billed_cost / total * 100 if total else Decimal(0)
        lines.append(f"{r.environment:<13} {r.workstream:<22} {r.cost_type:<11} "
                     f"{b:>16,} {e:>16,} {share:>6.1f}%")
    lines += ["-" * len(header),
              f"{'total':<48} {sum(billed, Decimal(0)):>16,} "
              f"{sum(effective, Decimal(0)):>16,} {'100.0%':>7}"]
    for dimension in ("cost_type", "environment", "workstream"):
        lines.append(f"by {dimension.replace('_', ' ')}:")
        for value, exact, _ in summary.marginal(currency, dimension):
            shown = [(b, e) for r, b, e in zip(rows, billed, effective, strict=True)
                     if str(getattr(r, dimension)) == value]
            share = exact / total * 100 if total else Decimal(0)
            lines.append(f"  {value:<46} {sum((b for b, _ in shown), Decimal(0)):>16,} "
                         f"{sum((e for _, e in shown), Decimal(0)):>16,} {share:>6.1f}%")
    lines += [f"unallocated: {unallocated:,} {currency} "
              f"({summary.unallocated_share(currency) * 100:.1f}% of billed cost)"]
    return lines
