"""The nightly run when things go wrong: throttling is retried, bad data is not, a lock left by a
killed run is recovered, a live one is waited for, and two runs at once load a partition once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from costalloc.connectors import registry
from costalloc.core.errors import CostallocError
from costalloc.flows.nightly import nightly
from costalloc.flows.retries import RETRY_BASE_VARIABLE
from costalloc.flows.run_report import RunReport
from costalloc.warehouse import locks
from costalloc.warehouse.connection import connect
from tests.flows import faulty_source
from tests.flows.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]
OCTOBER = "2026-10"


@pytest.fixture
def space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setitem(registry.KINDS, faulty_source.KIND, faulty_source.ENTRY)
    monkeypatch.setenv(RETRY_BASE_VARIABLE, "0")
    return Workspace(tmp_path)


def _faulty(space: Workspace, name: str, fault: str) -> dict[str, Any]:
    return {"name": name, "kind": faulty_source.KIND, "uri": space.export_uri(name),
            "options": {"fault": fault, "journal": str(space.root / f"{name}.journal")}}


def _aws(space: Workspace, name: str) -> dict[str, Any]:
    return {"name": name, "kind": "aws-cur", "uri": space.export_uri(name)}


def _journal(space: Workspace, name: str) -> list[str]:
    return (space.root / f"{name}.journal").read_text().splitlines()


def test_a_throttled_source_succeeds_on_retry(space: Workspace) -> None:
    config = space.configure([_faulty(space, "throttled", "transient:2")])
    written = space.deliver("throttled", OCTOBER, rows=300, seed=11)

    report = nightly(config=str(config), periods=[OCTOBER])

    assert [r.outcome for r in report.loads] == ["loaded"]
    # Throttled in the triage (so it goes to the loading step), throttled again there, found on
    # the retry, read once.
    assert _journal(space, "throttled") == ["find 2026-10"] * 3 + ["read 2026-10"]
    assert space.loaded() == {("throttled", OCTOBER): written.billed_totals["USD"]}


def test_a_data_error_fails_its_source_without_retry_while_the_others_load(
        space: Workspace) -> None:
    config = space.configure([_faulty(space, "broken", "data"), _aws(space, "good")])
    broken = space.deliver("broken", OCTOBER, rows=300, seed=12)
    good = space.deliver("good", OCTOBER, rows=300, seed=13)

    with pytest.raises(CostallocError, match=r"1 step\(s\) failed:\nbroken 2026-10: "
                       r"`export-00001.snappy.parquet` data row 7: column "
                       r"`line_item_unblended_cost` holds `12,50`"):
        nightly(config=str(config), periods=[OCTOBER])

    # Found by the triage, found again under the partition's lock, read once: never retried.
    assert _journal(space, "broken") == ["find 2026-10", "find 2026-10", "read 2026-10"]
    assert space.loaded() == {("good", OCTOBER): good.billed_totals["USD"]}
    assert space.allocated() == {OCTOBER: good.billed_totals["USD"]}
    failed = space.query("select source, fingerprint, message from ingest_log "
                         "where status = 'failed'")
    assert [(s, f) for s, f, _ in failed] == [("broken", broken.fingerprint)]
    assert "holds `12,50`" in failed[0][2]  # logged against the delivery it could not load
    assert space.query("select count(*) from partition_locks") == [(0,)]  # all released


def test_a_lock_left_by_a_killed_run_is_recovered(space: Workspace) -> None:
    config = space.configure([_aws(space, "aws")])
    written = space.deliver("aws", OCTOBER, rows=200, seed=14)
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    _plant_lock(space, "killed-run", killed.pid)

    report = nightly(config=str(config), periods=[OCTOBER])

    assert [r.outcome for r in report.loads] == ["loaded"]
    assert space.loaded() == {("aws", OCTOBER): written.billed_totals["USD"]}
    assert space.query("select count(*) from partition_locks") == [(0,)]


def test_a_lock_held_by_a_live_run_is_waited_for_then_the_run_fails(space: Workspace) -> None:
    config = space.configure([_aws(space, "aws"), _aws(space, "other")])
    space.deliver("aws", OCTOBER, rows=200, seed=15)
    other = space.deliver("other", OCTOBER, rows=200, seed=16)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _plant_lock(space, "long-backfill", holder.pid)
        with pytest.raises(CostallocError, match=rf"lock `load/aws/2026-10` is held by run "
                           rf"`long-backfill` \(pid {holder.pid} on "):
            nightly(config=str(config), periods=[OCTOBER])
    finally:
        holder.kill()
        holder.wait()
    assert space.loaded() == {("other", OCTOBER): other.billed_totals["USD"]}
    held = space.query("select lock_key, run_id from partition_locks")
    assert held == [("load/aws/2026-10", "long-backfill")]  # another run's lock is left alone


def test_two_runs_started_at_once_load_each_partition_once(space: Workspace,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRY_BASE_VARIABLE, "0.5")  # the second run waits: 0.5 s, 1 s, 2 s …
    config = space.configure([_faulty(space, "slow", "slow:1.5")])
    written = space.deliver("slow", OCTOBER, rows=200, seed=17)
    reports: list[RunReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(nightly(config=str(config), periods=[OCTOBER]))
        except BaseException as error:
            errors.append(error)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(r.loads[0].outcome for r in reports) == ["loaded", "unchanged"]
    assert space.load_count() == {("slow", OCTOBER): 1}
    assert space.loaded() == {("slow", OCTOBER): written.billed_totals["USD"]}
    assert _journal(space, "slow").count("read 2026-10") == 1


def _plant_lock(space: Workspace, run_id: str, pid: int) -> None:
    con = connect(space.warehouse)
    try:
        con.execute("insert into partition_locks values ('load/aws/2026-10', $1, $2, $3, now())",
                    [run_id, socket.gethostname(), pid])
    finally:
        con.close()
    assert locks.process_alive(pid) == (run_id == "long-backfill")
    assert os.getpid() != pid
