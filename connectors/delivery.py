"""What every connector hands the loader: a delivery (the files of one billing period, as the
provider last wrote them) and its raw record batches, each with the file it came from."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import polars as pl

from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod


@dataclass(frozen=True)
class Delivery:
    """The current delivery of one (source, billing period).

    `fingerprint` identifies it (AWS executionId / assemblyId, Azure runId, a BigQuery
    table fingerprint): a fingerprint already loaded is not loaded again. `listed` holds the
    files as the provider's manifest names them (same order as `files`), so an error can quote
    the manifest; connectors that list a folder themselves leave it empty. `declared_empty`
    is set only when the provider's manifest itself says the month has no line items: nothing
    else lets a load replace a published month with nothing.
    """

    source: str
    period: BillingPeriod
    fingerprint: str
    files: tuple[str, ...]
    details: dict[str, str] = field(default_factory=dict)
    listed: tuple[str, ...] = ()
    declared_empty: bool = False


class RefusedDelivery(SourceError):
    """A delivery that was found — its manifest read, its fingerprint known — but can't be
    loaded as the manifest lists it (a listed file missing, or outside the export). The loader
    records the refusal in `ingest_log` against `fingerprint`, as it does for a delivery that
    fails while it is read."""

    def __init__(self, source: str, period: object, message: str, *, fingerprint: str,
                 files: tuple[str, ...] = ()) -> None:
        super().__init__(source, period, message)
        self.fingerprint = fingerprint
        self.files = files

    def __reduce__(self) -> tuple[object, ...]:  # type: ignore[override]
        return (_refused_delivery, (self.source, self.period, self.detail, self.fingerprint,
                                    self.files))


def _refused_delivery(source: str, period: object, message: str, fingerprint: str,
                      files: tuple[str, ...]) -> RefusedDelivery:
    return RefusedDelivery(source, period, message, fingerprint=fingerprint, files=files)


def check_file_list(delivery: Delivery) -> None:
    """Refuse a delivery that names one data file twice (it would load it twice, and its raw
    total would count it twice too, so the tie-out could not notice) or, unless the provider
    declared the month empty, no data file at all."""
    where = (f"manifest `{delivery.details['manifest']}`" if "manifest" in delivery.details
             else "the delivery")
    if not delivery.files and not delivery.declared_empty:
        raise SourceError(
            delivery.source, delivery.period,
            f"{where} lists no data files; a published month is never replaced with nothing "
            "unless the provider's manifest says the month is empty. The provider may still "
            "be delivering, or the export is broken; the previous load stays published")
    seen: dict[str, int] = {}
    for index, file in enumerate(delivery.files):
        same = posixpath.normpath(file)
        if same not in seen:
            seen[same] = index
            continue
        first = seen[same]
        listed = (_as_listed(delivery, first), _as_listed(delivery, index))
        entries = (f"entries {first + 1} and {index + 1} both list `{listed[0]}`"
                   if listed[0] == listed[1] else
                   f"entry {first + 1} `{listed[0]}` and entry {index + 1} `{listed[1]}` both "
                   f"name `{delivery.files[first]}`")
        raise SourceError(
            delivery.source, delivery.period,
            f"{where} lists the same data file twice: {entries}; it would be loaded twice. "
            "Ask the provider to deliver again (or fix the manifest); nothing of this delivery "
            "is loaded and the previous load stays published")


def _as_listed(delivery: Delivery, index: int) -> str:
    if len(delivery.listed) == len(delivery.files):
        return delivery.listed[index]
    return delivery.files[index]


@dataclass(frozen=True)
class RawBatch:
    """Rows as the provider wrote them, and where they start in their file (1-based data row)."""

    file: str
    first_row: int
    rows: pl.DataFrame


class Connector(Protocol):
    """One source kind. I/O lives in `find_delivery` and `read`; the rest is pure."""

    name: str

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        """The current delivery for `period`, or None when the provider has written none."""

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        """Stream the delivery's rows in bounded batches, file by file."""

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        """Raw columns whose values must all be numbers (DECIMAL(38, 10) money at most)."""

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        """Raw columns read as a quantity or unit price: DECIMAL(38, 18) must hold them."""

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        """Per currency, the export's own cost total for these raw rows."""

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        """Raw rows → FOCUS columns (plus provider `x_` columns). Pure."""


@runtime_checkable
class FileByFile(Connector, Protocol):
    """A connector whose delivery can be read one file at a time, each file on another worker
    (`flows.file_staging`). What a file's rows need from the rest of the delivery is found
    first, in one pass (`read_context`, picklable); `read` must be `read_file` over the files
    in order, with that context, so both ways give the same rows."""

    def read_context(self, delivery: Delivery) -> Any:
        """What every file's rows need to know about the whole delivery."""

    def read_file(self, delivery: Delivery, file: str, context: Any) -> Iterator[RawBatch]:
        """One file of the delivery, as `read` streams it."""
