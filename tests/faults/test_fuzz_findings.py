"""What the fuzz suite (`test_fuzz.py`) found, each pinned by a plain regression test through
the production loading path (`flows.loading.load_partition`)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from costalloc.core.errors import CostallocError, DataError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export
from costalloc.demo.azure_exports import EA_SCOPE, FolderSink, WrittenRun, cost_rows, write_export_run
from costalloc.demo.gcp_billing import generate_month, write_parquet_dump
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
LOCAL = pafs.LocalFileSystem()
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


class Published:
    """A source with one delivery published; `refused` loads the next one and checks the
    refusal: one paragraph, the publication as it was, and what `ingest_log` says."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: SourceSettings) -> None:
        self.con, self.source = con, source
        assert load_partition(con, source, OCTOBER, "good").outcome == "loaded"
        self.before = self.state()

    def state(self) -> list[tuple[object, ...]]:
        return self.con.sql("select count(*), sum(BilledCost), string_agg(distinct "
                            "x_ingest_run_id) from line_items").fetchall()

    def refused(self) -> tuple[str, list[tuple[object, ...]]]:
        with pytest.raises(CostallocError) as raised:
            load_partition(self.con, self.source, OCTOBER, "bad")
        message = str(raised.value)
        assert isinstance(raised.value, SourceError), type(raised.value)
        assert message.startswith(f"{self.source.name} 2026-10: "), message
        assert "\n" not in message and "Traceback" not in message
        assert message.endswith("the previous load stays published"), message
        assert self.state() == self.before
        logged = self.con.sql("select fingerprint, status, message from ingest_log "
                              "where run_id = 'bad'").fetchall()
        return message, logged


def _cur2(root: Path, execution_id: str, file_format: str = "parquet") -> WrittenDelivery:
    return write_cur2_export(LOCAL, str(root), bucket="b", prefix="cur", export_name="exp",
                             period="2026-10", rows=90, parts=2, seed=3,
                             execution_id=execution_id, file_format=file_format)  # type: ignore[arg-type]


