"""`azure-cost-details` and the export functions against a fake ARM server (pytest-httpserver)
answering the documented REST shapes (`samples/azure/rest-api-examples-2025-03-01`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from azure.mgmt.costmanagement import CostManagementClient
from pytest_httpserver import HTTPServer
from werkzeug import Response

from costalloc.connectors.azure import (
    AzureExportConnector,
    CostDetailsConnector,
    export_runs,
    list_exports,
    run_export,
)
from costalloc.connectors.azure.errors import AzureThrottled
from costalloc.core.errors import SourceError, TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.azure_exports import EA_SCOPE, FolderSink, cost_rows, csv_bytes, write_export_run
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect

PERIOD = BillingPeriod(2026, 10)
SCOPE = "subscriptions/00000000-0000-0000-0000-000000000000"
PROVIDER = f"/{SCOPE}/providers/Microsoft.CostManagement"
OPERATION = f"{PROVIDER}/costDetailsOperationResults/7b2c6a4e-0d1f-4c3b-9a8e-1f2d3c4b5a69"
SAMPLES = Path(__file__).parents[2] / "samples" / "azure"
MakeClient = Callable[..., CostManagementClient]


def _connector(client: CostManagementClient, **options: object) -> CostDetailsConnector:
    settings = SourceSettings(name="azure-backfill", kind="azure-cost-details",
                              options={"scope": SCOPE, "poll_seconds": 0, **options})
    return CostDetailsConnector(settings, client=client)


def _accepted(server: HTTPServer) -> Response:
    location = server.url_for(OPERATION) + "?api-version=2025-03-01"
    return Response(status=202, headers={"Location": location, "Retry-After": "0"})


def _completed(server: HTTPServer, blobs: list[tuple[str, bytes]]) -> dict[str, object]:
    """The 200 body of a finished report, linking to `blobs` served by the fake."""
    links = []
    for name, data in blobs:
        path = f"/armreports/20261101/{name}"
        server.expect_request(path, method="GET").respond_with_data(data, content_type="text/csv")
        links.append({"blobLink": server.url_for(path) + "?sv=2020-05-31&sr=b&sig=s3cr3t",
                      "byteCount": len(data)})
    return {
        "id": OPERATION, "name": OPERATION.rsplit("/", 1)[-1], "status": "Completed",
        "manifest": {"manifestVersion": "2025-03-01", "dataFormat": "Csv",
                     "blobCount": len(links), "byteCount": sum(len(d) for _, d in blobs),
                     "compressData": False, "blobs": links,
                     "requestContext": {"requestScope": SCOPE, "requestBody": {
                         "metric": "ActualCost",
                         "timePeriod": {"start": "2026-10-01", "end": "2026-10-31"}}}},
        "validTill": "2026-11-02T08:08:46.1973252Z",
    }


def _report(server: HTTPServer, blobs: list[tuple[str, bytes]], *, polls: int = 1) -> None:
    """POST → 202 + Location; `polls` × 202; then 200 with the manifest."""
    server.expect_oneshot_request(f"{PROVIDER}/generateCostDetailsReport", method="POST"
                                  ).respond_with_response(_accepted(server))
    for _ in range(polls):
        server.expect_oneshot_request(OPERATION, method="GET").respond_with_response(
            _accepted(server))
    server.expect_oneshot_request(OPERATION, method="GET").respond_with_json(
        _completed(server, blobs))


def _sums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, Decimal, Decimal]]:
    rows = con.sql("select BillingCurrency, count(*), sum(BilledCost), sum(EffectiveCost) "
                   "from line_items group by 1").fetchall()
    return {currency: (count, billed, effective) for currency, count, billed, effective in rows}


def test_a_month_is_requested_polled_downloaded_and_loaded(
        httpserver: HTTPServer, make_arm_client: MakeClient, tmp_path: Path) -> None:
    rows = cost_rows("ea", "ActualCost", "2026-10")
    halves = [("part_1.csv", csv_bytes(rows.head(600))), ("part_2.csv", csv_bytes(rows.tail(640)))]
    _report(httpserver, halves, polls=2)
    con = connect(tmp_path / "w.duckdb")

    loaded = load_partition(con, _connector(make_arm_client()), PERIOD, "run-1")

    assert (loaded.outcome, loaded.rows) == ("loaded", rows.height)
    requests = [request for request, _ in httpserver.log]
    request_body = json.loads(requests[0].get_data())
    assert request_body == {"metric": "ActualCost",
                            "timePeriod": {"start": "2026-10-01", "end": "2026-10-31"}}
    assert [r.method for r in requests[:4]] == ["POST", "GET", "GET", "GET"]  # 202, 202, 200
    assert requests[0].headers["Authorization"] == "Bearer fake-token"
    downloads = [r for r in requests if r.path.startswith("/armreports/")]
    assert len(downloads) == 2 and all("Authorization" not in r.headers for r in downloads)
    files = con.sql("select distinct x_source_file from line_items order by 1").fetchall()
    assert files == [(httpserver.url_for("/armreports/20261101/part_1.csv"),),
                     (httpserver.url_for("/armreports/20261101/part_2.csv"),)]  # no SAS token
    logged = con.sql("select files from ingest_log").fetchall()[0][0]
    assert "sig=" not in logged


def test_throttling_is_retried_as_azure_asks(httpserver: HTTPServer, make_arm_client: MakeClient,
                                             tmp_path: Path) -> None:
    httpserver.expect_oneshot_request(f"{PROVIDER}/generateCostDetailsReport", method="POST"
                                      ).respond_with_response(
        Response(status=429, headers={"Retry-After": "0"}))
    rows = cost_rows("ea", "ActualCost", "2026-10")
    _report(httpserver, [("part_1.csv", csv_bytes(rows))])

    loaded = load_partition(connect(tmp_path / "w.duckdb"), _connector(make_arm_client(retries=2)), PERIOD,
                    "run-1")

    assert loaded.rows == rows.height
    assert [r.method for r, _ in httpserver.log[:2]] == ["POST", "POST"]


def test_throttling_that_outlasts_the_retries_is_transient_with_the_wait(
        httpserver: HTTPServer, make_arm_client: MakeClient) -> None:
    httpserver.expect_request(f"{PROVIDER}/generateCostDetailsReport", method="POST"
                              ).respond_with_json(
        {"error": {"code": "429", "message": "Too many requests. Please retry."}}, status=429,
        headers={"Retry-After": "17",
                 "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "17"})

    with pytest.raises(AzureThrottled) as raised:
        _connector(make_arm_client()).find_delivery(PERIOD)

    assert isinstance(raised.value, TransientError)
    assert raised.value.retry_after == 17
    assert str(raised.value) == (
        "azure-backfill 2026-10: requesting the ActualCost Cost Details report for "
        f"`{SCOPE}`: Azure throttled the request (HTTP 429); retry after 17 s")


def test_a_month_without_data_is_no_delivery(httpserver: HTTPServer, make_arm_client: MakeClient,
                                             tmp_path: Path) -> None:
    httpserver.expect_oneshot_request(f"{PROVIDER}/generateCostDetailsReport", method="POST"
                                      ).respond_with_response(_accepted(httpserver))
    httpserver.expect_oneshot_request(OPERATION, method="GET").respond_with_json(
        {"id": OPERATION, "status": "NoDataFound"})

    result = load_partition(connect(tmp_path / "w.duckdb"), _connector(make_arm_client()), PERIOD, "run-1")

    assert result.outcome == "no-delivery"


def test_an_expired_report_link_says_a_rerun_requests_a_new_one(
        httpserver: HTTPServer, make_arm_client: MakeClient, tmp_path: Path) -> None:
    _report(httpserver, [])
    completed = _completed(httpserver, [])
    expired = "/armreports/20261101/expired.csv"
    completed["manifest"]["blobs"] = [  # type: ignore[index]
        {"blobLink": httpserver.url_for(expired) + "?sv=2020-05-31&se=2026-11-01&sig=s3cr3t",
         "byteCount": 100}]
    httpserver.clear()
    httpserver.expect_oneshot_request(f"{PROVIDER}/generateCostDetailsReport", method="POST"
                                      ).respond_with_response(_accepted(httpserver))
    httpserver.expect_oneshot_request(OPERATION, method="GET").respond_with_json(completed)
    httpserver.expect_request(expired).respond_with_data(
        "<Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed"
        "</Message></Error>", status=403, content_type="application/xml")
    con = connect(tmp_path / "w.duckdb")

    with pytest.raises(SourceError) as raised:
        load_partition(con, _connector(make_arm_client()), PERIOD, "run-1")

    message = str(raised.value)
    assert message.startswith(f"azure-backfill 2026-10: downloading report blob "
                              f"`{httpserver.url_for(expired)}`: the report link expired")
    assert "valid until 2026-11-02T08:08:46" in message
    assert "a re-run requests a new report" in message and "sig=" not in message
    assert con.sql("select count(*) from line_items").fetchall() == [(0,)]
    assert con.sql("select status from ingest_log").fetchall() == [("failed",)]


def test_an_export_month_and_the_same_month_from_the_api_have_the_same_totals(
        httpserver: HTTPServer, make_arm_client: MakeClient, tmp_path: Path) -> None:
    rows = cost_rows("ea", "ActualCost", "2026-10")
    export = write_export_run(FolderSink(tmp_path / "container"), export_name="ea-actual",
                              scope=EA_SCOPE, dataset="ActualCost", period="2026-10",
                              submitted=datetime(2026, 11, 1, tzinfo=UTC), rows=rows, parts=2)
    exports = AzureExportConnector(SourceSettings(
        name="azure-export", kind="azure-export", uri=str(tmp_path / "container")))
    _report(httpserver, [("report.csv", csv_bytes(rows, bom=False))])
    from_export = connect(tmp_path / "export.duckdb")
    from_api = connect(tmp_path / "api.duckdb")

    load_partition(from_export, exports, PERIOD, "run-1")
    load_partition(from_api, _connector(make_arm_client()), PERIOD, "run-1")

    assert _sums(from_export) == _sums(from_api)
    assert _sums(from_api)["USD"][1] == export.totals["USD"]


EXPORT = {
    "id": f"{SCOPE}/providers/Microsoft.CostManagement/exports/daily-actual",
    "name": "daily-actual", "type": "Microsoft.CostManagement/exports",
    "properties": {
        "schedule": {"status": "Active", "recurrence": "Daily",
                     "recurrencePeriod": {"from": "2026-01-01T00:00:00Z"}},
        "format": "Csv",
        "deliveryInfo": {"destination": {
            "resourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
                          "finops/providers/Microsoft.Storage/storageAccounts/costexports",
            "container": "exports", "rootFolderPath": "costalloc"}},
        "definition": {"type": "ActualCost", "timeframe": "MonthToDate",
                       "dataSet": {"granularity": "Daily",
                                   "configuration": {"dataVersion": "2023-05-01"}}},
        "partitionData": True, "dataOverwriteBehavior": "CreateNewReport",
        "compressionMode": "gzip",
    },
}


def test_list_run_and_history_of_exports(httpserver: HTTPServer,
                                         make_arm_client: MakeClient) -> None:
    client = make_arm_client()
    httpserver.expect_request(f"{PROVIDER}/exports", method="GET").respond_with_json(
        {"value": [EXPORT]})
    httpserver.expect_request(f"{PROVIDER}/exports/daily-actual/run", method="POST"
                              ).respond_with_data("", status=200)
    history = json.loads((SAMPLES / "rest-api-examples-2025-03-01" /
                          "ExportRunHistoryGetBySubscription.json").read_text())
    httpserver.expect_request(f"{PROVIDER}/exports/daily-actual/runHistory", method="GET"
                              ).respond_with_json(history["responses"]["200"]["body"])

    exports = list_exports(client, f"/{SCOPE}")
    run_export(client, SCOPE, "daily-actual", BillingPeriod(2026, 9))
    runs = export_runs(client, SCOPE, "daily-actual")

    assert [e.describe() for e in exports] == [
        "daily-actual: ActualCost 2023-05-01, MonthToDate, Csv → exports/costalloc (Daily, Active)"]
    run_request = next(r for r, _ in httpserver.log if r.path.endswith("/run"))
    assert json.loads(run_request.get_data()) == {
        "timePeriod": {"from": "2026-09-01T00:00:00Z", "to": "2026-09-30T00:00:00Z"}}
    assert [(run.run_id, run.status, run.execution_type) for run in runs] == [
        ("11ac6811-dca3-46ad-b326-4704cf0c58ef", "Completed", "Scheduled"),
        ("1e25d58a-a3b0-4916-9542-6e04a89bc100", "Completed", "OnDemand")]


def test_an_unknown_export_is_a_source_error(httpserver: HTTPServer,
                                             make_arm_client: MakeClient) -> None:
    httpserver.expect_request(f"{PROVIDER}/exports/nope/run", method="POST").respond_with_json(
        {"error": {"code": "NotFound", "message": "Export 'nope' not found"}}, status=404)

    with pytest.raises(SourceError, match=r"running export `nope`: not found .*Export 'nope' not "
                                          r"found"):
        run_export(make_arm_client(), SCOPE, "nope", PERIOD)


def test_a_failed_report_is_a_source_error_with_azures_reason(
        httpserver: HTTPServer, make_arm_client: MakeClient) -> None:
    httpserver.expect_oneshot_request(f"{PROVIDER}/generateCostDetailsReport", method="POST"
                                      ).respond_with_response(_accepted(httpserver))
    httpserver.expect_oneshot_request(OPERATION, method="GET").respond_with_json(
        {"id": OPERATION, "status": "Failed",
         "error": {"code": "InternalError", "message": "The report could not be generated"}})

    with pytest.raises(SourceError, match=r"report for `subscriptions/0+-.*` \(ActualCost\) ended "
                                          r"`Failed`: The report could not be generated"):
        _connector(make_arm_client()).find_delivery(PERIOD)
