"""Azure's `UnitOfMeasure` → FOCUS units (the Unit Format attribute), as polars expressions.

Azure prices per block of a unit and counts quantity in blocks: `10 Hours`, `100 Hours`,
`1 GB/Month`, `1/Month`, `10K` (ten thousand operations). FOCUS writes the same as
`10 Hours`, `GB-Months`, `Months`, `10000 Units`. So:
- `PricingUnit` keeps the block (`10 Hours`), `PricingQuantity` = Azure's quantity;
- `ConsumedUnit` drops it (`Hours`), `ConsumedQuantity` = quantity × block.
Each is computed once per distinct `UnitOfMeasure` (`distinct.py`); the unit part (`GB/Month`,
`Hour`, `/Month`) is looked up in `connectors/tables/units.csv` (a bare block is `Units`).
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors.azure.distinct import per_distinct
from costalloc.connectors.units import focus_unit
from costalloc.core.focus import QUANTITY

_SCALE = {"k": 1_000, "m": 1_000_000}


def block_size(unit_of_measure: pl.Expr) -> pl.Expr:
    """How many units one Azure quantity stands for: `10 Hours` → 10, `10K` → 10000."""
    return per_distinct(unit_of_measure, lambda v: block_and_unit(v)[0], QUANTITY)


def consumed_unit(unit_of_measure: pl.Expr) -> pl.Expr:
    """`10 Hours` → `Hours`, `1 GB/Month` → `GB-Months`."""
    return per_distinct(unit_of_measure, lambda v: block_and_unit(v)[1], pl.String())


def pricing_unit(unit_of_measure: pl.Expr) -> pl.Expr:
    """`10 Hours` → `10 Hours`, `1 Hour` → `Hours`, `10K` → `10000 Units`."""
    return per_distinct(unit_of_measure, lambda v: _with_block(*block_and_unit(v)), pl.String())


def block_and_unit(unit_of_measure: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(block size as a decimal, FOCUS unit without the block) for each row; the unit is null
    when Azure gives none."""
    parts = unit_of_measure.str.strip_chars().str.extract_groups(
        r"^([0-9][0-9,]*(?:\.[0-9]+)?)?\s*([KkMm](?:\s|$))?\s*(.*)$")
    number = parts.struct.field("1").str.replace_all(",", "").str.to_decimal(scale=10)
    number = pl.when(number > 0).then(number).otherwise(pl.lit(1, dtype=QUANTITY))
    scale = (parts.struct.field("2").str.strip_chars().str.to_lowercase()
             .replace_strict(_SCALE, default=1, return_dtype=pl.Int64))
    block = (number * scale.cast(QUANTITY)).cast(QUANTITY)
    text = parts.struct.field("3").str.strip_chars()
    unit = (pl.when(unit_of_measure.is_null()).then(pl.lit(None, dtype=pl.String))
            .when(text.is_null() | (text == "")).then(pl.lit("Units"))
            .otherwise(focus_unit(text, "azure")))
    return block, unit


def _with_block(block: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """`Hours` with block 10 → `10 Hours`; block 1 → `Hours`."""
    whole = block.cast(pl.Int64, strict=False)
    return (pl.when(unit.is_null()).then(None)
            .when(block == 1).then(unit)
            .when(block == whole.cast(QUANTITY)).then(whole.cast(pl.String) + pl.lit(" ") + unit)
            .otherwise(unit))
