"""Provider timestamps (typed, or text in the half-dozen spellings exports use) → UTC."""

from __future__ import annotations

import polars as pl

from connectors.focus import UTC_TIME


def utc_time(name: str, schema: pl.Schema) -> pl.Expr:
    """`name` as a UTC timestamp; null when absent or unparseable (callers check)."""
    if name not in schema:
        return pl.lit(None, dtype=UTC_TIME)
    dtype = schema[name]
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        aware = (column.dt.replace_time_zone("UTC") if dtype.time_zone is None
                 else column.dt.convert_time_zone("UTC"))
        return aware.cast(UTC_TIME)
    if isinstance(dtype, pl.Date):
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    text = (column.cast(pl.String).str.strip_chars().str.replace("T", " ")
            .str.replace(r"(Z|[+-]00:?00)$", "").str.replace(r"\.\d+$", ""))
    text = pl.when(text.str.len_chars() == 10).then(text + " 00:00:00").otherwise(text)
    return text.str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC", strict=False)