def _aws(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Published:
    _cur2(tmp_path, "published")
    return Published(con, SourceSettings(name="aws", kind="aws-cur", uri=str(tmp_path / "exp")))


def _azure_run(folder: Path, day: int) -> WrittenRun:
    rows = cost_rows("ea", "ActualCost", "2026-10").slice(day * 50, 60)
    return write_export_run(FolderSink(folder), export_name="ea", scope=EA_SCOPE,
                            dataset="ActualCost", period="2026-10", rows=rows, parts=2,
                            file_format="csv", submitted=datetime(2026, 11, day, tzinfo=UTC))


def _azure(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Published:
    _azure_run(tmp_path, 1)
    return Published(con, SourceSettings(name="azure", kind="azure-export", uri=str(tmp_path)))


# A delivery found (its manifest read) but refused as listed was not logged: a missing data
# file, or an entry outside the export, failed before `stage` knew the fingerprint.

def test_an_aws_delivery_missing_a_listed_file_is_logged_against_its_execution_id(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _aws(warehouse, tmp_path)
    newer = _cur2(tmp_path, "newer")
    (tmp_path / newer.data_keys[1]).unlink()
    message, logged = published.refused()
    assert "manifest lists 2 files, 1 found" in message and "-00002.snappy.parquet" in message
    assert logged == [("newer", "failed", message)]


def test_an_aws_manifest_entry_outside_the_export_is_logged_against_its_execution_id(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _aws(warehouse, tmp_path)
    newer = _cur2(tmp_path, "newer")
    manifest = tmp_path / newer.manifest_key
    document = json.loads(manifest.read_text())
    document["dataFiles"][0] = "s3://b/cur/exp/data/../../../../../etc/passwd"
    manifest.write_text(json.dumps(document))
    message, logged = published.refused()
    assert "names a data file outside the export" in message
    assert logged == [("newer", "failed", message)]
    files = warehouse.sql("select files from ingest_log where run_id = 'bad'").fetchall()[0][0]
    assert json.loads(files)[0] == "s3://b/cur/exp/data/../../../../../etc/passwd"


def test_an_azure_run_missing_a_listed_blob_is_logged_against_its_run_id(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _azure(warehouse, tmp_path)
    newer = _azure_run(tmp_path, 2)
    (tmp_path / newer.blobs[0]).unlink()
    message, logged = published.refused()
    assert "lists 2 blobs, 1 found; missing:" in message
    assert logged == [(newer.run_id, "failed", message)]


# A manifest whose delivery id was `null` (or a number, or empty) loaded under the id "None":
# every later delivery with a `null` id would then have looked already loaded.

@pytest.mark.parametrize("value", [None, 12345, "", {"id": "x"}])
def test_an_aws_manifest_whose_execution_id_is_not_text_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, value: object) -> None:
    published = _aws(warehouse, tmp_path)
    manifest = tmp_path / _cur2(tmp_path, "newer").manifest_key
    document = json.loads(manifest.read_text())
    document["executionId"] = value
    manifest.write_text(json.dumps(document))
    message, logged = published.refused()
    assert f"`executionId` is `{json.dumps(value)}`, not the delivery's id (text)" in message
    assert logged == []  # no id to log against


def test_an_azure_manifest_whose_run_id_is_not_text_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _azure(warehouse, tmp_path)
    manifest = tmp_path / str(_azure_run(tmp_path, 2).manifest)
    document = json.loads(manifest.read_text())
    document["runInfo"]["runId"] = 7
    manifest.write_text(json.dumps(document))
    message, _ = published.refused()
    assert "`runInfo.runId` is `7`, not text" in message


# A CSV whose header is not UTF-8 escaped as a `UnicodeDecodeError` traceback.

def test_a_csv_whose_header_is_not_utf8_is_refused_with_the_file(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _aws(warehouse, tmp_path)
    newer = _cur2(tmp_path, "newer", file_format="csv")
    part = tmp_path / newer.data_keys[0]
    part.write_bytes(gzip.compress(b"\x80line_item_unblended_cost\n1\n"))
    message, logged = published.refused()
    assert f"cannot read `{part}` before its first data row: its header row is not UTF-8 " \
           "text (invalid start byte)" in message
    assert logged == [("newer", "failed", message)]


# A quantity of 1e20 or more (beyond DECIMAL(38, 18)) was read as null without a word: the
# line item loaded with no ConsumedQuantity / PricingQuantity.

def _set_cell(path: Path, column: str, row: int, value: str) -> None:
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else \
        path.read_text(encoding="utf-8-sig")
    records = list(csv.reader(io.StringIO(text)))
    records[row][records[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    data = out.getvalue().encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.mark.parametrize("value", ["100000000000000000000", "1e20", "-123456789012345678901.5"])
def test_an_aws_usage_amount_beyond_decimal_38_18_is_refused_with_column_and_row(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, value: str) -> None:
    published = _aws(warehouse, tmp_path)
    newer = _cur2(tmp_path, "newer", file_format="csv")
    _set_cell(tmp_path / newer.data_keys[1], "line_item_usage_amount", 7, value)
    message, logged = published.refused()
    assert (f"-00002.csv.gz` data row 7: column `line_item_usage_amount` holds `{value}`, which "
            "is beyond DECIMAL(38, 18): a quantity or unit price has at most 20 integer digits"
            ) in message
    assert logged == [("newer", "failed", message)]


def test_a_parquet_usage_amount_of_1e21_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _aws(warehouse, tmp_path)
    part = tmp_path / _cur2(tmp_path, "newer").data_keys[0]
    table = pq.read_table(part)
    amounts = table.column("line_item_usage_amount").to_pylist()
    amounts[4] = 1e21
    index = table.column_names.index("line_item_usage_amount")
    pq.write_table(table.set_column(index, "line_item_usage_amount",
                                    pa.array(amounts, pa.float64())), part)
    message, _ = published.refused()
    assert "data row 5: column `line_item_usage_amount` holds `1e+21`, which is beyond" in message


def test_an_azure_quantity_beyond_decimal_38_18_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _azure(warehouse, tmp_path)
    blob = tmp_path / _azure_run(tmp_path, 2).blobs[1]
    _set_cell(blob, "Quantity", 3, "250000000000000000000")
    message, _ = published.refused()
    assert "part_1_0002.csv` data row 3: column `Quantity` holds `250000000000000000000`, " \
           "which is beyond DECIMAL(38, 18)" in message


def test_a_focus_consumed_quantity_beyond_decimal_38_18_is_refused_and_one_below_loads(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    sample = pl.read_csv(SAMPLES / "focus" / "1.0" / "focus_sample.csv", infer_schema=False)
    rows = sample.slice(0, 40)
    rows.write_csv(tmp_path / "focus.csv")
    source = SourceSettings(name="focus", kind="focus", uri=str(tmp_path))
    september = BillingPeriod(2024, 9)
    largest = "99999999999999999999.999999999999999999"
    rows.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(largest))
                      .otherwise(pl.col("ConsumedQuantity")).alias("ConsumedQuantity")
                      ).write_csv(tmp_path / "focus.csv")
    assert load_partition(warehouse, source, september, "r1").outcome == "loaded"
    held = warehouse.sql("select max(ConsumedQuantity) from line_items").fetchall()[0][0]
    assert held == Decimal(largest)
    rows.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("1e20"))
                      .otherwise(pl.col("ConsumedQuantity")).alias("ConsumedQuantity")
                      ).write_csv(tmp_path / "focus.csv")
    with pytest.raises(DataError, match=r"`focus\.csv` data row 3: column `ConsumedQuantity` "
                                        r"holds `1e20`, which is beyond DECIMAL\(38, 18\)"):
        load_partition(warehouse, source, september, "r2")
    assert warehouse.sql("select max(ConsumedQuantity) from line_items").fetchall()[0][0] == \
        Decimal(largest)


# FOCUS rows whose BillingPeriodStart was missing or not a time were left out of the load
# without a word (they matched no period), so a file without the column loaded nothing.

@pytest.mark.parametrize("broken", ["column dropped", "not a time", "empty", "mid-month"])
def test_focus_rows_whose_billing_period_is_unknown_are_refused_not_left_out(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, broken: str) -> None:
    sample = pl.read_csv(SAMPLES / "focus" / "1.0" / "focus_sample.csv", infer_schema=False)
    sample.slice(0, 30).write_csv(tmp_path / "a.csv")
    sample.slice(30, 30).write_csv(tmp_path / "b.csv")
    source = SourceSettings(name="focus", kind="focus", uri=str(tmp_path))
    september = BillingPeriod(2024, 9)
    assert load_partition(warehouse, source, september, "good").rows == 60
    rows = sample.slice(30, 31)
    rows = (rows.drop("BillingPeriodStart") if broken == "column dropped" else
            rows.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(
                pl.lit({"not a time": "2024-09-01 00:00", "empty": "",
                        "mid-month": "2024-09-15 06:00:00"}[broken]))
                .otherwise(pl.col("BillingPeriodStart")).alias("BillingPeriodStart")))
    rows.write_csv(tmp_path / "b.csv")
    row = 1 if broken == "column dropped" else 5
    what = ("is 2024-09-15 06:00:00, not the first instant of a month" if broken == "mid-month"
            else "is empty or not a date")
    with pytest.raises(DataError, match=rf"`b\.csv` data row {row}: column `BillingPeriodStart` "
                                        rf"{what} \(\d+ row\(s\) of this batch\), "
                                        r"so the row's billing period is unknown; the previous "
                                        r"load stays published$"):
        load_partition(warehouse, source, september, "bad")
    assert warehouse.sql("select count(*), string_agg(distinct x_ingest_run_id) from line_items"
                         ).fetchall() == [(60, "good")]


def test_a_gcp_usage_amount_beyond_decimal_38_18_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    # (a dump's fingerprint is its rows, export time and cost, so this is its first load)
    month = generate_month("2026-10", seed=5, rows=120, late_rows=0)
    usage = month.first.column("usage").to_pylist()
    usage[9] = {**usage[9], "amount": 3.5e21}
    table = month.first.set_column(month.first.column_names.index("usage"), "usage",
                                   pa.array(usage, month.first.schema.field("usage").type))
    write_parquet_dump(tmp_path / "dump", [table])
    source = SourceSettings(name="gcp", kind="gcp-bigquery", uri=str(tmp_path / "dump"))
    with pytest.raises(DataError, match=r"data row 10: column `usage\.amount` holds `3\.5e\+21`, "
                                        r"which is beyond DECIMAL\(38, 18\)"):
        load_partition(warehouse, source, OCTOBER, "bad")
    assert warehouse.sql("select count(*) from line_items").fetchall() == [(0,)]


# A manifest nested deeper than Python's JSON parser recurses escaped as a `RecursionError`
# traceback; one that is not UTF-8 as a `UnicodeDecodeError` (AWS).

NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("data", "why"), [
    (NESTED, "nested deeper than the parser follows"),
    (b"\xff\xfe{}", "not UTF-8 text: invalid start byte at byte 0")])
def test_an_aws_manifest_that_cannot_be_parsed_is_one_paragraph(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, data: bytes, why: str) -> None:
    published = _aws(warehouse, tmp_path)
    manifest = tmp_path / _cur2(tmp_path, "newer").manifest_key
    manifest.write_bytes(data)
    message, logged = published.refused()
    assert f"exp-Manifest.json` is not JSON ({why}); the previous load stays published" in message
    assert logged == []


def test_an_azure_manifest_nested_too_deep_is_one_paragraph(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _azure(warehouse, tmp_path)
    (tmp_path / str(_azure_run(tmp_path, 2).manifest)).write_bytes(NESTED)
    message, _ = published.refused()
    assert "manifest.json` is not JSON (nested deeper than the parser follows)" in message


# A bad cell was quoted whole: a 5,000-character currency made a 5,000-character message, and
# a quoted newline would have split the paragraph.

def test_a_huge_or_multiline_bad_cell_is_quoted_cut_short_on_one_line(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    published = _azure(warehouse, tmp_path)
    newer = _azure_run(tmp_path, 2)
    _set_cell(tmp_path / newer.blobs[0], "BillingCurrencyCode", 2, "U" * 5000)
    message, _ = published.refused()
    assert f"BillingCurrency is not an ISO 4217 code (found `{'U' * 120}…`)" in message
    assert len(message) < 500
    _set_cell(tmp_path / newer.blobs[0], "BillingCurrencyCode", 2, "US\nD")
    message, _ = published.refused()
    assert "(found `US\\x0aD`)" in message


# A FOCUS file without ListCost whose ListUnitPrice × PricingQuantity passed DECIMAL(38, 18)
# stopped the load with polars' raw overflow (each factor fit, the product did not).

def test_a_derived_list_cost_beyond_any_bill_is_refused_with_its_row_and_a_fitting_one_loads(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    sample = pl.read_csv(SAMPLES / "focus" / "1.0" / "focus_sample.csv", infer_schema=False)
    rows = sample.slice(0, 40).drop("ListCost").with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("2")).otherwise(
            pl.col("PricingQuantity")).alias("PricingQuantity"))
    source = SourceSettings(name="focus", kind="focus", uri=str(tmp_path))
    september = BillingPeriod(2024, 9)

    def with_price(price: str) -> None:
        rows.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(price)).otherwise(
            pl.col("ListUnitPrice")).alias("ListUnitPrice")).write_csv(tmp_path / "focus.csv")

    with_price("40000000000000000000")  # 4e19 × 2 = 8e19: a cost DECIMAL(38, 10) holds
    assert load_partition(warehouse, source, september, "r1").outcome == "loaded"
    assert warehouse.sql("select max(ListCost) from line_items").fetchall()[0][0] == \
        Decimal("8e19")
    with_price("99999999999999999999.999999999999999999")  # fits; twice it does not
    with pytest.raises(DataError, match=r"`focus\.csv` data row 4: column `ListCost` is empty "
                                        r"and `ListUnitPrice` × `PricingQuantity` is 9e\+19 or "
                                        r"more, beyond any cost this reader derives; the "
                                        r"previous load stays published$"):
        load_partition(warehouse, source, september, "r2")
    assert warehouse.sql("select max(ListCost), string_agg(distinct x_ingest_run_id) "
                         "from line_items").fetchall() == [(Decimal("8e19"), "r1")]
