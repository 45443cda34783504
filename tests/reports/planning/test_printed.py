"""The review and forecast sheets as they print (LibreOffice Calc, headless, to PDF): one page
wide, each chart on the page of its table, the review's figures beside their line ids."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.budgets import budgets_from_mapping
from costalloc.reports.planning.exports import export_forecast, export_review
from costalloc.reports.planning.forecast import Events, project_series
from costalloc.reports.planning.review import review
from tests.reports.planning.test_review import BUDGETS, _month
from tests.reports.printed import printed_pages

pytestmark = pytest.mark.slow  # LibreOffice renders the workbooks: seconds, and a real install

NOV = BillingPeriod(2026, 11)
HISTORY = [BillingPeriod(2026, m) for m in range(5, 11)]


def test_each_forecast_chart_prints_under_its_table(tmp_path: Path) -> None:
    series = {("USD", workstream): {p: Decimal(start + 10 * i) for i, p in enumerate(HISTORY)}
              for workstream, start in (("platform_build", 100), ("experimentation", 200))}
    result = project_series(series, NOV, 6, Events())
    pages = printed_pages(export_forecast(result, "xlsx", tmp_path).main, tmp_path / "pdf")
    assert {p.sheet for p in pages} == {"Forecast"}
    assert pages[0].header[0] == "costalloc: forecast from 2026-11"
    titles = ["USD: all workstreams", "USD: experimentation", "USD: platform_build"]
    for title in titles:
        page = next(p for p in pages if any(line.startswith(title) for line in p.body))
        heading = next(line.strip() for line in page.body if line.startswith(title))
        # the chart's title (the table's, up to its description) is on the page of the table
        alone = [line for line in page.body if line.strip() == title]
        assert len(alone) == (2 if heading == title else 1), title
    assert not any("###" in p.text for p in pages)


def test_the_review_prints_each_line_with_its_figures_on_the_first_page(
        warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _month(warehouse)
    result = review(warehouse, budgets_from_mapping(BUDGETS), BillingPeriod(2026, 10))
    pages = printed_pages(export_review(warehouse, result, "xlsx", tmp_path).main,
                          tmp_path / "pdf")
    first = pages[0]
    assert first.sheet == "Review"
    assert first.header[0] == "costalloc: budget review and allocated cost, 2026-10"
    experiments = next(line for line in first.body if line.lstrip().startswith("experiments "))
    for figure in ("USD 2,000.00", "USD 1,550.00", "-USD 450.00", "77.5%", "USD 5,960.00",
                   "50% crossed"):
        assert figure in experiments  # one page wide: the figures print beside the id
    assert any(re.match(r"\s*rag-pilot\s", line) for p in pages if p.sheet == "Review"
               for line in p.body)
    assert [p.sheet for p in pages][:2] == ["Review", "Summary"]
