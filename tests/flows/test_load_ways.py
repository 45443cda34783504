"""The two ways a partition is loaded — in process (normalized batches straight into the
warehouse's transaction, the default) and staged (Parquet parts, then published: a lake or a
distributed runner) — give the same tables: the demo month of every source kind, and a hard
CUR 2.0 month in several files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from bench.hard_cur import write_month
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings, load_settings
from costalloc.flows.demo import DEMO_PERIOD, write_demo
from costalloc.flows.loading import LoadResult, load_partition
from costalloc.warehouse.connection import connect
from costalloc.warehouse.lake import PartitionStore

OCTOBER = BillingPeriod(2026, 10)
INGEST_LOG = ("select source, billing_period, fingerprint, status, files, row_count, raw_totals, "
              "loaded_totals, duplicate_rows, message from ingest_log order by source, "
              "billing_period")


def _both_ways(tmp_path: Path, sources: list[SourceSettings],
               period: BillingPeriod) -> dict[str, tuple[Path, list[LoadResult]]]:
    """Each source loaded into a warehouse of its own per way; the warehouses and results."""
    loaded = {}
    for way in ("in-process", "staged"):
        warehouse = tmp_path / way / "w.duckdb"
        con = connect(warehouse)
        try:
            store = PartitionStore(pafs.LocalFileSystem(), str(tmp_path / way / "scratch")) \
                if way == "staged" else None
            results = [load_partition(con, source, period, f"run-{way}", store=store)
                       for source in sources]
        finally:
            con.close()
        loaded[way] = (warehouse, results)
    return loaded


def _tables(warehouse: Path) -> tuple[pa.Table, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        line_items = con.sql("select * exclude (x_ingest_run_id) from line_items order by "
                             "x_source, x_billing_period, x_line_item_id").to_arrow_table()
        return line_items, con.sql(INGEST_LOG).fetchall()
    finally:
        con.close()


def test_the_demo_month_loads_alike_in_process_and_staged(tmp_path: Path) -> None:
    settings = load_settings(write_demo(tmp_path / "demo"))
    loaded = _both_ways(tmp_path, list(settings.sources), BillingPeriod.parse(DEMO_PERIOD))

    (direct, direct_results), (staged, staged_results) = loaded["in-process"], loaded["staged"]
    assert [r.describe() for r in direct_results] == [r.describe() for r in staged_results]
    assert sorted(r.source for r in direct_results if r.outcome == "loaded") == sorted(
        s.name for s in settings.sources)  # every kind delivered October, and loaded
    direct_items, direct_log = _tables(direct)
    staged_items, staged_log = _tables(staged)
    assert direct_items.num_rows == sum(r.rows for r in direct_results) > 0
    assert direct_items.equals(staged_items)
    assert direct_log == staged_log
    assert not list((tmp_path / "staged" / "scratch").rglob("*.parquet"))  # parts cleared


def test_a_hard_month_in_several_files_loads_alike_in_process_and_staged(
        tmp_path: Path) -> None:
    month = write_month(tmp_path / "bucket" / "cur", bucket="acme-billing", prefix="cur",
                        export_name="acme-cur2-hard", period="2026-10", rows=12_000, parts=3,
                        seed=23, batch_rows=2_500)
    source = SourceSettings(name="aws", kind="aws-cur", uri=str(month.export_dir),
                            options={"batch_rows": 2_000})
    loaded = _both_ways(tmp_path, [source], OCTOBER)

    (direct, [result]), (staged, _) = loaded["in-process"], loaded["staged"]
    assert {c: Decimal(a) for c, a in (result.totals or {}).items()} == {
        "USD": month.totals.billed}  # ties out to the export's own total
    direct_items, direct_log = _tables(direct)
    staged_items, staged_log = _tables(staged)
    assert direct_items.num_rows == result.rows >= month.totals.rows  # + unused commitments
    assert direct_items.equals(staged_items)
    assert direct_log == staged_log
    assert sum(Decimal(v) for v in direct_items.column("BilledCost").to_pylist()) == \
        month.totals.billed

