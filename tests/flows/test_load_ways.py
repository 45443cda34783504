"""A delivery staged one task per file (the nightly flow, for AWS: each file's line item ids
numbered from 1, moved past the files before it as DuckDB loads the parts) gives the same
`line_items` and ingest log as one task staging it whole (`load_partition`): a hard CUR 2.0
month in several files, and the demo month of every source kind."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from bench.hard_cur import write_month
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.flows.demo import DEMO_PERIOD, write_demo
from costalloc.flows.loading import load_partition
from costalloc.flows.nightly import nightly
from tests.flows.workspace import Workspace

pytestmark = pytest.mark.usefixtures("prefect_api")
INGEST_LOG = ("select source, billing_period, fingerprint, status, files, row_count, raw_totals, "
              "loaded_totals, duplicate_rows, message from ingest_log order by source, "
              "billing_period")


def _tables(warehouse: Path) -> tuple[pa.Table, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        line_items = con.sql("select * exclude (x_ingest_run_id) from line_items order by "
                             "x_source, x_billing_period, x_line_item_id").to_arrow_table()
        return line_items, con.sql(INGEST_LOG).fetchall()
    finally:
        con.close()


def _whole(config: Path, period: str, into: Path) -> tuple[pa.Table, list[tuple[Any, ...]]]:
    """Every source of `config` loaded by one task each, into the warehouse `into`."""
    settings = load_settings(config)
    for source in settings.sources:
        load_partition(into, source, BillingPeriod.parse(period))
    return _tables(into)


def test_a_hard_month_in_three_files_loads_alike_file_by_file_and_whole(tmp_path: Path) -> None:
    month = write_month(tmp_path / "bucket" / "cur", bucket="acme-billing", prefix="cur",
                        export_name="acme-cur2-hard", period="2026-10", rows=12_000, parts=3,
                        seed=23, batch_rows=2_500)
    assert len(month.data_files) == 3
    space = Workspace(tmp_path)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": str(month.export_dir),
                               "options": {"batch_rows": 2_000}}])
    report = nightly(config=str(config), periods=["2026-10"])
    assert [r.outcome for r in report.loads] == ["loaded"]

    by_file, by_file_log = _tables(space.warehouse)
    whole, whole_log = _whole(config, "2026-10", tmp_path / "whole.duckdb")
    assert by_file.equals(whole)
    assert by_file_log == whole_log
    ids = by_file.column("x_line_item_id").to_pylist()
    assert ids == list(range(1, len(ids) + 1))  # one run of ids across the three files
    assert len(ids) >= month.totals.rows  # every data row, + unused commitments AWS adds
    assert sum(Decimal(v) for v in by_file.column("BilledCost").to_pylist()) == \
        month.totals.billed
    assert not list((tmp_path / ".costalloc-scratch").rglob("*.parquet*"))  # parts cleared


def test_the_demo_month_loads_alike_through_the_flow_and_whole(tmp_path: Path) -> None:
    config = write_demo(tmp_path / "demo")
    settings = load_settings(config)
    report = nightly(config=str(config), periods=[DEMO_PERIOD])
    assert sorted(r.source for r in report.loads if r.outcome == "loaded") == sorted(
        s.name for s in settings.sources)  # every kind delivered October, and loaded

    through_flow, flow_log = _tables(Path(settings.warehouse))
    whole, whole_log = _whole(config, DEMO_PERIOD, tmp_path / "whole.duckdb")
    assert through_flow.num_rows == sum(r.rows for r in report.loads) > 0
    assert through_flow.equals(whole)
    assert flow_log == whole_log
