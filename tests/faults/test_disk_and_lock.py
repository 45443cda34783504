"""The warehouse's file system filling up during a load, and the warehouse file held by another
process: both fail with an error a person can act on, and the published data stays."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest

from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.errors import WarehouseBusyError, WarehouseWriteError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect

OCTOBER = BillingPeriod(2026, 10)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs. CI runs as root, where mounting works; this fails, not skips, elsewhere."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs",
                              str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail("mounting a small tmpfs needs root (as in CI): " + mounted.stderr.strip())
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _deliver(root: Path, rows: int, seed: int) -> dict[str, Decimal]:
    return write_cur2_export(pafs.LocalFileSystem(), str(root), bucket="b", prefix="cur",
                             export_name="exp", period="2026-10", rows=rows, seed=seed,
                             parts=2).billed_totals


def test_the_disk_filling_up_during_a_load(tmp_path: Path, small_disk: Path) -> None:
    connector = AwsCurConnector(SourceSettings(name="aws", kind="aws-cur",
                                               uri=str(tmp_path / "b" / "exp")))
    first = _deliver(tmp_path / "b", rows=1500, seed=1)
    warehouse = small_disk / "costalloc.duckdb"
    con = connect(warehouse)
    load_partition(con, connector, OCTOBER, "first")
    _deliver(tmp_path / "b", rows=400_000, seed=2)  # far more than 24 MiB once loaded
    with pytest.raises(WarehouseWriteError, match=r"aws 2026-10: writing the warehouse failed: "
                       r".*No space left on device.*previous load stays published"):
        load_partition(con, connector, OCTOBER, "too-big")
    con.close()
    # Reopened, the warehouse holds the last good load, whole.
    reopened = duckdb.connect(str(warehouse), read_only=True)
    totals = reopened.sql("select BillingCurrency, sum(BilledCost) from line_items "
                          "group by 1").fetchall()
    runs = reopened.sql("select distinct x_ingest_run_id from line_items").fetchall()
    reopened.close()
    assert dict(totals) == first and runs == [("first",)]


def test_the_warehouse_held_by_another_process(tmp_path: Path) -> None:
    warehouse = tmp_path / "costalloc.duckdb"
    connect(warehouse).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('HOLDING', flush=True); time.sleep(60)", str(warehouse)],
        stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HOLDING"
        with pytest.raises(WarehouseBusyError, match=r"open for writing in another process; "
                                                      r"wait for that run"):
            connect(warehouse)
    finally:
        holder.kill()
        holder.wait()
    connect(warehouse).close()  # free again once the other process is gone
