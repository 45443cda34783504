"""Download a Cost Details report blob through its SAS link: a plain HTTPS GET.

The link carries its own authorization (the SAS query string), so no credential is added,
and the link is never logged or stored — only its path (`strip_sas`).
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 1 << 20


class DownloadError(Exception):
    """A report link could not be read; `status` is the HTTP status when there was one."""

    def __init__(self, status: int | None, message: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class BlobDownloader(Protocol):
    """Writes the blob behind `url` into `target`; raises `DownloadError` when it can't."""

    def __call__(self, url: str, target: BinaryIO) -> None: ...


def strip_sas(url: str) -> str:
    """The link without its query string (the SAS token) — safe to log and to store."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def download(url: str, target: BinaryIO, *, timeout: float = 120) -> None:
    """The default downloader: urllib, streamed in 1 MiB chunks."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise DownloadError(None, f"`{strip_sas(url)}` is not an http(s) link")
    request = urllib.request.Request(url, method="GET", headers={"x-ms-version": "2021-08-06"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            shutil.copyfileobj(response, target, _CHUNK)
    except urllib.error.HTTPError as error:
        wait = error.headers.get("Retry-After") if error.headers else None
        raise DownloadError(error.code, f"HTTP {error.code} {error.reason}",
                            float(wait) if wait and wait.isdigit() else None) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DownloadError(None, str(getattr(error, "reason", error))) from None
