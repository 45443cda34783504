"""Cost Management export definitions: list a scope's exports, run one for a month, read its
run history. Plain functions over a `CostManagementClient` (see `clients.py`), for the CLI.

    client = cost_management_client()
    for export in list_exports(client, "subscriptions/<id>"):
        print(export.describe())
    run_export(client, "subscriptions/<id>", "daily-actual", BillingPeriod.parse("2026-09"))
    for run in export_runs(client, "subscriptions/<id>", "daily-actual"):
        print(run.describe())

A run started this way delivers a new `manifest.json` a few minutes later; the next
`azure-export` load of that month picks it up as the newest run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from costalloc.connectors.azure.details_report import month_span
from costalloc.connectors.azure.errors import translate
from costalloc.core.period import BillingPeriod

if TYPE_CHECKING:
    from azure.mgmt.costmanagement import CostManagementClient

_ALL_MONTHS = "(all months)"


@dataclass(frozen=True)
class ExportSummary:
    name: str
    scope: str
    dataset: str | None  # ActualCost, AmortizedCost, FocusCost, PriceSheet ...
    data_version: str | None
    timeframe: str | None
    file_format: str | None
    container: str | None
    root_folder: str | None
    storage_account: str | None  # resource id of the storage account
    schedule: str | None  # e.g. "Daily, Active"
    next_run: datetime | None

    def describe(self) -> str:
        where = f"{self.container or '?'}/{self.root_folder or ''}".rstrip("/")
        version = f" {self.data_version}" if self.data_version else ""
        return (f"{self.name}: {self.dataset or '?'}{version}, {self.timeframe or '?'}, "
                f"{self.file_format or 'Csv'} → {where} ({self.schedule or 'no schedule'})")


@dataclass(frozen=True)
class ExportRunSummary:
    run_id: str
    status: str | None
    execution_type: str | None
    submitted: datetime | None
    start: datetime | None
    end: datetime | None
    error: str | None

    def describe(self) -> str:
        span = (f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}" if self.start and self.end
                else "?")
        when = self.submitted.isoformat() if self.submitted else "?"
        failure = f" — {self.error}" if self.error else ""
        return f"{self.run_id}: {self.status} ({self.execution_type}, {span}, submitted {when}){failure}"


def list_exports(client: CostManagementClient, scope: str) -> list[ExportSummary]:
    """Every export defined at `scope` (`subscriptions/<id>`, a billing account ...), by name."""
    scope = scope.strip("/")
    try:
        listed = client.exports.list(scope)
    except Exception as error:
        raise translate(error, source=scope, period=_ALL_MONTHS,
                        action="listing Cost Management exports") from error
    return sorted((_summary(scope, export) for export in listed.value or []),
                  key=lambda summary: summary.name)


def run_export(client: CostManagementClient, scope: str, export_name: str,
               period: BillingPeriod) -> None:
    """Start a run of `export_name` for the whole of `period` (at most one month per run)."""
    from azure.mgmt.costmanagement.models import ExportRunRequest, ExportTimePeriod

    scope = scope.strip("/")
    first, last = month_span(period)
    request = ExportRunRequest(time_period=ExportTimePeriod(
        from_property=datetime.combine(first, time(), UTC),
        to=datetime.combine(last, time(), UTC)))
    try:
        client.exports.execute(scope, export_name, request)
    except Exception as error:
        raise translate(error, source=scope, period=period,
                        action=f"running export `{export_name}`") from error


def export_runs(client: CostManagementClient, scope: str, export_name: str) -> list[ExportRunSummary]:
    """The export's recent runs, newest first."""
    scope = scope.strip("/")
    try:
        history = client.exports.get_execution_history(scope, export_name)
    except Exception as error:
        raise translate(error, source=scope, period=_ALL_MONTHS,
                        action=f"reading the run history of export `{export_name}`") from error
    runs = [_run(run) for run in history.value or []]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(runs, key=lambda run: run.submitted or oldest, reverse=True)


def _summary(scope: str, export: Any) -> ExportSummary:
    properties = export.properties
    definition = properties.definition if properties else None
    configuration = (definition.data_set.configuration
                     if definition is not None and definition.data_set is not None else None)
    destination = (properties.delivery_info.destination
                   if properties is not None and properties.delivery_info is not None else None)
    schedule = properties.schedule if properties else None
    return ExportSummary(
        name=str(export.name),
        scope=scope,
        dataset=_text(definition.type) if definition else None,
        data_version=configuration.data_version if configuration else None,
        timeframe=_text(definition.timeframe) if definition else None,
        file_format=_text(properties.format) if properties else None,
        container=destination.container if destination else None,
        root_folder=destination.root_folder_path if destination else None,
        storage_account=destination.resource_id if destination else None,
        schedule=(", ".join(t for t in (_text(schedule.recurrence), _text(schedule.status)) if t)
                  if schedule else None),
        next_run=properties.next_run_time_estimate if properties else None,
    )


def _run(run: Any) -> ExportRunSummary:
    properties = run.properties
    name = str(run.name or (run.id or "").rsplit("/", 1)[-1])
    if properties is None:
        return ExportRunSummary(name, None, None, None, None, None, None)
    return ExportRunSummary(
        run_id=name,
        status=_text(properties.status),
        execution_type=_text(properties.execution_type),
        submitted=properties.submitted_time,
        start=properties.start_date,
        end=properties.end_date,
        error=properties.error.message if properties.error is not None else None,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
