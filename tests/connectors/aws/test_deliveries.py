"""The AWS connector end to end: AWS's real layouts (written by the project's generator), read
from moto's S3 server and from local copies, loaded through the one ingestion pipeline."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest

from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.errors import DataError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export, write_legacy_cur
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
LOCAL = pafs.LocalFileSystem()


def _connector(uri: str, **options: object) -> AwsCurConnector:
    return AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur", uri=uri,
                                          options=dict(options)))


def _partition(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, Decimal]]:
    """(provider line items, BilledCost per currency); FOCUS's extra rows for unused
    commitments carry no BilledCost and are not provider rows."""
    rows = con.sql("select BillingCurrency, count(*) filter (x_line_item_type not like '%/Unused'), "
                   "sum(BilledCost) from line_items "
                   "where x_source = 'aws-main' and x_billing_period = '2026-10' "
                   "group by 1").fetchall()
    return sum(int(r[1]) for r in rows), {str(r[0]): r[2] for r in rows}


def test_cur2_parquet_on_s3_newest_delivery_wins_and_reloading_is_a_no_op(
        bucket: str, s3_filesystem: pafs.S3FileSystem, warehouse: duckdb.DuckDBPyConnection) -> None:
    common = {"bucket": bucket, "prefix": "cur", "export_name": "main", "period": "2026-10"}
    write_cur2_export(s3_filesystem, f"{bucket}/cur", rows=900, seed=1, **common)
    newest = write_cur2_export(s3_filesystem, f"{bucket}/cur", rows=1500, parts=3, seed=2,
                               with_net_columns=True, currencies=("USD", "EUR"), **common)
    connector = _connector(f"s3://{bucket}/cur/main")

    first = load_partition(warehouse, connector, OCTOBER, "run-1")
    assert first.outcome == "loaded" and first.fingerprint == newest.fingerprint
    assert _partition(warehouse) == (1500, newest.billed_totals)

    again = load_partition(warehouse, connector, OCTOBER, "run-2")
    assert again.outcome == "unchanged"
    assert _partition(warehouse) == (1500, newest.billed_totals)
    assert warehouse.sql("select count(distinct x_ingest_run_id) from line_items").fetchall() \
        == [(1,)]


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_cur2_local_copy_ties_out_and_tags_lose_the_user_prefix(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, file_format: str) -> None:
    written = write_cur2_export(LOCAL, str(tmp_path / "bucket" / "cur"), bucket="b", prefix="cur",
                                export_name="exp", period="2026-10", rows=2000, parts=2, seed=3,
                                file_format=file_format)  # type: ignore[arg-type]
    load_partition(warehouse, _connector(str(tmp_path / "bucket" / "cur" / "exp")), OCTOBER, "r")
    assert _partition(warehouse) == (written.rows, written.billed_totals)
    keys = {key for (tags,) in warehouse.sql(
        "select Tags from line_items where Tags is not null").fetchall()
        for key in json.loads(tags)}
    assert keys and not any(key.startswith("user_") for key in keys)
    assert {key for key in keys if key.startswith("aws:")}, "AWS-defined keys keep a prefix"
    raw, loaded = warehouse.sql("select raw_totals, loaded_totals from ingest_log").fetchall()[0]
    assert json.loads(raw) == json.loads(loaded) == {
        currency: f"{amount:.10f}" for currency, amount in written.billed_totals.items()}


@pytest.mark.parametrize("flavour", ["csv", "parquet"])
def test_legacy_cur_both_header_flavours(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection,
                                         flavour: str) -> None:
    root = str(tmp_path / "bucket" / "legacy")
    write_legacy_cur(LOCAL, root, bucket="b", prefix="legacy", report_name="rep",
                     period="2026-10", rows=700, seed=4, flavour=flavour)  # type: ignore[arg-type]
    newest = write_legacy_cur(LOCAL, root, bucket="b", prefix="legacy", report_name="rep",
                              period="2026-10", rows=1200, parts=2, seed=5,
                              flavour=flavour)  # type: ignore[arg-type]
    result = load_partition(warehouse, _connector(f"{root}/rep"), OCTOBER, "r")
    assert result.fingerprint == newest.fingerprint
    assert _partition(warehouse) == (newest.rows, newest.billed_totals)
    tagged = warehouse.sql("select count(*) from line_items where Tags is not null").fetchall()
    assert tagged[0][0] > 0


def test_a_missing_data_file_is_refused_and_the_previous_load_stays(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    root = tmp_path / "bucket" / "cur"
    common = {"bucket": "b", "prefix": "cur", "export_name": "exp", "period": "2026-10"}
    first = write_cur2_export(LOCAL, str(root), rows=300, seed=1, **common)
    connector = _connector(str(root / "exp"))
    load_partition(warehouse, connector, OCTOBER, "r1")
    second = write_cur2_export(LOCAL, str(root), rows=400, parts=2, seed=2, **common)
    (root / second.data_keys[1]).unlink()
    with pytest.raises(SourceError, match=r"manifest lists 2 files, 1 found.*missing: .*-00002"):
        load_partition(warehouse, connector, OCTOBER, "r2")
    assert _partition(warehouse) == (first.rows, first.billed_totals)


def test_money_that_is_not_a_number_names_the_file_and_row(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    root = tmp_path / "bucket" / "cur"
    written = write_cur2_export(LOCAL, str(root), bucket="b", prefix="cur", export_name="exp",
                                period="2026-10", rows=50, seed=1, file_format="csv")
    path = root / written.data_keys[0]
    rows = list(csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))
    rows[3][rows[0].index("line_item_unblended_cost")] = "12;50"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_bytes(gzip.compress(text.getvalue().encode()))
    with pytest.raises(DataError) as raised:
        load_partition(warehouse, _connector(str(root / "exp")), OCTOBER, "r")
    message = str(raised.value)
    assert message.startswith("aws-main 2026-10:")
    assert f"`{written.data_keys[0].removeprefix('exp/')}` data row 3" in message
    assert "`line_item_unblended_cost` holds `12;50`" in message
    assert _partition(warehouse) == (0, {})
    status = warehouse.sql("select status from ingest_log").fetchall()
    assert status == [("failed",)]


def test_a_manifest_that_is_not_json_is_a_clear_error(tmp_path: Path,
                                                      warehouse: duckdb.DuckDBPyConnection) -> None:
    root = tmp_path / "bucket" / "cur"
    written: WrittenDelivery = write_cur2_export(LOCAL, str(root), bucket="b", prefix="cur",
                                                 export_name="exp", period="2026-10", rows=10)
    (root / written.manifest_key).write_text("{not json")
    with pytest.raises(SourceError, match=r"is not JSON .*previous load stays published"):
        load_partition(warehouse, _connector(str(root / "exp")), OCTOBER, "r")


def test_a_month_without_any_manifest_has_no_delivery(tmp_path: Path,
                                                      warehouse: duckdb.DuckDBPyConnection) -> None:
    write_cur2_export(LOCAL, str(tmp_path / "cur"), bucket="b", prefix="cur", export_name="exp",
                      period="2026-09", rows=10)  # the export exists, October not delivered yet
    result = load_partition(warehouse, _connector(str(tmp_path / "cur" / "exp")), OCTOBER, "r")
    assert result.outcome == "no-delivery"
