"""A read-only HTTP endpoint over the warehouse, for spreadsheets that pull data from a URL.

    GET /periods                                  billing periods with a published allocation
    GET /allocated.csv?period=2026-10[&to=2026-12][&group_by=environment,workstream]
                      [&limit=N][&offset=N]      rows (or groups) as CSV, streamed
    GET /allocated.xlsx?period=…[&to=…][&group_by=…]   the finance workbook, or the groups
    GET /summary.json?period=…[&to=…][&group_by=…]     groups and totals per currency, as JSON
    anything else                                 the web view (reports/serving/web, docs/web.md)

Every request above needs a token: `Authorization: Bearer <token>` or `?token=<token>` (Google
Sheets' IMPORTDATA can't send headers). Tokens come from `COSTALLOC_API_TOKENS` and are compared
in constant time. Nothing from a request reaches SQL except as a bound parameter: grouping
columns are picked from a fixed list (`reports.finance.tables.GROUPABLE_COLUMNS`) and switch
flags in a static query. A parameter the route doesn't know, given twice, or that can't be used
is a 400 with one line saying why; an empty one counts as absent. Each request opens its own
read-only DuckDB connection and closes it when the response is sent, so the nightly run can take
the write lock between requests; while it holds it, requests get 503 with `Retry-After`. A
workbook is built in a worker thread that stops at its next checkpoint (and its query is
interrupted) as soon as the client goes away. Every response says `no-store` and `nosniff`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import duckdb
import pyarrow as pa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from costalloc.core.errors import ConfigurationError, WarehouseBusyError
from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.csv_text import csv_chunks
from costalloc.reports.finance.sheets import Checkpoint
from costalloc.reports.finance.tables import GROUPABLE_COLUMNS
from costalloc.reports.finance.workbook import write_finance_workbook, write_table_workbook
from costalloc.reports.serving.read_only import open_read_only, read_only
from costalloc.reports.serving.web import WebFiles, create_web_app
from costalloc.sql import load

log = logging.getLogger(__name__)

TOKENS_VARIABLE = "COSTALLOC_API_TOKENS"
MIN_TOKEN_LENGTH = 16
BATCH_ROWS = 50_000
MAX_PERIODS = 36  # a request spans at most three years of billing periods
DEFAULT_SUMMARY_GROUPS = ("environment", "workstream", "cost_type")
_AMOUNTS = ("BilledCost", "EffectiveCost")
_GROUPABLE = {name.lower(): name for name in GROUPABLE_COLUMNS}
_DATA_PARAMETERS = ("period", "to", "group_by", "limit", "offset", "token")
_SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class BadRequest(Exception):
    """A request parameter that can't be used: 400 with what was wrong and what is allowed."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


