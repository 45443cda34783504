"""Azure's date spellings → UTC timestamps, as polars expressions.

Cost files write the same day as `10/01/2026` (EA and MCA CSV, US order `MM/dd/yyyy`, often
without zero padding), `2026-10-01` (pay-as-you-go, Cost Details), `2026-10-01 00:00:00`,
`2026-10-01T00:00:00.0000000Z` (FOCUS), or as a typed Parquet date or timestamp. Azure's
cost data is daily and in UTC, so a US-style date keeps only its day.
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors.azure.distinct import per_distinct
from costalloc.connectors.timestamps import iso_text, typed_utc
from costalloc.core.focus import UTC_TIME

_US_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{4})"


def utc_day(column: str, schema: pl.Schema) -> pl.Expr:
    """`column` as a UTC timestamp; null when absent, empty or not a date."""
    if column not in schema:
        return pl.lit(None, dtype=UTC_TIME)
    value = pl.col(column)
    typed = typed_utc(value, schema[column])
    if typed is not None:
        return typed
    return per_distinct(value.cast(pl.String), parse_text, UTC_TIME)


def parse_text(text: pl.Expr) -> pl.Expr:
    """Date or date-time text in any of Azure's spellings → UTC timestamp (null if none)."""
    text = text.str.strip_chars()
    us = text.str.extract_groups(_US_DATE)
    from_us = pl.concat_str(
        us.struct.field("3"), pl.lit("-"), us.struct.field("1").str.zfill(2), pl.lit("-"),
        us.struct.field("2").str.zfill(2), pl.lit(" 00:00:00"))
    iso = iso_text(text)
    normalized = pl.when(text.str.contains(_US_DATE)).then(from_us).otherwise(iso)
    return normalized.str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC", strict=False).cast(
        UTC_TIME)
