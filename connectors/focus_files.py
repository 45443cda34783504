"""`kind: focus` — FOCUS files any provider exports (AWS `FOCUS_1_2_AWS`, Azure FocusCost,
GCP's FOCUS export), CSV or Parquet, in a folder or under an `s3://` prefix.

Files in `BILLING_PERIOD=YYYY-MM` (or `billing_period=`) folders are read only for their
period; other files are read for every period and filtered on `BillingPeriodStart`. The
fingerprint is a hash of the files' names, sizes and modification times.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal

import polars as pl
import pyarrow.fs as pafs

from costalloc.connectors import tags
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.files import is_data_file, stream_file
from costalloc.connectors.money import decimal, money, totals_by_currency
from costalloc.connectors.options import ObjectStoreOptions
from costalloc.connectors.storage import Location, open_location, storage_errors
from costalloc.connectors.timestamps import utc_time
from costalloc.core.errors import SourceError
from costalloc.core.focus import FOCUS_COLUMNS
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

_PERIOD_FOLDER = re.compile(r"(?i)billing_period=(\d{4}-\d{2})")
_NUMERIC = [name for name, dtype in FOCUS_COLUMNS.items() if isinstance(dtype, pl.Decimal)]


class FocusOptions(ObjectStoreOptions):
    """The `options:` of a focus source."""


class FocusFilesConnector:
    """`kind: focus`."""

    def __init__(self, settings: SourceSettings, location: Location | None = None) -> None:
        self.name = settings.name
        self.location = location or open_location(settings.uri,
                                                  FocusOptions.of(settings).storage())

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        """The period's files; None when the folder has none for it. A folder that does not
        exist is an error, never "no delivery yet"."""
        with storage_errors(self.name, period, f"listing {self.location.uri}", self.location):
            files = [f for f in self.location.list_files() if is_data_file(f.path)]
            missing = None if files else self.location.missing()
        if missing is not None:
            raise SourceError(self.name, period,
                              f"{missing}; it should hold the FOCUS export's CSV or Parquet files. "
                              "Check the source's `uri`; nothing was loaded")
        chosen = [f for f in files if _belongs(f, period)]
        if not chosen:
            return None
        digest = hashlib.sha256()
        for info in chosen:
            digest.update(f"{info.path}|{info.size}|{info.mtime_ns}\n".encode())
        root = self.location.root.rstrip("/") + "/"
        return Delivery(self.name, period, digest.hexdigest()[:16],
                        tuple(f.path.removeprefix(root) for f in chosen))

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        start = delivery.period.start
        for file in delivery.files:
            for first_row, rows in stream_file(self.location.filesystem, self.location.path(file),
                                               source=self.name, period=delivery.period):
                in_period = rows.filter(utc_time("BillingPeriodStart", rows.schema) == start)
                if in_period.height:
                    yield RawBatch(file, first_row, in_period)

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return [c for c in _NUMERIC if c in raw.columns]

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        return totals_by_currency(raw, money("BilledCost", raw.schema), pl.col("BillingCurrency"))

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        schema = raw.collect_schema()
        converted = []
        for name, dtype in FOCUS_COLUMNS.items():
            if name not in schema:
                continue
            if isinstance(dtype, pl.Decimal):
                converted.append(decimal(name, schema, dtype).alias(name))
            elif isinstance(dtype, pl.Datetime):
                converted.append(utc_time(name, schema).alias(name))
            elif name in ("Tags", "SkuPriceDetails") and tags.is_map(schema[name]):
                members = tags.fragment_from_entries(tags.entries(name, schema[name]))
                converted.append(tags.tags_object([members]).alias(name))
            elif isinstance(schema[name], pl.Struct):
                converted.append(pl.col(name).struct.json_encode().alias(name))
            else:
                converted.append(pl.col(name).cast(pl.String).alias(name))
        return raw.select(converted)


def _belongs(info: pafs.FileInfo, period: BillingPeriod) -> bool:
    match = _PERIOD_FOLDER.search(info.path)
    return match is None or match.group(1) == str(period)
