"""The first error wins: whatever stops a load is the error the user sees (source, period,
file, row and column where known), it is recorded in `ingest_log` against the delivery, and
the published month stays. A load never replaces a published month with nothing unless the
provider's manifest says the month is empty."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pytest

from costalloc.connectors.aws import AwsCurConnector
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.core.errors import CostallocError, DataError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
LOCAL = pafs.LocalFileSystem()


class Published:
    """A source with one good delivery published; `refused` loads the next and checks that it
    fails with one paragraph, is logged, and leaves the published month as it was."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: SourceSettings | AwsCurConnector,
                 name: str) -> None:
        self.con, self.source, self.name = con, source, name
        assert load_partition(con, source, OCTOBER, "good").outcome == "loaded"
        self.before = self.state()
        assert self.before[0] > 0

    def state(self) -> tuple[object, ...]:
        return self.con.sql("select count(*), sum(BilledCost), string_agg(distinct "
                            "x_ingest_run_id) from line_items where x_source = $s",
                            params={"s": self.name}).fetchall()[0]

    def refused(self, kind: type[CostallocError], match: str,
                source: SourceSettings | AwsCurConnector | None = None) -> str:
        with pytest.raises(kind) as raised:
            load_partition(self.con, source or self.source, OCTOBER, "bad")
        message = str(raised.value)
        assert message.startswith(f"{self.name} 2026-10: "), message
        assert re.search(match, message), message
        assert "\n" not in message and "Traceback" not in message
        assert self.state() == self.before, "the published month must stay"
        logged = self.con.sql("select status, message from ingest_log where run_id = 'bad'"
                              ).fetchall()
        assert logged == [("failed", message)], logged
        return message


def _aws_csv(root: Path, rows: int, seed: int) -> WrittenDelivery:
    return write_cur2_export(LOCAL, str(root), bucket="b", prefix="cur", export_name="exp",
                             period="2026-10", rows=rows, seed=seed, parts=2, file_format="csv")


def _set_csv_cell(path: Path, column: str, row: int, value: str) -> None:
    table = pacsv.read_csv(io.BytesIO(gzip.decompress(path.read_bytes())),
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    values = table.column(column).to_pylist()
    values[row] = value
    table = table.set_column(table.column_names.index(column), column, pa.array(values))
    out = io.BytesIO()
    pacsv.write_csv(table, out)
    path.write_bytes(gzip.compress(out.getvalue()))


@pytest.fixture
def aws(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> Published:
    _aws_csv(tmp_path / "bucket", rows=300, seed=1)
    return Published(warehouse, SourceSettings(name="aws-main", kind="aws-cur",
                                               uri=str(tmp_path / "bucket" / "exp")), "aws-main")


def test_tags_that_are_not_json_name_the_file_row_and_column(aws: Published,
                                                              tmp_path: Path) -> None:
    newer = _aws_csv(tmp_path / "bucket", rows=300, seed=2)
    _set_csv_cell(tmp_path / "bucket" / newer.data_keys[1], "resource_tags", 11, "{not json")
    aws.refused(DataError, r"^aws-main 2026-10: `data/[^`]*/exp-00002\.csv\.gz` data row 12: "
                           r"column `Tags` holds `\{not json[^`]*`, which is not JSON; the "
                           r"warehouse refused the delivery \(Conversion Error: Malformed JSON"
                           r"[^)]*\); the previous load stays published$")


def test_an_empty_data_file_list_is_refused(aws: Published, tmp_path: Path) -> None:
    newer = _aws_csv(tmp_path / "bucket", rows=300, seed=2)
    manifest = tmp_path / "bucket" / newer.manifest_key
    document = json.loads(manifest.read_text())
    document["dataFiles"] = []
    manifest.write_text(json.dumps(document))
    aws.refused(SourceError, r"manifest `[^`]*exp-Manifest\.json` lists no data files; a "
                             r"published month is never replaced with nothing unless the "
                             r"provider's manifest says the month is empty.*previous load "
                             r"stays published$")


class _Relisted:
    """The AWS connector, with the delivery it finds changed (as a buggy or hostile connector
    or a caller of the loader could hand it over)."""

    def __init__(self, inner: AwsCurConnector, **changes: object) -> None:
        self.inner, self.name, self.changes = inner, inner.name, changes

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        found = self.inner.find_delivery(period)
        return found and dataclasses.replace(found, fingerprint="relisted", **self.changes)  # type: ignore[arg-type]

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        return self.inner.read(delivery)

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return self.inner.money_columns(raw)

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return self.inner.quantity_columns(raw)

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        return self.inner.control_totals(raw)

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        return self.inner.to_focus(raw)


def test_the_loader_called_with_no_files_keeps_the_published_month(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    _aws_csv(tmp_path / "bucket", rows=300, seed=1)
    connector = AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur",
                                               uri=str(tmp_path / "bucket" / "exp")))
    published = Published(warehouse, connector, "aws-main")
    published.refused(SourceError, r"lists no data files",
                      _Relisted(connector, files=(), listed=()))  # type: ignore[arg-type]


def test_a_month_the_provider_declares_empty_is_published_empty(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    _aws_csv(tmp_path / "bucket", rows=300, seed=1)
    connector = AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur",
                                               uri=str(tmp_path / "bucket" / "exp")))
    published = Published(warehouse, connector, "aws-main")
    declared = _Relisted(connector, files=(), listed=(), declared_empty=True)

    result = load_partition(warehouse, declared, OCTOBER, "empty")  # type: ignore[arg-type]

    assert (result.outcome, result.rows, result.totals) == ("loaded", 0, {})
    assert published.state() == (0, None, None)
    assert warehouse.sql("select status, row_count, fingerprint from ingest_log where run_id = "
                         "'empty'").fetchall() == [("loaded", 0, "relisted")]


FOCUS_HEADER = ("BilledCost,EffectiveCost,ListCost,ContractedCost,BillingAccountId,"
                "BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargeCategory,"
                "ChargePeriodStart,ChargePeriodEnd,ProviderName,PublisherName,InvoiceIssuerName,"
                "ServiceName,ServiceCategory,Tags")


def _focus_file(folder: Path, name: str, rows: int, *, empty_category_at: int | None = None
                ) -> None:
    lines = [FOCUS_HEADER]
    for day in range(1, rows + 1):
        category = "" if day == empty_category_at else "Usage"
        lines.append(f"{day}.25,{day},{day},{day}.25,acct-1,USD,2026-10-01T00:00:00Z,"
                     f"2026-11-01T00:00:00Z,{category},2026-10-{day:02d}T00:00:00Z,"
                     f"2026-10-{day + 1:02d}T00:00:00Z,AWS,AWS,AWS,Amazon EC2,Compute,"
                     '"{""env"":""prod""}"')
    target = folder / "BILLING_PERIOD=2026-10" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")


def test_a_focus_file_leaving_a_required_column_empty_names_the_row_and_column(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    folder = tmp_path / "focus"
    _focus_file(folder, "part-0.csv", rows=8)
    published = Published(warehouse, SourceSettings(name="focus-aws", kind="focus",
                                                    uri=str(folder)), "focus-aws")
    assert published.before[1] == Decimal("38")  # 1.25 + 2.25 + … + 8.25
    _focus_file(folder, "part-0.csv", rows=9, empty_category_at=4)
    published.refused(DataError, r"`BILLING_PERIOD=2026-10/part-0\.csv` data row 4: .*"
                                 r"`?ChargeCategory`?.*previous load stays published$")
