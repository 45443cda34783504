"""`kind: azure-cost-details` — one month from the Cost Details API → FOCUS.

For months no export covers (backfills up to 13 months back): the connector requests the
month's report (`details_report.py`), downloads the CSV blobs its manifest links to, and
reads them with the same dialect normalizer as exports.

```yaml
- name: azure-backfill
  kind: azure-cost-details
  options:
    scope: subscriptions/00000000-0000-0000-0000-000000000000
    metric: ActualCost     # or AmortizedCost
```
The fingerprint is a hash of the report manifest (blob paths without SAS, byte and row
counts). Azure writes each report to new blobs, so every request is a new delivery and a
re-run reloads the month (with the same result). The SAS links live only in this object's
memory, between `find_delivery` and `read`; a link that expired in between (HTTP 403) fails
with a message saying a re-run requests a new report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import TYPE_CHECKING

from costalloc.connectors.azure import transform
from costalloc.connectors.azure.clients import DEFAULT_ARM_ENDPOINT, cost_management_client
from costalloc.connectors.azure.details_report import Report, request_report
from costalloc.connectors.azure.discovery import Part
from costalloc.connectors.azure.download import BlobDownloader, DownloadError, download, strip_sas
from costalloc.connectors.azure.errors import AzureThrottled, first_line, translate
from costalloc.connectors.azure.options import CostDetailsOptions
from costalloc.connectors.azure.reading import read_parts, suffix_for
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.remote import Stopwatch, host_of
from costalloc.core.errors import CostallocError, SourceError, TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

if TYPE_CHECKING:
    from azure.mgmt.costmanagement import CostManagementClient


class CostDetailsConnector(transform.AzureCostRows):
    """`kind: azure-cost-details`."""

    def __init__(self, settings: SourceSettings, client: CostManagementClient | None = None,
                 blob_downloader: BlobDownloader | None = None) -> None:
        self.name = settings.name
        self.options = CostDetailsOptions.of(settings)
        self._client = client
        self._download = blob_downloader or partial(
            download, timeout=self.options.retry_deadline_seconds)
        self._reports: dict[str, Report] = {}

    @property
    def client(self) -> CostManagementClient:
        if self._client is None:
            self._client = cost_management_client(base_url=self.options.base_url,
                                                  deadline=self.options.retry_deadline_seconds)
        return self._client

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        """The month's report; None when Azure has no cost for the month. A scope Azure does
        not know is an error, never "no delivery yet"."""
        options = self.options
        action = f"requesting the {options.metric} Cost Details report for `{options.scope}`"
        endpoint = host_of(options.base_url or DEFAULT_ARM_ENDPOINT)
        stopwatch = Stopwatch()
        try:
            report = request_report(self.client, options.scope, options.metric, period,
                                    source=self.name, first_poll=options.poll_seconds,
                                    max_wait=options.max_wait_minutes * 60)
        except CostallocError:
            raise
        except Exception as error:
            if type(error).__name__ == "ResourceNotFoundError":
                raise SourceError(
                    self.name, period,
                    f"{action}: the scope `{options.scope}` does not exist at `{endpoint}` (or the "
                    f"identity cannot see it): {first_line(error)}. Check `options.scope`; "
                    "nothing was loaded") from None
            raise translate(error, source=self.name, period=period, action=action,
                            endpoint=endpoint, elapsed=stopwatch.elapsed,
                            deadline=options.retry_deadline_seconds) from error
        if report is None:
            return None
        self._reports[report.fingerprint] = report
        details = {"scope": options.scope, "metric": options.metric}
        if report.valid_till is not None:
            details["links_valid_till"] = report.valid_till.isoformat()
        return Delivery(self.name, period, report.fingerprint,
                        tuple(strip_sas(blob.link) for blob in report.blobs), details)

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        report = self._reports.get(delivery.fingerprint)
        if report is None:
            raise SourceError(self.name, delivery.period,
                              f"report {delivery.fingerprint} was requested by another process "
                              "(its SAS links are kept only in memory); a re-run requests a new "
                              "report")
        links = {strip_sas(blob.link): blob for blob in report.blobs}
        parts = tuple(Part(name, self.options.metric, "all", links[name].row_count)
                      for name in delivery.files)

        def fetch(part: Part, suffix: str) -> AbstractContextManager[str]:
            return self._downloaded(links[part.name].link, part.name, report, delivery.period)

        return read_parts(parts, fetch, source=self.name, period=delivery.period,
                          batch_rows=self.options.batch_rows, currency=self.options.currency)

    @contextmanager
    def _downloaded(self, link: str, name: str, report: Report,
                    period: BillingPeriod) -> Iterator[str]:
        suffix = suffix_for(name, compressed=report.compressed)
        with tempfile.TemporaryDirectory(prefix="costalloc-cost-details-") as folder:
            path = os.path.join(folder, "report" + suffix)
            with open(path, "wb") as target:
                try:
                    self._download(link, target)
                except DownloadError as error:
                    raise self._download_failed(error, name, report, period) from None
            yield path

    def _download_failed(self, error: DownloadError, name: str, report: Report,
                         period: BillingPeriod) -> CostallocError:
        where = f"downloading report blob `{name}`"
        if error.status in (401, 403, 404, 410):
            until = (f" (valid until {report.valid_till.isoformat()})"
                     if report.valid_till is not None else "")
            return SourceError(self.name, period,
                               f"{where}: the report link expired or was revoked{until} — HTTP "
                               f"{error.status}; a re-run requests a new report. The previous "
                               "load stays published")
        if error.status == 429:
            return AzureThrottled(f"{self.name} {period}: {where}: throttled (HTTP 429)",
                                  error.retry_after)
        if error.status is None or error.status == 408 or error.status >= 500:
            return TransientError(f"{self.name} {period}: {where}: {error}; the next attempt "
                                  "retries")
        return SourceError(self.name, period, f"{where}: {error}")
