"""The web view in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, against the app served by uvicorn on 127.0.0.1. A person signs in, reads
the month's totals per currency, drills from a cell to a line item's explain chain with the
keyboard, downloads a CSV that ties out — and without a token sees nothing but the sign-in page."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from costalloc.warehouse.connection import connect
from tests.docs.screenshots import chromium, serving, sign_in
from tests.reports.builders import OCTOBER, totals
from tests.reports.serving.web.site import TOKEN

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def site(app: Any) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads: Path) -> Iterator[Any]:
    with chromium(downloads) as driver:
        driver.implicitly_wait(5)
        yield driver


@pytest.fixture(scope="module")
def warehouse_totals(web_warehouse: Path) -> dict[str, tuple[Decimal, Decimal]]:
    con = connect(web_warehouse, read_only=True)
    try:
        return totals(con, OCTOBER)
    finally:
        con.close()


def _shown(amount: Decimal) -> str:
    """How the page writes an amount: thousands separators, two decimals."""
    written = f"{abs(amount.quantize(CENT)):,.2f}"
    return ("\u2212" + written) if amount < 0 else written


def test_without_a_token_the_browser_sees_only_the_sign_in_page(browser: Any, site: str) -> None:
    browser.implicitly_wait(0)  # absences are checked here: don't wait for them
    for path in ("/", "/month/2026-10?currency=USD", "/month/2026-10/items?currency=USD",
                 "/month/2026-10/items/aws/5"):
        browser.get(site + path)
        assert browser.current_url.startswith(f"{site}/sign-in?next=")
        assert browser.find_elements(By.CSS_SELECTOR, "[data-exact]") == []
        assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    browser.get(f"{site}/pull/allocation.csv?period=2026-10&currency=USD")
    assert "a valid token is required" in browser.find_element(By.TAG_NAME, "body").text
    sign_in(browser, site, "not-a-token-this-server-accepts")
    assert "not one this server accepts" in browser.find_element(By.CSS_SELECTOR, ".alert").text
    assert browser.get_cookie("costalloc_session") is None


def test_signed_in_the_month_shows_the_warehouses_totals_per_currency(
        browser: Any, site: str, warehouse_totals: dict[str, tuple[Decimal, Decimal]]) -> None:
    sign_in(browser, site, TOKEN, "/month/2026-10")
    assert browser.find_element(By.TAG_NAME, "h1").text == "October 2026"
    cookie = browser.get_cookie("costalloc_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # invisible to scripts
    seen = set()
    for currency, (billed, effective) in warehouse_totals.items():
        _follow(browser, browser.find_element(By.CSS_SELECTOR, f"a[data-currency='{currency}']"))
        assert f"currency={currency}" in browser.current_url
        kpi = browser.find_element(By.CSS_SELECTOR, "[data-kpi=billed]")
        assert Decimal(kpi.get_attribute("data-exact")) == billed
        assert kpi.text == _shown(billed)
        kpi = browser.find_element(By.CSS_SELECTOR, "[data-kpi=effective]")
        assert Decimal(kpi.get_attribute("data-exact")) == effective
        assert kpi.text == _shown(effective)
        footer = browser.find_element(
            By.CSS_SELECTOR, "table[data-table=allocation] tfoot [data-column=BilledCost]")
        assert footer.text == _shown(billed)
        assert browser.find_elements(By.CSS_SELECTOR, "#allocation svg[role=img]")
        seen.add(currency)
    assert seen == {"USD", "EUR"}


def test_the_keyboard_drills_from_a_cell_to_a_line_items_explain_chain(
        browser: Any, site: str, web_warehouse: Path) -> None:
    sign_in(browser, site, TOKEN, "/month/2026-10?currency=USD")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(400):  # Tab through the page to the first amount that drills down
        focused = browser.switch_to.active_element
        if "/items?" in (focused.get_attribute("href") or ""):
            break
        focused.send_keys(Keys.TAB)
    else:
        pytest.fail("no drill-down link is reachable with the Tab key")
    cell_total = Decimal(focused.find_element(By.XPATH, "..").get_attribute("data-exact"))
    focused.send_keys(Keys.ENTER)
    _wait_for(browser, lambda: "/items?" in browser.current_url)
    shown_total = browser.find_element(By.CSS_SELECTOR, "[data-cell-total=BilledCost]")
    assert Decimal(shown_total.get_attribute("data-exact")) == cell_total
    link = browser.find_element(By.CSS_SELECTOR, "table[data-table=items] tbody th a")
    source, line_item = link.get_attribute("href").split("?")[0].rsplit("/", 2)[-2:]
    link.send_keys(Keys.ENTER)
    _wait_for(browser, lambda: "Explain chain" in browser.page_source)
    chain = browser.find_element(By.CSS_SELECTOR, "[data-explain]").text
    assert f"Line item {source} #{line_item} (2026-10)" in chain
    for dimension in ("environment = ", "workstream = ", "cost_type = "):
        assert dimension in chain
    con = duckdb.connect(str(web_warehouse), read_only=True)
    try:
        parts = con.sql("select count(*) from allocated_costs where x_billing_period = '2026-10' "
                        "and x_source = $s and x_line_item_id = $i",
                        params={"s": source, "i": int(line_item)}).fetchall()[0][0]
    finally:
        con.close()
    assert len(browser.find_elements(By.CSS_SELECTOR, "table[data-table=parts] tbody tr")) == parts


def test_the_downloaded_csv_ties_out(browser: Any, site: str, downloads: Path,
                                     warehouse_totals: dict[str, tuple[Decimal, Decimal]]) -> None:
    sign_in(browser, site, TOKEN, "/month/2026-10?currency=EUR")
    browser.find_element(By.CSS_SELECTOR, "#table-allocation .downloads a[href*='.csv']").click()
    target = downloads / "allocation_2026-10_EUR.csv"
    _wait_for(browser, target.exists)
    money = pl.Decimal(38, 10)
    rows = pl.read_csv(target, schema_overrides={"BilledCost": money, "EffectiveCost": money})
    billed, effective = warehouse_totals["EUR"]
    assert Decimal(str(rows["BilledCost"].sum())) == billed
    assert Decimal(str(rows["EffectiveCost"].sum())) == effective
    # The spreadsheet link fetches the same table as a spreadsheet would: no session, no header.
    browser.find_element(By.CSS_SELECTOR, "#table-allocation details.pull summary").click()
    url = browser.find_element(By.CSS_SELECTOR, "#table-allocation .pull-url").get_attribute(
        "value")
    assert url.startswith(site) and "&token=pull-" in url and TOKEN not in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == target.read_bytes()


def _follow(browser: Any, link: Any) -> None:
    """Click `link` and wait until the page it leads to has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    link.click()
    _wait_for(browser, lambda: _stale(page))


def _stale(element: Any) -> bool:
    try:
        element.tag_name  # noqa: B018 (touching it raises once the page is gone)
    except StaleElementReferenceException:
        return True
    return False


def _wait_for(browser: Any, condition: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out on {browser.current_url}")
        time.sleep(0.1)
