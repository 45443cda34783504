"""Ask the Cost Details API for one month and wait for the report.

`generate_cost_details_report.begin_create_operation` answers 202 with a `Location` to poll;
polling answers 202 until the report is ready, then 200 with a manifest of SAS links to CSV
blobs. We wait as long as `Retry-After` says, and without one back off from the first
interval, doubling up to five minutes. A month with no cost answers `NoDataFound` (or 204):
that is "no delivery", not an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azure.mgmt.core.polling.arm_polling import ARMPolling

from costalloc.connectors.azure.download import strip_sas
from costalloc.core.errors import SourceError, TransientError
from costalloc.core.period import BillingPeriod

if TYPE_CHECKING:
    from azure.mgmt.costmanagement import CostManagementClient

_LONGEST_POLL = 300.0
# Asking for a report again is harmless (Azure writes each to new blobs), so the POST is retried
# like the polls when the connection fails or Azure throttles.
_RETRIED_METHODS = frozenset({"GET", "HEAD", "POST"})


@dataclass(frozen=True)
class ReportBlob:
    link: str  # SAS URL: a secret, never logged or stored
    byte_count: int | None = None
    row_count: int | None = None


@dataclass(frozen=True)
class Report:
    blobs: tuple[ReportBlob, ...]
    compressed: bool = False
    valid_till: datetime | None = None

    @property
    def fingerprint(self) -> str:
        """A hash of the manifest: blob paths (no SAS), byte and row counts."""
        described = [[strip_sas(b.link), b.byte_count, b.row_count] for b in self.blobs]
        digest = hashlib.sha256(json.dumps([described, self.compressed]).encode())
        return digest.hexdigest()[:16]


class BackoffPolling(ARMPolling):
    """ARM polling that honours `Retry-After` and otherwise backs off exponentially."""

    def __init__(self, first: float, longest: float = _LONGEST_POLL, **kwargs: Any) -> None:
        super().__init__(first, **kwargs)
        self._next = first
        self._longest = longest

    def _extract_delay(self) -> float:
        if self._pipeline_response.http_response.headers.get("retry-after") is not None:
            return float(super()._extract_delay())
        delay, self._next = self._next, min(max(self._next * 2, 1.0), self._longest)
        return delay


def month_span(period: BillingPeriod) -> tuple[date, date]:
    """The API's inclusive `start` / `end` days for a month (it accepts at most one month)."""
    return period.first_day, period.next().first_day - timedelta(days=1)


def request_report(client: CostManagementClient, scope: str, metric: str, period: BillingPeriod,
                   *, source: str, first_poll: float, max_wait: float) -> Report | None:
    """The month's report, None when Azure has no cost data for it."""
    from azure.mgmt.costmanagement.models import (
        CostDetailsTimePeriod,
        GenerateCostDetailsReportRequestDefinition,
    )

    start, end = month_span(period)
    request = GenerateCostDetailsReportRequestDefinition(
        metric=metric, time_period=CostDetailsTimePeriod(start=start.isoformat(), end=end.isoformat()))
    poller = client.generate_cost_details_report.begin_create_operation(
        scope, request, polling=BackoffPolling(first_poll), retry_on_methods=_RETRIED_METHODS)
    result = poller.result(timeout=max_wait)
    if not poller.done():
        raise TransientError(
            f"{source} {period}: the Cost Details report for `{scope}` is still being generated "
            f"after {max_wait / 60:g} minutes; the next run asks for it again")
    if result is None:  # 204: nothing to report
        return None
    status = str(getattr(result.status, "value", result.status) or "")
    if status.lower() == "nodatafound":
        return None
    if status.lower() != "completed":
        detail = result.error.message if result.error is not None else "no detail given"
        raise SourceError(source, period,
                          f"the Cost Details report for `{scope}` ({metric}) ended `{status}`: "
                          f"{detail}; nothing was loaded")
    manifest = result.manifest
    if manifest is None or not manifest.blobs:
        return None
    blobs = tuple(ReportBlob(b.blob_link, b.byte_count, _rows(b))
                  for b in manifest.blobs if b.blob_link)
    return Report(blobs, bool(manifest.compress_data), result.valid_till) if blobs else None


def _rows(blob: Any) -> int | None:
    value = blob.get("dataRowCount") if hasattr(blob, "get") else None
    return int(value) if isinstance(value, int) else None
