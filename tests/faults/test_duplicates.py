"""Nothing doubled: a delivery whose manifest names one data file twice (by the same entry or
by two entries that resolve to the same object) is refused whole, for every connector that
reads a file list, and the published month stays as it was. Line items that repeat a
provider's line item identity inside a delivery are loaded as billed, counted in `ingest_log`
and said in the load's description."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo import aws_cur
from costalloc.demo.azure_exports import EA_SCOPE, FolderSink, cost_rows, write_export_run
from costalloc.flows.loading import load_partition
from costalloc.warehouse.partitions import published_fingerprint

OCTOBER = BillingPeriod(2026, 10)
LOCAL = pafs.LocalFileSystem()
DEMO_TOTAL = {"USD": Decimal("175051.0939947000")}  # the demo's AWS 2026-10, to the 1e-10


def _demo(tmp_path: Path) -> tuple[SourceSettings, Path]:
    """The demo's AWS month (CUR 2.0, two Parquet parts) and its manifest."""
    written = aws_cur.write_demo_month(str(tmp_path / "bucket"))
    assert written.billed_totals == DEMO_TOTAL
    root = tmp_path / "bucket" / aws_cur.DEMO_PREFIX
    return (SourceSettings(name="aws-demo", kind="aws-cur",
                           uri=str(root / aws_cur.DEMO_EXPORT_NAME)),
            root / written.manifest_key)


def _relist(manifest: Path, field: str, extra: str, *, fingerprint_field: str,
            fingerprint: str = "refreshed-delivery") -> list[str]:
    """Rewrite the manifest as a new delivery whose file list has `extra` appended."""
    document = json.loads(manifest.read_text())
    document[field] = [*document[field], extra]
    document[fingerprint_field] = fingerprint
    manifest.write_text(json.dumps(document))
    return list(document[field])


def _state(con: duckdb.DuckDBPyConnection, source: str) -> tuple[object, ...]:
    return con.sql("select count(*), sum(BilledCost), string_agg(distinct x_ingest_run_id) "
                   "from line_items where x_source = $s", params={"s": source}).fetchall()[0]


def _second_name_for(first: str) -> str:
    """The same object as the `s3://` URI `first`, as a bare bucket key."""
    return first.split("://", 1)[1].split("/", 1)[1]


@pytest.mark.parametrize("second", ["the same entry", "its bucket key"])
def test_a_demo_delivery_listing_a_data_file_twice_is_refused_and_the_totals_stay(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, second: str) -> None:
    source, manifest = _demo(tmp_path)
    loaded = load_partition(warehouse, source, OCTOBER, "demo")
    assert {c: Decimal(a) for c, a in (loaded.totals or {}).items()} == DEMO_TOTAL
    published = _state(warehouse, "aws-demo")
    listed = json.loads(manifest.read_text())["dataFiles"]
    extra = listed[0] if second == "the same entry" else _second_name_for(listed[0])
    _relist(manifest, "dataFiles", extra, fingerprint_field="executionId")

    with pytest.raises(SourceError) as refused:
        load_partition(warehouse, source, OCTOBER, "doubled")

    message = str(refused.value)
    named = (f"entries 1 and 3 both list `{listed[0]}`" if second == "the same entry" else
             f"entry 1 `{listed[0]}` and entry 3 `{extra}` both name `data/")
    assert message.startswith("aws-demo 2026-10: manifest `"), message
    assert f"lists the same data file twice: {named}" in message, message
    assert message.endswith("the previous load stays published"), message
    # 175,051.09 USD, not 250,918.96: the doubled part was never read.
    assert _state(warehouse, "aws-demo") == published
    assert published[1] == DEMO_TOTAL["USD"]
    assert published_fingerprint(warehouse, "aws-demo", OCTOBER) != "refreshed-delivery"
    assert warehouse.sql("select fingerprint, status, message from ingest_log where run_id = "
                         "'doubled'").fetchall() == [("refreshed-delivery", "failed", message)]


