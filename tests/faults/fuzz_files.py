"""A delivery's data files as the fuzz suite edits and reads them, without costalloc's code:
(gzip) CSV through the standard library's `csv` and `gzip`, Parquet through pyarrow.

A CSV file is a header and rows of text (what a CSV holds: an empty cell is ``""``); a Parquet
file is an Arrow table whose column types are the provider's. An edit that no longer fits a
column's type (text in a DOUBLE column) turns the column into text, as a provider's schema
drift would.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

csv.field_size_limit(1 << 30)  # a fuzzed cell may be a megabyte long

BOM = "\ufeff"


class Unreadable(Exception):
    """The file is not a well-formed CSV / Parquet file (cut, garbage, ragged rows...)."""


@dataclass
class CsvTable:
    header: list[str]
    rows: list[list[str]]
    bom: bool


def is_parquet(path: Path) -> bool:
    return path.name.endswith(".parquet")


def is_gzip(path: Path) -> bool:
    return path.name.endswith((".gz", ".gzip"))


def read_csv(path: Path) -> CsvTable:
    """The file's header and rows as text; `Unreadable` when it is not a rectangular CSV."""
    try:
        data = path.read_bytes()
        if is_gzip(path):
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as error:
        raise Unreadable(f"{path.name}: {error}") from None
    bom = text.startswith(BOM)
    try:
        records = list(csv.reader(io.StringIO(text.removeprefix(BOM), newline="")))
    except csv.Error as error:
        raise Unreadable(f"{path.name}: {error}") from None
    if not records:
        raise Unreadable(f"{path.name}: no header")
    header, rows = records[0], records[1:]
    ragged = next((n for n, row in enumerate(rows, 1) if len(row) != len(header)), None)
    if ragged is not None:
        raise Unreadable(f"{path.name}: data row {ragged} has {len(rows[ragged - 1])} cells, "
                         f"the header {len(header)}")
    return CsvTable(header, rows, bom)


def write_csv(path: Path, table: CsvTable) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    data = ((BOM if table.bom else "") + out.getvalue()).encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if is_gzip(path) else data)


def read_parquet(path: Path) -> pa.Table:
    try:
        return pq.ParquetFile(path).read()  # read_table refuses a repeated column name
    except (OSError, pa.ArrowException) as error:
        raise Unreadable(f"{path.name}: {error}") from None


def write_parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="snappy")


def edit(path: Path, *, csv_edit: Callable[[CsvTable], None] | None = None,
         parquet_edit: Callable[[pa.Table], pa.Table] | None = None) -> bool:
    """Apply the edit for the file's format; False (nothing changed) when the file can't be
    read any more (an earlier mutation cut or replaced it) or the edit has no form for it."""
    try:
        if is_parquet(path):
            if parquet_edit is None:
                return False
            write_parquet(path, parquet_edit(read_parquet(path)))
        else:
            if csv_edit is None:
                return False
            table = read_csv(path)
            csv_edit(table)
            write_csv(path, table)
    except Unreadable:
        return False
    return True


def set_parquet_cell(table: pa.Table, column: str, row: int, value: Any) -> pa.Table:
    """`table` with one cell replaced; a value the column's type can't hold makes it text."""
    index = table.column_names.index(column)
    values = table.column(index).to_pylist()
    values[row] = value
    field = table.schema.field(index)
    try:
        array = pa.array(values, type=field.type)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        array = pa.array([None if v is None else _as_text(v) for v in values], type=pa.string())
    return table.set_column(index, pa.field(field.name, array.type), array)


def _as_text(value: Any) -> str:
    if isinstance(value, list):  # a MAP cell, as (key, value) pairs
        return "{" + ",".join(f'"{k}":"{v}"' for k, v in value) + "}"
    return repr(value) if isinstance(value, float) else str(value)
