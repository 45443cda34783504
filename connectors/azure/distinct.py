"""Run an expensive string transform once per distinct value, not once per row.

Azure cost files repeat the same few dates, units, locations and tag sets over millions of
rows; parsing each of them with regular expressions row by row costs far more than the rest
of the normalization. `per_distinct` evaluates the transform on the distinct values of a
batch and maps the results back with a join, keeping everything vectorised.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

_VALUE = "value"
_RESULT = "result"


def per_distinct(value: pl.Expr, transform: Callable[[pl.Expr], pl.Expr],
                 dtype: pl.DataType) -> pl.Expr:
    """`transform(value)`, computed on each distinct value of `value` once per batch."""

    def apply(column: pl.Series) -> pl.Series:
        values = column.rename(_VALUE).to_frame()
        distinct = values.unique().with_columns(transform(pl.col(_VALUE)).cast(dtype)
                                                .alias(_RESULT))
        mapped = values.join(distinct, on=_VALUE, how="left", nulls_equal=True,
                             maintain_order="left")
        return mapped.get_column(_RESULT)

    return value.map_batches(apply, return_dtype=dtype)
