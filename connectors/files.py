"""Stream Parquet and (gzip) CSV files as bounded record batches, whatever the filesystem.

CSV is read with every column as text so that money is parsed once, as a decimal, by the
normalizer; Parquet keeps the types the provider wrote (floats are cast at the edge).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from costalloc.connectors.storage import is_transient, local_copy
from costalloc.core.errors import DataError, TransientError
from costalloc.core.period import BillingPeriod

BATCH_ROWS = 50_000  # rows per batch: memory is a few batches, whatever the month
_CSV_BLOCK_BYTES = 16 << 20
# Given a file's column names, the ones to read (a connector that maps a few of a wide
# export's columns skips decoding the rest).
ColumnPicker = Callable[[list[str]], list[str]]


def is_data_file(path: str) -> bool:
    return path.endswith((".parquet", ".csv", ".csv.gz", ".csv.gzip"))


def stream_file(
    filesystem: pafs.FileSystem, path: str, *, source: str, period: BillingPeriod,
    batch_rows: int = BATCH_ROWS, columns: ColumnPicker | None = None,
) -> Iterator[tuple[int, pl.DataFrame]]:
    """Yield (first data row number, rows) for one file; errors name source, period, file and
    how far the file could be read. A file without any data row is an error too: providers
    don't deliver empty parts, so an empty one is a truncated or failed upload. `columns`
    picks the columns to read from the file's header (default: all)."""
    rows_read = 0
    try:
        reader = _parquet if path.endswith(".parquet") else _csv
        with local_copy(filesystem, path) as (local, local_path):
            for first_row, rows in reader(local, local_path, batch_rows, columns):
                rows_read += rows.height
                yield first_row, rows
    except (pa.ArrowInvalid, OSError, EOFError, pl.exceptions.PolarsError) as error:
        where = f"after data row {rows_read}" if rows_read else "before its first data row"
        if isinstance(error, OSError) and is_transient(error):
            raise TransientError(f"{source} {period}: reading `{path}` failed {where}: "
                                 f"{_first_line(error)}; retried with backoff, the previous "
                                 "load stays published") from None
        raise DataError(source, period, f"cannot read `{path}` {where}: {_first_line(error)}; "
                        "the previous load stays published") from None
    if rows_read == 0:
        raise DataError(source, period, f"`{path}` has no data rows (an empty or header-only "
                        "file); the previous load stays published")


def _parquet(filesystem: pafs.FileSystem, path: str, batch_rows: int,
             columns: ColumnPicker | None) -> Iterator[tuple[int, pl.DataFrame]]:
    with filesystem.open_input_file(path) as handle:
        # Column chunks are read as they are decoded, not a whole row group up front.
        parquet = pq.ParquetFile(handle, pre_buffer=False)
        picked = columns(parquet.schema_arrow.names) if columns else None
        row = 1
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=picked):
            rows = pl.from_arrow(batch)
            assert isinstance(rows, pl.DataFrame)
            yield row, rows
            row += batch.num_rows


def _csv(filesystem: pafs.FileSystem, path: str, batch_rows: int,
         columns: ColumnPicker | None) -> Iterator[tuple[int, pl.DataFrame]]:
    compression = "gzip" if path.endswith((".gz", ".gzip")) else None
    header = _csv_header(filesystem, path, compression)
    if not header:
        raise pa.ArrowInvalid("the file is empty (no header row)")
    read = pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES, encoding="utf8")
    picked = columns(header) if columns else header
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in picked},
        include_columns=picked,
        strings_can_be_null=True,
        null_values=[""],
    )
    with filesystem.open_input_stream(path, compression=compression) as stream:
        reader = pacsv.open_csv(stream, read_options=read, convert_options=convert)
        row = 1
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= batch_rows:
                yield row, _frame(pending)
                row += pending_rows
                pending, pending_rows = [], 0
        if pending_rows:
            yield row, _frame(pending)


def _frame(batches: list[pa.RecordBatch]) -> pl.DataFrame:
    frame = pl.from_arrow(pa.Table.from_batches(batches))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _csv_header(filesystem: pafs.FileSystem, path: str, compression: str | None) -> list[str]:
    with filesystem.open_input_stream(path, compression=compression) as stream:
        first = io.TextIOWrapper(io.BufferedReader(_Readable(stream)), encoding="utf-8-sig")
        try:
            line = first.readline()
        except UnicodeDecodeError as error:  # a ValueError the caller would not expect
            raise pa.ArrowInvalid(f"its header row is not UTF-8 text ({error.reason})") from None
    table = pacsv.read_csv(io.BytesIO(line.encode()), read_options=pacsv.ReadOptions(
        autogenerate_column_names=False)) if line.strip() else None
    return list(table.column_names) if table is not None else []


class _Readable(io.RawIOBase):
    """Adapts a pyarrow input stream to `io` so the header can be read line by line."""

    def __init__(self, stream: pa.NativeFile) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
