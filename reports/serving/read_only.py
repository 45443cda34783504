"""The warehouse as the endpoint and the web view read it: read-only, one connection per
request, no progress bar written to the server's terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from costalloc.warehouse.connection import connect


def open_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = connect(warehouse, read_only=True)
    con.execute("set enable_progress_bar = false")
    return con


@contextmanager
def read_only(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for one request, closed when it is answered."""
    con = open_read_only(warehouse)
    try:
        yield con
    finally:
        con.close()
