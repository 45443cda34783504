"""Azure stand-ins: Azurite (npm, started once per session) and a fake ARM server.

Azurite comes from `make emulators` (into `.node/`); without it these tests fail and say so,
they never skip. The fake Azure Resource Manager is pytest-httpserver answering the
documented REST shapes, with a per-call policy that lets the SDK send its bearer token over
plain HTTP.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.costmanagement import CostManagementClient
from azure.storage.blob import BlobServiceClient, ContainerClient
from pytest_httpserver import HTTPServer

REPO = Path(__file__).parents[3]
AZURITE = REPO / ".node" / "node_modules" / ".bin" / "azurite-blob"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
_containers = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A running Azurite blob service; yields its connection string."""
    if not AZURITE.exists():
        pytest.fail(f"Azurite is not installed at {AZURITE}: run `make emulators`", pytrace=False)
    port = _free_port()
    process = subprocess.Popen(
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
         "--disableTelemetry", "--skipApiVersionCheck", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"Azurite did not start on port {port}: {error}", pytrace=False)
                time.sleep(0.05)
        yield (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
               f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def container(azurite: str) -> Iterator[ContainerClient]:
    """A fresh, empty container for one test."""
    service = BlobServiceClient.from_connection_string(azurite)
    client = service.create_container(f"exports{next(_containers)}")
    yield client
    client.delete_container()


class _FakeToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("fake-token", int(time.time()) + 3600)


class _AllowHttp(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """The bearer-token policy refuses plain HTTP; the fake server speaks nothing else."""

    def on_request(self, request: Any) -> None:
        request.context.options["enforce_https"] = False


@pytest.fixture
def make_arm_client(httpserver: HTTPServer) -> Callable[..., CostManagementClient]:
    """CostManagementClient factory for the fake ARM server (`httpserver`); no retries unless
    asked, no waits between polls."""

    def make(*, retries: int = 0) -> CostManagementClient:
        return CostManagementClient(
            _FakeToken(), base_url=httpserver.url_for("/").rstrip("/"), retry_total=retries,
            retry_backoff_factor=0, polling_interval=0, per_call_policies=[_AllowHttp()])

    return make
