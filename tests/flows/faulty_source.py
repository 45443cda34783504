"""A test source: a local AWS CUR export read by the real connector, with one fault injected.

A source kind of its own, `faulty`, added to `connectors.registry.KINDS` (monkeypatch `KIND` to
`ENTRY`, or `install()` in a child process) — the way any new kind is added. Options, besides
the AWS ones:

    journal: a file; every `find_delivery` and `read` appends a line (`find 2026-10`), so a
             test counts attempts across threads and processes
    fault:   transient:N     the first N `find_delivery` calls raise TransientError (throttled)
             data            `read` raises DataError (a bad money value)
             hang:YYYY-MM    `read` of that period writes `<journal>.hang` and sleeps
             slow:SECONDS    `read` sleeps first (two runs overlap)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
from pydantic import Field

from costalloc.connectors.aws import AwsCurConnector
from costalloc.connectors.aws.options import AwsCurOptions
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.registry import KINDS, SourceKind
from costalloc.core.errors import DataError, TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

KIND = "faulty"


class FaultyOptions(AwsCurOptions):
    journal: str = Field(description="File every find_delivery and read appends a line to")
    fault: str = Field(default="", description="The fault to inject (see the module docstring)")


ENTRY = SourceKind(KIND, "tests.flows.faulty_source:FaultySource", FaultyOptions,
                   restatement_days=15, delivery_lag=None,
                   description="A local AWS CUR export with one fault injected (tests only)")


def install() -> None:
    KINDS[KIND] = ENTRY


class FaultySource:
    def __init__(self, settings: SourceSettings) -> None:
        options = FaultyOptions.of(settings)
        self.fault = options.fault
        self.journal = Path(options.journal)
        self.name = settings.name
        aws = settings.model_dump()["options"]
        aws.pop("fault", None)
        aws.pop("journal")
        self.inner = AwsCurConnector(settings.model_copy(update={"kind": "aws-cur",
                                                                 "options": aws}))

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        attempt = self._note(f"find {period}")
        if self.fault.startswith("transient:") and attempt <= int(self.fault.partition(":")[2]):
            raise TransientError(f"{self.name} {period}: listing the export: HTTP status 503 "
                                 "SlowDown; retried with backoff")
        return self.inner.find_delivery(period)

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        self._note(f"read {delivery.period}")
        if self.fault == "data":
            raise DataError(self.name, delivery.period, "`export-00001.snappy.parquet` data row "
                            "7: column `line_item_unblended_cost` holds `12,50`, which is not a "
                            "number; the previous load stays published")
        if self.fault == f"hang:{delivery.period}":
            Path(f"{self.journal}.hang").write_text(str(delivery.period))
            time.sleep(600)
        if self.fault.startswith("slow:"):
            time.sleep(float(self.fault.removeprefix("slow:")))
        yield from self.inner.read(delivery)

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return self.inner.money_columns(raw)

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return self.inner.quantity_columns(raw)

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        return self.inner.control_totals(raw)

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        return self.inner.to_focus(raw)

    def _note(self, line: str) -> int:
        """Append `line` to the journal; how many times it is there now."""
        with self.journal.open("a") as journal:
            journal.write(line + "\n")
        return self.journal.read_text().splitlines().count(line)
