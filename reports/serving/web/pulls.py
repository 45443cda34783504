"""Downloads: any table of the web view as CSV, xlsx or Parquet, with exact amounts.

Money is `DECIMAL(38, 10)` in every format (CSV writes it in full, so a spreadsheet's sum ties
out to the cent); percentages are decimal fractions. CSV text a spreadsheet would run as a
formula is quoted (`reports.finance.csv_text`). The same URL with `?token=<pull token>` is what
Excel's From Web and Google Sheets' IMPORTDATA fetch.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from costalloc.reports.finance.csv_text import csv_chunks
from costalloc.reports.finance.workbook import write_table_workbook
from costalloc.reports.serving.web.month_tables import Column, Table

Format = Literal["csv", "xlsx", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "parquet")
MONEY = pa.decimal128(38, 10)
RATIO = pa.decimal128(38, 18)
_TYPES = {"text": pa.string(), "count": pa.int64(), "money": MONEY, "percent": RATIO}
_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def arrow(table: Table) -> pa.Table:
    """The table's rows with typed columns (its footer is not a row)."""
    return pa.table({column.key: pa.array([_value(row[i], column) for row in table.rows],
                                          type=_TYPES[column.kind])
                     for i, column in enumerate(table.columns)})


def _value(value: object, column: Column) -> object:
    if value is None:
        return None
    if column.kind in ("money", "percent"):
        assert isinstance(value, Decimal | int)
        exponent = -10 if column.kind == "money" else -18
        return Decimal(value).quantize(Decimal(1).scaleb(exponent))
    if column.kind == "count":
        return value
    return str(value)


def respond(batches: pa.RecordBatchReader, fmt: Format, stem: str, *, title: str,
            close: Callable[[], None]) -> Response:
    """`batches` as a download named `<stem>.<fmt>`; `close` (the request's connection) is
    called once they are read: after streaming for CSV, before answering otherwise."""
    filename = f"{stem}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return StreamingResponse(_closing(csv_chunks(batches, batches.schema), close),
                                 media_type=_MEDIA["csv"], headers=headers)
    try:
        whole = batches.read_all()
    finally:
        close()
    if fmt == "parquet":
        buffer = io.BytesIO()
        pq.write_table(whole, buffer)
        return Response(buffer.getvalue(), media_type=_MEDIA["parquet"], headers=headers)
    folder = Path(tempfile.mkdtemp(prefix="costalloc-web-"))
    try:
        target = write_table_workbook(folder / filename, reader(whole), whole.num_rows,
                                      title=title[:31])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(target, filename=filename, media_type=_MEDIA["xlsx"],
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def reader(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _closing(chunks: Iterator[bytes], close: Callable[[], None]) -> Iterator[bytes]:
    """Stream `chunks`, then `close`, also when the client goes away mid-way."""
    try:
        yield from chunks
    finally:
        close()
