"""Money at the edge: provider text or floats → DECIMAL(38, 10) (quantities and unit prices →
their contract type, DECIMAL(38, 18)), and control totals.

A provider's float (CUR Parquet writes doubles) is turned into its shortest decimal text
first, so 0.1 becomes exactly 0.1 and not 0.1000000000000000055.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from costalloc.core.confinement import shown
from costalloc.core.focus import MONEY, QUANTITY, UNIT_PRICE


def money(column: str, schema: pl.Schema) -> pl.Expr:
    """`column` as DECIMAL(38, 10); null where absent, empty or not a number."""
    return decimal(column, schema, MONEY)


def quantity(column: str, schema: pl.Schema) -> pl.Expr:
    """`column` as the contract's quantity type, every published digit kept."""
    return decimal(column, schema, QUANTITY)


def unit_price(column: str, schema: pl.Schema) -> pl.Expr:
    """`column` as the contract's unit-price type, every published digit kept."""
    return decimal(column, schema, UNIT_PRICE)


def decimal(column: str, schema: pl.Schema, dtype: pl.Decimal) -> pl.Expr:
    """`column` as `dtype`; null where absent, empty or not a number."""
    if column not in schema:
        return pl.lit(None, dtype=dtype)
    return as_decimal(pl.col(column), schema[column], dtype)


def as_decimal(value: pl.Expr, source: pl.DataType, dtype: pl.Decimal) -> pl.Expr:
    """A DECIMAL / number / text `value` (of type `source`) as `dtype`."""
    if isinstance(source, pl.Decimal):
        return value.cast(dtype)
    text = value.cast(pl.String)
    if not source.is_numeric():
        text = text.str.strip_chars()
    return text.str.to_decimal(scale=dtype.scale).cast(dtype)


NOT_A_NUMBER = "which is not a number"
BEYOND_QUANTITY = ("which is beyond DECIMAL(38, 18): a quantity or unit price has at most 20 "
                   "integer digits")


@dataclass(frozen=True)
class BadValue:
    column: str
    row: int  # 0-based within the frame
    value: str  # as the file holds it, as a message quotes it (`shown`: cut short, escaped)
    problem: str = NOT_A_NUMBER


def first_bad_money(raw: pl.DataFrame, columns: list[str],
                    quantities: list[str] | None = None) -> BadValue | None:
    """The first value in `columns` that is present but is not a finite number DECIMAL(38, 10)
    can hold (what `money` would turn into a null), else the first in `quantities` that
    DECIMAL(38, 18) can't hold (what `quantity` and `unit_price` would turn into a null: 1e20
    and beyond). Each list is tested in one pass."""
    return (_first(raw, columns, MONEY, NOT_A_NUMBER)
            or _first(raw, quantities or [], QUANTITY, BEYOND_QUANTITY))


def _first(raw: pl.DataFrame, columns: list[str], dtype: pl.Decimal,
           problem: str) -> BadValue | None:
    present = [column for column in dict.fromkeys(columns) if column in raw.columns]
    if not present:
        return None
    flags = raw.select(_not_held(column, raw.schema[column], dtype).alias(column)
                       for column in present)
    for column in present:
        bad = flags.get_column(column)
        if bad.any():
            row = int(bad.arg_true()[0])
            text = str(raw.get_column(column).cast(pl.String).str.strip_chars()[row])
            return BadValue(column, row, shown(text), problem)
    return None


def _not_held(column: str, dtype: pl.DataType, held: pl.Decimal) -> pl.Expr:
    """True where `column` has a value that is not a finite number `held` can hold."""
    value = pl.col(column)
    if dtype.is_float():
        # What `as_decimal` fails on, without writing every float out as text: NaN, ±inf,
        # and magnitudes beyond the type's integer digits.
        limit = 10.0 ** (held.precision - (held.scale or 0))
        return value.is_not_null() & ~(value.is_finite() & (value.abs() < limit))
    text = value.cast(pl.String).str.strip_chars()
    parsed = (value.cast(held, strict=False) if isinstance(dtype, pl.Decimal)
              else text.str.to_decimal(scale=held.scale or 0))
    return text.is_not_null() & (text != "") & parsed.is_null()


def totals_by_currency(frame: pl.DataFrame | pl.LazyFrame, amount: pl.Expr,
                       currency: pl.Expr) -> dict[str, Decimal]:
    """Sum `amount` per currency, exactly. A lazy `frame` computes only the columns these
    two expressions read."""
    sums = (
        frame.lazy().select(currency.alias("currency"), amount.alias("amount"))
        .group_by("currency")
        .agg(pl.col("amount").sum())
        .collect()
    )
    return {str(c): Decimal(a) for c, a in sums.iter_rows() if a is not None}


def add_totals(into: dict[str, Decimal], more: dict[str, Decimal]) -> None:
    for currency, amount in more.items():
        into[currency] = into.get(currency, Decimal(0)) + amount
