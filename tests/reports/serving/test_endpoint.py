"""The read-only pull endpoint, through FastAPI's TestClient: tokens, the group-by whitelist,
injection attempts in every parameter, CSV that round-trips into polars, paging."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import polars as pl
import pytest

from costalloc.core.errors import ConfigurationError
from costalloc.reports.finance.tables import GROUPABLE_COLUMNS
from costalloc.reports.serving.endpoint import create_app, tokens_from_environment
from tests.reports.builders import OCTOBER, SEPTEMBER, totals

TOKEN = "finance-sheet-token-0123456789"
OTHER = "second-token-for-the-controller"
EXACT = pl.Decimal(38, 10)


@pytest.fixture
def client(warehouse_file: Path) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's notice about its httpx dependency
        from fastapi.testclient import TestClient
    with TestClient(create_app(warehouse_file, [TOKEN, OTHER])) as test_client:
        yield test_client


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _warehouse_state(path: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql("select (select count(*) from allocated_costs), "
                       "(select sum(BilledCost) from allocated_costs), "
                       "(select count(*) from line_items), (select count(*) from ingest_log), "
                       "(select count(*) from allocation_log), "
                       "(select count(*) from duckdb_tables())").fetchall()
    finally:
        con.close()


def _exact_totals(path: Path, first: str, last: str) -> dict[str, tuple[Decimal, Decimal]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        if first == last:
            from costalloc.core.period import BillingPeriod

            return totals(con, BillingPeriod.parse(first))
        return totals(con)
    finally:
        con.close()


def _by_currency(frame: pl.DataFrame) -> dict[str, tuple[Decimal, Decimal]]:
    grouped = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").sum(),
                                                    pl.col("EffectiveCost").sum())
    return {row[0]: (Decimal(row[1]), Decimal(row[2])) for row in grouped.iter_rows()}


def test_a_missing_or_wrong_token_is_refused(client: Any) -> None:
    for path in ("/periods", "/allocated.csv?period=2026-10", "/summary.json?period=2026-10",
                 "/allocated.xlsx?period=2026-10"):
        missing = client.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert client.get(path, headers=_auth("finance-sheet-token-012345678X")).status_code == 401
        assert client.get(path, headers={"Authorization": TOKEN}).status_code == 401  # no scheme
        sep = "&" if "?" in path else "?"
        assert client.get(f"{path}{sep}token=nope").status_code == 401
        assert client.get(f"{path}{sep}token=").status_code == 401
    assert client.get("/periods", headers=_auth()).status_code == 200
    assert client.get("/periods", headers=_auth(OTHER)).status_code == 200
    assert client.get(f"/periods?token={TOKEN}").status_code == 200
    for schema in ("/docs", "/openapi.json"):  # no unauthenticated schema either: the web
        assert client.get(schema).url.path == "/sign-in"  # view sends anyone to its sign-in


def test_the_endpoint_refuses_to_start_without_a_token(warehouse_file: Path) -> None:
    with pytest.raises(ConfigurationError, match="COSTALLOC_API_TOKENS"):
        tokens_from_environment({})
    with pytest.raises(ConfigurationError, match="COSTALLOC_API_TOKENS"):
        tokens_from_environment({"COSTALLOC_API_TOKENS": " , "})
    with pytest.raises(ConfigurationError, match="shorter than 16"):
        tokens_from_environment({"COSTALLOC_API_TOKENS": f"{TOKEN},short"})
    assert tokens_from_environment({"COSTALLOC_API_TOKENS": f" {TOKEN} ,{OTHER}"}) == (TOKEN, OTHER)
    with pytest.raises(ConfigurationError):
        create_app(warehouse_file, [])
    with pytest.raises(ConfigurationError, match="does not exist"):
        create_app(warehouse_file.with_name("missing.duckdb"), [TOKEN])


def test_periods_lists_what_is_published(client: Any) -> None:
    periods = client.get("/periods", headers=_auth()).json()["periods"]
    assert [p["period"] for p in periods] == ["2026-09", "2026-10"]
    assert periods[1]["allocation_run_id"] == "alloc-2026-10"
    assert periods[1]["latest_attempt"] == "published" and periods[1]["rules_version"]


def test_grouped_csv_round_trips_into_polars_with_the_same_totals(client: Any,
                                                                  warehouse_file: Path) -> None:
    response = client.get("/allocated.csv?period=2026-10&group_by=environment,workstream",
                          headers=_auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    grouped = pl.read_csv(io.BytesIO(response.content),
                          schema_overrides={"BilledCost": EXACT, "EffectiveCost": EXACT})
    assert grouped.columns == ["environment", "workstream", "BillingCurrency", "x_allocated_rows",
                               "BilledCost", "EffectiveCost"]
    assert _by_currency(grouped) == _exact_totals(warehouse_file, "2026-10", "2026-10")
    assert grouped.select("environment", "workstream", "BillingCurrency").is_unique().all()
    # Column names are matched case-insensitively and kept in the caller's order.
    again = client.get(f"/allocated.csv?period=2026-09&to=2026-10&group_by=COST_TYPE,"
                       f"x_billing_period&token={TOKEN}")
    ranged = pl.read_csv(io.BytesIO(again.content),
                         schema_overrides={"BilledCost": EXACT, "EffectiveCost": EXACT})
    assert ranged.columns[:2] == ["cost_type", "x_billing_period"]
    assert _by_currency(ranged) == _exact_totals(warehouse_file, "2026-09", "2026-10")


def test_detail_csv_streams_every_row_and_pages(client: Any, warehouse_file: Path) -> None:
    money = {"BilledCost": EXACT, "EffectiveCost": EXACT}
    full = client.get("/allocated.csv?period=2026-10", headers=_auth())
    rows = pl.read_csv(io.BytesIO(full.content), schema_overrides=money, infer_schema_length=None)
    assert _by_currency(rows) == _exact_totals(warehouse_file, "2026-10", "2026-10")
    pages = []
    for offset in range(0, rows.height, 500):
        page = client.get(f"/allocated.csv?period=2026-10&limit=500&offset={offset}",
                          headers=_auth())
        pages.append(pl.read_csv(io.BytesIO(page.content), schema_overrides=money,
                                 infer_schema_length=None))
    assert [p.height for p in pages[:-1]] == [500] * (len(pages) - 1)
    assert pl.concat(pages, how="vertical_relaxed").height == rows.height
    assert _by_currency(pl.concat(pages, how="vertical_relaxed")) == _by_currency(rows)


def test_summary_json_gives_exact_money_per_currency(client: Any, warehouse_file: Path) -> None:
    body = client.get("/summary.json?period=2026-09&to=2026-10", headers=_auth()).json()
    assert body["group_by"] == ["environment", "workstream", "cost_type"]
    exact = _exact_totals(warehouse_file, "2026-09", "2026-10")
    assert {t["BillingCurrency"]: (Decimal(t["BilledCost"]), Decimal(t["EffectiveCost"]))
            for t in body["totals"]} == exact
    assert sum(Decimal(r["BilledCost"]) for r in body["rows"]
               if r["BillingCurrency"] == "USD") == exact["USD"][0]
    assert isinstance(body["rows"][0]["BilledCost"], str)  # never a float


def test_xlsx_is_the_finance_workbook_or_the_grouped_table(client: Any) -> None:
    book = client.get("/allocated.xlsx?period=2026-10", headers=_auth())
    assert book.status_code == 200
    sheets = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True).sheetnames
    assert sheets == ["Summary", "Detail", "Unallocated", "CapEx", "Reconciliation", "About"]
    grouped = client.get("/allocated.xlsx?period=2026-10&group_by=workstream", headers=_auth())
    rows = list(openpyxl.load_workbook(io.BytesIO(grouped.content), read_only=True)[
        "Allocated"].iter_rows(values_only=True))
    assert rows[0] == ("workstream", "BillingCurrency", "x_allocated_rows", "BilledCost",
                       "EffectiveCost")


def test_an_unknown_group_by_column_is_refused_with_the_allowed_list(client: Any) -> None:
    response = client.get("/allocated.csv?period=2026-10&group_by=environment,Tags",
                          headers=_auth())
    assert response.status_code == 400
    body = response.json()
    assert body["allowed"] == list(GROUPABLE_COLUMNS)
    assert "`Tags`" in body["detail"] and "environment" in body["detail"]
    for path in ("/summary.json", "/allocated.xlsx"):
        assert client.get(f"{path}?period=2026-10&group_by=BilledCost",
                          headers=_auth()).status_code == 400


INJECTIONS = [
    "2026-10' or '1'='1",
    "2026-10; drop table allocated_costs; --",
    "environment) from allocated_costs; drop table line_items; --",
    "environment,workstream; delete from ingest_log",
    "1; drop table allocation_log",
    "$first_period",
    "x_billing_period\" or 1=1 --",
]


@pytest.mark.parametrize("attempt", INJECTIONS)
def test_an_injection_attempt_in_any_parameter_changes_nothing(
        client: Any, warehouse_file: Path, attempt: str) -> None:
    before = _warehouse_state(warehouse_file)
    params = {"period": "2026-10", "to": "2026-10", "group_by": "environment", "limit": "10",
              "offset": "0"}
    for name in params:
        hostile = {**params, name: attempt}
        for path in ("/allocated.csv", "/summary.json", "/allocated.xlsx"):
            response = client.get(path, params=hostile, headers=_auth())
            assert response.status_code == 400, (path, name, response.text)
            assert "BilledCost" not in response.text  # refused before any data was read
    assert client.get("/allocated.csv", params={**params, "token": attempt}).status_code == 401
    assert client.get("/periods", headers=_auth(attempt)).status_code == 401
    assert _warehouse_state(warehouse_file) == before
    # The warehouse still answers normally afterwards.
    assert client.get("/allocated.csv", params=params, headers=_auth()).status_code == 200


def test_bad_periods_and_ranges_are_refused_with_a_reason(client: Any) -> None:
    cases = {"/allocated.csv": "`period` is required",
             "/allocated.csv?period=2026-13": "YYYY-MM",
             "/allocated.csv?period=2026-10&to=2026-09": "before",
             "/allocated.csv?period=2020-01&to=2026-10": "at most 36",
             "/allocated.csv?period=2026-10&limit=-1": "whole number"}
    for path, reason in cases.items():
        response = client.get(path, headers=_auth())
        assert response.status_code == 400 and reason in response.json()["detail"], path


def test_the_nightly_run_and_the_endpoint_take_turns_at_the_warehouse(
        client: Any, warehouse_file: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(30)", str(warehouse_file)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        response = client.get("/allocated.csv?period=2026-10", headers=_auth())
        assert response.status_code == 503
        assert response.headers["retry-after"] == "60"
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while client.get("/periods", headers=_auth()).status_code != 200:  # the lock is released
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # ... and between requests the endpoint holds nothing: a writer can open the warehouse.
    assert client.get("/allocated.csv?period=2026-10", headers=_auth()).status_code == 200
    writer = subprocess.run([sys.executable, "-c", "import duckdb, sys; "
                             "duckdb.connect(sys.argv[1]).execute('checkpoint')",
                             str(warehouse_file)], capture_output=True, text=True, timeout=60)
    assert writer.returncode == 0, writer.stderr


def test_septembers_numbers_differ_from_octobers(client: Any, warehouse_file: Path) -> None:
    september = client.get("/summary.json?period=2026-09", headers=_auth()).json()["totals"]
    october = client.get("/summary.json?period=2026-10", headers=_auth()).json()["totals"]
    assert september != october
    assert {t["BillingCurrency"]: Decimal(t["BilledCost"]) for t in september} == {
        c: b for c, (b, _) in _exact_totals(warehouse_file, str(SEPTEMBER), str(SEPTEMBER)).items()}
    assert {t["BillingCurrency"]: Decimal(t["BilledCost"]) for t in october} == {
        c: b for c, (b, _) in _exact_totals(warehouse_file, str(OCTOBER), str(OCTOBER)).items()}
