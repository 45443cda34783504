"""Build the Cost Management client the way production runs it (tests pass their own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costalloc.connectors.azure.credentials import default_credential

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.costmanagement import CostManagementClient


def cost_management_client(*, base_url: str | None = None,
                           credential: TokenCredential | None = None,
                           **kwargs: Any) -> CostManagementClient:
    """`DefaultAzureCredential` against Azure Resource Manager (or `base_url`).

    The SDK's own retry policy retries 429, 408 and 5xx with `Retry-After`; what is left
    after it gives up becomes a `TransientError` (`errors.translate`).
    """
    from azure.mgmt.costmanagement import CostManagementClient

    if base_url:
        kwargs["base_url"] = base_url
    return CostManagementClient(credential or default_credential(), **kwargs)
