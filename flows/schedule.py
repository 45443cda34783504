"""`costalloc schedule`: the nightly run on its cron, plus on-demand backfill and reallocate.

The three flows are served from this one process (`prefect.serve`): each run starts as a
child process. A schedule needs a Prefect API whose scheduler creates the runs: the one in
`PREFECT_API_URL` (a Prefect server, or Prefect Cloud after `prefect cloud login`), else an
embedded server started here (SQLite under `PREFECT_HOME`) and stopped with this command —
also when the command is killed (`flows.server_guard`).
"""

from __future__ import annotations

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

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from costalloc.core.errors import ConfigurationError
from costalloc.core.settings import load_settings
from costalloc.flows.backfill import backfill
from costalloc.flows.nightly import nightly
from costalloc.flows.reallocate import reallocate
from costalloc.flows.server_guard import guard

NIGHTLY_CRON = "0 3 * * *"
EMBEDDED_PORT = 4200
_STARTUP_SECONDS = 120.0


def build_deployments(config: Path, cron: str = NIGHTLY_CRON) -> list[RunnerDeployment]:
    """`nightly` on `cron` (UTC); `backfill` and `reallocate` run only when asked."""
    load_settings(config)  # a broken configuration fails now, not at 03:00
    parameters = {"config": str(config.resolve())}
    try:
        return [
            RunnerDeployment.from_flow(
                nightly, name="nightly", cron=cron, parameters=parameters, tags=["costalloc"],
                description="Every source's open billing periods: load what changed, "
                "re-allocate, conserve, publish."),
            RunnerDeployment.from_flow(
                backfill, name="backfill", parameters=parameters, tags=["costalloc"],
                description="Load and allocate `periods` (e.g. [\"2026-01..2026-06\"]); "
                "re-running does only what is missing."),
            RunnerDeployment.from_flow(
                reallocate, name="reallocate", parameters=parameters, tags=["costalloc"],
                description="Re-apply the rules to loaded `periods` without reading sources."),
        ]
    except ValueError:  # pydantic's: the cron expression does not parse
        raise ConfigurationError(
            f"schedule `{cron}` is not a cron expression; expected five fields, minute hour "
            f"day-of-month month day-of-week, in UTC (default `{NIGHTLY_CRON}`: 03:00 daily)"
        ) from None


def serve_deployments(config: Path, cron: str = NIGHTLY_CRON) -> int:
    """Serve until interrupted (Ctrl-C / SIGTERM pauses the schedule on the way out)."""
    deployments = build_deployments(config, cron)
    if get_current_settings().api.url:
        serve(*deployments)
        return 0
    with embedded_server() as api_url:
        print(f"costalloc: no PREFECT_API_URL; started a Prefect server at {api_url} "
              f"(UI: {api_url.removesuffix('/api')}, data in {prefect_home()})", flush=True)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            serve(*deployments)
    return 0


@contextmanager
def embedded_server(port: int = EMBEDDED_PORT) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1 (the given port, or a free one when it is taken),
    with its scheduler; yields its API URL and stops it on the way out."""
    port = port if _free(port) else _any_free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    environment = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    environment.pop("PREFECT_API_URL", None)
    log_file = Path(prefect_home()) / "embedded-server.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as server_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)], env=environment, stdout=server_log,
            stderr=subprocess.STDOUT)
    guard(server.pid)
    try:
        _wait_until_healthy(server, api_url, log_file)
        os.environ["PREFECT_API_URL"] = api_url  # the flow-run processes serve starts
        yield api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def prefect_home() -> str:
    return str(get_current_settings().home)


def _wait_until_healthy(server: subprocess.Popen[bytes], api_url: str, log_file: Path) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            detail = log_file.read_text(errors="replace").strip().splitlines()
            raise ConfigurationError(
                "the embedded Prefect server exited at start"
                + (f": {detail[-1]}" if detail else "")
                + f" (log: {log_file}); set PREFECT_API_URL to a running server instead")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ConfigurationError(f"the embedded Prefect server did not answer at {api_url} within "
                             f"{_STARTUP_SECONDS:.0f} s; set PREFECT_API_URL to a running server")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _any_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
