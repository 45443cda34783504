"""One consistent, read-only view of the warehouse for everything a report writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def read_snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor that sees the warehouse as it was when the block started, whatever commits
    meanwhile. Closing the cursor ends its read transaction (open results included) and can't
    fail the way a rollback with a result still open does, so an error inside the block (a
    folder that can't be written, say) is the error that surfaces."""
    cursor = con.cursor()
    cursor.begin()
    try:
        yield cursor
    finally:
        cursor.close()