def tokens_from_environment(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The API tokens from `COSTALLOC_API_TOKENS` (comma-separated); refuses none or weak ones."""
    raw = (os.environ if environ is None else environ).get(TOKENS_VARIABLE, "")
    return _checked_tokens([token.strip() for token in raw.split(",")])


def _checked_tokens(tokens: Sequence[str]) -> tuple[str, ...]:
    usable = tuple(token for token in tokens if token)
    if not usable:
        raise ConfigurationError(
            f"the endpoint needs at least one API token in `{TOKENS_VARIABLE}` (comma-separated), "
            "e.g. `export COSTALLOC_API_TOKENS=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')`; the endpoint did not start")
    short = [token for token in usable if len(token) < MIN_TOKEN_LENGTH]
    if short:
        raise ConfigurationError(
            f"{len(short)} of the {len(usable)} token(s) in `{TOKENS_VARIABLE}` are shorter than "
            f"{MIN_TOKEN_LENGTH} characters; use long random tokens (secrets.token_urlsafe(32)); "
            "the endpoint did not start")
    return usable


def create_app(warehouse_path: Path | str, tokens: Sequence[str],
               web: WebFiles | None = None, *,
               on_checkpoint: Checkpoint | None = None) -> FastAPI:
    """The endpoint over the DuckDB file at `warehouse_path`, accepting any of `tokens`, with
    the web view (reports/serving/web, reading `web`'s files) at `/` beside it.
    `on_checkpoint` is called in a workbook build's thread each time it checks that its client
    is still there (tests pause a build with it)."""
    accepted = [token.encode() for token in _checked_tokens(tokens)]
    warehouse = Path(warehouse_path)
    if not warehouse.is_file():
        raise ConfigurationError(f"no warehouse yet at `{warehouse}` (the file does not exist); "
                                 "load and allocate a period first (`costalloc backfill`)")

    def authorized(request: Request) -> None:
        supplied = _supplied_token(request)
        matched = False
        for token in accepted:  # every token compared, in constant time, whatever matches
            matched |= hmac.compare_digest(supplied, token)
        if not supplied or not matched:
            raise _Unauthorized()

    app = FastAPI(title="costalloc", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(authorized)])

    @app.exception_handler(_Unauthorized)
    def _unauthorized(request: Request, error: _Unauthorized) -> Response:
        return JSONResponse({"detail": "a valid token is required: `Authorization: Bearer "
                                       "<token>` or `?token=<token>`"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="costalloc"'})

    @app.exception_handler(BadRequest)
    def _bad_request(request: Request, error: BadRequest) -> Response:
        return JSONResponse({"detail": str(error), **error.extra}, status_code=400)

    @app.exception_handler(WarehouseBusyError)
    def _busy(request: Request, error: WarehouseBusyError) -> Response:
        return JSONResponse({"detail": "the warehouse is being updated; try again in a minute"},
                            status_code=503, headers={"Retry-After": "60"})

    @app.middleware("http")
    async def _log_and_protect(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.monotonic()
        try:
            response = await call_next(request)
        except Exception:  # a defect: logged here, never a traceback to the caller
            log.exception("%s %s failed", request.method, request.url.path)
            response = JSONResponse({"detail": "internal error; the server log has the details"},
                                    status_code=500)
        response.headers.update(_SECURITY_HEADERS)
        # The path only: the query string may carry a token.
        log.info("%s %s %d %.0f ms", request.method, request.url.path, response.status_code,
                 (time.monotonic() - started) * 1000)
        return response

    @app.get("/periods")
    def periods(request: Request) -> dict[str, Any]:
        _known_parameters(request, ("token",))
        with read_only(warehouse) as con:
            rows = con.sql(load("reports/finance_allocations"),
                           params={"first_period": "0000-01", "last_period": "9999-12"})
            names = rows.columns
            published = [dict(zip(names, row, strict=True)) for row in rows.fetchall()]
        return {"periods": [{
            "period": p["x_billing_period"],
            "allocation_run_id": p["x_allocation_run_id"],
            "rules_version": p["x_rules_version"],
            "published_at": p["x_published_at"].isoformat() if p["x_published_at"] else None,
            "line_items": p["x_line_items"],
            "allocated_rows": p["x_allocated_rows"],
            "latest_attempt": p["x_latest_status"],
        } for p in published if p["x_allocation_run_id"] is not None]}

    @app.get("/allocated.csv")
    def allocated_csv(request: Request) -> Response:
        query = _Query.parse(request, default_groups=())
        con = open_read_only(warehouse)
        try:
            reader = query.reader(con)
        except BaseException:
            con.close()
            raise
        return StreamingResponse(_closing(csv_chunks(reader, reader.schema), con),
                                 media_type="text/csv; charset=utf-8",
                                 headers=_disposition(f"allocated_{query.span}.csv"))

    @app.get("/allocated.xlsx")
    async def allocated_xlsx(request: Request) -> Response:
        query = _Query.parse(request, default_groups=())
        folder = Path(tempfile.mkdtemp(prefix="costalloc-xlsx-"))
        target = folder / f"allocated_{query.span}.xlsx"
        try:
            with read_only(warehouse) as con:
                built = await _build_while_connected(
                    request, con, lambda checkpoint: _write_xlsx(con, query, target, checkpoint),
                    on_checkpoint)
        except BaseException:
            _remove(folder)
            raise
        if not built:
            _remove(folder)
            log.info("GET %s: the client went away; the workbook build stopped", request.url.path)
            return Response(status_code=499)  # nobody is listening; for the log only
        return FileResponse(target, filename=target.name, background=BackgroundTask(_remove, folder),
                            media_type="application/vnd.openxmlformats-officedocument."
                                       "spreadsheetml.sheet")

    @app.get("/summary.json")
    def summary_json(request: Request) -> dict[str, Any]:
        query = _Query.parse(request, default_groups=DEFAULT_SUMMARY_GROUPS)
        with read_only(warehouse) as con:
            table = query.reader(con).read_all()
        rows = table.to_pylist()
        totals: dict[str, dict[str, Any]] = {}
        for row in rows:
            total = totals.setdefault(row["BillingCurrency"], {
                "BillingCurrency": row["BillingCurrency"], "x_allocated_rows": 0,
                **{name: Decimal(0) for name in _AMOUNTS}})
            total["x_allocated_rows"] += row["x_allocated_rows"]
            for name in _AMOUNTS:
                total[name] += row[name]
        return {"first_period": str(query.first), "last_period": str(query.last),
                "group_by": list(query.group_by),
                "rows": [_json_row(row) for row in rows],
                "totals": [_json_row(totals[c]) for c in sorted(totals)]}

    # Last: the routes above answer first; everything else is the web view (its own sign-in).
    app.mount("/", create_web_app(warehouse, _checked_tokens(tokens), web))
    return app


def _write_xlsx(con: duckdb.DuckDBPyConnection, query: _Query, target: Path,
                checkpoint: Checkpoint) -> None:
    """The finance workbook, or the groups the query asks for on one sheet."""
    if query.group_by:
        table = query.reader(con).read_all()
        write_table_workbook(target, pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches()), table.num_rows, title="Allocated",
            checkpoint=checkpoint)
    else:
        write_finance_workbook(con, query.first, query.last, target, checkpoint=checkpoint)


class _ClientGone(Exception):
    """Raised at a build's checkpoint once its client has disconnected."""


async def _build_while_connected(request: Request, con: duckdb.DuckDBPyConnection,
                                 build: Callable[[Checkpoint], None],
                                 on_checkpoint: Checkpoint | None) -> bool:
    """Run `build` in a worker thread while watching the connection. If the client goes away,
    the running query is interrupted and the build stops at its next checkpoint; returns
    whether the build finished."""
    gone = threading.Event()

    def checkpoint() -> None:
        if on_checkpoint is not None:
            on_checkpoint()
        if gone.is_set():
            raise _ClientGone

    async def watch() -> None:
        try:
            while (await request.receive())["type"] != "http.disconnect":
                pass  # the (empty) request body; the next message comes when the client leaves
        except Exception:  # a connection that can't be watched is not a client gone
            log.debug("GET %s: the connection can't be watched", request.url.path, exc_info=True)
            return
        gone.set()
        con.interrupt()
        log.info("GET %s: client disconnected", request.url.path)  # after: the build sees it

    failed: list[Exception] = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch)
        try:
            await anyio.to_thread.run_sync(build, checkpoint)
        except Exception as error:  # raised below, outside the group, which would wrap it
            failed.append(error)
        finally:
            tasks.cancel_scope.cancel()
    if failed and not (gone.is_set()
                       and isinstance(failed[0], (_ClientGone, duckdb.InterruptException))):
        raise failed[0]
    return not gone.is_set()


def run_server(warehouse_path: Path | str, tokens: Sequence[str], *, host: str = "127.0.0.1",
               port: int = 8765, web: WebFiles | None = None) -> None:
    """Serve until interrupted. uvicorn's access log is off: it would log `?token=` values."""
    import uvicorn

    app = create_app(warehouse_path, tokens, web)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not _is_loopback(host):
        log.warning("serving on %s over plain HTTP: put a TLS-terminating proxy in front of it "
                    "before a token crosses a network", host)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")


# --- requests ---------------------------------------------------------------------------------

class _Unauthorized(Exception):
    pass


def _supplied_token(request: Request) -> bytes:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip().encode()
    return request.query_params.get("token", "").encode()


class _Query:
    """The parameters every data route shares, checked; nothing here is ever SQL text."""

    def __init__(self, first: BillingPeriod, last: BillingPeriod, group_by: tuple[str, ...],
                 limit: int | None, offset: int) -> None:
        self.first, self.last, self.group_by = first, last, group_by
        self.limit, self.offset = limit, offset

    @property
    def span(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}_{self.last}"

    @classmethod
    def parse(cls, request: Request, *, default_groups: tuple[str, ...]) -> _Query:
        params = _known_parameters(request, _DATA_PARAMETERS)
        if not params.get("period"):
            raise BadRequest("`period` is required, as YYYY-MM (e.g. period=2026-10)")
        first = _period("period", params["period"])
        last = _period("to", params["to"]) if params.get("to") else first
        if last < first:
            raise BadRequest(f"`to` ({last}) is before `period` ({first})")
        if len(first.through(last)) > MAX_PERIODS:
            raise BadRequest(f"at most {MAX_PERIODS} billing periods per request")
        raw_groups = params.get("group_by", "")
        group_by = _groups(raw_groups) if raw_groups.strip() else default_groups
        return cls(first, last, group_by, _count("limit", params.get("limit")),
                   _count("offset", params.get("offset")) or 0)

    def reader(self, con: duckdb.DuckDBPyConnection) -> pa.RecordBatchReader:
        """The rows (no grouping) or groups this query asks for, streamed."""
        params: dict[str, Any] = {"first_period": str(self.first), "last_period": str(self.last),
                                  "limit": self.limit, "offset": self.offset}
        if not self.group_by:
            return con.sql(load("reports/allocated_page"), params=params).to_arrow_reader(
                BATCH_ROWS)
        params |= {f"by_{name}": name in self.group_by for name in GROUPABLE_COLUMNS}
        grouped = con.sql(load("reports/allocated_grouped"), params=params).to_arrow_reader(
            BATCH_ROWS)
        keep = [*self.group_by, "BillingCurrency", "x_allocated_rows", *_AMOUNTS]
        schema = pa.schema([grouped.schema.field(name) for name in keep])
        return pa.RecordBatchReader.from_batches(
            schema, (batch.select(keep) for batch in grouped))


def _known_parameters(request: Request, known: Sequence[str]) -> dict[str, str]:
    """The query parameters, each given once and each one the route knows; empty ones dropped
    (a spreadsheet's URL template may leave a value blank)."""
    params = request.query_params
    unknown = [name for name in params if name not in known]
    if unknown:
        raise BadRequest(f"unknown parameter `{_shown(unknown[0])}`; this route takes "
                         f"{', '.join(f'`{name}`' for name in known)}", allowed=list(known))
    repeated = [name for name in dict.fromkeys(params) if len(params.getlist(name)) > 1]
    if repeated:
        raise BadRequest(f"`{repeated[0]}` is given {len(params.getlist(repeated[0]))} times; "
                         "give it once")
    return {name: value for name, value in params.items() if value != ""}


def _shown(text: str) -> str:
    """A caller's text quoted back: short, on one line."""
    return text[:40].encode("unicode_escape").decode("ascii")


def _period(name: str, text: str) -> BillingPeriod:
    try:
        return BillingPeriod.parse(text)
    except ValueError as error:
        if "impossible" in str(error):
            raise BadRequest(f"`{name}` {_shown(text)} is impossible: months run 01 to 12 "
                             "(YYYY-MM)") from None
        raise BadRequest(f"`{name}` must be a billing period YYYY-MM (e.g. 2026-10)") from None


def _groups(text: str) -> tuple[str, ...]:
    requested = [name.strip() for name in text.split(",") if name.strip()]
    if not requested:
        raise BadRequest(f"`group_by` names no column; use one or more of "
                         f"{', '.join(GROUPABLE_COLUMNS)}, or leave it out",
                         allowed=list(GROUPABLE_COLUMNS))
    unknown = [name for name in requested if name.lower() not in _GROUPABLE]
    if unknown:
        raise BadRequest(f"`group_by` can't use {len(unknown)} column(s) (first: "
                         f"`{_shown(unknown[0])}`); allowed: {', '.join(GROUPABLE_COLUMNS)}",
                         allowed=list(GROUPABLE_COLUMNS))
    return tuple(dict.fromkeys(_GROUPABLE[name.lower()] for name in requested))


def _count(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 12:  # `²` is a digit to Python
        raise BadRequest(f"`{name}` must be a whole number of rows (0 or more), written 0-9")
    return int(text)


# --- responses --------------------------------------------------------------------------------



def _closing(chunks: Iterator[bytes], con: duckdb.DuckDBPyConnection) -> Iterator[bytes]:
    """Stream `chunks`, then close the request's connection (also when the client goes away)."""
    try:
        yield from chunks
    finally:
        con.close()


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="{filename}"'}


def _json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Money as exact decimal strings: a JSON number would round it through a double."""
    return {key: (format(value, "f") if isinstance(value, Decimal) else value)
            for key, value in row.items()}


def _remove(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
    folder.rmdir()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
