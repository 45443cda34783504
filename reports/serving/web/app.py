"""The web view's routes: sign-in, the month page, drill-down, explain, downloads.

    GET  /sign-in              the only page served without a session (and /static/*)
    POST /sign-in              token + form token → session cookie
    POST /sign-out             form token → session closed
    GET  /                     → the newest published month
    GET  /month/{period}       the month page (?currency=USD&basis=BilledCost|EffectiveCost)
    GET  /month/{period}/items the allocated rows behind a cell, paged (filters as query)
    GET  /month/{period}/items/{source}/{line_item_id}   one line item's explain chain
    GET  /pull/{table}.{csv|xlsx|parquet}?period=…&currency=…   any table, exact amounts

Pages need the session cookie; downloads take the cookie or a token (a configured one or a
pull token, as `Authorization: Bearer` or `?token=`) so a spreadsheet can fetch them. Each
request opens its own read-only DuckDB connection and closes it when answered.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from costalloc.allocation.loader import load_rules
from costalloc.allocation.model import RuleSet
from costalloc.core.errors import ConfigurationError, CostallocError, WarehouseBusyError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings
from costalloc.reports.planning.budgets import Budgets, budgets_path_beside, load_budgets
from costalloc.reports.planning.forecast import Events, events_path_beside, load_events
from costalloc.reports.serving.read_only import open_read_only, read_only
from costalloc.reports.serving.web import amounts, charts, drill, pulls, sessions, views
from costalloc.reports.serving.web.month import BASES, Basis, MonthTotals, Run, build_month, published_runs
from costalloc.reports.serving.web.month_tables import TABLES, Column, Table

log = logging.getLogger(__name__)
_FORM_BYTES = 4096
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # URLs may carry ?token=: never sent to another site (and `no-referrer` would make the
    # browser send `Origin: null` with our own forms, which the cross-site check refuses).
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",  # cost data stays out of shared and browser caches
}


@dataclass(frozen=True)
class WebFiles:
    """The files beside the warehouse the web view reads: the rules (explain's descriptions,
    which rule would catch unallocated cost), budgets (the review) and events (the forecast)."""

    rules: Path | None = None
    budgets: Path | None = None
    events: Path | None = None


def web_files(settings: Settings, config_dir: Path) -> WebFiles:
    """The rules of `settings`, and the budgets and events files where `costalloc review` and
    `costalloc forecast` look for them (beside the rules, else beside the configuration)."""
    return WebFiles(settings.rules, budgets_path_beside(settings.rules, config_dir),
                    events_path_beside(settings.rules, config_dir))


class _Page(Exception):
    """An answer other than the page asked for: a status and a sentence for the person."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class _Companions:
    """The rules, budgets and events files, read again when they change on disk."""

    def __init__(self, files: WebFiles) -> None:
        self.files = files
        self._cache: dict[str, tuple[float, Any]] = {}

    def rules(self) -> RuleSet | None:
        return cast(RuleSet | None, self._read("rules", self.files.rules, load_rules))

    def budgets(self) -> Budgets | None:
        dimensions = self._dimensions()
        return cast(Budgets | None, self._read(
            "budgets", self.files.budgets, lambda path: load_budgets(path, dimensions)))

    def events(self) -> Events | None:
        dimensions = self._dimensions()
        return cast(Events | None, self._read(
            "events", self.files.events, lambda path: load_events(path, dimensions)))

    def problem(self, name: str) -> str | None:
        entry = self._cache.get(name)
        return entry[1] if entry and isinstance(entry[1], str) else None

    def _dimensions(self) -> dict[str, list[str]] | None:
        rules = self.rules()
        return dict(rules.dimensions) if rules is not None else None

    def _read(self, name: str, path: Path | None, reader: Callable[[Path], Any]) -> Any:
        if path is None or not path.is_file():
            return None
        stamp = path.stat().st_mtime
        cached = self._cache.get(name)
        if cached is None or cached[0] != stamp:
            try:
                value: Any = reader(path)
            except (ConfigurationError, CostallocError) as error:
                value = f"{path}: {error}"  # shown on the page; the rest still works
            self._cache[name] = (stamp, value)
        value = self._cache[name][1]
        return None if isinstance(value, str) else value


