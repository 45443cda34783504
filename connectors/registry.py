"""Every source kind, with everything about it: one entry per kind, and nowhere else.

An entry carries the connector class (as `module:Class`, imported only when a source of that
kind is read, so a deployment that reads only AWS never imports the GCP or Azure SDKs), its
options model (`extra="forbid"`; `costalloc.yaml` is checked against it), how long its provider
may restate a past month, how long it usually goes between deliveries, whether asking for a
delivery makes a new one, and a one-line description. Settings (`core.settings`), planning
(`flows.plan`), triage (`flows.triage`), the nightly summary's freshness check and
`docs/sources.md` (`connectors.source_docs`) all read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from costalloc.connectors.assets.options import AssetRegisterOptions
from costalloc.connectors.aws.options import AwsCurOptions
from costalloc.connectors.azure.options import CostDetailsOptions, ExportOptions
from costalloc.connectors.focus_files import FocusOptions
from costalloc.connectors.gcp.config import GcpBigQueryOptions
from costalloc.connectors.options import SourceOptions
from costalloc.core.errors import ConfigurationError

if TYPE_CHECKING:
    from costalloc.connectors.delivery import Connector
    from costalloc.core.settings import SourceSettings


@dataclass(frozen=True)
class SourceKind:
    name: str  # what `kind:` says in costalloc.yaml
    connector: str  # `module:Class`; the class takes the source's SourceSettings
    options: type[SourceOptions]
    restatement_days: int  # after a month ends, how long its provider may still rewrite it
    delivery_lag: timedelta | None  # longest usual gap between deliveries; None: no cadence
    description: str
    # Finding a delivery asks the provider to make one (a new fingerprint every time), so a run
    # cannot tell it has nothing to do without loading it (`flows.triage`).
    delivers_on_request: bool = False

    def connector_class(self) -> Callable[[SourceSettings], Connector]:
        """The class, imported now."""
        module, _, name = self.connector.partition(":")
        factory: Callable[[SourceSettings], Connector] = getattr(importlib.import_module(module),
                                                                 name)
        return factory


KINDS: dict[str, SourceKind] = {kind.name: kind for kind in (
    SourceKind(
        "aws-cur", "costalloc.connectors.aws:AwsCurConnector", AwsCurOptions,
        restatement_days=15,  # AWS restates month N-1 during the first ~two weeks of month N
        delivery_lag=timedelta(hours=24),  # refreshed up to three times a day
        description="AWS Cost and Usage Reports (CUR 2.0 Data Exports or legacy CUR) in S3 or a "
                    "local copy; `uri` is the export's own folder"),
    SourceKind(
        "focus", "costalloc.connectors.focus_files:FocusFilesConnector", FocusOptions,
        restatement_days=15,  # any provider's FOCUS export: the longest window (AWS's)
        delivery_lag=timedelta(days=2),  # AWS and Azure FOCUS exports refresh daily
        description="Any provider's FOCUS export (CSV or Parquet) in a folder or under an s3:// "
                    "prefix"),
    SourceKind(
        "gcp-bigquery", "costalloc.connectors.gcp:BigQueryExportConnector", GcpBigQueryOptions,
        restatement_days=5,  # rows for a day keep arriving 1-5 days; the invoice month closes
        delivery_lag=timedelta(days=1),  # rows are exported several times a day
        description="The GCP Cloud Billing export table in BigQuery (`options.table`), or its "
                    "Parquet dump (`uri`)"),
    SourceKind(
        "azure-export", "costalloc.connectors.azure.export_source:AzureExportConnector",
        ExportOptions,
        restatement_days=10,  # charges finalize in the first days of the next month
        delivery_lag=timedelta(days=2),  # a daily export; a day's run may come hours late
        description="Azure Cost Management exports (manifest, legacy partitioned or one-file; "
                    "any dialect) in a Blob Storage container or a local copy"),
    SourceKind(
        "azure-cost-details", "costalloc.connectors.azure.cost_details:CostDetailsConnector",
        CostDetailsOptions,
        restatement_days=10,
        delivery_lag=None,  # a report is requested on demand: every run gets a fresh one
        description="One month at a time from the Azure Cost Details API, for months no export "
                    "covers",
        delivers_on_request=True),
    SourceKind(
        "asset-register", "costalloc.connectors.assets:AssetRegisterConnector",
        AssetRegisterOptions,
        restatement_days=0,  # our own register: a past month never changes by itself
        delivery_lag=None,  # it changes when someone edits it
        description="Your own register of purchased assets (CSV or Parquet): purchases and "
                    "straight-line depreciation"),
)}


def kind_of(name: str) -> SourceKind:
    kind = KINDS.get(name)
    if kind is None:
        raise ConfigurationError(f"`{name}` is not a source kind; kinds: {', '.join(KINDS)}")
    return kind


def source_options(source: SourceSettings) -> SourceOptions:
    """The source's options, validated by its kind's model."""
    return kind_of(source.kind).options.of(source)


def connector_for(settings: SourceSettings) -> Connector:
    return kind_of(settings.kind).connector_class()(settings)
