"""Locks in the warehouse: one run at a time loads a (source, period) or allocates a period.

A lock is a row of `partition_locks` (key, run id, host, pid, when). Taking one is a short
transaction; the primary key makes two runs that race for the same key end with one winner.
A lock whose holder is gone — same host and its pid no longer alive (or reused by a younger
process), or another host's lock older than `stale_after` — is taken over, so a run killed
mid-load never blocks the next one. A live holder makes `acquire` raise `WarehouseBusyError`,
which the flows retry with backoff.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from costalloc.core.errors import WarehouseBusyError
from costalloc.core.period import BillingPeriod
from costalloc.sql import load

STALE_AFTER = timedelta(hours=24)  # another host's lock this old is presumed abandoned
_CLOCK_SLACK = timedelta(seconds=2)


@dataclass(frozen=True)
class Holder:
    """Who holds (or wants) a lock."""

    run_id: str
    host: str
    pid: int
    acquired_at: datetime | None = None

    @classmethod
    def here(cls, run_id: str) -> Holder:
        """This process, on behalf of `run_id`."""
        return cls(run_id, socket.gethostname(), os.getpid())

    def describe(self) -> str:
        since = f" since {self.acquired_at:%Y-%m-%d %H:%M:%S %Z}" if self.acquired_at else ""
        return f"run `{self.run_id}` (pid {self.pid} on {self.host}{since})"


def load_key(source: str, period: BillingPeriod) -> str:
    return f"load/{source}/{period}"


def allocate_key(period: BillingPeriod) -> str:
    return f"allocate/{period}"


def holder(con: duckdb.DuckDBPyConnection, key: str) -> Holder | None:
    rows = con.execute(load("warehouse/lock_holder"), {"key": key}).fetchall()
    if not rows:
        return None
    run_id, host, pid, acquired_at = rows[0]
    return Holder(str(run_id), str(host), int(pid), acquired_at)


def acquire(con: duckdb.DuckDBPyConnection, key: str, claimant: Holder, *,
            stale_after: timedelta = STALE_AFTER) -> Holder | None:
    """Take `key` for `claimant`; returns the gone holder it took over from, if any.

    Re-taking a lock the same run already holds is a no-op. Raises `WarehouseBusyError`
    when a live run holds it, or when another run took it in the same instant.
    """
    con.begin()
    try:
        current = holder(con, key)
        params = {"key": key, "run_id": claimant.run_id, "host": claimant.host,
                  "pid": claimant.pid}
        taken_over = None
        if current is None:
            con.execute(load("warehouse/lock_take"), params)
        elif current.run_id == claimant.run_id:
            pass
        elif is_gone(current, stale_after=stale_after):
            moved = con.execute(load("warehouse/lock_take_over"), {
                **params, "previous_run_id": current.run_id, "previous_pid": current.pid,
            }).fetchall()
            if not moved:
                raise _busy(key, current)
            taken_over = current
        else:
            raise _busy(key, current)
        con.commit()
    except duckdb.TransactionException:
        _rollback(con)
        raise WarehouseBusyError(
            f"lock `{key}` was taken by another run at the same moment; this step will be "
            "retried") from None
    except BaseException:
        _rollback(con)
        raise
    return taken_over


def release(con: duckdb.DuckDBPyConnection, key: str, run_id: str) -> bool:
    """Give `key` back; True when this run held it. Never removes another run's lock."""
    released = con.execute(load("warehouse/lock_release"), {"key": key, "run_id": run_id})
    return bool(released.fetchall())


def is_gone(lock: Holder, *, stale_after: timedelta = STALE_AFTER,
            host: str | None = None, now: datetime | None = None) -> bool:
    """Whether the process that took `lock` can no longer be running it."""
    if lock.host == (host or socket.gethostname()):
        return not process_alive(lock.pid, started_before=lock.acquired_at)
    if lock.acquired_at is None:
        return False
    return (now or datetime.now(UTC)) - lock.acquired_at > stale_after


def process_alive(pid: int, *, started_before: datetime | None = None) -> bool:
    """Whether `pid` is a running (not zombie) process that started before `started_before`.

    A pid can be reused once its process has exited: where /proc tells a process's start time,
    a process younger than the lock is not its holder.
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":  # signal 0 would terminate it there: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    status = _proc_stat(pid)
    if status is None:
        return True
    state, started_at = status
    if state in ("Z", "X"):
        return False
    return started_before is None or started_at is None or \
        started_at <= started_before + _CLOCK_SLACK


def _proc_stat(pid: int) -> tuple[str, datetime | None] | None:
    """(state, start time) from Linux's /proc, or None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration):
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
    state, start_ticks = fields[0], int(fields[19])
    try:
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return state, None
    started = int(boot.split()[1]) + start_ticks / ticks
    return state, datetime.fromtimestamp(started, UTC)


def _busy(key: str, current: Holder) -> WarehouseBusyError:
    return WarehouseBusyError(
        f"lock `{key}` is held by {current.describe()}, which is still running; this step "
        "waits and retries, and the other run's result stays as it publishes it")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # a failed commit already ended the transaction
        con.rollback()