def create_web_app(warehouse: Path, tokens: Sequence[str], files: WebFiles | None = None,
                   *, keyring: sessions.Keyring | None = None) -> FastAPI:
    """The web view over the DuckDB file at `warehouse`, signing in with any of `tokens`."""
    keys = keyring or sessions.Keyring(tokens)
    companions = _Companions(files or WebFiles())
    totals = MonthTotals(companions.rules())
    package = resources.files(__package__)
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(package.joinpath("templates"))),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    templates.filters["code"] = _code_spans
    templates.globals.update(label=charts.label, money=amounts.money, month_title=views.month_title,
                             percent=amounts.percent, exact=amounts.exact, colour=charts.colour)
    app = FastAPI(title="costalloc web", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(package.joinpath("static"))), name="static")

    @app.middleware("http")
    async def _headers(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = keys.session(request.cookies.get(sessions.SESSION_COOKIE))
        html = templates.get_template(name).render(
            session=session, sign_out_token=keys.sign_out_token(session) if session else "",
            path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(_Page)
    def _page(request: Request, error: _Page) -> Response:
        return render(request, "message.html", error.status, title=error.title,
                      message=error.message)

    @app.exception_handler(StarletteHTTPException)
    def _not_found(request: Request, error: StarletteHTTPException) -> Response:
        if "authorization" in request.headers:  # an API client: the answer the API always gave
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        if keys.session(request.cookies.get(sessions.SESSION_COOKIE)) is None:
            return RedirectResponse(f"/sign-in?next={quote(request.url.path, safe='')}", 303)
        return render(request, "message.html", error.status_code, title="Not here",
                      message="There is no such page. Pick a month from the list.")

    @app.exception_handler(WarehouseBusyError)
    def _busy(request: Request, error: WarehouseBusyError) -> Response:
        response = render(request, "message.html", 503, title="The warehouse is being updated",
                          message="The nightly run is writing to the warehouse. Try again in a "
                                  "minute; nothing you were looking at has changed.")
        response.headers["Retry-After"] = "60"
        return response

    # --- signing in and out -------------------------------------------------------------------

    @app.get("/sign-in")
    def sign_in_form(request: Request) -> Response:
        if keys.session(request.cookies.get(sessions.SESSION_COOKIE)):
            return RedirectResponse(sessions.safe_next(request.query_params.get("next")), 303)
        return _sign_in_page(request, render, 200, None)

    @app.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        if sessions.cross_site(request):
            raise _Page(403, "Refused", "A sign-in from another site was refused.")
        form = await _form(request)
        if not sessions.same_form_token(request.cookies.get(sessions.SIGN_IN_COOKIE),
                                        form.get("form_token")):
            return _sign_in_page(request, render, 400, "The sign-in form had expired. Enter "
                                 "your token again.", form.get("next"))
        slot = keys.slot_of(form.get("token", "").strip())
        if slot is None:
            log.warning("web sign-in refused: not an accepted token")
            return _sign_in_page(request, render, 401, "That token is not one this server "
                                 "accepts.", form.get("next"))
        _, cookie = keys.open(slot)
        response = RedirectResponse(sessions.safe_next(form.get("next")), 303)
        response.set_cookie(sessions.SESSION_COOKIE, cookie, max_age=keys.lifetime, path="/",
                            httponly=True, samesite="strict", secure=sessions.is_https(request))
        response.delete_cookie(sessions.SIGN_IN_COOKIE, path="/", httponly=True,
                               samesite="strict", secure=sessions.is_https(request))
        return response

    @app.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        if sessions.cross_site(request):
            raise _Page(403, "Refused", "A sign-out from another site was refused.")
        session = keys.session(request.cookies.get(sessions.SESSION_COOKIE))
        form = await _form(request)
        if session is not None:
            if not sessions.same_form_token(keys.sign_out_token(session), form.get("form_token")):
                raise _Page(400, "Not signed out", "The sign-out form was not this session's.")
            keys.close(session)
        response = RedirectResponse("/sign-in", 303)
        response.delete_cookie(sessions.SESSION_COOKIE, path="/", httponly=True,
                               samesite="strict", secure=sessions.is_https(request))
        return response

    def signed_in(request: Request) -> sessions.Session:
        session = keys.session(request.cookies.get(sessions.SESSION_COOKIE))
        if session is None:
            raise _SignIn(request.url.path + (f"?{request.url.query}" if request.url.query
                                              else ""))
        return session

    @app.exception_handler(_SignIn)
    def _to_sign_in(request: Request, error: _SignIn) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(error.target, safe='')}", 303)

    # --- pages --------------------------------------------------------------------------------

    @app.get("/")
    def home(request: Request) -> Response:
        signed_in(request)
        with read_only(warehouse) as con:
            runs = published_runs(con)
        if not runs:
            raise _Page(404, "Nothing published yet", "No billing period has a published "
                        "allocation. Load and allocate one (`costalloc run` or `costalloc "
                        "backfill`), then reload this page.")
        return RedirectResponse(f"/month/{runs[-1].period}", 303)

    @app.get("/month")
    def month_picker(request: Request) -> Response:
        signed_in(request)
        period = _period(request.query_params.get("period", ""))
        query = {k: v for k, v in request.query_params.items() if k in ("currency", "basis")}
        return RedirectResponse(f"/month/{period}" + (f"?{urlencode(query)}" if query else ""),
                                303)

    @app.get("/month/{period}")
    def month_page(request: Request, period: str) -> Response:
        session = signed_in(request)
        wanted = _period(period)
        basis = _basis(request.query_params.get("basis"))
        with read_only(warehouse) as con:
            runs = published_runs(con)
            run = _run(runs, wanted)
            month = build_month(con, totals, runs, run, request.query_params.get("currency"),
                                basis=basis, budgets=companions.budgets(),
                                events=companions.events())
        query = {"period": str(wanted), "currency": month.currency, "basis": basis}
        base = str(request.base_url)
        token = keys.pull_token(session)
        drill_url = f"/month/{wanted}/items?{urlencode({'currency': month.currency})}"
        shown = {name: views.show(build(month), drill=drill_url, base_url=base, pull_token=token,
                                  pull=f"/pull/{name}?{urlencode(query)}")
                 for name, build in TABLES.items()}
        charts_shown = {
            "allocation": views.allocation_chart(month, basis),
            "capex": views.capex_chart(month, basis),
            "unallocated": views.unallocated_chart(month, basis) if month.services else None,
            "trend": views.trend_chart(month, basis),
            "budgets": views.budget_chart(month),
            "forecast": views.forecast_chart(month) if month.forecast else None,
        }
        return render(request, "month.html", month=month, runs=runs, basis=basis, bases=BASES,
                      tables=shown, charts=charts_shown, drill_url=drill_url,
                      budgets_problem=companions.problem("budgets"),
                      events_problem=companions.problem("events"),
                      budgets_file=companions.files.budgets)

    @app.get("/month/{period}/items")
    def items_page(request: Request, period: str) -> Response:
        session = signed_in(request)
        wanted = _period(period)
        currency = _currency(request.query_params.get("currency"))
        cell = _cell(request.query_params)
        offset = _count("offset", request.query_params.get("offset")) or 0
        with read_only(warehouse) as con:
            runs = published_runs(con)
            run = _run(runs, wanted)
            found = drill.page(con, wanted, currency, cell, offset)
        query = {"period": str(wanted), "currency": currency, **cell.query()}
        table = _items_table(found, cell)
        shown = views.show(table, drill=None, pull=f"/pull/items?{urlencode(query)}",
                           base_url=str(request.base_url), pull_token=keys.pull_token(session))
        here = f"/month/{wanted}/items?{urlencode({'currency': currency, **cell.query()})}"
        back = here + (f"&offset={offset}" if offset else "")
        for row, cells in zip(found.rows, shown.rows, strict=True):
            explain = (f"/month/{wanted}/items/{quote(row['x_source'], safe='')}/"
                       f"{row['x_line_item_id']}?{urlencode({'back': back})}")
            cells[0] = dataclasses.replace(cells[0], href=explain)
        return render(request, "items.html", run=run, runs=runs, currency=currency, cell=cell,
                      page=found, table=shown, here=here, page_rows=drill.PAGE_ROWS,
                      month_url=f"/month/{wanted}?{urlencode({'currency': currency})}")

    @app.get("/month/{period}/items/{source}/{line_item_id}")
    def item_page(request: Request, period: str, source: str, line_item_id: str) -> Response:
        signed_in(request)
        wanted = _period(period)
        if not line_item_id.isdigit() or len(line_item_id) > 19 or len(source) > 64:
            raise _Page(404, "No such line item", "A line item is named by its source and "
                        "its numeric id.")
        with read_only(warehouse) as con:
            runs = published_runs(con)
            run = _run(runs, wanted)
            try:
                item = drill.explained(con, wanted, source, int(line_item_id), companions.rules())
            except CostallocError as error:
                raise _Page(404, "No such line item", str(error)) from None
        back = request.query_params.get("back")
        return render(request, "item.html", run=run, runs=runs, item=item,
                      back=sessions.safe_next(back) if back else None,
                      lines=item.text.splitlines())

    # --- downloads ----------------------------------------------------------------------------

    @app.get("/pull/{name}.{fmt}")
    def pull(request: Request, name: str, fmt: str) -> Response:
        if not _pull_allowed(request, keys):
            return PlainTextResponse(
                "a valid token is required: sign in, or pass `Authorization: Bearer <token>` "
                "or `?token=<token>` (an API token or the pull token the web view shows)",
                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="costalloc"'})
        chosen = next((f for f in pulls.FORMATS if f == fmt), None)
        if chosen is None:
            raise _Page(400, "Unknown format", f"`{fmt[:20]}`: downloads are csv, xlsx or parquet.")
        if name != "items" and name not in TABLES:
            raise _Page(404, "No such table", f"`{name[:40]}` is not a table; tables: items, "
                        f"{', '.join(TABLES)}.")
        wanted = _period(request.query_params.get("period", ""))
        con = open_read_only(warehouse)
        try:
            runs = published_runs(con)
            run = _run(runs, wanted)
            stem = f"{name}_{wanted}"
            if name == "items":
                currency = _currency(request.query_params.get("currency"))
                batches = drill.reader(con, wanted, currency, _cell(request.query_params))
                return pulls.respond(batches, chosen, f"{stem}_{currency}",
                                     title="Line items", close=con.close)
            month = build_month(con, totals, runs, run, request.query_params.get("currency"),
                                basis=_basis(request.query_params.get("basis")),
                                budgets=companions.budgets(), events=companions.events())
            table = TABLES[name](month)
            return pulls.respond(pulls.reader(pulls.arrow(table)), chosen,
                                 f"{stem}_{month.currency}", title=table.title, close=con.close)
        except BaseException:
            con.close()
            raise

    return app


def _code_spans(text: str) -> Markup:
    """`text` escaped, with its `backticked` parts as code (explain's and the tables' notes)."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{part}</code>" if index % 2 else part
                          for index, part in enumerate(parts)))


class _SignIn(Exception):
    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def _sign_in_page(request: Request, render: Callable[..., HTMLResponse], status: int,
                  error: str | None, target: str | None = None) -> Response:
    form_token = request.cookies.get(sessions.SIGN_IN_COOKIE) or sessions.new_form_token()
    response = render(request, "sign_in.html", status, error=error, form_token=form_token,
                      next=sessions.safe_next(target or request.query_params.get("next")))
    response.set_cookie(sessions.SIGN_IN_COOKIE, form_token, max_age=sessions.SIGN_IN_SECONDS,
                        path="/", httponly=True, samesite="strict",
                        secure=sessions.is_https(request))
    return response


async def _form(request: Request) -> dict[str, str]:
    """A small url-encoded form (the sign-in and sign-out forms); anything else is refused."""
    if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        raise _Page(415, "Refused", "Forms are sent url-encoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _FORM_BYTES:
            raise _Page(413, "Refused", "That form is too large.")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _pull_allowed(request: Request, keys: sessions.Keyring) -> bool:
    if keys.session(request.cookies.get(sessions.SESSION_COOKIE)) is not None:
        return True
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    supplied = value.strip() if scheme.lower() == "bearer" else request.query_params.get(
        "token", "")
    return keys.pull_allowed(supplied)


def _period(text: str) -> BillingPeriod:
    try:
        return BillingPeriod.parse(text)
    except ValueError:
        raise _Page(400, "Not a billing period", "A billing period is written YYYY-MM, "
                    "e.g. 2026-10.") from None


def _run(runs: Sequence[Run], period: BillingPeriod) -> Run:
    for run in runs:
        if run.period == period:
            return run
    raise _Page(404, f"{period} is not published", f"No allocation of {period} is published. "
                "Pick a month from the list, or allocate it (`costalloc reallocate --period "
                f"{period}`).")


def _basis(text: str | None) -> Basis:
    if text in (None, ""):
        return "EffectiveCost"
    for basis in BASES:
        if basis == text:
            return basis
    raise _Page(400, "Unknown basis", "`basis` is BilledCost or EffectiveCost.")


def _currency(text: str | None) -> str:
    if not text or len(text) != 3 or not text.isalpha() or not text.isupper():
        raise _Page(400, "Which currency?", "`currency` is an ISO 4217 code, e.g. USD.")
    return text


def _cell(params: Mapping[str, str]) -> drill.Cell:
    try:
        return drill.Cell.parse(params)
    except drill.FilterError as error:
        raise _Page(400, "Not a cell", str(error)) from None


def _count(name: str, text: str | None) -> int | None:
    if text in (None, ""):
        return None
    assert text is not None
    if not text.isdigit() or len(text) > 12:
        raise _Page(400, "Not a number", f"`{name}` is a whole number of rows.")
    return int(text)


def _items_table(found: drill.Page, cell: drill.Cell) -> Table:
    """The page's rows as shown, without the dimensions the cell pins (the download holds
    every column of the cell's rows)."""
    pinned = dict(cell.values)
    dimensions = [(name, heading) for name, heading in (
        ("environment", "Environment"), ("workstream", "Workstream"), ("cost_type", "Cost type"))
        if name not in pinned]
    table = Table("items", "Allocated rows", [
        Column("x_line_item_id", "Line item"), Column("ChargePeriodStart", "Charge day"),
        Column("SubAccountName", "Account"), Column("ServiceName", "Service"),
        Column("ChargeCategory", "Category"), *(Column(name, heading) for name, heading in dimensions),
        Column("x_split_rule", "Split"), Column("BilledCost", "BilledCost", "money"),
        Column("EffectiveCost", "EffectiveCost", "money")])
    for row in found.rows:
        table.add([f"{row['x_source']} #{row['x_line_item_id']}",
                   row["ChargePeriodStart"].strftime("%Y-%m-%d"),
                   row["SubAccountName"] or row["SubAccountId"], row["ServiceName"],
                   row["ChargeCategory"], *(row[name] for name, _ in dimensions),
                   row["x_split_rule"], row["BilledCost"], row["EffectiveCost"]])
    return table


