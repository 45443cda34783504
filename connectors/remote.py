"""The end of a source's retries against an endpoint that never answered.

Every cloud client a connector builds retries within the source's `retry_deadline_seconds`
(`connectors.options.SourceOptions`). When an endpoint could not be reached for all of that
time (connection refused, no such host, connect timeouts), the source fails with one
`SourceError` naming the endpoint and how long it was tried. That error is not retried by the
flow: retrying would multiply the wait, and an endpoint that refused connections for the whole
deadline is usually a wrong address, DNS or a firewall. Throttling and 5xx answers that outlast
the deadline stay `TransientError` (the service is up; the flow retries later).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from costalloc.core.errors import SourceError


@dataclass
class Stopwatch:
    """Started when a remote call (with all its retries) begins."""

    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def host_of(url: str) -> str:
    """`host[:port]` of a URL, or the text itself when it has none."""
    return urlsplit(url).netloc or url if "://" in url else url


def unreachable(source: str, period: object, doing: str, endpoint: str, elapsed: float,
                deadline: float, detail: str) -> SourceError:
    return SourceError(
        source, period,
        f"{doing}: could not reach `{endpoint}`; tried for {elapsed:.1f} s "
        f"(`retry_deadline_seconds`: {deadline:g}) and the last attempt failed with: {detail}. "
        "Check the endpoint, DNS and the network; nothing was loaded, the previous load stays "
        "published and the next run tries again")
