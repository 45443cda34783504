"""The web view's pages and downloads over the finance warehouse: every figure ties out to the
warehouse (or to what `costalloc review` and `costalloc forecast` compute), shown amounts are
rounded for reading while every download is exact, and bad parameters get a 400."""

from __future__ import annotations

import io
import re
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import polars as pl
import pyarrow.parquet as pq
import pytest

from costalloc.allocation.explain import explain
from costalloc.allocation.loader import load_rules
from costalloc.reports.planning.budgets import load_budgets
from costalloc.reports.planning.forecast import forecast, load_events
from costalloc.reports.planning.review import review
from costalloc.reports.serving.endpoint import create_app
from costalloc.reports.serving.web import WebFiles
from costalloc.reports.serving.web.month_tables import TABLES
from costalloc.warehouse.connection import connect
from tests.reports.builders import OCTOBER, SEPTEMBER, totals
from tests.reports.serving.web.site import FILES, TOKEN, sign_in, web_client

CENT = Decimal("0.01")


def _exact(html: str, selector: str) -> list[Decimal]:
    """The `data-exact` values of elements whose opening tag contains `selector`."""
    return [Decimal(v) for v in re.findall(rf'<[^>]*{selector}[^>]*data-exact="([^"]+)"', html)]


def _table(html: str, name: str) -> str:
    start = html.index(f'data-table="{name}"')
    return html[start:html.index("</table>", start)]


def _cells(table: str, column: str) -> list[Decimal]:
    return [Decimal(v) for v in re.findall(
        rf'<td[^>]*data-exact="([^"]+)" data-column="{column}"(?! data-total)', table)]


def _footer(table: str, column: str) -> Decimal:
    found = re.search(rf'data-exact="([^"]+)" data-column="{column}" data-total>([^<]+)<', table)
    assert found is not None, f"no {column} total"
    return Decimal(found.group(1))


def _shown(table: str, column: str) -> list[Decimal]:
    """The rounded texts of a money column, read back as numbers."""
    texts = re.findall(rf'data-column="{column}"(?! data-total)>(?:<a [^>]+>)?([^<]+)<', table)
    return [Decimal(t.replace(",", "").replace("\u2212", "-")) for t in texts]


@pytest.fixture(scope="module")
def con(web_warehouse: Path) -> Any:
    connection = connect(web_warehouse, read_only=True)
    yield connection
    connection.close()


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_the_month_shows_the_warehouses_totals_per_currency(
        client: Any, con: duckdb.DuckDBPyConnection, currency: str) -> None:
    page = client.get(f"/month/2026-10?currency={currency}").text
    billed, effective = totals(con, OCTOBER)[currency]
    assert _exact(page, 'data-kpi="billed"') == [billed]
    assert _exact(page, 'data-kpi="effective"') == [effective]
    for code, (b, _) in totals(con, OCTOBER).items():  # every currency's tab shows its total
        assert _exact(page, f'data-currency-total="{code}"') == [b]
    allocation = _table(page, "allocation")
    assert _footer(allocation, "BilledCost") == billed
    assert _footer(allocation, "EffectiveCost") == effective
    assert sum(_cells(allocation, "BilledCost")) == billed
    # Shown amounts have thousands separators and two decimals, and the rounded cells add up
    # to the rounded total (largest remainder).
    assert sum(_shown(allocation, "BilledCost")) == billed.quantize(CENT)
    assert re.search(r">\d{1,3}(,\d{3})+\.\d\d<", page)


def test_each_cell_is_the_warehouses_group(client: Any, con: duckdb.DuckDBPyConnection) -> None:
    expected = {(e, w, c): Decimal(b) for e, w, c, b in con.sql(
        "select environment, workstream, cost_type, sum(BilledCost) from allocated_costs "
        "where x_billing_period = '2026-10' and BillingCurrency = 'USD' group by all").fetchall()}
    allocation = _table(client.get("/month/2026-10?currency=USD").text, "allocation")
    rows = re.findall(r"<tr>\s*<th scope=\"row\">([^<]+)</th>\s*<td>([^<]+)</td>\s*<td>([^<]+)"
                      r"</td>.*?data-exact=\"([^\"]+)\" data-column=\"BilledCost\"", allocation,
                      re.S)
    assert {(e, w, c): Decimal(b) for e, w, c, b in rows} == expected


