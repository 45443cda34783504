"""Stream the blobs of a delivery as raw batches, checked on the way.

Each blob is downloaded to a temporary file (a local copy is read in place) and streamed in
bounded batches by `connectors.files` — gzip CSV, CSV or Parquet, picked by name (or by the
blob's `Content-Encoding: gzip`). On the way, per blob:
- the header must be an Azure cost header (`dialects.detect`), with a currency column unless
  the source's `currency` option supplies one;
- every money value must be a number, checked here while row numbers are still the file's;
- rows are kept by the part's rule (all, or only / all but commitment purchases when an
  ActualCost and an AmortizedCost export are combined) and tagged with their dataset;
- the number of data rows must equal the manifest's `dataRowCount` when it gives one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import polars as pl
import pyarrow.fs as pafs

from costalloc.connectors.azure import amounts, transform
from costalloc.connectors.azure.canonical import Canonical, canonical_frame
from costalloc.connectors.azure.dialects import Dialect, HeaderNotRecognized, detect
from costalloc.connectors.azure.discovery import Part
from costalloc.connectors.delivery import RawBatch
from costalloc.connectors.files import stream_file
from costalloc.connectors.money import first_bad_money
from costalloc.core.errors import DataError, SourceError
from costalloc.core.period import BillingPeriod

Fetch = Callable[[Part, str], AbstractContextManager[str]]  # (part, suffix) → local path
_LOCAL = pafs.LocalFileSystem()


def suffix_for(name: str, *, gzip_encoded: bool = False, compressed: bool = False) -> str:
    """The file suffix the reader needs to pick its format."""
    lower = name.lower().split("?", 1)[0]
    for known in (".snappy.parquet", ".parquet", ".csv.gz", ".csv.gzip", ".csv"):
        if lower.endswith(known):
            return known + (".gz" if gzip_encoded and known == ".csv" else "")
    return ".csv.gz" if gzip_encoded or compressed else ".csv"


def read_parts(parts: tuple[Part, ...], fetch: Fetch, *, source: str, period: BillingPeriod,
               batch_rows: int, currency: str | None) -> Iterator[RawBatch]:
    """Every part's rows, part by part, in batches of at most `batch_rows`."""
    for part in parts:
        with fetch(part, suffix_for(part.name, gzip_encoded=part.gzip_encoded)) as path:
            yield from _read_part(part, path, part.name, source=source, period=period,
                                  batch_rows=batch_rows, currency=currency)


def _read_part(part: Part, path: str, name: str, *, source: str, period: BillingPeriod,
               batch_rows: int, currency: str | None) -> Iterator[RawBatch]:
    rows_read = 0
    dialect: Dialect | None = None
    for first_row, rows in stream_file(_LOCAL, path, source=source, period=period,
                                       batch_rows=batch_rows):
        if dialect is None:
            dialect = _dialect(rows, name, source, period, currency)
        rows_read += rows.height
        _check_money(rows, name, first_row, source, period)
        if dialect.name != "focus" and dialect.raw("currency") is None:
            rows = rows.with_columns(pl.lit(currency).alias("Currency"))
        kept = _kept(rows, dialect, part).with_columns(
            pl.lit(part.dataset).alias(amounts.DATASET_COLUMN))
        if kept.height:
            yield RawBatch(name, first_row, kept)
    if part.rows is not None and rows_read != part.rows:
        raise SourceError(source, period,
                          f"`{name}` holds {rows_read} data rows but its manifest says "
                          f"{part.rows} — the blob may be incomplete; the previous load stays "
                          "published")


def _dialect(rows: pl.DataFrame, name: str, source: str, period: BillingPeriod,
             currency: str | None) -> Dialect:
    try:
        dialect = detect(rows.columns)
    except HeaderNotRecognized as error:
        raise DataError(source, period, f"`{name}`: {error}; nothing was loaded, the previous "
                        "load stays published") from None
    if dialect.name != "focus" and dialect.raw("currency") is None and currency is None:
        raise DataError(source, period,
                        f"`{name}` ({dialect.name}) has no currency column (older EA files "
                        "don't): set the source's `currency` option to the billing currency")
    return dialect


def _check_money(rows: pl.DataFrame, name: str, first_row: int, source: str,
                 period: BillingPeriod) -> None:
    bad = first_bad_money(rows, transform.money_columns(rows), transform.quantity_columns(rows))
    if bad is not None:
        raise DataError(source, period,
                        f"`{name}` data row {first_row + bad.row}: column `{bad.column}` holds "
                        f"`{bad.value}`, {bad.problem}; the previous load stays published")


def _kept(rows: pl.DataFrame, dialect: Dialect, part: Part) -> pl.DataFrame:
    if part.keep == "all" or dialect.name == "focus":
        return rows
    canonical = canonical_frame(rows.lazy(), dialect)
    purchase = amounts.is_commitment_purchase(Canonical(canonical.collect_schema()))
    mask = canonical.select(purchase.alias("purchase")).collect().to_series()
    return rows.filter(mask if part.keep == "commitment-purchases" else ~mask)
