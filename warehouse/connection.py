"""Open the warehouse file, with its schema at the current version (warehouse/migrations.py) and UTC
as the session time zone; append Arrow batches to its tables."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from costalloc.core.errors import WarehouseBusyError
from costalloc.warehouse.migrations import bring_to_current, require_current

# DuckDB's buffer pool may take 80 % of the machine by default and keeps every page a load
# writes cached, so the process would grow with the month. Loads and allocations stream, so a
# bounded pool keeps memory flat; anything bigger spills to `<warehouse>.tmp`. 1 GB is where a
# 10M-line-item month stops spilling much (256 MB costs a third more time); raise it on a big
# machine.
MEMORY_LIMIT_VARIABLE = "COSTALLOC_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse at the current schema version.

    Read-write: creates the file and tables on first use and migrates a warehouse made by an
    earlier release. Read-only: refuses a warehouse that still needs migrating (it cannot write
    the migration) with a message saying how; either way, a warehouse newer than this code is
    refused, untouched."""
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseBusyError(
                f"warehouse `{target}` is open for writing in another process; "
                "wait for that run to finish (or stop it) and try again") from None
        raise
    con.execute("set TimeZone = 'UTC'")
    # DuckDB draws a progress bar on stdout for statements that take over 2 s: noise in a
    # terminal's output and in the Prefect log; the run reports its own progress.
    con.execute("set enable_progress_bar = false")
    if target != ":memory:":
        con.execute("set memory_limit = $limit",
                    {"limit": os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT})
    try:
        if read_only:
            require_current(con, target)
        else:
            bring_to_current(con, target)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def unordered_inserts(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB insert in whatever order its threads finish: warehouse rows are keyed (source,
    line item id), never ordered, and keeping insertion order costs parallelism.

    Wrap a whole transaction, not part of one: DuckDB refuses even a `reset` inside a
    transaction that an error aborted. Should the reset fail anyway while an error is on its
    way out, that error is the one raised.
    """
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("reset preserve_insertion_order")
        raise
    con.execute("reset preserve_insertion_order")


# Tables that batches are appended to (their names go into SQL text, so they are checked).
_APPENDABLE = frozenset({"line_items", "allocated_costs", "split_candidates", "split_weights",
                         "split_rows"})


def append(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Insert `rows` into `table`, matching columns by name.

    DuckDB reads `rows` through a replacement scan of the local name `incoming`, not through
    `register`: a view registered and unregistered inside a transaction keeps its Arrow data
    alive until the transaction ends, so a month loaded batch by batch would be held in memory
    whole until the commit.
    """
    if table not in _APPENDABLE:
        raise ValueError(f"`{table}` is not a table batches are appended to")
    if not rows.num_rows:
        return
    incoming = rows  # noqa: F841 (read by DuckDB, by name)
    con.execute(f"insert into {table} by name select * from incoming")  # noqa: S608
