"""BigQuery misbehaving: the fault-injecting proxy (tests/faults/proxy.py) in front of the
emulator's REST API. Passing 5xx/429s are retried by the client and the month loads exactly
once; lasting ones fail as transient, so the flow retries, with nothing published."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from costalloc.connectors.gcp import BigQueryExportConnector
from costalloc.core.errors import TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.gcp_billing import create_export_table, generate_month, insert_rows
from costalloc.flows.loading import load_partition
from tests.connectors.gcp.test_gcp_table_mode import emulator_totals
from tests.faults.proxy import FaultSchedule, fault_proxy

OCTOBER = BillingPeriod(2026, 10)


def _through(proxy: str, table: str, deadline: float = 60) -> BigQueryExportConnector:
    client = bigquery.Client(project="test-project", credentials=AnonymousCredentials(),
                             client_options=ClientOptions(api_endpoint=proxy))
    settings = SourceSettings(name="gcp-main", kind="gcp-bigquery",
                              options={"table": table, "read_api": "rest", "batch_rows": 250,
                                       "retry_deadline_seconds": deadline})
    return BigQueryExportConnector(settings, client=client)


def test_passing_errors_are_retried_and_the_month_loads_once(
        bq_client: bigquery.Client, new_table: Callable[[], str], bigquery_emulator: object,
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    month = generate_month("2026-10", seed=3, rows=400, late_rows=0)
    insert_rows(bq_client, table, month.first)
    schedule = FaultSchedule(["503", "429", "500", None, "503"])
    with fault_proxy(bigquery_emulator.endpoint, schedule) as proxy:  # type: ignore[attr-defined]
        result = load_partition(gcp_warehouse, _through(proxy, table), OCTOBER, "r")
    assert schedule.injected == 4 and result.outcome == "loaded"
    rows, total = gcp_warehouse.sql("select count(*), sum(BilledCost) from line_items"
                                    ).fetchall()[0]
    assert (rows, {"USD": total}) == emulator_totals(bq_client, table, "202610")


def test_lasting_throttling_is_transient_and_publishes_nothing(
        bq_client: bigquery.Client, new_table: Callable[[], str], bigquery_emulator: object,
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, generate_month("2026-10", seed=4, rows=100, late_rows=0).first)
    schedule = FaultSchedule([], forever="503")
    endpoint = bigquery_emulator.endpoint  # type: ignore[attr-defined]
    with (fault_proxy(endpoint, schedule) as proxy,
          pytest.raises(TransientError, match=r"gcp-main 2026-10")):
        # The client gives up after its retry deadline, short here.
        load_partition(gcp_warehouse, _through(proxy, table, deadline=3), OCTOBER, "r")
    assert gcp_warehouse.sql("select count(*) from line_items").fetchall() == [(0,)]
