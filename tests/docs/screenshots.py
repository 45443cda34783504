"""Screenshots of the web view's main pages for the docs, taken by headless Chromium.

    python -m tests.docs.screenshots [--out docs/images]

Builds a demo warehouse (six months of the demo's AWS CUR and asset register, allocated with
the demo rules), serves it on 127.0.0.1 with the demo's budgets and events, signs in, and saves
the sign-in page, the month page (its first screen and each section), a drill-down and an
explain page as PNG. Needs Debian's `chromium` and `chromium-driver` (`make browser`) and Selenium (the test
extra); no browser is downloaded. `chromium()` is also what the browser tests drive.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Chromium as root in a container: no sandbox, no GPU, and nothing that phones home.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--hide-scrollbars", "--force-device-scale-factor=1")
DEMO_TOKEN = "demo-token-for-screenshots-only"
MONTHS = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")


@contextmanager
def chromium(downloads: Path | None = None, *, width: int = 1366,
             height: int = 900) -> Iterator[Any]:
    """A Selenium driver for Debian's headless Chromium with a fresh profile; downloads (when
    given a folder) are saved there without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise RuntimeError(f"{CHROMIUM} and {CHROMEDRIVER} are needed: `make browser` (or "
                           "`apt-get install -y chromium chromium-driver`)")
    with tempfile.TemporaryDirectory(prefix="costalloc-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        if downloads is not None:
            options.add_experimental_option("prefs", {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
                "safebrowsing.enabled": False})
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        try:
            if downloads is not None:
                driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
                    "behavior": "allow", "downloadPath": str(downloads)})
            yield driver
        finally:
            driver.quit()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web view did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign_in(driver: Any, base: str, token: str, target: str = "/") -> None:
    """Fill in and send the sign-in form; returns once the next page has loaded."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(f"{base}/sign-in?next={quote(target, safe='')}")
    driver.find_element(By.ID, "token").send_keys(token)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button[type=submit]").click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def build_demo_warehouse(root: Path) -> Path:
    """Six months of the demo's AWS CUR (USD and EUR) and asset register, allocated."""
    import pyarrow.fs as pafs

    from costalloc.allocation.loader import load_rules
    from costalloc.allocation.publish import allocate_period
    from costalloc.connectors.assets import AssetRegisterConnector
    from costalloc.connectors.aws import AwsCurConnector
    from costalloc.core.period import BillingPeriod
    from costalloc.core.settings import SourceSettings
    from costalloc.demo.aws_cur import write_cur2_export
    from costalloc.flows.loading import load_partition
    from costalloc.warehouse.connection import connect

    demo = resources.files("costalloc.demo")
    register = root / "assets.csv"
    register.write_text(demo.joinpath("assets.csv").read_text())
    path = root / "costalloc.duckdb"
    con = connect(path)
    try:
        ruleset = load_rules(_demo_file(root, "rules.yaml"))
        assets = AssetRegisterConnector(SourceSettings(name="on-prem", kind="asset-register",
                                                       uri=str(register)))
        aws = AwsCurConnector(SourceSettings(name="aws", kind="aws-cur",
                                             uri=str(root / "b" / "cur" / "exp")))
        for index, text in enumerate(MONTHS):
            period = BillingPeriod.parse(text)
            write_cur2_export(pafs.LocalFileSystem(), str(root / "b" / "cur"), bucket="b",
                              prefix="cur", export_name="exp", period=text,
                              rows=600 + 120 * index, seed=40 + index, with_net_columns=True,
                              currencies=("USD", "EUR"))
            load_partition(con, aws, period, f"load-{text}")
            load_partition(con, assets, period, f"load-{text}")
            allocate_period(con, ruleset, period, f"alloc-{text}")
    finally:
        con.close()
    return path


def _demo_file(root: Path, name: str) -> Path:
    """A copy of a demo file (rules, budgets, events) and the usage drivers the rules read,
    their first month's quantities repeated for the earlier months shown here."""
    demo = resources.files("costalloc.demo")
    drivers = root / "drivers"
    drivers.mkdir(exist_ok=True)
    for entry in demo.joinpath("drivers").iterdir():
        if entry.name.endswith(".csv"):
            header, *rows = entry.read_text().splitlines()
            first = min(row.split(",", 1)[0] for row in rows)
            earlier = [f"{month},{row.split(',', 1)[1]}" for month in MONTHS if month < first
                       for row in rows if row.startswith(first)]
            (drivers / entry.name).write_text("\n".join([header, *earlier, *rows]) + "\n")
    target = root / name
    target.write_text(demo.joinpath(name).read_text())
    return target


def take(out: Path, *, width: int = 1366) -> list[Path]:
    """Build the demo, serve it, and save the screenshots under `out`."""
    from selenium.webdriver.common.by import By

    from costalloc.reports.serving.endpoint import create_app
    from costalloc.reports.serving.web import WebFiles

    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="costalloc-screenshots-") as folder:
        root = Path(folder)
        warehouse = build_demo_warehouse(root)
        files = WebFiles(root / "rules.yaml", _demo_file(root, "budgets.yaml"),
                         _demo_file(root, "events.yaml"))
        with serving(create_app(warehouse, [DEMO_TOKEN], files)) as base, \
                chromium(width=width) as driver:
            driver.get(f"{base}/sign-in")
            saved.append(_save(driver, out / "sign-in.png"))
            sign_in(driver, base, DEMO_TOKEN, f"/month/{MONTHS[-1]}?currency=USD")
            driver.find_element(By.CSS_SELECTOR, "h1")
            saved.append(_save(driver, out / "month-top.png"))
            for section in ("allocation", "capex", "unallocated", "trend", "budgets",
                            "forecast"):
                saved.append(_element(driver, section, out / f"month-{section}.png"))
            link = driver.find_element(By.CSS_SELECTOR, "table[data-table=allocation] tbody a")
            driver.get(link.get_attribute("href"))
            saved.append(_save(driver, out / "line-items.png"))
            source, line_item = _split_line_item(warehouse, MONTHS[-1])
            driver.set_window_size(width, 1300)
            driver.get(f"{base}/month/{MONTHS[-1]}/items/{source}/{line_item}")
            saved.append(_save(driver, out / "explain.png"))
    return saved


def _split_line_item(warehouse: Path, period: str) -> tuple[str, int]:
    """A line item a split cut into parts (the explain page shows them), its largest."""
    from costalloc.warehouse.connection import connect

    con = connect(warehouse, read_only=True)
    try:
        found = con.sql("select x_source, x_line_item_id from allocated_costs "
                        "where x_billing_period = $period and x_split_rule is not null "
                        "group by all having count(*) > 2 "
                        "order by max(abs(BilledCost)) desc, 1, 2 limit 1",
                        params={"period": period}).fetchall()
    finally:
        con.close()
    return (str(found[0][0]), int(found[0][1])) if found else ("aws", 1)


def _save(driver: Any, target: Path) -> Path:
    driver.save_screenshot(str(target))
    return target


def _element(driver: Any, section: str, target: Path) -> Path:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, section)
    driver.execute_script("arguments[0].scrollIntoView()", element)
    element.screenshot(str(target))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.docs.screenshots",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"),
                        help="folder for the PNG files (default: docs/images)")
    parser.add_argument("--width", type=int, default=1366, help="window width in pixels")
    args = parser.parse_args(argv)
    for path in take(args.out, width=args.width):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
