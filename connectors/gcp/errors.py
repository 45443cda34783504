"""BigQuery and Google auth failures → costalloc's error taxonomy, with what to do next.

Throttling, 5xx and timeouts are `TransientError` (the flow retries with backoff); a missing
table, missing permission or a refused query is a `SourceError` (not retried; the published
month stays); an endpoint that could not be reached until the source's deadline is a
`remote.unreachable` `SourceError`; missing Application Default Credentials is a
`ConfigurationError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from google.api_core import exceptions as google_errors
from google.auth import exceptions as auth_errors

from costalloc.connectors.options import DEFAULT_DEADLINE_SECONDS
from costalloc.connectors.remote import Stopwatch, host_of, unreachable
from costalloc.core.errors import ConfigurationError, SourceError, TransientError

_TRANSIENT = (
    google_errors.TooManyRequests,
    google_errors.ServiceUnavailable,
    google_errors.InternalServerError,
    google_errors.BadGateway,
    google_errors.GatewayTimeout,
    google_errors.DeadlineExceeded,
    google_errors.RetryError,
    auth_errors.TransportError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
)
# No connection at all (refused, no such host, connect timeout), as requests/urllib3 say it.
_NO_CONNECTION = re.compile(r"Failed to establish a new connection|Failed to resolve|"
                            r"NameResolutionError|ConnectTimeout|Connection refused")
_RETRYABLE_REASONS = {"rateLimitExceeded", "quotaExceeded", "backendError", "internalError",
                      "jobBackendError", "jobInternalError"}
_ADC_HELP = ("credentials come only from Application Default Credentials: run `gcloud auth "
             "application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service "
             "account key file, or run with an attached service account")


@contextmanager
def bigquery_errors(source: str, period: object, doing: str, table: str, *,
                    endpoint: str = "bigquery.googleapis.com",
                    deadline: float = DEFAULT_DEADLINE_SECONDS) -> Iterator[None]:
    """Run a BigQuery call; re-raise its failure as an error a person (or the retry) can act on."""
    stopwatch = Stopwatch()
    try:
        yield
    except (google_errors.RetryError, requests.exceptions.ConnectionError) as error:
        cause = error.cause if isinstance(error, google_errors.RetryError) else error
        if cause is not None and _NO_CONNECTION.search(str(cause)):
            raise unreachable(source, period, doing, host_of(endpoint), stopwatch.elapsed,
                              deadline, _connection_failure(cause)) from None
        raise TransientError(f"{source} {period}: {doing}: {_first_line(error)}; BigQuery did "
                             "not answer in time: retry later (the previous load stays "
                             "published)") from None
    except auth_errors.DefaultCredentialsError as error:
        raise ConfigurationError(f"{source} {period}: {doing}: no Google credentials found "
                                 f"({_first_line(error)}); {_ADC_HELP}") from None
    except auth_errors.RefreshError as error:
        raise SourceError(source, period, f"{doing}: the Google credentials were refused "
                          f"({_first_line(error)}); {_ADC_HELP}. The previous load stays "
                          "published") from None
    except google_errors.GoogleAPICallError as error:
        raise translate(error, source, period, doing, table) from None
    except _TRANSIENT as error:
        raise TransientError(f"{source} {period}: {doing}: {_first_line(error)}; BigQuery did "
                             "not answer in time: retry later (the previous load stays "
                             "published)") from None


def translate(error: google_errors.GoogleAPICallError, source: str, period: object, doing: str,
              table: str) -> TransientError | SourceError:
    """One google.api_core error → TransientError or SourceError."""
    message = _first_line(error)
    reasons = {str(item.get("reason", "")) for item in (error.errors or []) if isinstance(item, dict)}
    if isinstance(error, _TRANSIENT) or reasons & _RETRYABLE_REASONS:
        return TransientError(f"{source} {period}: {doing}: BigQuery is throttling or "
                              f"unavailable ({message}); retry later (the previous load stays "
                              "published)")
    if isinstance(error, google_errors.NotFound):
        hint = (f"check `options.table` (`{table}`) and `options.location` (the dataset's "
                "location), and that the billing export is enabled")
    elif isinstance(error, (google_errors.Forbidden, google_errors.Unauthorized)):
        hint = ("grant the identity behind Application Default Credentials "
                "`roles/bigquery.dataViewer` on the export dataset and `roles/bigquery.jobUser` "
                "on the project that runs the queries (`options.project`)")
    elif isinstance(error, google_errors.BadRequest):
        hint = (f"check that `{table}` is a Cloud Billing export table (standard or detailed) "
                "and that `options.location` is its dataset's location")
    else:
        hint = "see BigQuery's message"
    return SourceError(source, period, f"{doing}: {message}; {hint}. The previous load stays "
                       "published")


def _connection_failure(error: BaseException) -> str:
    """The last words of a requests/urllib3 connection error: `[Errno 111] Connection refused`."""
    found = re.search(r"(\[Errno [^\]]+\][^'\")]*|Failed to resolve[^'\")]*|timed out)",
                      str(error))
    return found.group(1).strip() if found else _first_line(error)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
