"""Blob storage misbehaving: the fault-injecting proxy (tests/faults/proxy.py) in front of
Azurite. Lasting throttling fails as transient (the flow retries with backoff) with nothing
published. (Passing faults are ridden out by the SDK's own retry policy; the S3 and BigQuery
fault tests cover that path for the pipeline.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.storage.blob import ContainerClient

from costalloc.connectors.azure import AzureExportConnector
from costalloc.core.errors import TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.azure_exports import write_demo_container
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect
from tests.faults.proxy import FaultSchedule, fault_proxy

PERIOD = BillingPeriod(2026, 10)
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")


def _through(proxy: str, container: ContainerClient, retries: int) -> AzureExportConnector:
    client = ContainerClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};BlobEndpoint={proxy}/devstoreaccount1;",
        container.container_name, retry_total=retries, retry_backoff_factor=0.01)
    settings = SourceSettings(name="azure-main", kind="azure-export",
                              uri=f"abfs://{container.container_name}/costalloc")
    return AzureExportConnector(settings, container_client=client)


def _upstream(azurite: str) -> str:
    endpoint = next(part for part in azurite.split(";") if part.startswith("BlobEndpoint="))
    return endpoint.removeprefix("BlobEndpoint=").rsplit("/", 2)[0].rstrip("/")


def test_lasting_throttling_is_transient_and_publishes_nothing(
        azurite: str, container: ContainerClient, tmp_path: Path) -> None:
    write_demo_container(container)
    con = connect(tmp_path / "w.duckdb")
    with (fault_proxy(_upstream(azurite), FaultSchedule([], forever="503")) as proxy,
          pytest.raises(TransientError, match=r"azure-main")):
        load_partition(con, _through(proxy, container, retries=1), PERIOD, "r")
    assert con.sql("select count(*) from line_items").fetchall() == [(0,)]
