import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costalloc.core.errors import SourceError
from costalloc.core.focus import conform
from costalloc.core.period import BillingPeriod
from costalloc.warehouse.connection import append, connect
from costalloc.warehouse.partitions import (
    PartitionLoad,
    published_fingerprint,
    replace_partition,
    replace_partition_from_parquet,
)

OCTOBER = BillingPeriod(2026, 10)


def _line_items(source: str, amounts: list[str], currency: str = "USD") -> pa.Table:
    rows = pl.DataFrame({
        "x_source": source, "x_billing_period": str(OCTOBER),
        "x_line_item_id": list(range(1, len(amounts) + 1)),
        "x_source_file": "f.parquet", "x_ingest_run_id": "r",
        "BilledCost": amounts, "EffectiveCost": amounts, "ListCost": amounts,
        "ContractedCost": amounts, "BillingCurrency": currency, "BillingAccountId": "1",
        "ChargeCategory": "Usage", "ChargePeriodStart": datetime(2026, 10, 2, tzinfo=UTC),
        "ChargePeriodEnd": datetime(2026, 10, 3, tzinfo=UTC), "BillingPeriodStart": OCTOBER.start,
        "BillingPeriodEnd": OCTOBER.end, "InvoiceIssuerName": "AWS", "ProviderName": "AWS",
        "PublisherName": "AWS", "ServiceCategory": "Compute", "ServiceName": "EC2",
    })
    return rows.lazy().pipe(conform).collect().to_arrow()


def _load(con: duckdb.DuckDBPyConnection, fingerprint: str, amounts: list[str],
          raw_total: str | None = None) -> PartitionLoad:
    load = PartitionLoad("aws", OCTOBER, fingerprint, "run-" + fingerprint, files=["f.parquet"])
    load.raw_rows = load.emitted_rows = len(amounts)
    load.raw_totals = {"USD": Decimal(raw_total) if raw_total else sum(map(Decimal, amounts),
                                                                         Decimal(0))}
    return replace_partition(con, load, iter([_line_items("aws", amounts)]))


def _partition_total(con: duckdb.DuckDBPyConnection) -> tuple[int, Decimal]:
    count, total = con.sql("select count(*), sum(BilledCost) from line_items "
                           "where x_source = 'aws'").fetchall()[0]
    return int(count), total


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def test_a_newer_delivery_replaces_the_whole_partition(con: duckdb.DuckDBPyConnection) -> None:
    _load(con, "e1", ["1.10", "2.20", "3.30"])
    _load(con, "e2", ["5.00"])
    assert _partition_total(con) == (1, Decimal("5.00"))
    assert published_fingerprint(con, "aws", OCTOBER) == "e2"


def test_a_load_that_does_not_tie_out_leaves_the_last_good_one(con: duckdb.DuckDBPyConnection) -> None:
    _load(con, "e1", ["1.10", "2.20"])
    with pytest.raises(SourceError, match=r"sums to 9.99.*BilledCost sums to 4.0000000000"):
        _load(con, "e2", ["4.00"], raw_total="9.99")
    assert _partition_total(con) == (2, Decimal("3.30"))
    assert published_fingerprint(con, "aws", OCTOBER) == "e1"


def test_a_crash_midway_rolls_back(con: duckdb.DuckDBPyConnection) -> None:
    _load(con, "e1", ["1.00"])

    def exploding() -> Iterator[pa.Table]:
        yield _line_items("aws", ["7.00"])
        raise OSError("connection reset while reading part 2")

    load = PartitionLoad("aws", OCTOBER, "e2", "r2", files=["a", "b"])
    with pytest.raises(OSError):
        replace_partition(con, load, exploding())
    assert _partition_total(con) == (1, Decimal("1.00"))


def test_other_sources_and_periods_are_untouched(con: duckdb.DuckDBPyConnection) -> None:
    other = _line_items("gcp", ["9.00"])
    con.register("other", other)
    con.execute("insert into line_items by name select * from other")
    _load(con, "e1", ["1.00"])
    _load(con, "e2", ["2.00"])
    assert con.sql("select sum(BilledCost) from line_items where x_source = 'gcp'").fetchall() \
        == [(Decimal("9.00"),)]


