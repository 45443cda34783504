"""The process killed with SIGKILL in the middle of a load, an allocation or an export: the
warehouse stays consistent (the last committed version is what readers see), no half-written
extract is left under its final name, and re-running completes the work with no duplicates.

Each victim is a real Python process running costalloc's own functions; it says on stdout when
it is mid-way (after a few batches), and the test kills it right then.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest

from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition
from costalloc.reports.finance.extracts import export
from costalloc.warehouse.connection import connect

OCTOBER = BillingPeriod(2026, 10)
REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "demo" / "rules.yaml"

PRELUDE = """
import sys
from pathlib import Path
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.connectors.aws import AwsCurConnector
from costalloc.warehouse.connection import connect

def announce_after(batches, count):
    for index, item in enumerate(batches, 1):
        if index == count:
            print("MIDWAY", flush=True)
        yield item
"""


def _run_and_kill(script: str, cwd: Path) -> int:
    victim = subprocess.Popen([sys.executable, "-c", PRELUDE + textwrap.dedent(script)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert victim.stdout is not None
    said = ""
    while (line := victim.stdout.readline()) and line.strip() != "MIDWAY":
        said += line  # anything else it prints first
    if not line:  # it ended without reaching the point: say how
        victim.wait(timeout=120)
        said += victim.stderr.read() if victim.stderr else ""
        pytest.fail(f"the victim exited {victim.returncode} before the kill point: {said}")
    victim.send_signal(signal.SIGKILL)
    return victim.wait(timeout=60)


def _deliver(root: Path, rows: int, seed: int) -> dict[str, Decimal]:
    written = write_cur2_export(pafs.LocalFileSystem(), str(root), bucket="b", prefix="cur",
                                export_name="exp", period="2026-10", rows=rows, seed=seed,
                                parts=4)
    return written.billed_totals


def _connector(root: Path) -> AwsCurConnector:
    return AwsCurConnector(SourceSettings(name="aws", kind="aws-cur", uri=str(root / "exp"),
                                          options={"batch_rows": 5000}))


def _line_items(path: Path) -> tuple[int, dict[str, Decimal], set[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.sql("select count(*) filter (x_line_item_type not like '%/Unused'), "
                       "BillingCurrency, sum(BilledCost) from line_items group by 2").fetchall()
        runs = {r[0] for r in con.sql("select distinct x_ingest_run_id from line_items").fetchall()}
    finally:
        con.close()
    return sum(int(r[0]) for r in rows), {str(r[1]): r[2] for r in rows}, runs


# Where the victim is stopped: while staging (reading the delivery, the warehouse not yet
# written) and inside the publishing transaction (every new row written, nothing committed).
KILL_POINTS = {
    "while reading the delivery": """
        read = connector.read
        connector.read = lambda delivery: announce_after(read(delivery), 4)
    """,
    "inside the warehouse transaction": """
        import time
        from costalloc.warehouse import partitions
        tie_out = partitions._tie_out
        def announcing(load):
            print("MIDWAY", flush=True)  # the whole new partition is written, uncommitted
            time.sleep(30)
            tie_out(load)
        partitions._tie_out = announcing
    """,
}


@pytest.mark.parametrize("moment", sorted(KILL_POINTS))
def test_killed_during_a_load(tmp_path: Path, moment: str) -> None:
    warehouse = tmp_path / "w.duckdb"
    first = _deliver(tmp_path / "b", rows=2000, seed=1)
    con = connect(warehouse)
    load_partition(con, _connector(tmp_path / "b"), OCTOBER, "first")
    con.close()
    newest = _deliver(tmp_path / "b", rows=60000, seed=2)

    code = _run_and_kill(f"""
        from costalloc.flows.loading import load_partition
        connector = AwsCurConnector(SourceSettings(name="aws", kind="aws-cur",
            uri={str(tmp_path / "b" / "exp")!r}, options={{"batch_rows": 5000}}))
        {textwrap.indent(textwrap.dedent(KILL_POINTS[moment]), " " * 8).strip()}
        load_partition({str(warehouse)!r}, connector, BillingPeriod(2026, 10), "killed")
        print("FINISHED", flush=True)
    """, tmp_path)
    assert code == -signal.SIGKILL
    assert _line_items(warehouse) == (2000, first, {"first"})  # the last good load, untouched

    con = connect(warehouse)
    assert load_partition(con, _connector(tmp_path / "b"), OCTOBER, "rerun").outcome == "loaded"
    logged = con.sql("select run_id, status from ingest_log order by finished_at").fetchall()
    con.close()
    assert _line_items(warehouse) == (60000, newest, {"rerun"})
    assert logged == [("first", "loaded"), ("rerun", "loaded")]  # the killed run left no trace


def test_killed_during_an_allocation(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    _deliver(tmp_path / "b", rows=40000, seed=3)
    con = connect(warehouse)
    load_partition(con, _connector(tmp_path / "b"), OCTOBER, "load")
    allocate_period(con, load_rules(RULES), OCTOBER, "good")
    published = con.sql("select count(*), sum(BilledCost) from allocated_costs").fetchall()
    con.close()

    code = _run_and_kill(f"""
        import time
        import costalloc.allocation.publish as publish
        from costalloc.allocation import splits
        from costalloc.allocation.loader import load_rules
        apply_splits = splits.apply_splits
        def announcing(*args, **kwargs):
            # every line item is written to the uncommitted allocation by now
            print("MIDWAY", flush=True)
            time.sleep(30)  # the kill lands here, inside the transaction
            return apply_splits(*args, **kwargs)
        splits.apply_splits = announcing
        publish.allocate_period(connect({str(warehouse)!r}), load_rules(Path({str(RULES)!r})),
                                BillingPeriod(2026, 10), "killed")
        print("FINISHED", flush=True)
    """, tmp_path)
    assert code == -signal.SIGKILL
    con = connect(warehouse)
    assert con.sql("select count(*), sum(BilledCost) from allocated_costs").fetchall() == published
    assert con.sql("select distinct x_allocation_run_id from allocated_costs").fetchall() == [
        ("good",)]
    allocate_period(con, load_rules(RULES), OCTOBER, "rerun")
    assert con.sql("select count(*), sum(BilledCost) from allocated_costs").fetchall() == published
    con.close()


def test_killed_during_an_export(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    _deliver(tmp_path / "b", rows=30000, seed=4)
    con = connect(warehouse)
    load_partition(con, _connector(tmp_path / "b"), OCTOBER, "load")
    con.close()
    out = tmp_path / "out"

    code = _run_and_kill(f"""
        import costalloc.reports.finance.extracts as extracts
        import pyarrow.parquet as pq
        write_batch = pq.ParquetWriter.write_batch
        calls = []
        def announcing(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                print("MIDWAY", flush=True)
                import time; time.sleep(5)
            return write_batch(self, *args, **kwargs)
        pq.ParquetWriter.write_batch = announcing
        extracts.export(connect({str(warehouse)!r}, read_only=True), "line-items",
                        BillingPeriod(2026, 10), "parquet", Path({str(out)!r}))
        print("FINISHED", flush=True)
    """, tmp_path)
    assert code == -signal.SIGKILL
    finals = [p for p in out.rglob("*.parquet")]
    assert finals == [], "a killed export leaves no file under its final name"

    con = connect(warehouse, read_only=True)
    written = export(con, "line-items", OCTOBER, "parquet", out)
    rows = con.sql("select count(*) from line_items").fetchall()[0][0]
    con.close()
    import pyarrow.parquet as pq

    assert pq.read_metadata(written).num_rows == rows


@pytest.fixture(autouse=True)
def _no_prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / ".prefect"))
