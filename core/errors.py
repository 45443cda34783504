"""The error taxonomy. Each kind maps onto what a run does next (retry, stop, report)."""

from __future__ import annotations


class CostallocError(Exception):
    """Base of every error a person is expected to read and act on."""


class ConfigurationError(CostallocError):
    """The configuration or rules are wrong: never retried, fixed by the user."""


class SourceError(CostallocError):
    """A source's delivery can't be read or doesn't tie out: not retried; last good data stays."""

    def __init__(self, source: str, period: object, message: str) -> None:
        super().__init__(f"{source} {period}: {message}")
        self.source = source
        self.period = period
        self.detail = message

    def __reduce__(self) -> tuple[type, tuple[str, object, str]]:
        # Crosses process boundaries (Dask workers) with its three arguments intact.
        return (type(self), (self.source, self.period, self.detail))


class DataError(SourceError):
    """A value in a delivery is not what its provider documents (bad money, wrong period...)."""


class TransientError(CostallocError):
    """Throttling, 5xx, timeouts: safe to retry with backoff."""


class ConservationError(CostallocError):
    """Allocated totals differ from line item totals: the allocation is not published."""


class WarehouseWriteError(CostallocError):
    """The warehouse could not be written (disk full, permissions): not retried; the last
    committed data stays."""


class WarehouseSchemaError(CostallocError):
    """The warehouse's schema version is not the one this code reads (older and opened
    read-only, newer than the code, or a migration failed): not retried; nothing is changed."""


class WarehouseBusyError(TransientError):
    """Another run holds the warehouse or a (source, period) lock."""
