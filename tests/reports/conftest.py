"""Fixtures for the finance reports: the warehouse (`builders.py`) is built once per session;
tests that only read share a read-only connection, tests that change it get their own copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from costalloc.warehouse.connection import connect
from tests.reports.builders import build_warehouse


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("finance"))


@pytest.fixture(scope="session")
def published(built_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built warehouse, shared by tests that only read."""
    con = connect(built_warehouse, read_only=True)
    yield con
    con.close()


@pytest.fixture
def warehouse_file(built_warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the built warehouse for this test alone."""
    target = tmp_path / "costalloc.duckdb"
    shutil.copyfile(built_warehouse, target)
    return target
