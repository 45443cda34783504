"""Azure SDK failures → costalloc's error kinds, which decide what a run does next.

| what Azure said                             | costalloc error      | what happens               |
|---------------------------------------------|----------------------|----------------------------|
| 429 (throttled)                             | `AzureThrottled`     | retried after Retry-After  |
| 408, 5xx, timeouts, connection dropped      | `TransientError`     | retried with backoff       |
| no connection until the source's deadline   | `SourceError`        | stops; check the endpoint  |
| 401, 403 (no role, expired credential)      | `SourceError`        | stops; grant access        |
| 404 (container, scope or export not found)  | `SourceError`        | stops; fix the config      |
| no credential at all                        | `ConfigurationError` | stops; sign in / set env   |
| anything else refused (400 ...)             | `SourceError`        | stops, with Azure's words  |
"""

from __future__ import annotations

from costalloc.connectors.options import DEFAULT_DEADLINE_SECONDS
from costalloc.connectors.remote import unreachable
from costalloc.core.errors import ConfigurationError, CostallocError, SourceError, TransientError
from costalloc.core.period import BillingPeriod

_RETRY_AFTER_HEADERS = (
    "retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-client-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
)


class AzureThrottled(TransientError):
    """Azure answered 429: wait `retry_after` seconds (when it said) and try again."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(headers: object) -> float | None:
    """The wait Azure asked for, in seconds, from any of its throttling headers."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name in _RETRY_AFTER_HEADERS:
        value = get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue
    return None


def translate(error: Exception, *, source: str, period: BillingPeriod | str, action: str,
              endpoint: str | None = None, elapsed: float = 0.0,
              deadline: float = DEFAULT_DEADLINE_SECONDS) -> CostallocError:
    """The costalloc error for an Azure SDK exception raised while doing `action`. With the
    `endpoint`, a request that could never be sent (after the client's retries, `elapsed`
    seconds) is `remote.unreachable`."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    where = f"{source} {period}: {action}"
    if _is_credential_unavailable(error):
        return ConfigurationError(
            f"{where}: no Azure credential found ({first_line(error)}). Sign in (`az login`), "
            "use a managed identity, set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or "
            "for storage set AZURE_STORAGE_CONNECTION_STRING")
    if isinstance(error, ServiceRequestError) and endpoint:
        return unreachable(source, period, action, endpoint, elapsed, deadline,
                           first_line(error))
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return TransientError(f"{where}: Azure did not answer ({first_line(error)}); "
                              "the next attempt retries")
    if isinstance(error, ClientAuthenticationError) or (
            isinstance(error, HttpResponseError) and error.status_code in (401, 403)):
        return SourceError(source, period,
                           f"{action}: access denied ({first_line(error)}); the identity needs "
                           "`Cost Management Reader` on the scope, or `Storage Blob Data Reader` "
                           "on the container")
    if isinstance(error, ResourceNotFoundError):
        return SourceError(source, period, f"{action}: not found ({first_line(error)})")
    if isinstance(error, HttpResponseError):
        status = error.status_code or 0
        if status == 429:
            wait = retry_after(getattr(error.response, "headers", None))
            after = f"retry after {wait:g} s" if wait is not None else "retry later"
            return AzureThrottled(f"{where}: Azure throttled the request (HTTP 429); {after}",
                                  wait)
        if status == 408 or status >= 500:
            return TransientError(f"{where}: Azure answered HTTP {status} "
                                  f"({first_line(error)}); the next attempt retries")
        return SourceError(source, period,
                           f"{action}: Azure refused the request (HTTP {status}): "
                           f"{first_line(error)}")
    return SourceError(source, period, f"{action}: {first_line(error)}")


def _is_credential_unavailable(error: Exception) -> bool:
    return type(error).__name__ == "CredentialUnavailableError"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