def test_capex_lists_each_project_with_its_phase_and_approval(client: Any) -> None:
    september = _table(client.get("/month/2026-09?currency=USD").text, "capex")
    assert "data-platform" in september and "build" in september
    assert "Board minutes 2026-02" in september
    october = _table(client.get("/month/2026-10?currency=USD").text, "capex")
    assert "CFO memo 2026-05-28 (FIN-2026-114)" in october and "llm-assistant" in october


def test_unallocated_shows_top_services_and_accounts_with_the_rule_that_would_catch_them(
        client: Any, con: duckdb.DuckDBPyConnection) -> None:
    page = client.get("/month/2026-10?currency=EUR").text
    services = _table(page, "unallocated-services")
    expected = con.sql(
        "select ServiceName, sum(BilledCost) from allocated_line_items where x_billing_period "
        "= '2026-10' and BillingCurrency = 'EUR' and 'unallocated' in (environment, workstream, "
        "cost_type) group by 1 order by abs(sum(BilledCost)) desc, 1 limit 10").fetchall()
    assert _cells(services, "BilledCost") == [Decimal(b) for _, b in expected]
    assert expected[0][0] in services
    # The demo's unallocated workstream cost carries no workstream tag: no rule matches it.
    assert "workstream: no rule matches; one with <code>when: {ServiceName: &#34;" in services
    accounts = _table(page, "unallocated-accounts")
    assert "no rule matches; one with <code>when: {SubAccountId: &#34;" in accounts


def test_the_trend_holds_every_published_month(client: Any,
                                                con: duckdb.DuckDBPyConnection) -> None:
    for basis, index in (("BilledCost", 0), ("EffectiveCost", 1)):
        trend = _table(client.get(f"/month/2026-10?currency=USD&basis={basis}").text, "trend")
        assert ">2026-09<" in trend and ">2026-10<" in trend
        assert _cells(trend, basis) == [totals(con, p)["USD"][index] for p in (SEPTEMBER, OCTOBER)]


def test_budget_lines_and_pilots_are_what_costalloc_review_says(
        client: Any, con: duckdb.DuckDBPyConnection) -> None:
    budgets = load_budgets(FILES.budgets or Path(), dict(load_rules(FILES.rules or Path())
                                                         .dimensions))
    expected = review(con, budgets, OCTOBER)
    page = client.get("/month/2026-10?currency=USD").text
    lines = _table(page, "budgets")
    usd = [r for r in expected.lines if r.line.currency == "USD"]
    assert _cells(lines, "actual") == [r.actual for r in usd]
    assert _cells(lines, "budget") == [r.budget for r in usd]
    for r in usd:
        assert r.status(OCTOBER) in lines
    pilots = _table(page, "pilots")
    assert _cells(pilots, "spend_to_date") == [p.to_date for p in expected.pilots]
    late = [p for p in expected.pilots if p.past_end]
    assert late, "the demo has a pilot past its end"
    for p in late:
        assert f"Pilot <b>{p.pilot.id}</b>: past its end ({p.pilot.end})" in page


def test_the_forecast_is_what_costalloc_forecast_says(client: Any,
                                                        con: duckdb.DuckDBPyConnection) -> None:
    events = load_events(FILES.events or Path(),
                         dict(load_rules(FILES.rules or Path()).dimensions))
    expected = forecast(con, OCTOBER.next(), 6, events=events)
    _, scenarios = expected.totals("USD")
    table = _table(client.get("/month/2026-10?currency=USD").text, "forecast")
    for name in ("conservative", "expected", "accelerated"):
        assert _cells(table, name) == scenarios[name]


