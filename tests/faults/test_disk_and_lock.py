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

from costalloc.core.errors import WarehouseBusyError, WarehouseWriteError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect
from costalloc.warehouse.lake import PartitionStore

OCTOBER = BillingPeriod(2026, 10)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs. CI runs as root, where mounting works; this fails, not skips, elsewhere."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
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


# Which disk is too small: the scratch folder the parts are staged in, the warehouse file, or
# both (the flows' layout: scratch beside the warehouse). `what` is the message's "writing …".
LAYOUTS = {
    "while staging": (False, True, r"staging line items in `[^`]*/scratch/line_items/"),
    "inside the warehouse transaction": (True, False, r"writing `line_items`: IO Error"),
    "with the scratch folder beside the warehouse": (True, None, r""),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_disk_filling_up_during_a_load(tmp_path: Path, small_disk: Path,
                                           layout: str) -> None:
    warehouse_on_disk, scratch_on_disk, what = LAYOUTS[layout]
    source = SourceSettings(name="aws", kind="aws-cur", uri=str(tmp_path / "b" / "exp"))
    warehouse = (small_disk if warehouse_on_disk else tmp_path) / "costalloc.duckdb"
    store = None if scratch_on_disk is None else PartitionStore(
        pafs.LocalFileSystem(), str((small_disk if scratch_on_disk else tmp_path) / "scratch"))
    first = _deliver(tmp_path / "b", rows=1500, seed=1)
    con = connect(warehouse)
    load_partition(con, source, OCTOBER, "first", store=store)
    _deliver(tmp_path / "b", rows=150_000, seed=2)  # far more than 8 MiB once staged or loaded
    with pytest.raises(WarehouseWriteError, match=r"^aws 2026-10: writing the warehouse failed: "
                       + what + r".*No space left on device.*previous load stays published$"):
        load_partition(con, source, OCTOBER, "too-big", store=store)
    con.close()
    # Reopened, the warehouse holds the last good load, whole; no staged part is left behind.
    reopened = duckdb.connect(str(warehouse), read_only=True)
    totals = reopened.sql("select BillingCurrency, sum(BilledCost) from line_items "
                          "group by 1").fetchall()
    runs = reopened.sql("select distinct x_ingest_run_id from line_items").fetchall()
    logged = reopened.sql("select run_id, status, coalesce(message, '') like "
                          "'%No space left on device%' from ingest_log order by finished_at"
                          ).fetchall()
    reopened.close()
    assert dict(totals) == first and runs == [("first",)]
    assert not [p for p in small_disk.rglob("*.parquet*")]
    if not warehouse_on_disk:  # on a full disk the log entry is attempted, not promised
        assert logged == [("first", "loaded", False), ("too-big", "failed", True)]


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
