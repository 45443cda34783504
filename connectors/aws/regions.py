"""AWS region codes → FOCUS RegionName, from `tables/aws_regions.csv` (the names AWS's price
list and CUR `product/location` use). Legacy CUR often leaves `product/location` empty while
`product/region` holds the code; the table fills the name then. `global` is no region."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import polars as pl

NOT_A_REGION = ("global", "")


@cache
def region_names() -> dict[str, str]:
    text = resources.files("costalloc.connectors.tables").joinpath("aws_regions.csv").read_text()
    return {row["region"]: row["name"] for row in csv.DictReader(text.splitlines())}


def region_name(region: pl.Expr, location: pl.Expr) -> pl.Expr:
    """The export's own name for the region when it has one, else the table's; a code the
    table doesn't know names itself (RegionName is never null where RegionId is set)."""
    known = region.replace_strict(region_names(), default=None, return_dtype=pl.String)
    return pl.when(region.is_not_null()).then(pl.coalesce(location, known, region))
