"""Azure Cost Management exports and the Cost Details API → FOCUS line items.

Two source kinds, one normalizer:

- `azure-export` (`AzureExportConnector`): the runs Cost Management exports write to a Blob
  Storage container — manifest.json exports, legacy partitioned and legacy one-file
  exports, any dialect (EA, MCA, pay-as-you-go, localized, FocusCost).
- `azure-cost-details` (`CostDetailsConnector`): one month on demand from the Cost Details
  API, for backfills no export covers.

Plus plain functions for the CLI: `list_exports`, `run_export`, `export_runs` over a
`cost_management_client()`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costalloc.connectors.azure.clients import cost_management_client
    from costalloc.connectors.azure.cost_details import CostDetailsConnector
    from costalloc.connectors.azure.export_api import (
        ExportRunSummary,
        ExportSummary,
        export_runs,
        list_exports,
        run_export,
    )
    from costalloc.connectors.azure.export_source import AzureExportConnector

_MODULES = {
    "AzureExportConnector": "export_source",
    "CostDetailsConnector": "cost_details",
    "ExportRunSummary": "export_api",
    "ExportSummary": "export_api",
    "cost_management_client": "clients",
    "export_runs": "export_api",
    "list_exports": "export_api",
    "run_export": "export_api",
}
__all__ = [
    "AzureExportConnector",
    "CostDetailsConnector",
    "ExportRunSummary",
    "ExportSummary",
    "cost_management_client",
    "export_runs",
    "list_exports",
    "run_export",
]


def __getattr__(name: str) -> object:
    """Imported on first use: the registry reads this package's `options` without importing
    the Azure SDKs."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
