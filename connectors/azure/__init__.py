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
