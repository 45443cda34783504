"""Open the warehouse file, with the schema in place and UTC as the session time zone."""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.errors import WarehouseBusyError
from sql import SCHEMA, load


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse; creates the file and tables on first use (unless read-only)."""
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
    if not read_only:
        for name in SCHEMA:
            con.execute(load(name))
    return con
