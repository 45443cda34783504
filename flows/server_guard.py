"""A Prefect server started for one command dies with that command, however it ends.

Without `PREFECT_API_URL`, Prefect starts a temporary API server as a child process
(`prefect.server.api.server.SubprocessASGIServer`) and stops it at interpreter exit; `costalloc
schedule` starts `prefect server start` itself. Neither stop runs when the command is killed
(`kill -9`, the OOM killer), and the server would keep running as an orphan. So each server gets
a watchdog: a small process that waits for the command to end and then stops the server
(SIGTERM, then SIGKILL after a grace period). It holds pidfds where Linux has them, so a
recycled process id is never signalled; elsewhere it polls.

    python -m costalloc.flows.server_guard <command pid> <server pid>
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
_guarded: set[int] = set()


def guard_ephemeral_server() -> int | None:
    """Start Prefect's temporary server now (the flow would start it anyway) and tie it to this
    process. Nothing to do when `PREFECT_API_URL` names a server; returns the server's pid."""
    # Imported here, not with the module: the watchdog (`main`) runs this module in a process of
    # its own beside the command, and importing Prefect there costs seconds of a shared CPU.
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    process = server.server_process
    if process is None:
        return None
    guard(process.pid)
    return process.pid


def guard(child: int) -> None:
    """Stop `child` when this process ends (once per child)."""
    if child in _guarded:
        return
    _guarded.add(child)
    subprocess.Popen(
        [sys.executable, "-m", "costalloc.flows.server_guard", str(os.getpid()), str(child)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # a Ctrl-C to the command's group must not stop the watchdog


def watch(parent: int, child: int) -> None:
    """Wait until `parent` ends (or `child` does), then make sure `child` is gone."""
    parent_fd, child_fd = _pidfd(parent), _pidfd(child)
    if parent_fd is None and _alive(parent):
        _poll_until_gone(parent, child)
    elif parent_fd is not None:
        select.select([fd for fd in (parent_fd, child_fd) if fd is not None], [], [])
    _stop(child, child_fd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux ≥ 5.3, or already gone
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _poll_until_gone(parent: int, child: int) -> None:
    while _alive(parent) and _alive(child):
        time.sleep(POLL_SECONDS)


def _stop(child: int, child_fd: int | None) -> None:
    if not _signal(child, child_fd, signal.SIGTERM):
        return
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        if child_fd is not None:
            if select.select([child_fd], [], [], POLL_SECONDS)[0]:
                return
        elif not _alive(child):
            return
        else:
            time.sleep(POLL_SECONDS)
    _signal(child, child_fd, signal.SIGKILL)


def _signal(child: int, child_fd: int | None, signum: int) -> bool:
    """Send `signum`; False when the child is already gone."""
    try:
        if child_fd is not None:
            signal.pidfd_send_signal(child_fd, signum)
        else:
            os.kill(child, signum)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str]) -> int:
    parent, child = (int(arg) for arg in argv)
    with contextlib.suppress(KeyboardInterrupt):
        watch(parent, child)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
