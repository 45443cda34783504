"""The run summary: spend by environment × workstream × cost type, and the unallocated share."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb

from allocation.model import UNALLOCATED
from core.period import BillingPeriod
from sql import load


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

    def total(self, currency: str) -> Decimal:
        return sum((r.billed_cost for r in self.rows if r.currency == currency), Decimal(0))

    def unallocated_total(self, currency: str) -> Decimal:
        return sum((r.billed_cost for r in self.rows if r.currency == currency and r.unallocated),
                   Decimal(0))

    def unallocated_share(self, currency: str) -> Decimal:
        total = self.total(currency)
        return self.unallocated_total(currency) / total if total else Decimal(0)

    @property
    def currencies(self) -> list[str]:
        return sorted({r.currency for r in self.rows})


def allocation_summary(con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                       last: BillingPeriod | None = None) -> Summary:
    last = last or first
    rows = con.sql(load("reports/allocation_summary"),
                   params={"first_period": str(first), "last_period": str(last)}).fetchall()
    return Summary(first, last, [SummaryRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]),
                                            Decimal(r[5]), Decimal(r[6])) for r in rows])


def render(summary: Summary) -> str:
    """A fixed-width table for the terminal, amounts rounded to cents for display only."""
    span = str(summary.first) if summary.first == summary.last else (
        f"{summary.first} to {summary.last}")
    if not summary.rows:
        return f"No allocated cost for {span}."
    lines = [f"Allocated cost, {span}"]
    header = f"{'environment':<13} {'workstream':<22} {'cost type':<11} {'billed':>16} " \
             f"{'effective':>16} {'share':>7}"
    for currency in summary.currencies:
        total = summary.total(currency)
        lines += ["", f"[{currency}]", header, "-" * len(header)]
        for r in (r for r in summary.rows if r.currency == currency):
            share = r.billed_cost / total * 100 if total else Decimal(0)
            lines.append(f"{r.environment:<13} {r.workstream:<22} {r.cost_type:<11} "
                         f"{_cents(r.billed_cost):>16} {_cents(r.effective_cost):>16} "
                         f"{share:>6.1f}%")
        effective = sum((r.effective_cost for r in summary.rows if r.currency == currency),
                        Decimal(0))
        lines += ["-" * len(header),
                  f"{'total':<48} {_cents(total):>16} {_cents(effective):>16} {'100.0%':>7}",
                  f"unallocated: {_cents(summary.unallocated_total(currency))} {currency} "
                  f"({summary.unallocated_share(currency) * 100:.1f}% of billed cost)"]
    return "\n".join(lines)


def _cents(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,}"
