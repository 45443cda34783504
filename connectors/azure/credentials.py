"""The Azure credential every client uses: `DefaultAzureCredential`, built once per process.

It tries, in order, environment variables (`AZURE_CLIENT_ID` ...), workload identity,
managed identity, the Azure CLI / PowerShell / azd sign-in. Nothing comes from costalloc's
configuration file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


@lru_cache(maxsize=1)
def default_credential() -> TokenCredential:
    from azure.identity import DefaultAzureCredential

    credential: TokenCredential = DefaultAzureCredential()
    return credential
