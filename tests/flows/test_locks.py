"""Warehouse locks without Prefect: one holder per key, a gone holder is taken over, a live one
is refused with who holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from costalloc.core.errors import WarehouseBusyError
from costalloc.core.period import BillingPeriod
from costalloc.warehouse import locks
from costalloc.warehouse.connection import connect

OCTOBER = BillingPeriod(2026, 10)
KEY = locks.load_key("aws", OCTOBER)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def live_pid() -> Iterator[int]:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield sleeper.pid
    sleeper.kill()
    sleeper.wait()


@pytest.fixture
def dead_pid() -> int:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    return exited.pid


def _plant(con: duckdb.DuckDBPyConnection, holder: locks.Holder,
           acquired_at: datetime | None = None) -> None:
    con.execute("insert into partition_locks values ($1, $2, $3, $4, $5)",
                [KEY, holder.run_id, holder.host, holder.pid, acquired_at or datetime.now(UTC)])


def test_a_lock_has_one_holder_until_released(con: duckdb.DuckDBPyConnection,
                                              live_pid: int) -> None:
    first = locks.Holder("run-a", locks.Holder.here("x").host, live_pid)
    assert locks.acquire(con, KEY, first) is None
    assert locks.acquire(con, KEY, first) is None  # the same run again: still its lock

    with pytest.raises(WarehouseBusyError, match=rf"`{KEY}` is held by run `run-a` "
                       rf"\(pid {live_pid} on .*\), which is still running"):
        locks.acquire(con, KEY, locks.Holder.here("run-b"))
    assert not locks.release(con, KEY, "run-b")  # never removes another run's lock
    assert locks.holder(con, KEY) is not None

    assert locks.release(con, KEY, "run-a")
    assert locks.acquire(con, KEY, locks.Holder.here("run-b")) is None
    now_held = locks.holder(con, KEY)
    assert now_held is not None and (now_held.run_id, now_held.pid) == ("run-b", os.getpid())


def test_a_lock_whose_process_died_is_taken_over(con: duckdb.DuckDBPyConnection,
                                                 dead_pid: int) -> None:
    gone = locks.Holder("killed-run", locks.Holder.here("x").host, dead_pid)
    _plant(con, gone)
    taken = locks.acquire(con, KEY, locks.Holder.here("next-run"))
    assert taken is not None and (taken.run_id, taken.pid) == ("killed-run", dead_pid)
    assert locks.holder(con, KEY).run_id == "next-run"  # type: ignore[union-attr]


def test_a_reused_pid_does_not_keep_a_dead_runs_lock(con: duckdb.DuckDBPyConnection,
                                                     live_pid: int) -> None:
    # The lock was taken an hour before the process now owning that pid started.
    _plant(con, locks.Holder("old-run", locks.Holder.here("x").host, live_pid),
           acquired_at=datetime.now(UTC) - timedelta(hours=1))
    assert locks.acquire(con, KEY, locks.Holder.here("next-run")) is not None


def test_another_hosts_lock_is_trusted_until_it_is_stale(con: duckdb.DuckDBPyConnection) -> None:
    _plant(con, locks.Holder("remote-run", "other-host", 4242),
           acquired_at=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(WarehouseBusyError, match="pid 4242 on other-host"):
        locks.acquire(con, KEY, locks.Holder.here("mine"))
    taken = locks.acquire(con, KEY, locks.Holder.here("mine"), stale_after=timedelta(hours=1))
    assert taken is not None and taken.host == "other-host"


def test_two_runs_racing_for_a_lock_end_with_one_winner(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "w.duckdb"), connect(tmp_path / "w.duckdb")
    try:
        first.begin()
        first.execute("insert into partition_locks values ($1, 'a', 'h', 1, now())", [KEY])
        locks.acquire(second, KEY, locks.Holder.here("b"))  # commits first: wins
        with pytest.raises(duckdb.TransactionException):
            first.commit()
        assert locks.holder(second, KEY).run_id == "b"  # type: ignore[union-attr]
    finally:
        first.close()
        second.close()


def test_process_liveness(live_pid: int, dead_pid: int) -> None:
    assert locks.process_alive(live_pid)
    assert not locks.process_alive(dead_pid)
    started_later = datetime.now(UTC) - timedelta(minutes=5)
    time.sleep(0.01)
    assert not locks.process_alive(live_pid, started_before=started_later)
