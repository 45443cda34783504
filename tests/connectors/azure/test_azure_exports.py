"""`azure-export` against Azurite: which runs count, and what a load puts in `line_items`."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from azure.storage.blob import ContainerClient, ContentSettings

from costalloc.connectors.azure import AzureExportConnector
from costalloc.core.errors import DataError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.azure_exports import (
    EA_SCOPE,
    MCA_SCOPE,
    ContainerSink,
    FolderSink,
    cost_rows,
    csv_bytes,
    write_demo_container,
    write_demo_month,
    write_export_run,
    write_legacy_partitioned_run,
    write_legacy_run,
)
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect

PERIOD = BillingPeriod(2026, 10)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def _connector(container: ContainerClient, root: str = "costalloc",
               **options: object) -> AzureExportConnector:
    settings = SourceSettings(name="azure-test", kind="azure-export",
                              uri=f"abfs://{container.container_name}/{root}", options=options)
    return AzureExportConnector(settings, container_client=container)


def _warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return connect(tmp_path / "w.duckdb")


def _sums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, Decimal, Decimal]]:
    rows = con.sql("select BillingCurrency, count(*), sum(BilledCost), sum(EffectiveCost) "
                   "from line_items group by 1").fetchall()
    return {currency: (count, billed, effective) for currency, count, billed, effective in rows}


def test_demo_month_loads_once_and_both_costs_tie_out(container: ContainerClient,
                                                      tmp_path: Path) -> None:
    demo = write_demo_container(container)
    con = _warehouse(tmp_path)
    connector = _connector(container)

    first = load_partition(con, connector, PERIOD, "run-1")
    second = load_partition(con, connector, PERIOD, "run-2")

    assert (first.outcome, first.fingerprint, first.rows) == ("loaded", demo.fingerprint, demo.rows)
    assert second.outcome == "unchanged"
    sums = _sums(con)
    assert {c: s[1] for c, s in sums.items()} == demo.billed_totals  # = the ActualCost exports
    assert {c: s[2] for c, s in sums.items()} == demo.effective_totals  # = the AmortizedCost ones
    superseded = demo.superseded[0].run_id
    assert con.sql(f"select count(*) from line_items where x_source_file like '%{superseded}%'"
                   ).fetchall() == [(0,)]


def test_the_newest_run_of_a_month_wins(container: ContainerClient, tmp_path: Path) -> None:
    sink = ContainerSink(container)
    common = {"export_name": "ea-actual-daily", "scope": EA_SCOPE, "dataset": "ActualCost",
              "period": str(PERIOD)}
    first = write_export_run(sink, rows=cost_rows("ea", "ActualCost", "2026-10", 1, through_day=9),
                             submitted=NOV_1 - timedelta(days=21), **common)
    con = _warehouse(tmp_path)
    connector = _connector(container)
    assert load_partition(con, connector, PERIOD, "run-1").fingerprint == first.run_id

    newest = write_export_run(sink, rows=cost_rows("ea", "ActualCost", "2026-10", 2),
                              submitted=NOV_1 + timedelta(hours=4), parts=3, **common)
    # a one-time export submitted earlier (overlapping the same month) does not count
    write_export_run(sink, rows=cost_rows("ea", "ActualCost", "2026-10", 3),
                     submitted=NOV_1 - timedelta(days=2), **{**common, "export_name": "one-off"})
    loaded = load_partition(con, connector, PERIOD, "run-2")

    assert (loaded.outcome, loaded.fingerprint, loaded.rows) == ("loaded", newest.run_id,
                                                                 newest.rows)
    assert _sums(con)["USD"][1] == newest.totals["USD"]


def test_a_run_seen_twice_counts_once(container: ContainerClient, tmp_path: Path) -> None:
    sink = ContainerSink(container)
    run = write_export_run(sink, export_name="ea-actual-daily", scope=EA_SCOPE,
                           dataset="ActualCost", period="2026-10", submitted=NOV_1,
                           rows=cost_rows("ea", "ActualCost", "2026-10"), parts=2)
    assert run.manifest is not None
    # the same manifest again, e.g. copied by a backup job into another folder
    container.upload_blob(f"costalloc/copies/{run.run_id}/manifest.json",
                          container.download_blob(run.manifest).readall())
    con = _warehouse(tmp_path)

    loaded = load_partition(con, _connector(container), PERIOD, "run-1")

    assert (loaded.fingerprint, loaded.rows) == (run.run_id, run.rows)
    assert _sums(con)["USD"][1] == run.totals["USD"]


def test_two_runs_submitted_at_the_same_time_are_refused(container: ContainerClient) -> None:
    sink = ContainerSink(container)
    for seed in (1, 2):
        write_export_run(sink, export_name=f"export-{seed}", scope=EA_SCOPE, dataset="ActualCost",
                         period="2026-10", submitted=NOV_1, rows=cost_rows("ea", "ActualCost",
                                                                            "2026-10", seed))
    with pytest.raises(SourceError, match=r"2 runs of the ActualCost export of .* were submitted "
                                          r"at the same time \(2026-11-01T00:00:00\+00:00\)"):
        _connector(container).find_delivery(PERIOD)


def test_legacy_exports_newest_file_per_month(container: ContainerClient, tmp_path: Path) -> None:
    sink = ContainerSink(container)
    rows = cost_rows("ea", "ActualCost", "2026-10", 4)
    write_legacy_run(sink, export_name="legacy-daily", period="2026-10", rows=rows.head(100))
    time.sleep(1.05)  # blob times have one-second resolution: the next run is newer
    newest = write_legacy_run(sink, export_name="legacy-daily", period="2026-10", rows=rows)
    write_legacy_run(sink, export_name="legacy-daily", period="2026-09",
                     rows=cost_rows("ea", "ActualCost", "2026-09", 4))
    con = _warehouse(tmp_path)

    loaded = load_partition(con, _connector(container), PERIOD, "run-1")

    assert (loaded.fingerprint, loaded.rows) == (newest.run_id, newest.rows)
    assert _sums(con)["USD"][1] == newest.totals["USD"]


def test_legacy_partitioned_exports(container: ContainerClient, tmp_path: Path) -> None:
    sink = ContainerSink(container)
    rows = cost_rows("ea", "AmortizedCost", "2026-10", 5)
    write_legacy_partitioned_run(sink, export_name="partitioned", period="2026-10",
                                 rows=rows.head(50), submitted=NOV_1, dataset="AmortizedCost")
    newest = write_legacy_partitioned_run(sink, export_name="partitioned", period="2026-10",
                                          rows=rows, submitted=NOV_1 + timedelta(hours=1),
                                          parts=3, dataset="AmortizedCost")
    con = _warehouse(tmp_path)
    connector = _connector(container, dataset="AmortizedCost")

    delivery = connector.find_delivery(PERIOD)
    loaded = load_partition(con, connector, PERIOD, "run-1")

    assert delivery is not None and delivery.files == newest.blobs  # never the _manifest.json
    assert (loaded.fingerprint, loaded.rows) == (newest.run_id, newest.rows)
    assert _sums(con)["USD"][2] == newest.totals["USD"]  # amortized: EffectiveCost ties out


def test_manifest_exports_take_precedence_over_legacy_ones(container: ContainerClient) -> None:
    sink = ContainerSink(container)
    rows = cost_rows("ea", "ActualCost", "2026-10")
    write_legacy_run(sink, export_name="old-export", period="2026-10", rows=rows)
    run = write_export_run(sink, export_name="new-export", scope=EA_SCOPE, dataset="ActualCost",
                           period="2026-10", submitted=NOV_1, rows=rows)

    delivery = _connector(container).find_delivery(PERIOD)

    assert delivery is not None and delivery.fingerprint == run.run_id


def test_a_missing_blob_stops_the_load_and_names_it(container: ContainerClient) -> None:
    run = write_export_run(ContainerSink(container), export_name="e", scope=EA_SCOPE,
                           dataset="ActualCost", period="2026-10", submitted=NOV_1, parts=2,
                           rows=cost_rows("ea", "ActualCost", "2026-10"))
    container.delete_blob(run.blobs[1])

    with pytest.raises(SourceError, match=r"lists 2 blobs, 1 found; missing: `.*part_1_0002\.csv\.gz`"
                                          r".*previous load stays published"):
        _connector(container).find_delivery(PERIOD)


def test_a_blob_shorter_than_its_manifest_says_is_refused(container: ContainerClient,
                                                          tmp_path: Path) -> None:
    run = write_export_run(ContainerSink(container), export_name="e", scope=EA_SCOPE,
                           dataset="ActualCost", period="2026-10", submitted=NOV_1,
                           rows=cost_rows("ea", "ActualCost", "2026-10"))
    assert run.manifest is not None
    manifest = json.loads(container.download_blob(run.manifest).readall())
    manifest["blobs"][0]["dataRowCount"] = run.rows + 7
    container.upload_blob(run.manifest, json.dumps(manifest), overwrite=True)
    con = _warehouse(tmp_path)

    with pytest.raises(SourceError, match=rf"holds {run.rows} data rows but its manifest says "
                                          rf"{run.rows + 7}"):
        load_partition(con, _connector(container), PERIOD, "run-1")
    assert con.sql("select count(*) from line_items").fetchall() == [(0,)]


def test_an_unknown_header_names_the_blob_and_the_columns(container: ContainerClient,
                                                          tmp_path: Path) -> None:
    rows = cost_rows("ea", "ActualCost", "2026-10").rename(
        {"CostInBillingCurrency": "Kosten", "Date": "Tag"})
    run = write_export_run(ContainerSink(container), export_name="e", scope=EA_SCOPE,
                           dataset="ActualCost", period="2026-10", submitted=NOV_1, rows=rows)

    with pytest.raises(DataError) as raised:
        load_partition(_warehouse(tmp_path), _connector(container), PERIOD, "run-1")
    message = str(raised.value)
    assert message.startswith(f"azure-test 2026-10: `{run.blobs[0]}`")
    assert "missing `cost`" in message and "could not map: `Tag`, `Kosten`" in message


def test_gzip_content_encoded_csv_and_connection_string_uri(
        container: ContainerClient, azurite: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = cost_rows("mca", "ActualCost", "2026-10")
    name = "costalloc/legacy/20261001-20261031/legacy_6b1f3c2e-0d4a-4f5b-9c8d-7e6f5a4b3c2d.csv"
    container.upload_blob(name, gzip.compress(csv_bytes(rows)),
                          content_settings=ContentSettings(content_encoding="gzip"))
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    settings = SourceSettings(name="azure-test", kind="azure-export",
                              uri=f"{container.url}/costalloc")  # http://127.0.0.1:port/account/...
    con = _warehouse(tmp_path)

    loaded = load_partition(con, AzureExportConnector(settings), PERIOD, "run-1")

    assert (loaded.fingerprint, loaded.rows) == ("6b1f3c2e-0d4a-4f5b-9c8d-7e6f5a4b3c2d", rows.height)
    assert _sums(con)["EUR"][0] == rows.height


FOCUS_HEADER = ("BilledCost,EffectiveCost,ListCost,ContractedCost,BillingAccountId,"
                "BillingAccountName,BillingAccountType,BillingCurrency,BillingPeriodStart,"
                "BillingPeriodEnd,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,"
                "PublisherName,InvoiceIssuerName,ServiceName,ServiceCategory,SubAccountId,Tags,"
                "x_ResourceGroupName")


def test_focus_cost_exports_go_through_the_focus_normalizer(container: ContainerClient,
                                                            tmp_path: Path) -> None:
    lines = [FOCUS_HEADER]
    for day in range(1, 11):
        lines.append(f"{day}.5,{day},{day + 1},{day}.5,70664866,Contoso,Billing Profile,USD,"
                     "2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,Usage,"
                     f"2026-10-{day:02d}T00:00:00Z,2026-10-{day + 1:02d}T00:00:00Z,Microsoft,"
                     'Microsoft,Microsoft,Virtual Machines,Compute,/subscriptions/s1,'
                     '"{""env"":""prod""}",rg-web')
    data = ("\n".join(lines) + "\n").encode()
    folder = "costalloc/focus/20261001-20261031/202611010400/8d3c0f2a-1b2c-4d3e-9f4a-5b6c7d8e9f0a"
    container.upload_blob(f"{folder}/part_0_0001.csv", data)
    container.upload_blob(f"{folder}/manifest.json", json.dumps({
        "exportConfig": {"type": "FocusCost", "dataVersion": "1.2",
                         "resourceId": f"{MCA_SCOPE}/providers/Microsoft.CostManagement/exports/focus"},
        "runInfo": {"runId": "8d3c0f2a-1b2c-4d3e-9f4a-5b6c7d8e9f0a",
                    "submittedTime": "2026-11-01T04:00:00.1234567Z",
                    "startDate": "2026-10-01T00:00:00", "endDate": "2026-10-31T00:00:00"},
        "blobs": [{"blobName": f"{folder}/part_0_0001.csv", "dataRowCount": 10}]}))
    # the same scope's ActualCost export: `dataset: auto` prefers the FOCUS one
    write_export_run(ContainerSink(container), export_name="actual", scope=MCA_SCOPE,
                     dataset="ActualCost", period="2026-10", submitted=NOV_1,
                     rows=cost_rows("mca", "ActualCost", "2026-10"))
    con = _warehouse(tmp_path)

    loaded = load_partition(con, _connector(container), PERIOD, "run-1")

    assert (loaded.fingerprint, loaded.rows) == ("8d3c0f2a-1b2c-4d3e-9f4a-5b6c7d8e9f0a", 10)
    assert _sums(con) == {"USD": (10, Decimal("60"), Decimal("55"))}
    assert con.sql("select distinct Tags, ServiceProviderName, HostProviderName from line_items"
                   ).fetchall() == [('{"env":"prod"}', "Microsoft", "Microsoft")]


def test_a_local_copy_of_the_container_loads_like_the_container(tmp_path: Path) -> None:
    demo = write_demo_month(str(tmp_path / "copy"))
    settings = SourceSettings(name="azure-test", kind="azure-export",
                              uri=str(tmp_path / "copy" / "costalloc"))
    con = _warehouse(tmp_path)

    loaded = load_partition(con, AzureExportConnector(settings), PERIOD, "run-1")

    assert (loaded.fingerprint, loaded.rows) == (demo.fingerprint, demo.rows)
    assert {c: s[1] for c, s in _sums(con).items()} == demo.billed_totals


def test_a_month_with_only_other_datasets_says_so(tmp_path: Path) -> None:
    write_export_run(FolderSink(tmp_path), export_name="a", scope=EA_SCOPE, dataset="AmortizedCost",
                     period="2026-10", submitted=NOV_1,
                     rows=cost_rows("ea", "AmortizedCost", "2026-10"))
    settings = SourceSettings(name="azure-test", kind="azure-export", uri=str(tmp_path),
                              options={"dataset": "ActualCost"})

    with pytest.raises(SourceError, match="runs of AmortizedCost but none of `dataset: ActualCost`"):
        AzureExportConnector(settings).find_delivery(PERIOD)
    assert AzureExportConnector(settings).find_delivery(BillingPeriod(2026, 9)) is None
