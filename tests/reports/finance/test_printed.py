"""The finance workbook as a month-end pack: printed by a real spreadsheet engine (LibreOffice
Calc, headless, to PDF) and read back page by page."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb
import pytest

from costalloc.reports.finance.extracts import export
from costalloc.reports.finance.rounding import round_half_up
from tests.reports.builders import OCTOBER
from tests.reports.printed import Page, printed_pages

pytestmark = pytest.mark.slow  # LibreOffice renders the workbook: seconds, and a real install


@pytest.fixture(scope="module")
def pages(published: duckdb.DuckDBPyConnection,
          tmp_path_factory: pytest.TempPathFactory) -> list[Page]:
    out = tmp_path_factory.mktemp("printed")
    return printed_pages(export(published, "allocated", OCTOBER, "xlsx", out), out / "pdf")


def _amount(currency: str, value: Decimal) -> str:
    return f"{currency} {value:,}"


def test_the_first_page_holds_every_currency_s_totals(
        pages: list[Page], published: duckdb.DuckDBPyConnection) -> None:
    first = pages[0]
    assert first.header[0] == "costalloc: allocated cost, 2026-10"
    assert first.sheet == "Summary" and re.fullmatch(r"Page 1 of \d+", first.header[2])
    rows = published.sql(
        "select BillingCurrency, sum(BilledCost), sum(EffectiveCost), sum(BilledCost) filter "
        "('unallocated' in (environment, workstream, cost_type)), sum(EffectiveCost) filter "
        "('unallocated' in (environment, workstream, cost_type)) from allocated_costs "
        "where x_billing_period = '2026-10' group by 1").fetchall()
    assert {r[0] for r in rows} == {"EUR", "USD"}
    for currency, billed, effective, unallocated_billed, unallocated_effective in rows:
        total = next(line for line in first.body if re.match(rf"\s*{currency}\s+Total\b", line))
        # the amounts on the same line as the name, not on a page of their own
        assert _amount(currency, round_half_up(billed)) in total
        assert _amount(currency, round_half_up(effective)) in total
        unallocated = next(line for line in first.body
                           if re.match(rf"\s*{currency}\s+of which unallocated\b", line))
        assert _amount(currency, round_half_up(unallocated_billed)) in unallocated
        assert _amount(currency, round_half_up(unallocated_effective)) in unallocated


def test_labels_and_amounts_print_whole(pages: list[Page]) -> None:
    summary = [p for p in pages if p.sheet == "Summary"]
    assert any("production_operations" in p.text for p in summary)
    for page in pages:
        assert not re.search(r"production_operation(?!s)", page.text), page.number
        assert "###" not in page.text, f"page {page.number} shows a number too wide for its column"


def test_every_page_says_what_it_is(pages: list[Page]) -> None:
    assert pages[0].sheet == "Summary"
    assert {p.sheet for p in pages} == {"Summary", "Detail", "Unallocated", "CapEx",
                                        "Reconciliation", "About"}
    for page in pages:
        assert page.header[0] == "costalloc: allocated cost, 2026-10"
        assert page.header[2] == f"Page {page.number} of {len(pages)}"


def test_the_detail_header_row_is_repeated_on_every_page(pages: list[Page]) -> None:
    detail = [p for p in pages if p.sheet == "Detail"]
    assert len(detail) >= 2  # some 1,700 rows of 40 columns don't fit one page, even small
    for page in detail:
        header = page.body[0].split()
        assert header[:3] == ["x_source", "x_billing_period", "x_line_item_id"], page.number
        assert {"BilledCost", "EffectiveCost", "workstream"} <= set(header)
    assert re.match(r"\s*aws\s+2026-10\s+\d", detail[1].body[1])  # rows continue under it


def test_each_chart_prints_on_the_page_of_its_table(pages: list[Page]) -> None:
    for currency in ("EUR", "USD"):
        table = next(p for p in pages if f"{currency}: spend by workstream" in p.text)
        assert f"Spend by workstream ({currency})" in table.text
