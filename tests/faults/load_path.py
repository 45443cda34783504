"""The production loading path, in one function the fault tests share: `flows.loading`'s
`stage` then `publish`, a staging failure logged to `ingest_log` as the nightly flow logs it.
When the loading entry point changes, this is the one place to change."""

from __future__ import annotations

from pathlib import Path

import duckdb

from costalloc.connectors.ingest import IngestResult
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, SourceSettings
from costalloc.flows.loading import (
    PartitionFailed,
    partition_store,
    publish,
    record_stage_failure,
    stage,
)
from costalloc.warehouse.partitions import published_fingerprint


def load(con: duckdb.DuckDBPyConnection, source: SourceSettings, period: BillingPeriod,
         run_id: str, *, workdir: Path) -> IngestResult:
    """Load (`source`, `period`) into `con` the way the flows do; `workdir` holds the scratch
    parts. A failure is raised as the flow sees it (`PartitionFailed`)."""
    settings = Settings(warehouse=workdir / "costalloc.duckdb", sources=[source])
    store, keep = partition_store(settings, run_id)
    try:
        staged = stage(source, period, run_id, store,
                       published=published_fingerprint(con, source.name, period))
    except PartitionFailed as error:
        record_stage_failure(con, error, source.name, period, run_id)
        raise
    return publish(con, staged, store, run_id, keep=keep)
