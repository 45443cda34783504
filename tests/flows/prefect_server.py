"""A real Prefect server for the tests that need one (`prefect server start` on a free port;
the `prefect_server` fixture in conftest.py), and small calls to its REST API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


@contextmanager
def running_server(home: Path) -> Iterator[dict[str, str]]:
    """A server with its own `home`; yields the environment for commands that use it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOGGING_LEVEL": "WARNING"}
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port), "--no-ui"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(lambda: healthy(env["PREFECT_API_URL"]), 90, "the Prefect server to answer")
        yield env
    finally:
        stop(server)


def api(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One Prefect API call; 503 (SQLite busy) and 429 are retried, as Prefect's client does."""
    data = json.dumps(body).encode() if body is not None else None
    for attempt in range(8):
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                content = answer.read()
            return json.loads(content) if content else {}
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503) or attempt == 7:
                raise
            time.sleep(0.5 * 2 ** min(attempt, 3))
    raise AssertionError("unreachable")


def flow_runs(env: dict[str, str], flow: str) -> list[dict[str, Any]]:
    """The runs of flow `flow` the server has recorded."""
    found: list[dict[str, Any]] = api("POST", f"{env['PREFECT_API_URL']}/flow_runs/filter",
                                      {"flows": {"name": {"any_": [flow]}}})
    return found


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
