"""File mode: the export table dumped as Parquet (`EXPORT DATA OPTIONS(format='PARQUET', uri=...)
AS SELECT * FROM <export table>`), in a local folder, `s3://` or `gs://`.

Every `*.parquet` below `uri` is part of the dump (nested columns as Arrow structs and lists,
exactly as BigQuery writes them). A dump holds any number of invoice months, so a month is found
by content: its fingerprint is the same recipe as table mode's (rows, newest `export_time`, cost
and credit sums), computed from four projected columns with a filter on `invoice.month` that
Parquet statistics can use to skip row groups. Folders named `invoice_month=YYYYMM` (one dump per
month) are skipped for other months without being opened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.gcp.batches import bounded
from costalloc.connectors.gcp.config import ExportConfig
from costalloc.connectors.gcp.fields import Fields
from costalloc.connectors.gcp.fingerprint import MonthFingerprint
from costalloc.connectors.gcp.normalize import credit_amount, with_checked_fields
from costalloc.connectors.gcp.queries import invoice_month
from costalloc.connectors.storage import Location, open_location, storage_errors
from costalloc.core.errors import DataError, SourceError
from costalloc.core.period import BillingPeriod

_MONTH_FOLDER = re.compile(r"(?:^|/)invoice_month=(\d{6})(?:/|$)")
_FINGERPRINT_COLUMNS = ("export_time", "cost", "credits")


class ExportDump:
    """The Parquet files of one export table's dump."""

    def __init__(self, config: ExportConfig, location: Location | None = None) -> None:
        assert config.uri is not None
        self.config = config
        self.location = location or open_dump(config.uri, config.storage_options)

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        month = invoice_month(period)
        parts: list[MonthFingerprint] = []
        files = []
        with storage_errors(self.config.source, period, f"listing `{self.location.uri}`"):
            candidates = self._files(month)
        if not candidates:
            self._check_dump_exists(period)
        for path in candidates:
            found = [_fingerprint_of(batch) for batch in self._fingerprint_batches(path, month, period)]
            found = [part for part in found if part.rows]
            if found:
                parts += found
                files.append(self._relative(path))
        if not parts:
            return None
        fingerprint = MonthFingerprint.combine(parts)
        return Delivery(self.config.source, period, fingerprint.digest, tuple(files),
                        fingerprint.details())

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        month = invoice_month(delivery.period)
        read_rows = 0
        for relative in delivery.files:
            with storage_errors(delivery.source, delivery.period, f"`{relative}`"):
                path = self.location.path(relative)
            first_row = 1
            scanner = self._dataset(path, delivery.period).scanner(
                filter=_in_month(month), batch_size=self.config.batch_rows)
            for table in bounded(_scan(scanner, path, self.config.source, delivery.period),
                                 self.config.batch_rows):
                rows = pl.from_arrow(table)
                assert isinstance(rows, pl.DataFrame)
                yield RawBatch(relative, first_row, with_checked_fields(rows))
                first_row += rows.height
            read_rows += first_row - 1
        expected = int(delivery.details.get("rows", read_rows))
        if read_rows != expected:
            raise SourceError(delivery.source, delivery.period,
                              f"the Parquet dump under `{self.location.uri}` changed while it was "
                              f"read ({expected} rows fingerprinted, {read_rows} read); nothing "
                              "was published — run again once the dump is complete")

    def _check_dump_exists(self, period: BillingPeriod) -> None:
        with storage_errors(self.config.source, period, f"looking for `{self.location.uri}`",
                            self.location):
            missing = self.location.missing()
        if missing is not None:
            raise SourceError(self.config.source, period,
                              f"{missing}; it should hold the Parquet dump of the billing export "
                              "table. Check the source's `uri`; nothing was loaded")

    def _files(self, month: str) -> list[str]:
        """Every Parquet file of the dump that may hold `month`, sorted by path."""
        found = []
        for info in self.location.list_files():
            relative = self._relative(info.path)
            folder = _MONTH_FOLDER.search(relative)
            if info.path.endswith(".parquet") and (folder is None or folder.group(1) == month):
                found.append(info.path)
        return found

    def _fingerprint_batches(self, path: str, month: str, period: BillingPeriod) -> Iterator[
            pl.DataFrame]:
        """The month's rows of one file, only the columns the fingerprint needs, in batches."""
        dataset = self._dataset(path, period)
        names = set(dataset.schema.names)
        columns = [name for name in _FINGERPRINT_COLUMNS if name in names]
        scanner = dataset.scanner(columns=columns, filter=_in_month(month),
                                  batch_size=self.config.batch_rows)
        for batch in _scan(scanner, path, self.config.source, period):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame

    def _dataset(self, path: str, period: BillingPeriod) -> ds.Dataset:
        try:
            dataset = ds.dataset(path, filesystem=self.location.filesystem, format="parquet")
        except (pa.ArrowInvalid, OSError) as error:
            raise DataError(self.config.source, period,
                            f"cannot read `{path}` as Parquet: {_first_line(error)}") from None
        invoice = dataset.schema.field("invoice").type if "invoice" in dataset.schema.names else None
        if not isinstance(invoice, pa.StructType) or invoice.get_field_index("month") < 0:
            raise DataError(self.config.source, period,
                            f"`{path}` has no `invoice.month` column: it is not a dump of a Cloud "
                            "Billing export table; remove it from the folder or point `uri` at "
                            "the dump's own folder")
        return dataset

    def _relative(self, path: str) -> str:
        return path[len(self.location.root):].lstrip("/")


def _fingerprint_of(rows: pl.DataFrame) -> MonthFingerprint:
    """The fingerprint parts of a batch, summed exactly as the normalizer sums money."""
    fields = Fields(rows.schema)
    credit_count = (fields.raw("credits").list.len().sum() if fields.items("credits") is not None
                    else pl.lit(0))
    totals = rows.select(
        pl.len().alias("rows"),
        fields.time("export_time").max().alias("max_export_time"),
        fields.money("cost").sum().alias("cost"),
        credit_amount(fields).sum().alias("credits"),
        credit_count.alias("credit_count"),
    ).row(0, named=True)
    return MonthFingerprint.of(totals["rows"], totals["max_export_time"], totals["cost"],
                               totals["credits"], totals["credit_count"])


def open_dump(uri: str, options: dict[str, Any]) -> Location:
    """A local folder or `s3://` (connectors.storage), or `gs://` with Application Default
    Credentials (pyarrow's GCS filesystem finds them the way google-auth does)."""
    if uri.startswith("gs://"):
        bucket_and_path = uri[len("gs://"):].rstrip("/")
        return Location(pafs.GcsFileSystem(), bucket_and_path, uri.rstrip("/"))
    return open_location(uri, options)


def _in_month(month: str) -> ds.Expression:
    return pc.field("invoice", "month") == month


def _scan(scanner: ds.Scanner, path: str, source: str, period: BillingPeriod) -> Iterator[
        pa.RecordBatch]:
    try:
        yield from scanner.to_batches()
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(source, period, f"cannot read `{path}`: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
