"""Replace one (source, billing period) partition of `line_items` atomically.

The old partition stays visible to every reader until the new one has been written in full
and its totals tie out to the raw export's; then both flip in one commit. Any failure rolls
back, so the last good load stays published, and the error that stopped the load is the one
raised: a rollback or a setting reset never replaces it. A load that would leave the partition
empty is refused unless the provider declared the month empty.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from costalloc.core.errors import SourceError, WarehouseWriteError
from costalloc.core.period import BillingPeriod
from costalloc.sql import load
from costalloc.warehouse.connection import append, unordered_inserts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOrigin:
    """Where a run of line items came from: `rows` data rows of `file` from `first_row`
    (1-based), numbered from `first_line_item` in the partition (`x_line_item_id`)."""

    file: str
    first_row: int
    first_line_item: int
    rows: int


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
    declared_empty: bool = False  # the provider's manifest says the month has no line items
    origins: list[BatchOrigin] = field(default_factory=list)  # in line item order
    duplicate_rows: int | None = None  # see `sql/warehouse/duplicate_line_items.sql`
    duplicate_example: str | None = None

    def where(self, line_item_id: int) -> str:
        """The file and data row a line item came from, as far as the batches tell."""
        starts = [origin.first_line_item for origin in self.origins]
        index = bisect.bisect_right(starts, line_item_id) - 1
        if index < 0:
            return f"line item {line_item_id}"
        origin = self.origins[index]
        offset = line_item_id - origin.first_line_item
        if offset < origin.rows:
            return f"`{origin.file}` data row {origin.first_row + offset}"
        last = origin.first_row + origin.rows - 1
        return f"`{origin.file}` (a line item derived from data rows {origin.first_row}–{last})"


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

    with unordered_inserts(con):  # around the transaction: a SET can't run in an aborted one
        return _replace(con, load_, write)


def replace_partition_from_parquet(con: duckdb.DuckDBPyConnection, load_: PartitionLoad,
                                   paths: list[str], offsets: list[int] | None = None
                                   ) -> PartitionLoad:
    """`replace_partition` from local Parquet files holding the partition's rows (without
    `x_source` and `x_billing_period`, as `warehouse.lake` stages them). DuckDB reads them
    itself, on every core and in bounded memory: about a third of the time and memory of
    streaming the same rows through Python. `offsets` (per path, default 0) move each file's
    line item ids as they go in, so parts staged file by file are never rewritten."""
    shifts = offsets if offsets is not None else [0] * len(paths)

    def write() -> None:
        # no file: an empty month the provider declared (refused otherwise)
        for offset in dict.fromkeys(shifts):  # one read of the files sharing an offset
            chosen = [path for path, shift in zip(paths, shifts, strict=True) if shift == offset]
            con.execute(load("warehouse/insert_partition_parquet"),
                        {"source": load_.source, "period": str(load_.period), "paths": chosen,
                         "offset": offset})

    with unordered_inserts(con):  # around the transaction: a SET can't run in an aborted one
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
        _refuse_emptying(load_)
        _count_duplicates(con, load_, key)
        _record(con, load_, "loaded", None)
        con.commit()
    except duckdb.IOException as error:
        _rollback(con)
        raise write_failed(load_.source, load_.period, f"writing `line_items`: {error}") from None
    except BaseException:
        _rollback(con)
        raise
    return load_


def _count_duplicates(con: duckdb.DuckDBPyConnection, load_: PartitionLoad,
                      key: dict[str, str]) -> None:
    counted = con.sql(load("warehouse/duplicate_line_items"), params=key).fetchall()[0][0]
    load_.duplicate_rows = None if counted is None else int(counted)
    if load_.duplicate_rows:
        example = con.sql(load("warehouse/duplicate_example"), params=key).fetchall()
        load_.duplicate_example = str(example[0][0]) if example and example[0][0] else None


def write_failed(source: str, period: BillingPeriod, detail: str) -> WarehouseWriteError:
    """The one paragraph for a warehouse (or its staging area) that could not be written."""
    first_line = detail.strip().splitlines()[0] if detail.strip() else "unknown error"
    return WarehouseWriteError(
        f"{source} {period}: writing the warehouse failed: {first_line}. Free space (or fix "
        "permissions) where the warehouse and its scratch folder live and run again; the "
        "previous load stays published")


def record_failure(con: duckdb.DuckDBPyConnection, load_: PartitionLoad, message: str) -> None:
    """Log a refused delivery (outside any load transaction): the published data is untouched.

    Called while another error is on its way to the user, so a warehouse that can't take the
    row either (a full disk) only costs the log entry, never that error.
    """
    try:
        _record(con, load_, "failed", message)
    except duckdb.Error as error:
        log.warning("%s %s: could not record the failed load in ingest_log: %s", load_.source,
                    load_.period, str(error).splitlines()[0] if str(error) else error)


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


def _refuse_emptying(load_: PartitionLoad) -> None:
    if load_.loaded_rows == 0 and not load_.declared_empty:
        raise SourceError(load_.source, load_.period,
                          f"delivery {load_.fingerprint} holds no line items "
                          f"({len(load_.files)} file(s)); a published month is never replaced "
                          "with nothing unless the provider's manifest says the month is "
                          "empty; nothing was published and the previous load stays")


def _record(con: duckdb.DuckDBPyConnection, load_: PartitionLoad, status: str,
            message: str | None) -> None:
    con.execute(load("warehouse/record_ingest"), {
        "run_id": load_.run_id, "source": load_.source, "period": str(load_.period),
        "fingerprint": load_.fingerprint, "status": status, "files": json.dumps(load_.files),
        "row_count": load_.loaded_rows, "raw_totals": _money_json(load_.raw_totals),
        "loaded_totals": _money_json(load_.loaded_totals), "message": message,
        "started_at": load_.started_at, "duplicate_rows": load_.duplicate_rows,
    })


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # a failed commit already ended the transaction
        con.rollback()


def _money_json(totals: dict[str, Decimal]) -> str:
    return json.dumps({currency: f"{amount:f}" for currency, amount in sorted(totals.items())})
