"""Which datasets a month loads, option checks, URI forms and refusals, on a local copy of a
container (the same code paths as Azurite, without the network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from costalloc.connectors.azure import AzureExportConnector
from costalloc.connectors.azure.blobs import ContainerAddress, parse_uri
from costalloc.core.errors import ConfigurationError, DataError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.azure_exports import (
    EA_SCOPE,
    FolderSink,
    cost_rows,
    csv_bytes,
    write_export_run,
    write_legacy_run,
)
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect

PERIOD = BillingPeriod(2026, 10)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def _connector(folder: Path, **options: object) -> AzureExportConnector:
    return AzureExportConnector(SourceSettings(name="azure-test", kind="azure-export",
                                               uri=str(folder), options=options))


def _export(folder: Path, dataset: str, rows: pl.DataFrame | None = None,
            name: str | None = None) -> str:
    run = write_export_run(FolderSink(folder), export_name=name or dataset.lower(), scope=EA_SCOPE,
                           dataset=dataset, period="2026-10", submitted=NOV_1,
                           rows=rows if rows is not None else cost_rows(
                               "ea", "AmortizedCost" if dataset == "AmortizedCost" else "ActualCost",
                               "2026-10"))
    return run.run_id


def test_actual_cost_alone_bills_everything_and_amortizes_nothing(tmp_path: Path) -> None:
    rows = cost_rows("ea", "ActualCost", "2026-10")
    _export(tmp_path, "ActualCost", rows)
    con = connect(tmp_path / "w.duckdb")

    load_partition(con, _connector(tmp_path), PERIOD, "run-1")

    billed, effective, purchases = con.sql(
        "select sum(BilledCost), sum(EffectiveCost), sum(BilledCost) filter "
        "(where ChargeCategory = 'Purchase' and CommitmentDiscountId is not null) "
        "from line_items").fetchall()[0]
    assert billed == sum(Decimal(v) for v in rows["CostInBillingCurrency"])
    assert effective == billed - purchases  # no amortization in actual data: purchases are 0
    assert purchases == Decimal("3027.456") - Decimal("120.45")  # reservation bought, one refunded


def test_combined_datasets_need_both_exports(tmp_path: Path) -> None:
    _export(tmp_path, "ActualCost")

    with pytest.raises(SourceError, match=r"`dataset: ActualCost\+AmortizedCost` needs both "
                                          r"exports of .* but no AmortizedCost run covers 2026-10"):
        _connector(tmp_path, dataset="ActualCost+AmortizedCost").find_delivery(PERIOD)


def test_the_dataset_option_picks_one_of_two_exports(tmp_path: Path) -> None:
    actual = _export(tmp_path, "ActualCost")
    amortized = _export(tmp_path, "AmortizedCost")

    auto = _connector(tmp_path).find_delivery(PERIOD)
    only_amortized = _connector(tmp_path, dataset="AmortizedCost").find_delivery(PERIOD)

    assert auto is not None and only_amortized is not None
    assert only_amortized.fingerprint == amortized
    runs = json.loads(auto.details["runs"])
    assert sorted(run["run_id"] for run in runs) == sorted([actual, amortized])


def test_legacy_exports_cannot_be_focus_cost(tmp_path: Path) -> None:
    write_legacy_run(FolderSink(tmp_path), export_name="legacy", period="2026-10",
                     rows=cost_rows("ea", "ActualCost", "2026-10"))

    with pytest.raises(ConfigurationError, match=r"legacy exports .* `dataset: FocusCost` can't"):
        _connector(tmp_path, dataset="FocusCost").find_delivery(PERIOD)


def test_options_are_checked_with_every_problem_named() -> None:
    with pytest.raises(ValidationError) as raised:
        SourceSettings(name="azure-test", kind="azure-export", uri="/tmp/x",
                       options={"dataset": "Amortised", "containr": "exports"})

    message = str(raised.value)
    assert "source `azure-test` (azure-export): option `dataset`: Input should be 'auto', " \
           "'ActualCost'" in message
    assert "; unknown option `containr`. azure-export accepts `account_url`, `batch_rows`, " \
           "`currency`, `dataset`, `restatement_days`, `retry_deadline_seconds`" in message
    with pytest.raises(ValidationError, match=r"option `scope` is required"):
        SourceSettings(name="b", kind="azure-cost-details")


def test_a_manifest_that_is_not_json_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "costalloc" / "e" / "20261001-20261031" / "202611010000" / "r1"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text('{"exportConfig": ')

    with pytest.raises(SourceError, match=r"manifest `.*/r1/manifest.json` is not JSON"):
        _connector(tmp_path).find_delivery(PERIOD)


def test_a_manifest_listing_a_manifest_as_data_is_refused(tmp_path: Path) -> None:
    _export(tmp_path, "ActualCost")
    path = next(tmp_path.rglob("manifest.json"))
    manifest = json.loads(path.read_text())
    manifest["blobs"].append({"blobName": str(path.relative_to(tmp_path))})
    path.write_text(json.dumps(manifest))

    with pytest.raises(SourceError, match=r"lists `.*manifest\.json` as data, but it is not a CSV"):
        _connector(tmp_path).find_delivery(PERIOD)


def test_a_bad_money_value_names_blob_and_row(tmp_path: Path) -> None:
    rows = cost_rows("ea", "ActualCost", "2026-10").with_row_index().with_columns(
        pl.when(pl.col("index") == 41).then(pl.lit("12,50")).otherwise(
            pl.col("CostInBillingCurrency")).alias("CostInBillingCurrency")).drop("index")
    _export(tmp_path, "ActualCost", rows)

    with pytest.raises(DataError, match=r"part_0_0001\.csv\.gz` data row 42: column "
                                        r"`CostInBillingCurrency` holds `12,50`, which is not a number"):
        load_partition(connect(tmp_path / "w.duckdb"), _connector(tmp_path), PERIOD, "run-1")


def test_older_ea_files_without_a_currency_take_it_from_the_options(tmp_path: Path) -> None:
    older_ea = pl.DataFrame({
        "DepartmentName": ["Research", "Research"], "AccountName": ["lab", "lab"],
        "SubscriptionGuid": ["0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"] * 2,
        "UsageDateTime": ["2026-10-01", "2026-10-02"], "MeterCategory": ["Storage"] * 2,
        "PreTaxCost": ["1.25", "2.50"], "Tags": ['"project": "x"', ""]})
    folder = tmp_path / "costalloc" / "older" / "20261001-20261031"
    folder.mkdir(parents=True)
    (folder / "older_5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a.csv").write_bytes(csv_bytes(older_ea))

    with pytest.raises(DataError, match=r"\(ea-legacy\) has no currency column .* set the source's "
                                        r"`currency` option"):
        load_partition(connect(tmp_path / "a.duckdb"), _connector(tmp_path), PERIOD, "run-1")
    con = connect(tmp_path / "b.duckdb")
    loaded = load_partition(con, _connector(tmp_path, currency="GBP"), PERIOD, "run-1")

    assert loaded.totals == {"GBP": "3.7500000000"}
    assert con.sql("select distinct BillingAccountId, BillingAccountType from line_items"
                   ).fetchall() == [("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "Subscription")]


@pytest.mark.parametrize(("uri", "address"), [
    ("https://costexports.blob.core.windows.net/exports/costalloc/ea",
     ContainerAddress("https://costexports.blob.core.windows.net", "exports", "costalloc/ea")),
    ("abfss://exports@costexports.dfs.core.windows.net/costalloc",
     ContainerAddress("https://costexports.blob.core.windows.net", "exports", "costalloc")),
    ("abfs://exports/costalloc", ContainerAddress(None, "exports", "costalloc")),
    ("az://exports", ContainerAddress(None, "exports", "")),
    ("http://127.0.0.1:10000/devstoreaccount1/exports/costalloc",
     ContainerAddress("http://127.0.0.1:10000/devstoreaccount1", "exports", "costalloc")),
    ("/data/exports-copy", None),
    ("file:///data/exports-copy", None),
])
def test_uri_forms(uri: str, address: ContainerAddress | None) -> None:
    assert parse_uri(uri) == address


def test_a_uri_without_an_account_or_credentials_says_what_to_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    settings = SourceSettings(name="azure-test", kind="azure-export", uri="abfs://exports/root")

    with pytest.raises(ConfigurationError, match=r"names no storage account: .* `account_url` "
                                                 r"option, or set the `AZURE_STORAGE_CONNECTION"):
        AzureExportConnector(settings)
    with pytest.raises(ConfigurationError, match="scheme `s3` is not an Azure Blob location"):
        AzureExportConnector(SourceSettings(name="a", kind="azure-export", uri="s3://b/k"))
