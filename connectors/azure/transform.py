"""Raw Azure rows of any dialect → FOCUS, plus what the loader checks on them. Pure.

Both Azure kinds (exports and the Cost Details API) hand their raw batches to these three
functions; the dialect is detected from the batch's own header every time.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from costalloc.connectors.azure import focus_cost, normalize
from costalloc.connectors.azure.amounts import billed_cost
from costalloc.connectors.azure.canonical import Canonical, canonical_frame
from costalloc.connectors.azure.columns import NUMERIC, QUANTITIES
from costalloc.connectors.azure.dialects import detect
from costalloc.connectors.money import totals_by_currency


def to_focus(raw: pl.LazyFrame) -> pl.LazyFrame:
    dialect = detect(raw.collect_schema().names())
    if dialect.name == "focus":
        return focus_cost.to_focus(raw)
    return normalize.to_focus(canonical_frame(raw, dialect))


def money_columns(raw: pl.DataFrame) -> list[str]:
    dialect = detect(raw.columns)
    if dialect.name == "focus":
        return focus_cost.money_columns(raw)
    return [source for name in NUMERIC if (source := dialect.raw(name)) is not None]


def quantity_columns(raw: pl.DataFrame) -> list[str]:
    dialect = detect(raw.columns)
    if dialect.name == "focus":
        return focus_cost.quantity_columns(raw)
    return [source for name in QUANTITIES if (source := dialect.raw(name)) is not None]


def control_totals(raw: pl.DataFrame) -> dict[str, Decimal]:
    """Per currency, the file's own cost column summed under the BilledCost rule."""
    dialect = detect(raw.columns)
    if dialect.name == "focus":
        return focus_cost.control_totals(raw)
    rows = canonical_frame(raw.lazy(), dialect).collect()
    c = Canonical(rows.schema)
    return totals_by_currency(rows, billed_cost(c), normalize.currency(c))


class AzureCostRows:
    """What every Azure source does with a raw batch (an export's or the Cost Details
    report's rows, same columns): which columns hold money, the control totals, FOCUS."""

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return money_columns(raw)

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return quantity_columns(raw)

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        return control_totals(raw)

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        return to_focus(raw)
