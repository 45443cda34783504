"""The production loading path, in one function the fault tests share: `flows.loading`'s
`load_partition` (stage then publish, as the nightly flow does), with its scratch parts in
`workdir`. When the loading entry point changes, this is the one place to change."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.fs as pafs

from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import LoadResult, load_partition
from costalloc.warehouse.lake import PartitionStore


def load(con: duckdb.DuckDBPyConnection, source: SourceSettings, period: BillingPeriod,
         run_id: str, *, workdir: Path) -> LoadResult:
    """Load (`source`, `period`) into `con` the way the flows do; `workdir` holds the scratch
    parts. A refusal is raised as the command line sees it (the `SourceError` that stopped it),
    after it was recorded in `ingest_log`."""
    store = PartitionStore(pafs.LocalFileSystem(), str(workdir / "scratch" / run_id))
    return load_partition(con, source, period, run_id, store=store)
