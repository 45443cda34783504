from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness

from tests.flows.prefect_server import running_server


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One ephemeral Prefect API (SQLite) for every flow test in the session."""
    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`prefect server start` on a free port; the environment for commands that use it."""
    with running_server(tmp_path_factory.mktemp("prefect-server")) as env:
        yield env


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`costalloc.flows.cli.main` sets Prefect's variables for its process; a test that calls it
    gets them back as they were."""
    for name in ("PREFECT_LOGGING_LEVEL", "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW",
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                 "PREFECT_SERVER_ANALYTICS_ENABLED"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    yield
