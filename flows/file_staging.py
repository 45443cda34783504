"""Staging a delivery one file per task, so one month's files spread over a cluster.

For a connector that reads a delivery file by file (`connectors.delivery.FileByFile`: AWS CUR),
the flow finds the delivery in its own process (cheap reads), one task reads what every file
needs from the whole delivery (`read_context`: AWS's unit per SKU), then one task per file
normalizes that file into Parquet parts (`stage_file`), numbering its line items from 1. Line
item ids run on across a partition's files, and how many line items a file makes is known only
once it is normalized. So each file's parts carry an offset (the line items of the files before
it) that `publish` adds as DuckDB loads them: nothing is written twice. Only parts the lake
keeps are rewritten with their final ids (`PartitionStore.renumber`, one task per part, spread
like the staging), since readers of the lake read them as they are. Either way the partition
is published as if one task had staged it: the same rows, ids, totals and origins.

Plain functions; `flows.loading_tasks` wraps them in tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import accumulate
from typing import Any

from costalloc.connectors.delivery import Delivery, FileByFile
from costalloc.connectors.normalized import normalized
from costalloc.connectors.registry import connector_for, kind_of
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import Staged, partition_load, reading
from costalloc.flows.plan import connector_settings
from costalloc.warehouse.lake import PartitionStore
from costalloc.warehouse.partitions import BatchOrigin

_FILE_BY_FILE = ("read_context", "read_file")


@dataclass(frozen=True)
class StagedFile:
    """One file of a delivery, staged: its parts (ids from 1) and what it counted."""

    file: str
    parts: tuple[str, ...]
    raw_rows: int
    emitted_rows: int
    raw_totals: dict[str, Decimal]
    origins: tuple[BatchOrigin, ...]


def reads_file_by_file(source: SourceSettings) -> bool:
    """Whether the source's connector stages its deliveries one file per task (its class has
    `FileByFile`'s methods; checked without building a connector and its clients)."""
    factory = kind_of(source.kind).connector_class()
    return all(callable(getattr(factory, method, None)) for method in _FILE_BY_FILE)


def read_context(source: SourceSettings, delivery: Delivery) -> Any:
    """What every file of `delivery` needs from the whole delivery (one pass, on a worker)."""
    connector = _connector(source)
    with reading(delivery):
        return connector.read_context(delivery)


def stage_file(source: SourceSettings, delivery: Delivery, index: int, context: Any,
               run_id: str, store: PartitionStore) -> StagedFile:
    """Normalize the delivery's `index`th file into parts in `store` (on a worker)."""
    connector = _connector(source)
    file = delivery.files[index]
    load = partition_load(delivery, run_id, files=(file,))
    with reading(delivery):
        tables = normalized(connector, delivery, load, connector.read_file(delivery, file, context))
        parts = store.write(delivery.source, delivery.period, f"{run_id}-{index:05d}", tables)
    return StagedFile(file, tuple(parts), load.raw_rows, load.emitted_rows,
                      dict(load.raw_totals), tuple(load.origins))


def id_offsets(files: list[StagedFile]) -> list[int]:
    """Per file, in delivery order: how far its line item ids move (the line items before it)."""
    return [0, *accumulate(staged.emitted_rows for staged in files)][:len(files)]


def assembled(delivery: Delivery, files: list[StagedFile], started_at: datetime, *,
              renumbered: bool) -> Staged:
    """The partition as one `Staged`: its parts already `renumbered` (the lake keeps them as
    they are), or carrying each file's offset for `publish` to apply as it loads them."""
    totals: dict[str, Decimal] = {}
    origins: list[BatchOrigin] = []
    for staged, offset in zip(files, id_offsets(files), strict=True):
        for currency, amount in staged.raw_totals.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
        origins += [BatchOrigin(o.file, o.first_row, o.first_line_item + offset, o.rows)
                    for o in staged.origins]
    return Staged(delivery.source, delivery.period, "staged", delivery.fingerprint,
                  delivery.files, tuple(part for staged in files for part in staged.parts),
                  sum(staged.raw_rows for staged in files),
                  sum(staged.emitted_rows for staged in files), totals, started_at,
                  delivery.declared_empty, tuple(origins),
                  () if renumbered else tuple(offset for staged, offset in zip(
                      files, id_offsets(files), strict=True) for _ in staged.parts))


def _connector(source: SourceSettings) -> FileByFile:
    connector = connector_for(connector_settings(source))
    if not isinstance(connector, FileByFile):
        raise TypeError(f"source kind `{source.kind}` does not read deliveries file by file")
    return connector
