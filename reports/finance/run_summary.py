"""The run summary as Markdown: what a run published, for the Prefect run page.

Totals by environment, workstream and cost type per currency, the unallocated share, and
whether each period conserves cost (the allocation log's newest attempt, and the conservation
audit re-run over what is published). Amounts are rounded with largest remainder, so every
table's rows add up to the total shown under it; the total and the `unallocated` row are their
exact amounts rounded half-up, the figures the workbook and `costalloc summary` show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import duckdb

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import largest_remainder, quantum, round_with_part
from costalloc.reports.finance.tables import SUMMARY
from costalloc.sql import load

UNALLOCATED_LABEL = "unallocated"
DIMENSIONS = ("environment", "workstream", "cost_type")


def summary_markdown(con: duckdb.DuckDBPyConnection, periods: Sequence[BillingPeriod]) -> str:
    """A Markdown report of `periods` (any order, gaps allowed) as published in the warehouse."""
    ordered = sorted(set(periods))
    if not ordered:
        return "No billing periods were given.\n"
    first, last = ordered[0], ordered[-1]
    wanted = {str(p) for p in ordered}
    span = str(first) if len(ordered) == 1 else ", ".join(str(p) for p in ordered)
    lines = [f"## Allocated cost, {span}", "", *_conservation(con, ordered), ""]
    rows = [r for r in SUMMARY.relation(con, first, last).fetchall() if r[0] in wanted]
    if not rows:
        lines.append("No allocated cost is published for these periods.")
        return "\n".join(lines) + "\n"
    # (currency, dimension) → value → [billed, effective]
    totals: dict[str, dict[str, dict[str, list[Decimal]]]] = defaultdict(
        lambda: defaultdict(dict))
    unallocated: dict[str, Decimal] = defaultdict(Decimal)
    for _period, currency, _provider, environment, workstream, cost_type, _n, billed, effective, _ in rows:
        for dimension, value in zip(DIMENSIONS, (environment, workstream, cost_type), strict=True):
            amounts = totals[currency][dimension].setdefault(value, [Decimal(0), Decimal(0)])
            amounts[0] += billed
            amounts[1] += effective
        if UNALLOCATED_LABEL in (environment, workstream, cost_type):
            unallocated[currency] += billed
    for currency in sorted(totals):
        lines += _currency_section(currency, totals[currency], unallocated[currency])
    return "\n".join(lines) + "\n"


def _conservation(con: duckdb.DuckDBPyConnection, periods: list[BillingPeriod]) -> list[str]:
    allocations = {row[0]: row for row in con.sql(
        load("reports/finance_allocations"),
        params={"first_period": str(periods[0]), "last_period": str(periods[-1])}).fetchall()}
    lines = ["| period | conservation | published allocation | rules version |",
             "|---|---|---|---|"]
    for period in periods:
        row = allocations.get(str(period))
        if row is None:
            lines.append(f"| {period} | not allocated yet | – | – |")
            continue
        _p, _latest_run, latest_status, message, _finished, run_id, version, *_rest, published_at = row
        broken = con.sql(load("audits/conservation"), params={"period": str(period)}).fetchall()
        if latest_status != "published":
            status = (f"❌ the newest run was {latest_status}: {_one_line(message)}; the previous "
                      "allocation stays published")
        elif broken:
            source, currency = broken[0][0], broken[0][1]
            status = (f"❌ {len(broken)} (source, currency) pair(s) don't tie out, first "
                      f"{source} {currency}")
        else:
            status = "✅ ties out: allocated = line items per source × currency, exactly"
        published = (f"run `{run_id}` at {published_at:%Y-%m-%d %H:%M} UTC" if run_id
                     else "none")
        lines.append(f"| {period} | {status} | {published} | `{version or '–'}` |")
    return lines


def _currency_section(currency: str, by_dimension: dict[str, dict[str, list[Decimal]]],
                      unallocated: Decimal) -> list[str]:
    step = quantum(currency)
    lines: list[str] = []
    for dimension in DIMENSIONS:
        values = sorted(by_dimension[dimension])
        billed_exact = [by_dimension[dimension][v][0] for v in values]
        effective_exact = [by_dimension[dimension][v][1] for v in values]
        # the `unallocated` value rounded on its own, as the workbook and `summary` show it
        unclaimed = [v == UNALLOCATED_LABEL for v in values]
        billed = round_with_part(billed_exact, unclaimed, step)
        effective = round_with_part(effective_exact, unclaimed, step)
        total_exact = sum(billed_exact, Decimal(0))
        if dimension == DIMENSIONS[0]:
            share = f"{unallocated / total_exact * 100:.1f}%" if total_exact else "–"
            lines += ["", f"### {currency}", "",
                      f"Billed **{_money(sum(billed, Decimal(0)))} {currency}**, effective "
                      f"{_money(sum(effective, Decimal(0)))} {currency}; unallocated (no rule "
                      f"for some dimension): {_money(largest_remainder([unallocated], step)[0])} "
                      f"{currency}, {share} of billed cost."]
        lines += ["", f"| {dimension.replace('_', ' ')} | billed | effective | share |",
                  "|---|---:|---:|---:|"]
        for value, b, e, exact in zip(values, billed, effective, billed_exact, strict=True):
            share = f"{exact / total_exact * 100:.1f}%" if total_exact else "–"
            lines.append(f"| {_cell(value)} | {_money(b)} | {_money(e)} | {share} |")
        lines.append(f"| **total** | **{_money(sum(billed, Decimal(0)))}** | "
                     f"**{_money(sum(effective, Decimal(0)))}** | 100.0% |")
    return lines


def _money(amount: Decimal) -> str:
    return f"{amount:,}"


def _one_line(text: object) -> str:
    flat = _cell(" ".join(str(text or "").split()))
    return flat if len(flat) <= 200 else flat[:197] + "..."


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
