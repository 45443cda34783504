"""AWS Cost and Usage Reports (CUR 2.0 Data Exports and legacy CUR) → FOCUS line items.

`uri` is the export's (or report's) own folder: `s3://bucket/prefix/export-name` or a local
copy of it. The flavour is detected from which manifest exists for the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl

from costalloc.connectors.aws import columns, manifests, normalize
from costalloc.connectors.aws.usage_units import SkuUnits
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.files import BATCH_ROWS, stream_file
from costalloc.connectors.money import totals_by_currency
from costalloc.connectors.storage import Location, open_location, storage_errors
from costalloc.core.errors import ConfigurationError, DataError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

_OPTIONS = {"flavour", "region", "profile", "endpoint_url", "batch_rows", "max_attempts"}


class AwsCurConnector:
    """`kind: aws-cur`."""

    def __init__(self, settings: SourceSettings, location: Location | None = None) -> None:
        unknown = set(settings.options) - _OPTIONS
        if unknown:
            raise ConfigurationError(
                f"source `{settings.name}`: unknown option(s) {', '.join(sorted(unknown))}; "
                f"aws-cur takes {', '.join(sorted(_OPTIONS))}")
        self.name = settings.name
        self.flavour = settings.options.get("flavour", "auto")
        self.batch_rows = int(settings.options.get("batch_rows", BATCH_ROWS))
        self.location = location or open_location(settings.uri, settings.options)

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        with storage_errors(self.name, period, f"reading the manifest under {self.location.uri}"):
            flavour = (manifests.detect_flavour(self.location, period)
                       if self.flavour == "auto" else self.flavour)
            if flavour is None:
                return None
            return manifests.find_delivery(self.name, self.location, period, flavour)

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        sku_units = self._sku_units(delivery)
        for file in delivery.files:
            for first_row, rows in stream_file(self.location.filesystem, self.location.path(file),
                                               source=self.name, period=delivery.period,
                                               batch_rows=self.batch_rows,
                                               columns=columns.needed):
                missing = columns.missing_required(rows.columns)
                if missing:
                    raise DataError(self.name, delivery.period,
                                    f"`{file}` lacks the required column(s) "
                                    + ", ".join(f"`{c}`" for c in missing)
                                    + "; the previous load stays published")
                yield RawBatch(file, first_row, _with_sku_units(rows, sku_units))

    def _sku_units(self, delivery: Delivery) -> SkuUnits:
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

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        return normalize.to_focus(columns.canonical(raw))


def _with_sku_units(rows: pl.DataFrame, sku_units: SkuUnits) -> pl.DataFrame:
    picked = columns.sku_and_unit(rows.columns)
    if not picked or not sku_units.units:
        return rows
    return rows.with_columns(sku_units.column(rows.get_column(picked[0])))
