"""A cost FOCUS derives from a unit price and a quantity (ListCost = ListUnitPrice ×
PricingQuantity, ContractedCost likewise) when a file leaves the cost out.

Both factors are DECIMAL(38, 18), and so is polars' exact product: it holds up to 1e20. A
product that large is no bill (a hundred quintillion in one line item), so the reader refuses
the row before the product is taken; the check is in floating point, so it starts a little
below the edge, at 9e19, where no rounding can carry a product over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from costalloc.connectors.money import money, quantity, unit_price
from costalloc.core.focus import MONEY

LIMIT = 9e19
QUANTITY_COLUMN = "PricingQuantity"
DERIVED = {"ListCost": "ListUnitPrice", "ContractedCost": "ContractedUnitPrice"}


def product(price: pl.Expr, pricing_quantity: pl.Expr) -> pl.Expr:
    """`price × pricing_quantity` as money; null where it would pass LIMIT (such a row is
    refused by `first_underivable` unless the file gives the cost itself)."""
    within = (price.cast(pl.Float64) * pricing_quantity.cast(pl.Float64)).abs() < LIMIT
    return (pl.when(within).then(price) * pricing_quantity).cast(MONEY)


@dataclass(frozen=True)
class Underivable:
    cost: str
    price: str
    row: int  # 0-based within the frame


def first_underivable(rows: pl.DataFrame) -> Underivable | None:
    """The first row whose cost is empty and whose price × quantity passes LIMIT."""
    schema = rows.schema
    if QUANTITY_COLUMN not in schema:
        return None
    amount = quantity(QUANTITY_COLUMN, schema).cast(pl.Float64)
    for cost, price in DERIVED.items():
        if price not in schema:
            continue
        beyond = rows.select(
            money(cost, schema).is_null()
            & ((unit_price(price, schema).cast(pl.Float64) * amount).abs() >= LIMIT)
        ).to_series()
        if beyond.any():
            return Underivable(cost, price, int(beyond.arg_true()[0]))
    return None
