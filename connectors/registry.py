"""Source kind → connector. A new kind registers here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable

from connectors.delivery import Connector
from core.errors import ConfigurationError
from core.settings import SourceSettings


def _aws_cur(settings: SourceSettings) -> Connector:
    from connectors.aws import AwsCurConnector

    return AwsCurConnector(settings)


def _focus(settings: SourceSettings) -> Connector:
    from connectors.focus_files import FocusFilesConnector

    return FocusFilesConnector(settings)


def _gcp_bigquery(settings: SourceSettings) -> Connector:
    from connectors.gcp import BigQueryExportConnector

    return BigQueryExportConnector(settings)


def _azure_export(settings: SourceSettings) -> Connector:
    from connectors.azure import AzureExportConnector

    return AzureExportConnector(settings)


def _azure_cost_details(settings: SourceSettings) -> Connector:
    from connectors.azure import CostDetailsConnector

    return CostDetailsConnector(settings)


CONNECTORS: dict[str, Callable[[SourceSettings], Connector]] = {
    "aws-cur": _aws_cur,
    "focus": _focus,
    "gcp-bigquery": _gcp_bigquery,
    "azure-export": _azure_export,
    "azure-cost-details": _azure_cost_details,
}


def connector_for(settings: SourceSettings) -> Connector:
    try:
        factory = CONNECTORS[settings.kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ConfigurationError(
            f"source `{settings.name}`: kind `{settings.kind}` has no connector in this build "
            f"(available: {known})") from None
    return factory(settings)
