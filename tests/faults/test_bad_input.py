"""Bad input: every case fails with an error naming the source, period, file and how far it got,
and the previously published partition stays exactly as it was."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
LOCAL = pafs.LocalFileSystem()


class Export:
    """A CUR 2.0 export folder with one good delivery published, ready to receive a bad one."""

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection, file_format: str) -> None:
        self.root = root
        self.con = con
        self.file_format = file_format
        self.good = self.deliver(rows=200, seed=1)
        assert load_partition(con, self.connector, OCTOBER, "good").outcome == "loaded"
        self.published = self.state()

    @property
    def connector(self) -> AwsCurConnector:
        return AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur",
                                              uri=str(self.root / "exp")))

    def deliver(self, rows: int, seed: int) -> WrittenDelivery:
        return write_cur2_export(LOCAL, str(self.root), bucket="b", prefix="cur",
                                 export_name="exp", period="2026-10", rows=rows, seed=seed,
                                 parts=2, file_format=self.file_format)  # type: ignore[arg-type]

    def state(self) -> list[tuple[object, ...]]:
        return self.con.sql("select x_ingest_run_id, count(*), sum(BilledCost) from line_items "
                            "group by 1").fetchall()

    def load_fails(self, match: str) -> str:
        with pytest.raises(SourceError) as raised:
            load_partition(self.con, self.connector, OCTOBER, "bad")
        message = str(raised.value)
        assert message.startswith("aws-main 2026-10: "), message
        assert re.search(match, message), message
        assert self.state() == self.published, "the last good load must stay published"
        return message


@pytest.fixture
def csv_export(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> Export:
    return Export(tmp_path / "bucket", warehouse, "csv")


@pytest.fixture
def parquet_export(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> Export:
    return Export(tmp_path / "bucket", warehouse, "parquet")


def _part(export: Export, delivery: WrittenDelivery, index: int = 1) -> Path:
    return export.root / delivery.data_keys[index]


def _rewrite_csv(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    table = pacsv.read_csv(io.BytesIO(gzip.decompress(path.read_bytes())),
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=False,
                                                                column_types={}),
                           read_options=pacsv.ReadOptions(autogenerate_column_names=False))
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    out = io.BytesIO()
    pacsv.write_csv(change(table), out)
    path.write_bytes(gzip.compress(out.getvalue()))


def _set_cell(table: pa.Table, column: str, row: int, value: str) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(values))


def test_a_truncated_gzip_csv(csv_export: Export) -> None:
    bad = csv_export.deliver(rows=3000, seed=2)
    path = _part(csv_export, bad)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    csv_export.load_fails(r"cannot read `.*-00002\.csv\.gz` (after data row \d+|before its "
                          r"first data row).*previous load stays published")


def test_a_corrupt_parquet_file(parquet_export: Export) -> None:
    bad = parquet_export.deliver(rows=500, seed=2)
    path = _part(parquet_export, bad, 0)
    data = bytearray(path.read_bytes())
    data[-12:] = b"\x00" * 12  # the footer and its magic bytes
    path.write_bytes(bytes(data))
    parquet_export.load_fails(r"cannot read `.*-00001\.snappy\.parquet` before its first data "
                              r"row")


def test_an_empty_file(csv_export: Export) -> None:
    bad = csv_export.deliver(rows=300, seed=2)
    _part(csv_export, bad, 0).write_bytes(gzip.compress(b""))
    csv_export.load_fails(r"cannot read `.*-00001\.csv\.gz`.*empty")


def test_a_header_only_file(csv_export: Export) -> None:
    bad = csv_export.deliver(rows=300, seed=2)
    _rewrite_csv(_part(csv_export, bad, 0), lambda t: t.slice(0, 0))
    csv_export.load_fails(r"`.*-00001\.csv\.gz` has no data rows")


@pytest.mark.parametrize(("value", "column"), [
    ("NaN", "line_item_unblended_cost"), ("Infinity", "line_item_unblended_cost"),
    ("1.2.3", "pricing_public_on_demand_cost")])
def test_money_that_is_not_a_finite_number(csv_export: Export, value: str, column: str) -> None:
    bad = csv_export.deliver(rows=300, seed=2)
    _rewrite_csv(_part(csv_export, bad, 0), lambda t: _set_cell(t, column, 6, value))
    csv_export.load_fails(rf"data row 7: column `{column}` holds `{value}`, which is not a "
                          r"number")


def test_a_currency_that_is_not_iso_4217(csv_export: Export) -> None:
    bad = csv_export.deliver(rows=300, seed=2)
    _rewrite_csv(_part(csv_export, bad, 1),
                 lambda t: _set_cell(t, "line_item_currency_code", 9, "USX"))
    csv_export.load_fails(r"-00002\.csv\.gz` data row 10: BillingCurrency is not an ISO 4217 "
                          r"code \(found `USX`\)")


def test_a_missing_required_column(csv_export: Export) -> None:
    bad = csv_export.deliver(rows=300, seed=2)
    _rewrite_csv(_part(csv_export, bad, 0), lambda t: t.drop_columns(["line_item_unblended_cost"]))
    csv_export.load_fails(r"-00001\.csv\.gz` lacks the required column\(s\) "
                          r"`line_item_unblended_cost`")


def test_rows_of_another_billing_period(csv_export: Export) -> None:
    bad = csv_export.deliver(rows=300, seed=2)
    _rewrite_csv(_part(csv_export, bad, 0), lambda t: _set_cell(
        t, "bill_billing_period_start_date", 3, "2026-09-01T00:00:00Z"))
    csv_export.load_fails(r"data row 4: the row's billing period is not 2026-10")


def test_schema_drift_a_new_column_is_accepted_and_a_type_change_is_parsed(
        parquet_export: Export) -> None:
    newer = parquet_export.deliver(rows=400, seed=3)
    for key in newer.data_keys:
        path = parquet_export.root / key
        table = pq.read_table(path)
        table = table.append_column("line_item_brand_new_column", pa.array(["x"] * table.num_rows))
        cost = table.column("line_item_unblended_cost")
        table = table.set_column(table.column_names.index("line_item_unblended_cost"),
                                 "line_item_unblended_cost", cost.cast(pa.string()))
        pq.write_table(table, path)
    result = load_partition(parquet_export.con, parquet_export.connector, OCTOBER, "drift")
    assert result.outcome == "loaded" and result.rows >= newer.rows
    loaded = parquet_export.con.sql("select BillingCurrency, sum(BilledCost) from line_items "
                                    "group by 1").fetchall()
    assert dict(loaded) == newer.billed_totals


def test_mixed_currencies_in_one_source_and_period_are_kept_apart(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    written = write_cur2_export(LOCAL, str(tmp_path), bucket="b", prefix="cur", export_name="exp",
                                period="2026-10", rows=900, seed=4,
                                currencies=("USD", "EUR", "JPY"))
    connector = AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur",
                                               uri=str(tmp_path / "exp")))
    result = load_partition(warehouse, connector, OCTOBER, "r")
    assert {c: Decimal(v) for c, v in (result.totals or {}).items()} == written.billed_totals
    assert len(written.billed_totals) == 3
    log = json.loads(warehouse.sql("select raw_totals from ingest_log").fetchall()[0][0])
    assert set(log) == {"USD", "EUR", "JPY"}


def test_the_same_files_under_two_execution_ids_are_loaded_once(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    common = {"bucket": "b", "prefix": "cur", "export_name": "exp", "period": "2026-10",
              "rows": 500, "seed": 9}
    first = write_cur2_export(LOCAL, str(tmp_path), execution_id="exec-1", **common)
    connector = AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur",
                                               uri=str(tmp_path / "exp")))
    load_partition(warehouse, connector, OCTOBER, "r1")
    second = write_cur2_export(LOCAL, str(tmp_path), execution_id="exec-2", **common)
    assert second.billed_totals == first.billed_totals
    assert load_partition(warehouse, connector, OCTOBER, "r2").outcome == "loaded"
    count, total = warehouse.sql("select count(*) filter (x_line_item_type not like '%/Unused'), "
                                 "sum(BilledCost) from line_items").fetchall()[0]
    assert (count, {"USD": total}) == (500, first.billed_totals)
