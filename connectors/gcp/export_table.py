"""Table mode: the billing export table in BigQuery, one invoice month at a time.

`find_delivery` runs one small aggregate query (the month's fingerprint); `read` runs one
`select *` for the month, capped at the fingerprint's newest `export_time`, and streams it as
Arrow record batches of at most `batch_rows` rows — through the BigQuery Storage Read API when
`google-cloud-bigquery-storage` is installed and `read_api: storage`, else through REST pages.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import polars as pl
from google.api_core import exceptions as google_errors
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY

from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.gcp import queries
from costalloc.connectors.gcp.batches import bounded
from costalloc.connectors.gcp.config import TABLE_ID, ExportConfig
from costalloc.connectors.gcp.errors import bigquery_errors
from costalloc.connectors.gcp.fingerprint import MonthFingerprint
from costalloc.connectors.gcp.normalize import with_checked_fields
from costalloc.core.errors import SourceError, TransientError
from costalloc.core.period import BillingPeriod

log = logging.getLogger(__name__)


class ExportTable:
    """The export table `config.table`, queried with `client` (built from ADC when not given)."""

    def __init__(self, config: ExportConfig, client: bigquery.Client | None = None) -> None:
        assert config.table is not None
        self.config = config
        self.table: str = config.table
        self._client = client
        self._ingestion_partitioned: bool | None = None

    def errors(self, period: BillingPeriod, doing: str) -> AbstractContextManager[None]:
        """BigQuery's failures while `doing`, as costalloc errors (`errors.bigquery_errors`)."""
        endpoint = getattr(getattr(self._client, "_connection", None), "API_BASE_URL", None)
        return bigquery_errors(self.config.source, period, doing, self.table,
                               endpoint=str(endpoint or "bigquery.googleapis.com"),
                               deadline=self.config.retry_deadline_seconds)

    def client(self, period: BillingPeriod) -> bigquery.Client:
        """Built on first use, so reading the configuration never needs credentials.
        Application Default Credentials only: `bigquery.Client` calls `google.auth.default()`."""
        if self._client is None:
            with self.errors(period, "connecting to BigQuery"):
                self._client = bigquery.Client(project=self.config.billing_project,
                                               location=self.config.location)
        return self._client

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        query = queries.fingerprint_query(self.table, period,
                                          partition_floor=self._partition_floor(period))
        with self.errors(period, "fingerprinting the invoice month"):
            job = self.client(period).query(
                query.sql, job_config=query.job_config("fingerprint"), location=self.config.location,
                retry=self._retry(), job_retry=self._job_retry(),
                timeout=self.config.retry_deadline_seconds)
            rows = list(job.result(retry=self._retry()))
        row = rows[0] if rows else None
        if row is None or not row["row_count"]:
            return None
        month = MonthFingerprint.of(row["row_count"], row["max_export_time"], row["cost_total"],
                                    row["credit_total"], row["credit_count"])
        return Delivery(self.config.source, period, month.digest, (self._label(period),),
                        month.details())

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        period = delivery.period
        ceiling = delivery.details.get("max_export_time") or None
        query = queries.rows_query(
            self.table, period, partition_floor=self._partition_floor(period),
            export_time_ceiling=datetime.fromisoformat(ceiling) if ceiling else None)
        label = self._label(period)
        first_row = 1
        with self.errors(period, "reading the invoice month"):
            job = self.client(period).query(
                query.sql, job_config=query.job_config("read"), location=self.config.location,
                retry=self._retry(), job_retry=self._job_retry(),
                timeout=self.config.retry_deadline_seconds)
            pages = job.result(page_size=self.config.batch_rows, retry=self._retry())
            stream = pages.to_arrow_iterable(bqstorage_client=self._storage_client())
            for table in bounded(stream, self.config.batch_rows):
                rows = pl.from_arrow(table)
                assert isinstance(rows, pl.DataFrame)
                yield RawBatch(label, first_row, with_checked_fields(rows))
                first_row += rows.height
        _check_complete(delivery, first_row - 1)

    def _retry(self) -> Any:
        return bigquery.DEFAULT_RETRY.with_deadline(self.config.retry_deadline_seconds)

    def _job_retry(self) -> Any:
        return DEFAULT_JOB_RETRY.with_deadline(self.config.retry_deadline_seconds)

    def _partition_floor(self, period: BillingPeriod) -> datetime | None:
        """Prune by `_PARTITIONTIME` only where it exists: on the ingestion-time partitioned
        table GCP writes. A view, a copy partitioned by a column, or an unpartitioned copy is
        read without it."""
        if self._ingestion_partitioned is None:
            with self.errors(period, "looking up the export table"):
                try:
                    table = self.client(period).get_table(
                        self.table, retry=self._retry(), timeout=self.config.retry_deadline_seconds)
                except google_errors.NotFound:
                    raise SourceError(self.config.source, period, self._missing(period)) from None
            names = {f.name for f in table.schema}
            if "invoice" not in names or "cost" not in names:
                raise SourceError(self.config.source, period,
                                  f"`{self.table}` has no `invoice.month` or `cost` column: it is "
                                  "not a Cloud Billing export table (standard or detailed); "
                                  "point `options.table` at `gcp_billing_export_v1_...` or "
                                  "`gcp_billing_export_resource_v1_...`")
            partitioning = table.time_partitioning
            self._ingestion_partitioned = (table.table_type == "TABLE" and partitioning is not None
                                           and partitioning.field is None)
        if not self._ingestion_partitioned:
            return None
        return queries.partition_floor(period, self.config.partition_lookback_days)

    def _missing(self, period: BillingPeriod) -> str:
        """Which of the table and its dataset does not exist (BigQuery said 404)."""
        match = TABLE_ID.match(self.table)
        assert match is not None  # checked with the options
        dataset = f"{match['project']}.{match['dataset']}"
        try:
            self.client(period).get_dataset(dataset, retry=self._retry(),
                                            timeout=self.config.retry_deadline_seconds)
            what = f"the dataset `{dataset}` has no table `{match['table']}`"
        except google_errors.NotFound:
            what = f"the dataset `{dataset}` does not exist"
        return (f"the export table `{self.table}` is not there: {what} (or the identity behind "
                "Application Default Credentials cannot see it). Check `options.table` and "
                "`options.location`, and that the billing export is enabled; nothing was loaded")

    def _storage_client(self) -> Any:
        """A Storage Read API client (ADC), or None to page through REST."""
        if self.config.read_api != "storage":
            return None
        try:
            storage = importlib.import_module("google.cloud.bigquery_storage")
        except ImportError:
            log.warning("%s: `google-cloud-bigquery-storage` is not installed; reading through "
                        "REST pages (slower; install it or set `read_api: rest`)",
                        self.config.source)
            return None
        return storage.BigQueryReadClient()

    def _label(self, period: BillingPeriod) -> str:
        """What `x_source_file` and `ingest_log.files` record for a month read from the table."""
        return f"bigquery://{self.table}?invoice.month={queries.invoice_month(period)}"


def _check_complete(delivery: Delivery, read_rows: int) -> None:
    """The read must return exactly the fingerprinted rows; otherwise the month changed under
    us (rows arrived with an `export_time` at or before the cap) and the load is retried."""
    expected = int(delivery.details.get("rows", read_rows))
    if read_rows != expected:
        raise TransientError(
            f"{delivery.source} {delivery.period}: the invoice month changed while it was read "
            f"({expected} rows fingerprinted, {read_rows} read); nothing was published — the "
            "next run reads it again")
