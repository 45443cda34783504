"""AWS Cost and Usage Reports (CUR 2.0 Data Exports and legacy CUR) → FOCUS line items.

`uri` is the export's (or report's) own folder: `s3://bucket/prefix/export-name` or a local
copy of it. The flavour is detected from which manifest exists for the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl

from costalloc.connectors.aws import columns, manifests, normalize
from costalloc.connectors.aws.options import AwsCurOptions
from costalloc.connectors.aws.usage_units import SkuUnits
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.files import stream_file
from costalloc.connectors.money import totals_by_currency
from costalloc.connectors.storage import Location, open_location, storage_errors
from costalloc.core.errors import DataError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings


class AwsCurConnector:
    """`kind: aws-cur`."""

    def __init__(self, settings: SourceSettings, location: Location | None = None) -> None:
        options = AwsCurOptions.of(settings)
        self.name = settings.name
        self.flavour = options.flavour
        self.batch_rows = options.batch_rows
        self.location = location or open_location(settings.uri, options.storage())

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        """The month's delivery; None while the export has none for it. An export folder
        (or bucket) that does not exist is an error, never "no delivery yet"."""
        with storage_errors(self.name, period, f"reading the manifest under {self.location.uri}",
                            self.location):
            flavour: manifests.Flavour | None = None
            if self.flavour == "auto":
                flavour = manifests.detect_flavour(self.location, period)
            elif self.location.exists(manifests.manifest_path(self.location, period,
                                                              self.flavour)):
                flavour = self.flavour
            if flavour is None:
                self._check_export_exists(period)
                return None
            return manifests.find_delivery(self.name, self.location, period, flavour)

    def _check_export_exists(self, period: BillingPeriod) -> None:
        missing = self.location.missing()
        if missing is not None:
            flavours: tuple[manifests.Flavour, ...] = (
                ("cur2", "legacy") if self.flavour == "auto" else (self.flavour,))
            looked_for = " or ".join(
                f"`{manifests.manifest_path(self.location, period, flavour)}`"
                for flavour in flavours)
            raise SourceError(self.name, period,
                              f"the export `{self.location.name}` is not where `uri` says: "
                              f"{missing}. Its {period} manifest was looked for at {looked_for} "
                              f"under `{self.location.uri}`. Check the source's `uri` (the "
                              "export's own folder); nothing was loaded")

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        sku_units = self.read_context(delivery)
        for file in delivery.files:
            yield from self.read_file(delivery, file, sku_units)

    def read_file(self, delivery: Delivery, file: str, context: SkuUnits) -> Iterator[RawBatch]:
        for first_row, rows in stream_file(self.location.filesystem, self.location.path(file),
                                           source=self.name, period=delivery.period,
                                           batch_rows=self.batch_rows, columns=columns.needed):
            missing = columns.missing_required(rows.columns)
            if missing:
                raise DataError(self.name, delivery.period,
                                f"`{file}` lacks the required column(s) "
                                + ", ".join(f"`{c}`" for c in missing)
                                + "; the previous load stays published")
            yield RawBatch(file, first_row, _with_sku_units(rows, context))

    def read_context(self, delivery: Delivery) -> SkuUnits:
        """First pass: the unit each SKU carries anywhere in the delivery (two columns read),
        for rows of the same SKU that AWS left without a `pricing_unit`."""
        sku_units = SkuUnits()
        for file in delivery.files:
            for _, rows in stream_file(self.location.filesystem, self.location.path(file),
                                       source=self.name, period=delivery.period,
                                       batch_rows=self.batch_rows, columns=columns.sku_pass):
                picked = columns.sku_and_unit(rows.columns)
                if picked:
                    sku_units.learn(rows.get_column(picked[0]), rows.get_column(picked[1]))
        return sku_units

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        cur = columns.canonical(raw.lazy(), with_tags=False)  # lazy: only cost and currency
        schema = cur.collect_schema()
        currency = (pl.col("line_item_currency_code") if "line_item_currency_code" in schema
                    else pl.lit(None, dtype=pl.String))
        return totals_by_currency(cur, normalize.control_amount(schema), currency)

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        """Raw columns that must parse as numbers (checked before normalizing)."""
        return [c for c in raw.columns if columns.is_checked_money(c)]

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return [c for c in raw.columns if columns.is_quantity(c)]

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        return normalize.to_focus(columns.canonical(raw))


def _with_sku_units(rows: pl.DataFrame, sku_units: SkuUnits) -> pl.DataFrame:
    picked = columns.sku_and_unit(rows.columns)
    if not picked or not sku_units.units:
        return rows
    return rows.with_columns(sku_units.column(rows.get_column(picked[0])))