def test_a_partition_loads_from_staged_parquet_files_the_same_way(
        con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    parts = []
    for index, amounts in enumerate((["1.10", "2.20"], ["3.30"])):
        body = _line_items("aws", amounts).drop_columns(["x_source", "x_billing_period"])
        parts.append(str(tmp_path / f"part-{index}.parquet"))
        pq.write_table(body, parts[-1])
    load = PartitionLoad("aws", OCTOBER, "e1", "r1", files=["f.parquet"], raw_rows=3,
                         emitted_rows=3, raw_totals={"USD": Decimal("6.60")})
    replace_partition_from_parquet(con, load, parts)
    assert _partition_total(con) == (3, Decimal("6.60"))
    assert published_fingerprint(con, "aws", OCTOBER) == "e1"

    refused = PartitionLoad("aws", OCTOBER, "e2", "r2", files=["f.parquet"], raw_rows=3,
                            emitted_rows=3, raw_totals={"USD": Decimal("9.99")})
    with pytest.raises(SourceError, match=r"sums to 9.99.*BilledCost sums to 6.6000000000"):
        replace_partition_from_parquet(con, refused, parts)
    assert published_fingerprint(con, "aws", OCTOBER) == "e1"


def test_batches_appended_in_one_transaction_are_not_held_until_it_commits(
        con: duckdb.DuckDBPyConnection) -> None:
    """`append` reads each batch once; nothing keeps a reference to it afterwards (a view
    registered inside a transaction would keep every batch of a month alive to the commit)."""
    batch = _line_items("aws", ["1.00", "2.00"])
    before = sys.getrefcount(batch)
    con.begin()
    append(con, "line_items", batch)
    assert sys.getrefcount(batch) == before
    con.rollback()


def test_a_load_of_nothing_never_empties_a_published_partition(
        con: duckdb.DuckDBPyConnection) -> None:
    _load(con, "e1", ["1.10", "2.20"])
    empty = PartitionLoad("aws", OCTOBER, "e2", "r2", files=[])
    with pytest.raises(SourceError, match=r"aws 2026-10: delivery e2 holds no line items \(0 "
                                          r"file\(s\)\); a published month is never replaced "
                                          r"with nothing unless the provider's manifest says"):
        replace_partition(con, empty, iter([]))
    assert _partition_total(con) == (2, Decimal("3.30"))
    assert published_fingerprint(con, "aws", OCTOBER) == "e1"

    declared = PartitionLoad("aws", OCTOBER, "e3", "r3", files=[], declared_empty=True)
    replace_partition_from_parquet(con, declared, [])
    assert _partition_total(con) == (0, None)
    assert published_fingerprint(con, "aws", OCTOBER) == "e3"


def test_the_error_inside_the_transaction_is_the_one_raised(
        con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """DuckDB refuses even a `reset` in a transaction an error aborted: the error that aborted
    it must still be the one the caller sees, and the setting must still be restored."""
    _load(con, "e1", ["1.00"])
    body = _line_items("aws", ["2.00"]).drop_columns(["x_source", "x_billing_period"])
    body = body.set_column(body.column_names.index("ChargeCategory"), "ChargeCategory",
                           pa.array([None], pa.string()))
    pq.write_table(body, tmp_path / "part.parquet")
    load = PartitionLoad("aws", OCTOBER, "e2", "r2", files=["f.parquet"], raw_rows=1,
                         emitted_rows=1, raw_totals={"USD": Decimal("2.00")})
    with pytest.raises(duckdb.ConstraintException, match=r"NOT NULL constraint failed: "
                                                         r"line_items\.ChargeCategory"):
        replace_partition_from_parquet(con, load, [str(tmp_path / "part.parquet")])
    assert _partition_total(con) == (1, Decimal("1.00"))
    assert con.sql("select current_setting('preserve_insertion_order')").fetchall() == [(True,)]
