"""A source pointed at nothing fails and says what was looked for; "no delivery yet" only where
the export exists without rows for the month. And an unreachable endpoint fails within the
source's deadline. Against the BigQuery emulator and local dumps."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from costalloc.connectors.gcp import BigQueryExportConnector
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.gcp_billing import (
    create_export_table,
    generate_month,
    insert_rows,
    write_parquet_dump,
)

OCTOBER, DECEMBER = BillingPeriod(2026, 10), BillingPeriod(2026, 12)


def test_a_missing_table_or_dataset_is_named_and_an_empty_month_is_no_delivery(
        bq_client: bigquery.Client, new_table: Callable[[], str],
        table_source: Callable[..., BigQueryExportConnector]) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, generate_month("2026-10", seed=5, rows=50, late_rows=0).first)
    dataset, _, name = table.rpartition(".")

    assert table_source(table).find_delivery(DECEMBER) is None  # exists, nothing for December
    with pytest.raises(SourceError) as no_table:
        table_source(f"{dataset}.{name}_typo").find_delivery(OCTOBER)
    assert str(no_table.value).startswith(
        f"gcp-main 2026-10: the export table `{dataset}.{name}_typo` is not there: the dataset "
        f"`{dataset}` has no table `{name}_typo`")
    with pytest.raises(SourceError) as no_dataset:
        table_source(f"{dataset}_typo.{name}").find_delivery(OCTOBER)
    assert f"the dataset `{dataset}_typo` does not exist" in str(no_dataset.value)
    assert "Check `options.table`" in str(no_dataset.value)


def test_a_missing_dump_folder_fails_and_an_empty_month_is_no_delivery(tmp_path: Path) -> None:
    month = generate_month("2026-10", seed=6, rows=40, late_rows=0)
    write_parquet_dump(tmp_path / "dump", [month.first])

    def dump(uri: Path) -> BigQueryExportConnector:
        return BigQueryExportConnector(SourceSettings(name="gcp-dump", kind="gcp-bigquery",
                                                      uri=str(uri)))

    assert dump(tmp_path / "dump").find_delivery(DECEMBER) is None
    assert dump(tmp_path / "dump").find_delivery(OCTOBER) is not None
    with pytest.raises(SourceError, match=rf"gcp-dump 2026-10: the folder `{tmp_path}/dmup` does "
                       r"not exist; it should hold the Parquet dump"):
        dump(tmp_path / "dmup").find_delivery(OCTOBER)


def test_an_unreachable_endpoint_fails_within_the_deadline() -> None:
    port = _closed_port()
    client = bigquery.Client(project="test-project", credentials=AnonymousCredentials(),
                             client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{port}"))
    table = "test-project.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
    source = BigQueryExportConnector(
        SourceSettings(name="gcp-main", kind="gcp-bigquery",
                       options={"table": table, "retry_deadline_seconds": 3}), client=client)

    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        source.find_delivery(OCTOBER)
    assert time.monotonic() - started < 3 + 20
    assert str(raised.value).startswith(
        f"gcp-main 2026-10: looking up the export table: could not reach `127.0.0.1:{port}`; "
        "tried for ")
    assert "Connection refused" in str(raised.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
