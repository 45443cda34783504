"""The Prefect server a command starts dies with the command, even when the command is killed
with SIGKILL (no atexit, no signal handler runs). Linux: processes are read from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from costalloc.flows import server_guard
from tests.flows import faulty_source
from tests.flows.workspace import Workspace

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
LAUNCHER = ("import sys; from tests.flows import faulty_source; faulty_source.install(); "
            "from costalloc.flows.cli import main; sys.exit(main(sys.argv[1:]))")
SERVER_APP = "prefect.server.api.server:create_app"


def _children(parent: int) -> dict[int, str]:
    """pid → command line of every live process whose parent is `parent`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_killing_a_run_stops_the_prefect_server_it_started(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    journal = tmp_path / "hang.journal"
    space.deliver("hang", "2026-10", rows=50, seed=1)
    config = space.configure([{"name": "hang", "kind": faulty_source.KIND,
                               "uri": space.export_uri("hang"),
                               "options": {"fault": "hang:2026-10", "journal": str(journal)}}])
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / ".prefect")}
    env.pop("PREFECT_API_URL", None)  # so the command starts its own temporary server
    with (tmp_path / "run.log").open("w") as log:
        cli = subprocess.Popen([sys.executable, "-c", LAUNCHER, "--config", str(config), "run",
                                "--period", "2026-10"], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    server = watchdog = None
    try:
        # The run is reading (and hangs there): its server is up and its watchdog is watching.
        _wait_for(lambda: Path(f"{journal}.hang").exists() or cli.poll() is not None, 300,
                  "the run never reached the source")
        assert cli.poll() is None, (tmp_path / "run.log").read_text()
        children = _children(cli.pid)
        server = next(pid for pid, line in children.items() if SERVER_APP in line)
        watchdog = next(pid for pid, line in children.items()
                        if "costalloc.flows.server_guard" in line)
        assert f"server_guard {cli.pid} {server}" in children[watchdog]

        cli.send_signal(signal.SIGKILL)
        cli.wait()
        _wait_for(lambda: not _running(server), 30, "the server outlived the killed run")
        _wait_for(lambda: not _running(watchdog), 30, "the watchdog outlived the server")
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        for pid in (server, watchdog):
            if pid is not None and _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_watchdog_stops_a_child_that_ignores_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM first, SIGKILL after the grace period; it returns once the child is gone."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                              "print('ready', flush=True); time.sleep(600)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        parent.kill()
        parent.wait()
        monkeypatch.setattr(server_guard, "GRACE_SECONDS", 1.0)
        server_guard.watch(parent.pid, child.pid)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        for process in (parent, child):
            if process.poll() is None:
                process.kill()
                process.wait()
