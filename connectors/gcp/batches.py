"""Arrow record batches, whatever size the source hands out (REST pages, Storage API blocks,
Parquet row groups), regrouped into tables of at most `batch_rows` rows: the memory bound of a
load, independent of how BigQuery or the file happened to chunk the data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa


def bounded(stream: Iterable[pa.RecordBatch], batch_rows: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in stream:
        offset = 0
        while offset < batch.num_rows:
            piece = batch.slice(offset, batch_rows - pending_rows)
            pending.append(piece)
            pending_rows += piece.num_rows
            offset += piece.num_rows
            if pending_rows == batch_rows:
                yield pa.Table.from_batches(pending)
                pending, pending_rows = [], 0
    if pending_rows:
        yield pa.Table.from_batches(pending)
