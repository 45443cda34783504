"""What every connector hands the loader: a delivery (the files of one billing period, as the
provider last wrote them) and its raw record batches, each with the file it came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import polars as pl

from costalloc.core.period import BillingPeriod


@dataclass(frozen=True)
class Delivery:
    """The current delivery of one (source, billing period).

    `fingerprint` identifies it (AWS executionId / assemblyId, Azure runId, a BigQuery
    table fingerprint): a fingerprint already loaded is not loaded again.
    """

    source: str
    period: BillingPeriod
    fingerprint: str
    files: tuple[str, ...]
    details: dict[str, str] = field(default_factory=dict)


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
        """Raw columns whose values must all be numbers."""

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        """Per currency, the export's own cost total for these raw rows."""

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        """Raw rows → FOCUS columns (plus provider `x_` columns). Pure."""
