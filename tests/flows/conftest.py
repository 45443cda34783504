from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One ephemeral Prefect API (SQLite) for every flow test in the session."""
    with prefect_test_harness(server_startup_timeout=90):
        yield
