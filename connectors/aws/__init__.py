"""AWS Cost and Usage Reports (CUR 2.0 Data Exports and legacy CUR) → FOCUS line items.

`uri` is the export's (or report's) own folder: `s3://bucket/prefix/export-name` or a local
copy of it. The flavour is detected from which manifest exists for the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl

from costalloc.connectors.aws import columns, manifests, normalize
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
                yield RawBatch(file, first_row, rows)

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