def test_a_first_delivery_listing_a_file_twice_publishes_nothing(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    source, manifest = _demo(tmp_path)
    listed = json.loads(manifest.read_text())["dataFiles"]
    _relist(manifest, "dataFiles", listed[1], fingerprint_field="executionId")
    with pytest.raises(SourceError, match=r"entries 2 and 3 both list `s3://[^`]*-00002\."):
        load_partition(warehouse, source, OCTOBER, "r")
    assert _state(warehouse, "aws-demo") == (0, None, None)


def test_a_legacy_cur_manifest_listing_a_report_key_twice_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    written = aws_cur.write_legacy_cur(LOCAL, str(tmp_path), bucket="b", prefix="cur",
                                       report_name="rep", period="2026-10", rows=400, parts=2)
    source = SourceSettings(name="aws-legacy", kind="aws-cur", uri=str(tmp_path / "rep"))
    load_partition(warehouse, source, OCTOBER, "good")
    published = _state(warehouse, "aws-legacy")
    manifest = tmp_path / written.manifest_key
    keys = _relist(manifest, "reportKeys", json.loads(manifest.read_text())["reportKeys"][0],
                   fingerprint_field="assemblyId")
    with pytest.raises(SourceError, match=rf"lists the same data file twice: entries 1 and 3 "
                                          rf"both list `{keys[0]}`"):
        load_partition(warehouse, source, OCTOBER, "doubled")
    assert _state(warehouse, "aws-legacy") == published
    assert published[1] == written.billed_totals["USD"]


def test_an_azure_export_manifest_listing_a_blob_twice_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    run = write_export_run(FolderSink(tmp_path), export_name="actual", scope=EA_SCOPE,
                           dataset="ActualCost", period="2026-10", parts=2,
                           submitted=datetime(2026, 11, 1, tzinfo=UTC),
                           rows=cost_rows("ea", "ActualCost", "2026-10"))
    assert run.manifest is not None
    manifest = tmp_path / run.manifest
    document = json.loads(manifest.read_text())
    first = document["blobs"][0]
    # the same blob again, named as a URL of the container (the manifest may name it either way)
    url = f"https://costexports.blob.core.windows.net/exports/{first['blobName']}"
    document["blobs"].append({**first, "blobName": url})
    manifest.write_text(json.dumps(document))
    source = SourceSettings(name="azure-ea", kind="azure-export", uri=str(tmp_path))

    with pytest.raises(SourceError) as refused:
        load_partition(warehouse, source, OCTOBER, "r")

    assert (f"the delivery lists the same data file twice: entry 1 `{first['blobName']}` and "
            f"entry 3 `{url}` both name `{first['blobName']}`") in str(refused.value)
    assert _state(warehouse, "azure-ea") == (0, None, None)


def test_repeated_provider_identities_are_kept_as_billed_and_counted(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    written = aws_cur.write_cur2_export(LOCAL, str(tmp_path), bucket="b", prefix="cur",
                                        export_name="exp", period="2026-10", rows=600, parts=2,
                                        seed=4)
    part = tmp_path / written.data_keys[1]
    rows = pq.read_table(part)
    repeated = rows.slice(5, 2)  # two rows AWS wrote again, identity and all
    pq.write_table(pa.concat_tables([rows, repeated]), part)
    repeated_cost = sum((Decimal(str(v)) for v in repeated["line_item_unblended_cost"].to_pylist()),
                        Decimal(0))
    source = SourceSettings(name="aws", kind="aws-cur", uri=str(tmp_path / "exp"))

    loaded = load_partition(warehouse, source, OCTOBER, "r")

    ids = sorted(repeated["identity_line_item_id"].to_pylist())
    assert (loaded.duplicate_rows, loaded.duplicate_example) == (2, ids[0])
    assert "2 line item(s) repeat another's provider identity" in loaded.describe()
    assert "kept as billed" in loaded.describe()
    # kept as billed: the total is the files' own, repeats included
    assert {c: Decimal(a) for c, a in (loaded.totals or {}).items()} == {
        "USD": written.billed_totals["USD"] + repeated_cost}
    assert warehouse.sql("select duplicate_rows from ingest_log").fetchall() == [(2,)]


def test_duplicate_counts_say_zero_when_checked_and_null_when_there_is_no_identity(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    aws, _ = _demo(tmp_path / "aws")
    write_export_run(FolderSink(tmp_path / "azure"), export_name="actual", scope=EA_SCOPE,
                     dataset="ActualCost", period="2026-10",
                     submitted=datetime(2026, 11, 1, tzinfo=UTC),
                     rows=cost_rows("ea", "ActualCost", "2026-10"))
    azure = SourceSettings(name="azure-ea", kind="azure-export", uri=str(tmp_path / "azure"))

    assert load_partition(warehouse, aws, OCTOBER, "r").duplicate_rows == 0
    assert load_partition(warehouse, azure, OCTOBER, "r").duplicate_rows is None
    assert warehouse.sql("select source, duplicate_rows from ingest_log order by source"
                         ).fetchall() == [("aws-demo", 0), ("azure-ea", None)]
