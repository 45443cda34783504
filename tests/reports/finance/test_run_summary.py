"""The run summary the flow publishes as a Prefect artifact: totals, unallocated share and
conservation status, in Markdown whose rows add up to the totals printed."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import round_half_up
from costalloc.reports.finance.run_summary import summary_markdown
from tests.reports.builders import OCTOBER, SEPTEMBER, totals


def _table(markdown: str, heading: str, first_column: str) -> list[list[str]]:
    section = markdown[markdown.index(heading):]
    start = section.index(f"| {first_column} |")
    rows = []
    for line in section[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
        rows.append([cell.strip().strip("*") for cell in cells])
    return rows


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_totals_by_dimension_add_up_and_match_the_warehouse(
        published: duckdb.DuckDBPyConnection) -> None:
    markdown = summary_markdown(published, [OCTOBER])
    assert markdown.startswith("## Allocated cost, 2026-10\n")
    exact = totals(published, OCTOBER)
    for currency, (billed, effective) in exact.items():
        assert f"Billed **{round_half_up(billed):,} {currency}**" in markdown
        for dimension in ("environment", "workstream", "cost type"):
            rows = _table(markdown, f"### {currency}", dimension)
            total = rows[-1]
            assert total[0] == "total"
            assert _amount(total[1]) == round_half_up(billed)
            assert _amount(total[2]) == round_half_up(effective)
            assert sum(_amount(r[1]) for r in rows[:-1]) == _amount(total[1])
            assert sum(_amount(r[2]) for r in rows[:-1]) == _amount(total[2])
    unallocated = published.sql(
        "select sum(BilledCost) / (select sum(BilledCost) from allocated_costs where "
        "x_billing_period = '2026-10' and BillingCurrency = 'USD') from allocated_costs where "
        "x_billing_period = '2026-10' and BillingCurrency = 'USD' and 'unallocated' in "
        "(environment, workstream, cost_type)").fetchall()[0][0]
    share = re.search(r"### USD\n\nBilled .*?, ([0-9.]+)% of billed cost", markdown)
    assert share is not None and Decimal(share.group(1)) == round(Decimal(unallocated) * 100, 1)
    # the `unallocated` workstream row is the amount the headline names (all unallocated cost
    # here has no workstream), rounded the same way, not a cent apart
    headline = re.search(r"### USD\n\nBilled .*?unallocated \(no rule for some dimension\): "
                         r"([0-9,.]+) USD", markdown)
    row = next(r for r in _table(markdown, "### USD", "workstream") if r[0] == "unallocated")
    assert headline is not None and _amount(row[1]) == _amount(headline.group(1))


def test_conservation_status_per_period(warehouse_file: Path) -> None:
    con = duckdb.connect(str(warehouse_file))
    con.execute("insert into allocation_log values ('alloc-bad', '2026-09', 'v2', 'refused', "
                "10, 0, '[]', 'allocation does not conserve cost | EUR', now())")
    con.close()
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        markdown = summary_markdown(con, [OCTOBER, SEPTEMBER, BillingPeriod(2026, 11)])
    finally:
        con.close()
    status = {row[0]: row for row in _table(markdown, "## Allocated cost", "period")}
    assert status["2026-10"][1].startswith("✅ ties out")
    assert "run `alloc-2026-10`" in status["2026-10"][2]
    assert status["2026-09"][1].startswith("❌ the newest run was refused")
    assert "previous allocation stays published" in status["2026-09"][1]
    assert "run `alloc-2026-09`" in status["2026-09"][2]  # what finance still sees
    assert status["2026-11"][1] == "not allocated yet"
    assert "\\|" in markdown  # a `|` in a message doesn't break the table


def test_no_periods_or_nothing_published(published: duckdb.DuckDBPyConnection) -> None:
    assert summary_markdown(published, []) == "No billing periods were given.\n"
    assert "No allocated cost is published" in summary_markdown(published,
                                                                  [BillingPeriod(2025, 1)])
