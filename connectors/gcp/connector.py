"""`kind: gcp-bigquery`: the connector (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl
from google.cloud import bigquery

from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.gcp import config, normalize
from costalloc.connectors.gcp.export_files import ExportDump
from costalloc.connectors.gcp.export_table import ExportTable
from costalloc.connectors.storage import Location
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings


class BigQueryExportConnector:
    """`kind: gcp-bigquery`: the export table (`options.table`) or its Parquet dump (`uri`).

    `client` and `location` let tests hand in a client for the BigQuery emulator or a
    filesystem; in production both are built from the settings and the default credentials.
    """

    def __init__(self, settings: SourceSettings, client: bigquery.Client | None = None,
                 location: Location | None = None) -> None:
        self.name = settings.name
        self.config = config.parse(settings)
        self.export: ExportTable | ExportDump = (
            ExportTable(self.config, client) if self.config.table is not None
            else ExportDump(self.config, location))

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        return self.export.find_delivery(period)

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        return self.export.read(delivery)

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return normalize.money_columns(raw)

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return normalize.quantity_columns(raw)

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        return normalize.control_totals(raw)

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        return normalize.to_focus(raw)
