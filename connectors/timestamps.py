"""Provider timestamps (typed, or text in the half-dozen spellings exports use) → UTC."""

from __future__ import annotations

import polars as pl

from costalloc.core.focus import UTC_TIME


def utc_time(name: str, schema: pl.Schema) -> pl.Expr:
    """`name` as a UTC timestamp; null when absent or unparseable (callers check)."""
    if name not in schema:
        return pl.lit(None, dtype=UTC_TIME)
    typed = typed_utc(pl.col(name), schema[name])
    if typed is not None:
        return typed
    return parse_iso(pl.col(name).cast(pl.String))


def typed_utc(column: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """A Parquet timestamp or date column in UTC; None when the column is text."""
    if isinstance(dtype, pl.Datetime):
        aware = (column.dt.replace_time_zone("UTC") if dtype.time_zone is None
                 else column.dt.convert_time_zone("UTC"))
        return aware.cast(UTC_TIME)
    if isinstance(dtype, pl.Date):
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(UTC_TIME)
    return None


def iso_text(text: pl.Expr) -> pl.Expr:
    """`2026-10-01`, `2026-10-01T00:00:00Z`, `…00.0000000+00:00` → `2026-10-01 00:00:00`."""
    text = (text.str.strip_chars().str.replace("T", " ").str.replace(r"(Z|[+-]00:?00)$", "")
            .str.replace(r"\.\d+$", ""))
    return pl.when(text.str.len_chars() == 10).then(text + " 00:00:00").otherwise(text)


def parse_iso(text: pl.Expr) -> pl.Expr:
    return iso_text(text).str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC", strict=False)
