"""CSV that spreadsheets open safely: Arrow batches → CSV bytes, one batch in memory at a time.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and anyone who can
tag a cloud resource chooses what text lands in these files. Text cells that start with one of
those characters (or a tab / carriage return) get a leading `'`, the spreadsheet convention for
"this is text" (OWASP's advice for CSV injection). Numbers, dates and ordinary text are
unchanged, so totals round-trip exactly.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

_FORMULA_START = r"^[=+\-@\t\r]"


def formula_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with every text cell a spreadsheet would evaluate prefixed with `'`."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA_START), False)
            if pc.any(risky).as_py():
                quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, "")
                column = pc.if_else(risky, quoted, column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def csv_chunks(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes]:
    """CSV text, header first (also when there are no rows), one chunk per batch."""
    header = io.BytesIO()
    pacsv.write_csv(pa.Table.from_batches([], schema=schema), header)
    yield header.getvalue()
    options = pacsv.WriteOptions(include_header=False)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        chunk = io.BytesIO()
        pacsv.write_csv(formula_safe(batch), chunk, options)
        yield chunk.getvalue()


def write_csv(target: Path, batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Path:
    """Write `batches` to `target` through a `.partial` file: readers never see half a file."""
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as stream:
        for chunk in csv_chunks(batches, schema):
            stream.write(chunk)
    partial.replace(target)
    return target
