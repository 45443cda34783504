"""The unit of a CUR row that carries no `pricing_unit`, in the order AWS's own data gives it:

1. the unit the same SKU (`product_sku`) has on other rows of the delivery — collected by a first
   pass over the delivery's SKU and unit columns (`SkuUnits`), bounded by the number of SKUs;
2. the unit the usage type implies, from `tables/aws_usage_type_units.csv` (first matching
   pattern wins: `USE1-BoxUsage:t3.micro` → `Hrs`, `TimedStorage-ByteHrs` → `GB-Mo`);
3. otherwise none: the normalizer then writes `Units`, so ConsumedQuantity and ConsumedUnit stay
   a consistent pair as FOCUS requires.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import polars as pl

SKU_UNIT_COLUMN = "x_sku_unit"  # added to raw rows by the reader


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    text = resources.files("costalloc.connectors.tables").joinpath(
        "aws_usage_type_units.csv").read_text()
    return [(re.compile(row["pattern"]), row["unit"]) for row in csv.DictReader(text.splitlines())]


@cache
def usage_type_unit(usage_type: str) -> str | None:
    for pattern, unit in _patterns():
        if pattern.search(usage_type):
            return unit
    return None


def unit_from_usage_type(usage_type: pl.Expr) -> pl.Expr:
    """The AWS unit a usage type implies (null when no pattern matches), per distinct value."""

    def convert(values: pl.Series) -> pl.Series:
        mapping = {value: usage_type_unit(value) for value in values.drop_nulls().unique()}
        return values.replace_strict(mapping, default=None, return_dtype=pl.String)

    return usage_type.cast(pl.String).map_batches(convert, return_dtype=pl.String)


@dataclass
class SkuUnits:
    """SKU → the pricing unit its rows carry, gathered over a delivery before it is loaded."""

    units: dict[str, str] = field(default_factory=dict)

    def learn(self, skus: pl.Series, units: pl.Series) -> None:
        pairs = pl.DataFrame({"sku": skus.cast(pl.String), "unit": units.cast(pl.String)})
        known = pairs.filter(pl.col("sku").is_not_null() & (pl.col("unit").fill_null("") != ""))
        for sku, unit in known.unique(subset="sku", keep="first").iter_rows():
            self.units.setdefault(sku, unit)

    def column(self, skus: pl.Series) -> pl.Series:
        """Each row's SKU unit (null for an unknown SKU), as `x_sku_unit`."""
        return skus.cast(pl.String).replace_strict(self.units, default=None,
                                                   return_dtype=pl.String).alias(SKU_UNIT_COLUMN)
