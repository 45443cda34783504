"""Replace one (source, billing period) partition of `line_items` atomically.

The old partition stays visible to every reader until the new one has been written in full
and its totals tie out to the raw export's; then both flip in one commit. Any failure rolls
back, so the last good load stays published.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.sql import load
from costalloc.warehouse.connection import append, unordered_inserts


@dataclass
class PartitionLoad:
    """What a load read (from the raw files) and what landed in `line_items`."""

    source: str
    period: BillingPeriod
    fingerprint: str
    run_id: str
    files: list[str] = field(default_factory=list)
    raw_rows: int = 0  # rows read from the provider's files
    emitted_rows: int = 0  # FOCUS rows the normalizer produced from them
    raw_totals: dict[str, Decimal] = field(default_factory=dict)
    loaded_rows: int = 0
    loaded_totals: dict[str, Decimal] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def published_fingerprint(con: duckdb.DuckDBPyConnection, source: str,
                          period: BillingPeriod) -> str | None:
    rows = con.sql(load("warehouse/published_fingerprint"),
                   params={"source": source, "period": str(period)}).fetchall()
    return str(rows[0][0]) if rows else None


def replace_partition(con: duckdb.DuckDBPyConnection, load_: PartitionLoad,
                      line_items: Iterable[pa.Table]) -> PartitionLoad:
    """Write `line_items` as the whole partition, or nothing. `load_` is filled as it reads."""

    def write() -> None:
        for table in line_items:
            append(con, "line_items", table)

    return _replace(con, load_, write)


def replace_partition_from_parquet(con: duckdb.DuckDBPyConnection, load_: PartitionLoad,
                                   paths: list[str]) -> PartitionLoad:
    """`replace_partition` from local Parquet files holding the partition's rows (without
    `x_source` and `x_billing_period`, as `warehouse.lake` stages them). DuckDB reads them
    itself, on every core and in bounded memory: about a third of the time and memory of
    streaming the same rows through Python."""
    params = {"source": load_.source, "period": str(load_.period), "paths": paths}

    def write() -> None:
        with unordered_inserts(con):
            con.execute(load("warehouse/insert_partition_parquet"), params)

    return _replace(con, load_, write)


def _replace(con: duckdb.DuckDBPyConnection, load_: PartitionLoad,
             write: Callable[[], None]) -> PartitionLoad:
    key = {"source": load_.source, "period": str(load_.period)}
    con.begin()
    try:
        con.execute(load("warehouse/delete_partition"), key)
        write()
        totals = con.sql(load("warehouse/partition_totals"), params=key).fetchall()
        load_.loaded_rows = sum(int(row[1]) for row in totals)
        load_.loaded_totals = {str(row[0]): Decimal(row[2]) for row in totals}
        _tie_out(load_)
        _record(con, load_, "loaded", None)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return load_


def record_failure(con: duckdb.DuckDBPyConnection, load_: PartitionLoad, message: str) -> None:
    """Log a refused delivery (outside any load transaction): the published data is untouched."""
    _record(con, load_, "failed", message)


def _tie_out(load_: PartitionLoad) -> None:
    if load_.emitted_rows != load_.loaded_rows:
        raise SourceError(load_.source, load_.period,
                          f"normalized {load_.emitted_rows} rows from {len(load_.files)} file(s) but "
                          f"{load_.loaded_rows} reached line_items; nothing was published")
    currencies = sorted(set(load_.raw_totals) | set(load_.loaded_totals))
    for currency in currencies:
        raw = load_.raw_totals.get(currency, Decimal(0))
        loaded = load_.loaded_totals.get(currency, Decimal(0))
        if raw != loaded:
            raise SourceError(load_.source, load_.period,
                              f"{currency}: the export's own cost column sums to {raw} but "
                              f"BilledCost sums to {loaded} (difference {loaded - raw}); "
                              "nothing was published")


def _record(con: duckdb.DuckDBPyConnection, load_: PartitionLoad, status: str,
            message: str | None) -> None:
    con.execute(load("warehouse/record_ingest"), {
        "run_id": load_.run_id, "source": load_.source, "period": str(load_.period),
        "fingerprint": load_.fingerprint, "status": status, "files": json.dumps(load_.files),
        "row_count": load_.loaded_rows, "raw_totals": _money_json(load_.raw_totals),
        "loaded_totals": _money_json(load_.loaded_totals), "message": message,
        "started_at": load_.started_at,
    })


def _money_json(totals: dict[str, Decimal]) -> str:
    return json.dumps({currency: f"{amount:f}" for currency, amount in sorted(totals.items())})