def test_a_cell_drills_to_its_line_items_and_one_to_its_explain_chain(
        client: Any, con: duckdb.DuckDBPyConnection) -> None:
    page = client.get("/month/2026-10?currency=USD").text
    link = re.search(r'href="(/month/2026-10/items\?[^"]+)"', _table(page, "allocation"))
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    filters = dict(re.findall(r"(environment|workstream|cost_type)=([a-z_]+)", url))
    count, billed = con.sql(
        "select count(*), sum(BilledCost) from allocated_costs where x_billing_period = '2026-10' "
        "and BillingCurrency = 'USD' and environment = $environment and workstream = $workstream "
        "and cost_type = $cost_type", params=filters).fetchall()[0]
    items = client.get(url).text
    assert _exact(items, 'data-cell-total="BilledCost"') == [Decimal(billed)]
    assert f"{count:,} allocated rows" in items
    rows = _table(items, "items")
    assert len(_cells(rows, "BilledCost")) == min(count, 50)
    explain_link = re.search(r'href="(/month/2026-10/items/([a-z-]+)/(\d+)\?[^"]*)"', rows)
    assert explain_link is not None
    detail = client.get(explain_link.group(1).replace("&amp;", "&")).text
    text = explain(con, int(explain_link.group(3)), OCTOBER, explain_link.group(2),
                   load_rules(FILES.rules or Path()))
    first = text.splitlines()[0]
    assert first.replace("`", "") in re.sub(r"</?code>", "", detail).replace("&#39;", "'")
    assert "data-explain" in detail and "environment = " in detail


def test_drill_down_pages_through_a_cell(client: Any, con: duckdb.DuckDBPyConnection) -> None:
    count = con.sql("select count(*) from allocated_costs where x_billing_period = '2026-10' "
                    "and BillingCurrency = 'USD'").fetchall()[0][0]
    assert count > 100
    first = client.get("/month/2026-10/items?currency=USD").text
    second = client.get("/month/2026-10/items?currency=USD&offset=50").text
    assert "Rows 1–50 of" in first and "Rows 51–100 of" in second
    assert 'rel="next"' in first and 'rel="prev"' in second
    rows = set(re.findall(r"<tr>.*?</tr>", _table(first, "items"), re.S))
    later = re.findall(r"<tr>.*?</tr>", _table(second, "items"), re.S)
    assert len(rows) == 51 and len(later) == 51  # a header row and 50 rows each
    assert len(rows & set(later)) == 1  # only the header repeats


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_table_downloads_in_every_format(client: Any, name: str, fmt: str) -> None:
    response = client.get(f"/pull/{name}.{fmt}?period=2026-10&currency=USD")
    assert response.status_code == 200
    assert f'filename="{name}_2026-10_USD.{fmt}"' in response.headers["content-disposition"]
    if fmt == "csv":
        assert response.headers["content-type"].startswith("text/csv")
        assert response.text.splitlines()[0].startswith('"')
    elif fmt == "parquet":
        assert pq.read_table(io.BytesIO(response.content)).num_columns > 1
    else:
        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        assert book.sheetnames


def test_downloads_are_exact_and_tie_out(client: Any, con: duckdb.DuckDBPyConnection) -> None:
    billed, effective = totals(con, OCTOBER)["EUR"]
    csv = pl.read_csv(io.BytesIO(client.get("/pull/allocation.csv?period=2026-10&currency=EUR")
                                 .content), schema_overrides={"BilledCost": pl.Decimal(38, 10),
                                                              "EffectiveCost": pl.Decimal(38, 10)})
    assert Decimal(str(csv["BilledCost"].sum())) == billed
    assert Decimal(str(csv["EffectiveCost"].sum())) == effective
    parquet = pq.read_table(io.BytesIO(client.get(
        "/pull/allocation.parquet?period=2026-10&currency=EUR").content))
    assert str(parquet.schema.field("BilledCost").type) == "decimal128(38, 10)"
    assert sum(parquet.column("BilledCost").to_pylist()) == billed
    items = pq.read_table(io.BytesIO(client.get(
        "/pull/items.parquet?period=2026-10&currency=EUR").content))
    assert sum(items.column("BilledCost").to_pylist()) == billed


def test_a_csv_cell_a_spreadsheet_would_run_is_quoted(client: Any) -> None:
    csv = client.get("/pull/items.csv?period=2026-10&currency=USD").text
    assert "'=HYPERLINK" in csv and ',"=HYPERLINK' not in csv


