"""Raw Azure rows under canonical column names, and typed access that tolerates absent columns.

Every dialect is renamed to the names in `columns.SPELLINGS` before anything else looks at
it, so the charge rules and the FOCUS mapping are written once. Columns costalloc adds while
reading (`x_` names, such as the dataset marker) pass through unchanged.
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors.azure.dates import utc_day
from costalloc.connectors.azure.dialects import Dialect
from costalloc.connectors.money import money, quantity, unit_price
from costalloc.core.focus import MONEY


def canonical_frame(raw: pl.LazyFrame, dialect: Dialect) -> pl.LazyFrame:
    """`raw` with its known columns renamed to canonical names; unknown columns dropped."""
    ours = [name for name in raw.collect_schema().names() if name.startswith("x_")]
    return raw.select(
        *(pl.col(source).alias(name) for name, source in dialect.columns.items()),
        *(pl.col(name) for name in ours),
    )


class Canonical:
    """Expressions over canonical columns; an absent column reads as null."""

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema

    def has(self, name: str) -> bool:
        return name in self.schema

    def text(self, name: str) -> pl.Expr:
        """Trimmed text; empty strings are null."""
        if name not in self.schema:
            return pl.lit(None, dtype=pl.String)
        value = pl.col(name).cast(pl.String).str.strip_chars()
        return pl.when(value != "").then(value)

    def lower(self, name: str) -> pl.Expr:
        """Text lower-cased with spaces and dashes removed: `On Demand` → `ondemand`."""
        return self.text(name).str.to_lowercase().str.replace_all(r"[\s_-]", "")

    def money(self, name: str) -> pl.Expr:
        return money(name, self.schema) if name in self.schema else pl.lit(None, dtype=MONEY)

    def quantity(self, name: str) -> pl.Expr:
        return quantity(name, self.schema)

    def unit_price(self, name: str) -> pl.Expr:
        return unit_price(name, self.schema)

    def day(self, name: str) -> pl.Expr:
        return utc_day(name, self.schema)
