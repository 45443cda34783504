"""Breaches fire once per budget line × threshold × period, are published as Markdown and
announced to a webhook (a real local HTTP server) as Slack-compatible JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from costalloc.core.errors import ConfigurationError
from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.breaches import breach_markdown, evaluate_thresholds
from costalloc.reports.planning.budgets import Budgets, budgets_from_mapping
from costalloc.reports.planning.notify import (
    WEBHOOK_VARIABLE,
    NotificationError,
    notify,
    slack_payload,
    webhook_url_from_env,
)
from tests.reports.planning.budget_data import daily, spend

OCT, NOV = BillingPeriod(2026, 10), BillingPeriod(2026, 11)
D = Decimal


@pytest.fixture
def budgets() -> Budgets:
    return budgets_from_mapping({
        "currency": "USD",
        "lines": [{"id": "experiments", "owner": "ml-lead@acme.example",
                   "dimensions": {"workstream": "experimentation"},
                   "amounts": [{"from": "2026-10", "monthly": 1000}]},
                  {"id": "quiet", "owner": "o", "dimensions": {"workstream": "risk_compliance"},
                   "amounts": [{"from": "2026-10", "monthly": 1000}]}],
        "pilots": [{"id": "rag-pilot", "owner": "ml-lead@acme.example", "start": "2026-10-01",
                    "end": "2026-10-10", "cap": 500, "thresholds": [100],
                    "dimensions": {"workstream": "experimentation", "cost_center": "CC-3200"}}]})


def _keys(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, Decimal]]:
    return [(str(p), str(b), str(k), D(t)) for p, b, k, t in con.sql(
        "select billing_period, budget_id, kind, threshold_percent from budget_breaches "
        "order by all").fetchall()]


def test_a_threshold_fires_once_per_period_and_again_in_the_next(
        warehouse: duckdb.DuckDBPyConnection, budgets: Budgets) -> None:
    daily(warehouse, "2026-10", {d: "85" for d in range(1, 11)})  # 850: past 80 % of 1,000
    first = evaluate_thresholds(warehouse, budgets, [OCT], "run-1")
    assert [(b.budget_id, b.kind, b.threshold) for b in first] == [
        ("experiments", "budget", D(80))]
    assert first[0].actual == D(850) and first[0].limit == D(1000)
    assert first[0].message == ("`experiments` (workstream=experimentation) reached 80% of its "
                                "2026-10 budget: 850.00 of 1,000.00 USD EffectiveCost (85.0%)")

    assert evaluate_thresholds(warehouse, budgets, [OCT], "run-2") == []  # nothing new

    spend(warehouse, "2026-10-11", "200")  # 1,050: now past 100 % too, 80 % stays recorded
    second = evaluate_thresholds(warehouse, budgets, [OCT], "run-3")
    assert [(b.kind, b.threshold) for b in second] == [("budget", D(100))]

    daily(warehouse, "2026-11", {1: "900"})  # November: its own 80 % crossing
    third = evaluate_thresholds(warehouse, budgets, [OCT, NOV], "run-4")
    assert [(str(b.period), b.threshold) for b in third] == [("2026-11", D(80))]
    assert _keys(warehouse) == [("2026-10", "experiments", "budget", D(80)),
                                ("2026-10", "experiments", "budget", D(100)),
                                ("2026-11", "experiments", "budget", D(80))]
    run_ids = [r[0] for r in warehouse.sql(
        "select run_id from budget_breaches order by billing_period, threshold_percent"
    ).fetchall()]
    assert run_ids == ["run-1", "run-3", "run-4"]


def test_a_pilot_past_its_end_and_over_its_cap_fires_once(
        warehouse: duckdb.DuckDBPyConnection, budgets: Budgets) -> None:
    daily(warehouse, "2026-10", {d: "60" for d in range(1, 13)}, cost_center="CC-3200")
    new = evaluate_thresholds(warehouse, budgets, [OCT], "run-1",
                              now=datetime(2026, 10, 13, 3, tzinfo=UTC))
    pilot = {b.kind: b for b in new if b.budget_id == "rag-pilot"}
    assert set(pilot) == {"pilot_cap", "pilot_end"}
    assert (pilot["pilot_cap"].actual, pilot["pilot_cap"].limit) == (D(720), D(500))
    assert pilot["pilot_end"].actual == D(120)  # the 11th and 12th
    assert pilot["pilot_end"].message == ("pilot `rag-pilot` ended 2026-10-10 but 120.00 USD "
                                          "EffectiveCost was spent after it in 2026-10")
    assert evaluate_thresholds(warehouse, budgets, [OCT], "run-2") == []
    # November: the pilot spent nothing, so it is not announced again
    daily(warehouse, "2026-11", {1: "10"}, workstream="platform_build")
    assert evaluate_thresholds(warehouse, budgets, [NOV], "run-3") == []


def test_breaches_as_a_markdown_artifact(warehouse: duckdb.DuckDBPyConnection,
                                         budgets: Budgets) -> None:
    daily(warehouse, "2026-10", {d: "120" for d in range(1, 11)}, cost_center="CC-3200")
    markdown = breach_markdown(evaluate_thresholds(warehouse, budgets, [OCT], "run-1"))
    lines = markdown.splitlines()
    assert lines[0] == "## Budget breaches: 3 new"
    assert lines[2].startswith("| period | budget / pilot | owner | crossed |")
    assert "| 2026-10 | `experiments` | ml-lead@acme.example | 100% of budget | 1,200.00 | " \
           "1,000.00 | USD |" in markdown
    assert "| 2026-10 | `rag-pilot` | ml-lead@acme.example | 100% of cap | 1,200.00 | 500.00 |" \
        in markdown
    assert "No budget threshold" in breach_markdown([])


def test_new_breaches_are_posted_once_as_slack_compatible_json(
        warehouse: duckdb.DuckDBPyConnection, budgets: Budgets, httpserver: HTTPServer) -> None:
    received: list[dict[str, object]] = []

    def slack(request: Request) -> Response:
        received.append(json.loads(request.get_data()))
        return Response("ok", status=200, content_type="text/plain")

    httpserver.expect_request("/services/T000/B000/XXXX", method="POST").respond_with_handler(
        slack)
    url = httpserver.url_for("/services/T000/B000/XXXX")
    daily(warehouse, "2026-10", {d: "90" for d in range(1, 11)})
    assert notify(evaluate_thresholds(warehouse, budgets, [OCT], "run-1"), url) is True
    assert notify(evaluate_thresholds(warehouse, budgets, [OCT], "run-2"), url) is False
    assert len(received) == 1  # the second evaluation found nothing new: nothing was sent
    request = httpserver.log[0][0]
    assert request.headers["Content-Type"].startswith("application/json")
    payload = received[0]
    assert str(payload["text"]).startswith("costalloc: 1 budget breach(es) in 2026-10")
    assert "reached 80% of its 2026-10 budget: 900.00 of 1,000.00 USD" in str(payload["text"])
    blocks = payload["blocks"]
    assert isinstance(blocks, list) and blocks[0]["type"] == "header"
    assert blocks[1]["text"]["type"] == "mrkdwn"
    assert "*experiments* (workstream=experimentation), owner ml-lead@acme.example" in (
        blocks[1]["text"]["text"])


def test_a_failing_webhook_is_reported_without_its_url(
        warehouse: duckdb.DuckDBPyConnection, budgets: Budgets, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook-secret-token").respond_with_data("no", status=500)
    daily(warehouse, "2026-10", {d: "90" for d in range(1, 11)})
    breaches = evaluate_thresholds(warehouse, budgets, [OCT], "run-1")
    with pytest.raises(NotificationError) as raised:
        notify(breaches, httpserver.url_for("/hook-secret-token"))
    assert "HTTP 500" in str(raised.value) and WEBHOOK_VARIABLE in str(raised.value)
    assert "secret" not in str(raised.value) and "127.0.0.1" not in str(raised.value)
    httpserver.clear()
    unreachable = httpserver.url_for("/hook-secret-token")
    httpserver.stop()
    try:
        with pytest.raises(NotificationError) as raised:
            notify(breaches, unreachable, timeout=2)
        assert "could not be reached" in str(raised.value) and "secret" not in str(raised.value)
    finally:
        httpserver.start()
    with pytest.raises(ConfigurationError, match="scheme is `file`"):
        notify(breaches, "file:///etc/passwd")


def test_the_webhook_comes_from_the_environment_and_is_optional() -> None:
    assert webhook_url_from_env({}) is None
    assert webhook_url_from_env({WEBHOOK_VARIABLE: "  "}) is None
    assert webhook_url_from_env({WEBHOOK_VARIABLE: "https://hooks.example/x"}) == (
        "https://hooks.example/x")
    assert notify([], "https://hooks.example/x") is False  # nothing new: nothing sent
    assert slack_payload([])["text"] == "costalloc: no new budget breaches"