def test_every_table_has_its_download_links_and_spreadsheet_url(client: Any) -> None:
    page = client.get("/month/2026-10?currency=USD").text
    for name in TABLES:
        query = "period=2026-10&amp;currency=USD&amp;basis=EffectiveCost"
        for fmt in ("csv", "xlsx", "parquet"):
            assert f'href="/pull/{name}.{fmt}?{query}"' in page
        assert f'value="http://127.0.0.1:8765/pull/{name}.csv?{query}&amp;token=pull-' in page
    assert TOKEN not in page  # the sign-in token is never written into a page
    assert page.count("<svg") >= 5 and page.count('role="img"') == page.count("<svg")


@pytest.mark.parametrize(("path", "status"), [
    ("/month/2026-13", 400), ("/month/26-10", 400), ("/month/2026-10?basis=Cost", 400),
    ("/month/2025-01", 404), ("/month/2026-10/items", 400),
    ("/month/2026-10/items?currency=usd", 400), ("/month/2026-10/items?currency=USD&offset=x", 400),
    ("/month/2026-10/items?currency=USD&unallocated=yes", 400),
    ("/month/2026-10/items/aws/99999999", 404), ("/month/2026-10/items/aws/abc", 404),
    ("/pull/allocation.docx?period=2026-10", 400), ("/pull/secrets.csv?period=2026-10", 404),
    ("/pull/allocation.csv", 400), ("/pull/allocation.csv?period=1999-01", 404),
    ("/pull/items.csv?period=2026-10", 400),
])
def test_a_bad_parameter_is_a_page_that_says_what_was_wrong(client: Any, path: str,
                                                             status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert "Traceback" not in response.text and "<h1>" in response.text


def test_injection_in_filters_is_just_text(client: Any) -> None:
    response = client.get("/month/2026-10/items", params={
        "currency": "USD", "environment": "production' or '1'='1", "service": "x; drop table"})
    assert response.status_code == 200
    assert "0 allocated rows" in response.text


def test_a_month_published_before_the_kept_totals_is_summed_on_request(
        web_warehouse: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    older = tmp_path / "costalloc.duckdb"
    shutil.copyfile(web_warehouse, older)
    writer = connect(older)
    writer.execute("drop table month_spend")
    writer.execute("drop table month_unallocated")
    writer.close()
    with web_client(create_app(older, [TOKEN], FILES)) as client:
        sign_in(client)
        page = client.get("/month/2026-10?currency=USD").text
    assert _exact(page, 'data-kpi="billed"') == [totals(con, OCTOBER)["USD"][0]]
    assert "workstream: no rule matches" in _table(page, "unallocated-services")


def test_the_month_page_lists_every_published_period(client: Any) -> None:
    page = client.get("/month/2026-09").text
    assert re.findall(r'<option value="(\d{4}-\d\d)"', page) == ["2026-10", "2026-09"]
    assert client.get("/", follow_redirects=False).headers["location"] == "/month/2026-10"
    assert client.get("/month?period=2026-09&currency=EUR",
                      follow_redirects=False).headers["location"] == "/month/2026-09?currency=EUR"


def test_shown_amounts_are_per_currency_sums(client: Any, con: duckdb.DuckDBPyConnection) -> None:
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for currency, billed in con.sql("select BillingCurrency, BilledCost from month_spend "
                                    "where x_billing_period = '2026-09'").fetchall():
        per_currency[currency] += billed
    assert dict(per_currency) == {c: b for c, (b, _) in totals(con, SEPTEMBER).items()}


def test_without_companion_files_the_month_still_shows(web_warehouse: Path, tmp_path: Path,
                                                       con: duckdb.DuckDBPyConnection) -> None:
    broken = tmp_path / "budgets.yaml"
    broken.write_text("lines:\n  - id: x\n    amounts: [{month: 2026-13, amount: 1}]\n")
    for files, expected in ((WebFiles(), "No budgets file"),
                            (WebFiles(FILES.rules, broken, tmp_path / "events.yaml"),
                             f"{broken}:")):
        with web_client(create_app(web_warehouse, [TOKEN], files)) as client:
            sign_in(client)
            page = client.get("/month/2026-10?currency=USD")
        assert page.status_code == 200
        assert expected in page.text
        assert _exact(page.text, 'data-kpi="billed"') == [totals(con, OCTOBER)["USD"][0]]
