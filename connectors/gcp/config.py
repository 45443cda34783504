"""`kind: gcp-bigquery` options: which export to read (the BigQuery table, or a folder holding
its Parquet dump) and how.

The table id is the only piece of configuration that ever reaches SQL text (as an identifier:
BigQuery has no parameters for table names), so it must match `TABLE_ID` exactly before it is
accepted. Everything else reaches BigQuery as a query parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from costalloc.connectors.options import DEFAULT_DEADLINE_SECONDS, ObjectStoreOptions
from costalloc.core.errors import ConfigurationError

if TYPE_CHECKING:
    from costalloc.core.settings import SourceSettings

# project (optionally domain-scoped, `example.com:proj`) . dataset . table — letters, digits,
# `_` and, in the project only, `-`. No backticks, spaces, dots or wildcards can get through.
TABLE_ID = re.compile(
    r"^(?P<project>(?:[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+:)?[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"\.(?P<dataset>[A-Za-z0-9_]{1,1024})"
    r"\.(?P<table>[A-Za-z_][A-Za-z0-9_]{0,1023})$"
)
_PROJECT = re.compile(r"^(?:[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_LOCATION = re.compile(r"^[A-Za-z]+(?:-[a-z]+[0-9]*)?$")
_EXAMPLE = "my-billing-project.billing_export.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"


class GcpBigQueryOptions(ObjectStoreOptions):
    """The `options:` of a gcp-bigquery source. `region`, `profile`, `endpoint_url` and
    `max_attempts` apply to `uri: s3://...` dumps only."""

    table: str | None = Field(
        default=None, description="The export table, `project.dataset.table` (table mode; "
                                  "else `uri` names a folder holding its Parquet dump)")
    project: str | None = Field(default=None, description="Project that runs (and pays for) the "
                                                          "queries (default: the table's)")
    location: str | None = Field(default=None, description="The dataset's location, e.g. `US`")
    partition_lookback_days: int = Field(
        default=7, ge=0, le=400,
        description="_PARTITIONTIME pruning margin before the month starts")
    batch_rows: int = Field(default=100_000, ge=1, le=5_000_000,
                            description="Rows per batch held in memory")
    read_api: Literal["storage", "rest"] = Field(
        default="storage", description="Read rows through the Storage Read API or REST pages")

    @field_validator("table")
    @classmethod
    def _table_is_a_plain_id(cls, table: str | None) -> str | None:
        if table is not None and not TABLE_ID.match(table):
            raise ValueError(
                f"`{table}` is not a BigQuery table id of the form `project.dataset.table` "
                f"(letters, digits and `_`; `-` only in the project), e.g. `{_EXAMPLE}`")
        return table

    @field_validator("project")
    @classmethod
    def _project_is_an_id(cls, project: str | None) -> str | None:
        if project is not None and not _PROJECT.match(project):
            raise ValueError(f"`{project}` is not a Google Cloud project id (e.g. `my-billing-project`)")
        return project

    @field_validator("location")
    @classmethod
    def _location_is_a_location(cls, location: str | None) -> str | None:
        if location is not None and not _LOCATION.match(location):
            raise ValueError(f"`{location}` is not a BigQuery location (e.g. `US`, `EU`, `europe-west1`)")
        return location

    @model_validator(mode="after")
    def _s3_options_only_for_s3(self) -> GcpBigQueryOptions:
        if self.table is not None and (self.region or self.profile or self.endpoint_url
                                       or self.max_attempts):
            raise ValueError("`region`, `profile`, `endpoint_url` and `max_attempts` apply to "
                             "`uri: s3://...` only, not to `table`")
        return self


@dataclass(frozen=True)
class ExportConfig:
    """A validated gcp-bigquery source: exactly one of `table` (table mode) or `uri` (file mode)."""

    source: str
    table: str | None
    uri: str | None
    project: str | None
    location: str | None
    partition_lookback_days: int
    batch_rows: int
    read_api: Literal["storage", "rest"]
    storage_options: dict[str, Any] = field(default_factory=dict)
    retry_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS

    @property
    def billing_project(self) -> str | None:
        """The project that runs (and pays for) the queries: `project`, else the table's own."""
        if self.project:
            return self.project
        match = TABLE_ID.match(self.table or "")
        return match["project"] if match else None


def parse(settings: SourceSettings) -> ExportConfig:
    """Validate a source's options; errors name the source and the option to fix."""
    options = GcpBigQueryOptions.of(settings)
    uri = settings.uri.strip() or None
    if (options.table is None) == (uri is None):
        raise ConfigurationError(
            f"source `{settings.name}` (gcp-bigquery): set either `options.table` (read the "
            f"export table in BigQuery, e.g. `{_EXAMPLE}`) or `uri` (a folder holding the "
            "table's Parquet dump), not " + ("both" if uri else "neither"))
    return ExportConfig(
        source=settings.name, table=options.table, uri=uri, project=options.project,
        location=options.location, partition_lookback_days=options.partition_lookback_days,
        batch_rows=options.batch_rows, read_api=options.read_api,
        storage_options=options.storage(),
        retry_deadline_seconds=options.retry_deadline_seconds)
