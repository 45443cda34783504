"""Build the Azure clients the way production runs them (tests pass their own), each retrying
one call for at most the source's `retry_deadline_seconds` (`connectors.remote`).

Each SDK's own retry policy, stopped at the deadline (`DeadlineRetry` for Storage,
`ArmDeadlineRetry` for Resource Manager), with each try's connect timeout inside it. What is
left when the deadline passes becomes a costalloc error (`errors.translate`).
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.storage.blob import ExponentialRetry

from costalloc.connectors.azure.credentials import default_credential
from costalloc.connectors.options import DEFAULT_DEADLINE_SECONDS

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.costmanagement import CostManagementClient
    from azure.storage.blob import ContainerClient

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
_CONNECT_SECONDS = 20.0  # the SDKs' own default connect timeout
_ATTEMPTS = 10  # at most, if the deadline allows


class DeadlineRetry(ExponentialRetry):
    """Azure Storage's exponential retry (1 s, 3 s, 5 s, 9 s ... with up to 1 s of jitter),
    except that no retry is started, or slept towards, past `deadline` seconds after the call
    began."""

    def __init__(self, deadline: float) -> None:
        super().__init__(initial_backoff=1, increment_base=2, retry_total=_ATTEMPTS,
                         random_jitter_range=1, retry_connect=_ATTEMPTS, retry_read=3,
                         retry_status=_ATTEMPTS)
        self.deadline = deadline

    def configure_retries(self, request: Any) -> dict[str, Any]:
        settings: dict[str, Any] = super().configure_retries(request)
        settings["deadline"] = time.monotonic() + self.deadline
        return settings

    def increment(self, settings: dict[str, Any], request: Any, response: Any = None,
                  error: Any = None) -> bool:
        if not super().increment(settings, request, response=response, error=error):
            return False
        settings["backoff"] = self._draw_backoff(settings["count"])
        return bool(time.monotonic() + settings["backoff"] < settings["deadline"])

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        """The wait `increment` drew for this retry (so the deadline check and the sleep agree)."""
        return float(settings.pop("backoff", 0.0))

    def _draw_backoff(self, retry: int) -> float:
        backoff = self.initial_backoff + (self.increment_base ** (retry - 1) if retry > 1 else 0)
        return max(0.0, random.uniform(backoff - self.random_jitter_range,
                                       backoff + self.random_jitter_range))


class ArmDeadlineRetry(RetryPolicy[HttpRequest, HttpResponse]):
    """azure-core's retry (exponential backoff from 0.8 s, `Retry-After` honoured), except that
    no retry is started, or slept towards, past `deadline` seconds after the call began; its
    `timeout` keeps each try's connection inside the deadline too."""

    def __init__(self, deadline: float) -> None:
        super().__init__(timeout=deadline, retry_total=_ATTEMPTS, retry_connect=_ATTEMPTS)
        self.deadline = deadline

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = super().configure_retries(options)
        settings["deadline"] = time.monotonic() + self.deadline
        return settings

    def increment(self, settings: dict[str, Any], response: Any = None,
                  error: Any = None) -> bool:
        if not super().increment(settings, response=response, error=error):
            return False
        answered = isinstance(response, PipelineResponse)
        wait = (self.get_retry_after(response) if answered else None)
        if wait is None:
            wait = self.get_backoff_time(settings)
        return bool(time.monotonic() + wait < settings["deadline"])


def storage_client_options(deadline: float = DEFAULT_DEADLINE_SECONDS) -> dict[str, Any]:
    """Keyword arguments for any azure-storage-blob client."""
    return {"retry_policy": DeadlineRetry(deadline),
            "connection_timeout": min(_CONNECT_SECONDS, deadline)}


def container_client(*, container: str, account_url: str | None, connection_string: str | None,
                     deadline: float = DEFAULT_DEADLINE_SECONDS) -> ContainerClient:
    """From the connection string when there is one, else `DefaultAzureCredential` against
    `account_url`."""
    from azure.storage.blob import BlobServiceClient, ContainerClient

    if connection_string:
        service = BlobServiceClient.from_connection_string(connection_string,
                                                           **storage_client_options(deadline))
        return service.get_container_client(container)
    assert account_url is not None
    return ContainerClient(account_url, container, credential=default_credential(),
                           **storage_client_options(deadline))


def cost_management_client(*, base_url: str | None = None,
                           credential: TokenCredential | None = None,
                           deadline: float = DEFAULT_DEADLINE_SECONDS,
                           **kwargs: Any) -> CostManagementClient:
    """`DefaultAzureCredential` against Azure Resource Manager (or `base_url`).

    Retries 429, 408, 5xx (with `Retry-After`) and failed connections for at most `deadline`
    seconds a call; what is left after it gives up becomes a costalloc error
    (`errors.translate`).
    """
    from azure.mgmt.costmanagement import CostManagementClient

    if base_url:
        kwargs["base_url"] = base_url
    kwargs.setdefault("retry_policy", ArmDeadlineRetry(deadline))
    kwargs.setdefault("connection_timeout", min(_CONNECT_SECONDS, deadline))
    return CostManagementClient(credential or default_credential(), **kwargs)
