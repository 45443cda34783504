"""Parquet partitions between workers and the warehouse: staged under hidden names, tied out
before they are published, nothing left behind by a failure; a lake on S3 (moto's server)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import boto3
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from costalloc.core.errors import SourceError
from costalloc.core.focus import conform
from costalloc.core.period import BillingPeriod
from costalloc.flows.loading import PartitionFailed, TransientPartitionFailed
from costalloc.warehouse.lake import PartitionStore
from costalloc.warehouse.partitions import PartitionLoad
from tests.flows.workspace import Workspace

OCTOBER = BillingPeriod(2026, 10)


def _batch(first_id: int, amounts: list[str]) -> pa.Table:
    rows = pl.DataFrame({
        "x_source": "aws", "x_billing_period": str(OCTOBER),
        "x_line_item_id": list(range(first_id, first_id + len(amounts))),
        "x_source_file": "f.parquet", "x_ingest_run_id": "r",
        "BilledCost": amounts, "EffectiveCost": amounts, "ListCost": amounts,
        "ContractedCost": amounts, "BillingCurrency": "USD", "BillingAccountId": "1",
        "ChargeCategory": "Usage", "ChargePeriodStart": datetime(2026, 10, 2, tzinfo=UTC),
        "ChargePeriodEnd": datetime(2026, 10, 3, tzinfo=UTC), "BillingPeriodStart": OCTOBER.start,
        "BillingPeriodEnd": OCTOBER.end, "InvoiceIssuerName": "AWS", "ProviderName": "AWS",
        "PublisherName": "AWS", "ServiceCategory": "Compute", "ServiceName": "EC2",
    })
    return rows.lazy().pipe(conform).collect().to_arrow()


def _expected(rows: int, total: str) -> PartitionLoad:
    load = PartitionLoad("aws", OCTOBER, "delivery-1", "run-1")
    load.raw_rows = load.emitted_rows = rows
    load.raw_totals = {"USD": Decimal(total)}
    return load


def test_parts_are_staged_hidden_tied_out_then_published(tmp_path: Path) -> None:
    store = PartitionStore(pafs.LocalFileSystem(), str(tmp_path))
    batches = [_batch(1, ["1.10", "2.20"]), _batch(3, ["3.30"]), _batch(4, ["0.40"])]
    staged = store.write("aws", OCTOBER, "run-1", iter(batches), part_rows=2)
    assert [Path(p).name for p in staged] == ["_staged-run-1-00000.parquet",
                                             "_staged-run-1-00001.parquet"]
    assert store.published("aws", OCTOBER) == []  # invisible until published

    with pytest.raises(SourceError, match=r"USD: the export's own cost column sums to 7.10 but "
                       r"BilledCost sums to 7.0000000000"):
        store.check(staged, _expected(4, "7.10"))
    store.check(staged, _expected(4, "7.00"))

    published = store.promote("aws", OCTOBER, staged)
    assert [Path(p).name for p in published] == ["part-run-1-00000.parquet",
                                                "part-run-1-00001.parquet"]
    rows = pa.concat_tables(store.read(published, "aws", OCTOBER))
    assert rows["x_source"].to_pylist() == ["aws"] * 4
    assert sum(rows["BilledCost"].to_pylist(), Decimal(0)) == Decimal("7.00")


def test_a_failure_while_staging_leaves_no_file(tmp_path: Path) -> None:
    store = PartitionStore(pafs.LocalFileSystem(), str(tmp_path))

    def batches() -> Iterator[pa.Table]:
        yield _batch(1, ["1.00", "2.00"])
        yield _batch(3, ["3.00", "4.00"])
        raise SourceError("aws", OCTOBER, "file 3 is cut short")

    with pytest.raises(SourceError, match="cut short"):
        store.write("aws", OCTOBER, "run-1", batches(), part_rows=2)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_staging_failure_crosses_processes_whole() -> None:
    error = TransientPartitionFailed("aws 2026-10: throttled", kind="TransientError",
                                     fingerprint="e1", files=("a.parquet",))
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, TransientPartitionFailed) and isinstance(again, PartitionFailed)
    assert (str(again), again.kind, again.fingerprint, again.files) == (
        "aws 2026-10: throttled", "TransientError", "e1", ("a.parquet",))


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_a_lake_on_object_storage(tmp_path: Path, bucket: str) -> None:
    from costalloc.flows.nightly import nightly

    space = Workspace(tmp_path)
    written = space.deliver("aws", "2026-10", rows=250, seed=41)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}],
                             lake=f"s3://{bucket}/lake")
    nightly(config=str(config), periods=["2026-10"])

    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(
        Bucket=bucket, Prefix="lake/")["Contents"] if not o["Key"].endswith("/")]  # not folders
    folder = "lake/line_items/x_source=aws/x_billing_period=2026-10/"
    assert len(keys) == 1 and keys[0].startswith(folder + "part-")
    assert space.loaded() == {("aws", "2026-10"): written.billed_totals["USD"]}
