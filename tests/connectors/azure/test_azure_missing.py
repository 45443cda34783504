"""An Azure source pointed at nothing fails and says what was looked for; "no delivery yet" only
where the export exists without a run for the month. An endpoint that never answers fails
within the source's deadline, naming it. Against Azurite, local folders and a fake ARM server;
the clients are built the way production builds them (`connectors.azure.clients`)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from azure.storage.blob import ContainerClient
from pytest_httpserver import HTTPServer

from costalloc.connectors.azure import AzureExportConnector, CostDetailsConnector
from costalloc.connectors.azure.blobs import CONNECTION_STRING_VARIABLE
from costalloc.connectors.azure.clients import cost_management_client
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.azure_exports import write_demo_container, write_demo_month
from tests.connectors.azure.conftest import AZURITE_KEY, _AllowHttp, _FakeToken

OCTOBER, DECEMBER = BillingPeriod(2026, 10), BillingPeriod(2026, 12)
SCOPE = "subscriptions/00000000-0000-0000-0000-000000000000"
DEADLINE = 3


def _export(uri: str, **options: object) -> AzureExportConnector:
    return AzureExportConnector(SourceSettings(name="azure-main", kind="azure-export", uri=uri,
                                               options=options))


def test_a_missing_container_or_root_folder_is_named(
        azurite: str, container: ContainerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONNECTION_STRING_VARIABLE, azurite)  # the production client
    write_demo_container(container)
    account = container.url.rstrip("/").rsplit("/", 1)[0]
    name = container.container_name

    assert _export(f"abfs://{name}/costalloc").find_delivery(OCTOBER) is not None
    assert _export(f"abfs://{name}/costalloc").find_delivery(DECEMBER) is None  # no run yet
    with pytest.raises(SourceError) as no_container:
        _export("abfs://no-such-container/costalloc").find_delivery(OCTOBER)
    assert str(no_container.value).startswith(
        f"azure-main 2026-10: the container `no-such-container` does not exist in `{account}`: "
        f"the export was looked for at `{account}/no-such-container/costalloc`")
    with pytest.raises(SourceError, match=rf"the container `{name}` holds nothing under "
                       r"`costaloc/`: .*Check the source's `uri`; nothing was loaded"):
        _export(f"abfs://{name}/costaloc").find_delivery(OCTOBER)


def test_a_missing_local_folder_fails_and_an_empty_month_is_no_delivery(tmp_path: Path) -> None:
    write_demo_month(str(tmp_path / "exports"))

    assert _export(str(tmp_path / "exports")).find_delivery(DECEMBER) is None
    with pytest.raises(SourceError, match=rf"the folder `{tmp_path}/exprots` does not exist: the "
                       "export was looked for"):
        _export(str(tmp_path / "exprots")).find_delivery(OCTOBER)


def test_an_unknown_cost_details_scope_is_named(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        f"/{SCOPE}/providers/Microsoft.CostManagement/generateCostDetailsReport", method="POST"
    ).respond_with_json({"error": {"code": "SubscriptionNotFound", "message":
                                   f"The subscription '{SCOPE.rsplit('/', 1)[-1]}' could not be "
                                   "found."}}, status=404)
    base_url = httpserver.url_for("/").rstrip("/")

    with pytest.raises(SourceError) as raised:
        _cost_details(base_url).find_delivery(OCTOBER)
    assert str(raised.value).startswith(
        f"azure-backfill 2026-10: requesting the ActualCost Cost Details report for `{SCOPE}`: the "
        f"scope `{SCOPE}` does not exist at `{base_url.removeprefix('http://')}`")
    assert "SubscriptionNotFound" in str(raised.value)


def test_an_unreachable_blob_endpoint_fails_within_the_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv(CONNECTION_STRING_VARIABLE,
                       "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                       f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/"
                       "devstoreaccount1;")
    source = _export("abfs://exports/costalloc", retry_deadline_seconds=DEADLINE)

    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        source.find_delivery(OCTOBER)
    assert time.monotonic() - started < DEADLINE + 20
    assert str(raised.value).startswith(
        f"azure-main 2026-10: listing `http://127.0.0.1:{port}/devstoreaccount1/exports/costalloc`"
        f": could not reach `127.0.0.1:{port}`; tried for ")
    assert f"(`retry_deadline_seconds`: {DEADLINE})" in str(raised.value)


def test_an_unreachable_resource_manager_fails_within_the_deadline() -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}"

    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        _cost_details(base_url).find_delivery(OCTOBER)
    assert time.monotonic() - started < DEADLINE + 20
    assert f": could not reach `{base_url.removeprefix('http://')}`; tried for " in str(
        raised.value)


def _cost_details(base_url: str) -> CostDetailsConnector:
    """The connector with the client production builds, but a test token (over plain HTTP)."""
    settings = SourceSettings(name="azure-backfill", kind="azure-cost-details",
                              options={"scope": SCOPE, "poll_seconds": 0, "base_url": base_url,
                                       "retry_deadline_seconds": DEADLINE})
    client = cost_management_client(base_url=base_url, credential=_FakeToken(),
                                    deadline=DEADLINE, per_call_policies=[_AllowHttp()])
    return CostDetailsConnector(settings, client=client)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
