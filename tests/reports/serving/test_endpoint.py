"""The read-only pull endpoint, through FastAPI's TestClient: tokens, the group-by whitelist,
injection attempts in every parameter, CSV that round-trips into polars, paging."""

from __future__ import annotations

import io
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
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


# --- parameters that can't be used are a 400 with one line, never a 500 ----------------------

DATA_ROUTES = ("/allocated.csv", "/summary.json", "/allocated.xlsx")


def _refused(client: Any, path: str, reason: str) -> None:
    response = client.get(path, headers=_auth())
    assert response.status_code == 400, (path, response.status_code, response.text)
    detail = response.json()["detail"]
    assert reason in detail and "\n" not in detail, (path, detail)


def test_an_empty_group_by_means_the_default_grouping(client: Any, warehouse_file: Path) -> None:
    body = client.get("/summary.json?period=2026-10&group_by=", headers=_auth()).json()
    assert body["group_by"] == ["environment", "workstream", "cost_type"]  # was a KeyError, 500
    exact = _exact_totals(warehouse_file, "2026-10", "2026-10")
    assert {t["BillingCurrency"]: Decimal(t["BilledCost"]) for t in body["totals"]} == {
        c: b for c, (b, _) in exact.items()}
    blank = client.get("/allocated.csv?period=2026-10&group_by=&to=&limit=", headers=_auth())
    absent = client.get("/allocated.csv?period=2026-10", headers=_auth())
    assert blank.status_code == 200 and blank.content == absent.content  # every row, ungrouped
    for path in DATA_ROUTES:  # commas and spaces name nothing: a mistake, not a default
        _refused(client, f"{path}?period=2026-10&group_by=,%20,", "`group_by` names no column")


@pytest.mark.parametrize("value", ["²", "١٠", "1e3", "0x10", " 5", "5 ", "9" * 13])
def test_limit_and_offset_take_ascii_digits_only(client: Any, value: str) -> None:
    for name in ("limit", "offset"):
        for path in DATA_ROUTES:
            response = client.get(path, params={"period": "2026-10", name: value},
                                  headers=_auth())
            assert response.status_code == 400, (path, name, value, response.text)
            assert response.json()["detail"].startswith(f"`{name}` must be a whole number")


def test_unknown_and_repeated_parameters_are_refused_by_name(client: Any) -> None:
    for path in DATA_ROUTES:
        _refused(client, f"{path}?period=2026-10&perod=2026-11", "unknown parameter `perod`")
        _refused(client, f"{path}?period=2026-10&period=2026-11", "`period` is given 2 times")
    _refused(client, "/periods?period=2026-10", "unknown parameter `period`")
    _refused(client, "/allocated.csv?period=2026-10&%E2%80%AE=x",  # shown escaped, one line
             "unknown parameter `\\u202e`")


def test_an_impossible_month_is_named_as_such(client: Any) -> None:
    for path in DATA_ROUTES:
        _refused(client, f"{path}?period=2026-13", "`period` 2026-13 is impossible: months run "
                                                   "01 to 12")
        _refused(client, f"{path}?period=2026-10&to=2026-00", "`to` 2026-00 is impossible")


def test_every_response_says_nosniff_and_no_store(client: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    responses = {
        "ok": client.get("/summary.json?period=2026-10", headers=_auth()),
        "bad request": client.get("/summary.json?period=nope", headers=_auth()),
        "unauthorized": client.get("/summary.json?period=2026-10"),
        "not found": client.get("/nothing-here", headers=_auth()),
    }
    from costalloc.reports.serving import endpoint

    def broken(self: Any, con: Any) -> Any:
        raise RuntimeError("a defect\nwith a second line")

    monkeypatch.setattr(endpoint._Query, "reader", broken)
    responses["defect"] = client.get("/summary.json?period=2026-10", headers=_auth())
    assert {name: r.status_code for name, r in responses.items()} == {
        "ok": 200, "bad request": 400, "unauthorized": 401, "not found": 404, "defect": 500}
    for name, response in responses.items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["cache-control"] == "no-store", name
    assert responses["defect"].json() == {
        "detail": "internal error; the server log has the details"}  # no traceback, no text


def test_a_workbook_build_that_fails_answers_like_any_route(
        client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The build runs in a worker thread beside a watcher: its error still reaches the handlers
    as itself (busy → 503), and a defect is the one-line 500; no scratch folder is left."""
    from costalloc.core.errors import WarehouseBusyError
    from costalloc.reports.serving import endpoint

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def busy(*args: Any, **kwargs: Any) -> None:
        raise WarehouseBusyError("the nightly run holds the warehouse")

    monkeypatch.setattr(endpoint, "write_finance_workbook", busy)
    response = client.get("/allocated.xlsx?period=2026-10", headers=_auth())
    assert (response.status_code, response.headers["retry-after"]) == (503, "60")

    def defect(*args: Any, **kwargs: Any) -> None:
        raise KeyError("BilledCost")

    monkeypatch.setattr(endpoint, "write_finance_workbook", defect)
    response = client.get("/allocated.xlsx?period=2026-10", headers=_auth())
    assert response.status_code == 500 and "\n" not in response.json()["detail"]
    assert list(scratch.iterdir()) == []


# --- a client that goes away stops its workbook build -----------------------------------------

class _Heard(logging.Handler):
    """An event per message the endpoint logs, to wait on instead of sleeping."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.events: dict[str, threading.Event] = defaultdict(threading.Event)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for key in ("client disconnected", "the workbook build stopped", "GET /allocated.xlsx"):
            if key in message:
                self.events[key].set()


def test_a_client_that_disconnects_stops_the_workbook_build(
        warehouse_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from costalloc.reports.serving import endpoint

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    checkpoints: list[int] = []
    pause_at: list[int] = []  # the checkpoint (1-based) to hold the build at
    paused, resume = threading.Event(), threading.Event()

    def on_checkpoint() -> None:
        checkpoints.append(1)
        if pause_at and len(checkpoints) == pause_at[0]:
            paused.set()
            assert resume.wait(60)

    heard = _Heard()
    endpoint.log.addHandler(heard)
    monkeypatch.setattr(endpoint.log, "level", logging.INFO)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        create_app(warehouse_file, [TOKEN], on_checkpoint=on_checkpoint), log_level="critical",
        access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    request = (f"GET /allocated.xlsx?period=2026-10 HTTP/1.1\r\nHost: test\r\n"
               f"Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n").encode()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.05)
        with socket.create_connection(listener.getsockname(), timeout=60) as whole:
            whole.sendall(request)
            answer = b"".join(iter(lambda: whole.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 200")
        full_build = len(checkpoints)
        assert full_build >= 6  # one per sheet at least: Summary … About

        checkpoints.clear()
        heard.events.clear()
        pause_at.append(2)  # the build has started its second sheet when the client leaves
        leaving = socket.create_connection(listener.getsockname(), timeout=60)
        leaving.sendall(request)
        assert paused.wait(60)
        leaving.close()
        assert heard.events["client disconnected"].wait(60)
        resume.set()
        assert heard.events["the workbook build stopped"].wait(60)
        assert len(checkpoints) == 2 < full_build  # stopped at the first check after it left
        assert list(scratch.iterdir()) == []  # the scratch folder and the partial file are gone
    finally:
        resume.set()
        server.should_exit = True
        thread.join(30)
        endpoint.log.removeHandler(heard)
