"""Source kind → connector class. A new kind registers here and nowhere else.

Classes are imported only when a source of their kind is configured, so a deployment that
reads only AWS never imports the GCP or Azure SDKs.
"""

from __future__ import annotations

import importlib
from typing import cast

from costalloc.connectors.delivery import Connector
from costalloc.core.errors import ConfigurationError
from costalloc.core.settings import SourceSettings

CONNECTORS: dict[str, str] = {
    "aws-cur": "costalloc.connectors.aws:AwsCurConnector",
    "focus": "costalloc.connectors.focus_files:FocusFilesConnector",
    "asset-register": "costalloc.connectors.assets:AssetRegisterConnector",
    "gcp-bigquery": "costalloc.connectors.gcp:BigQueryExportConnector",
    "azure-export": "costalloc.connectors.azure:AzureExportConnector",
    "azure-cost-details": "costalloc.connectors.azure:CostDetailsConnector",
}


def connector_for(settings: SourceSettings) -> Connector:
    target = CONNECTORS.get(settings.kind)
    module_name, _, class_name = (target or "").partition(":")
    factory = getattr(importlib.import_module(module_name), class_name, None) if target else None
    if factory is None:
        known = ", ".join(sorted(CONNECTORS))
        raise ConfigurationError(
            f"source `{settings.name}`: kind `{settings.kind}` has no connector in this build "
            f"(kinds: {known})")
    return cast(Connector, factory(settings))
