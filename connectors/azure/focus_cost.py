"""Azure FocusCost exports (FOCUS 1.0-preview, 1.0, 1.0r2, 1.2-preview, 1.2) → line items.

The generic `kind: focus` normalizer does the work; this adds what Microsoft's files lack
or spell differently: `Region` (1.0-preview) is `RegionId`, and the FOCUS 1.3 provider
columns the contract carries are Microsoft unless the file says otherwise.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pyarrow.fs as pafs

from costalloc.connectors.focus_files import FocusFilesConnector
from costalloc.connectors.storage import Location
from costalloc.core.settings import SourceSettings

_MICROSOFT = "Microsoft"


def _generic() -> FocusFilesConnector:
    # The normalizer needs no files; the location is never read.
    settings = SourceSettings(name="azure-focus-cost", kind="focus")
    return FocusFilesConnector(settings, Location(pafs.LocalFileSystem(), "/", "unused"))


_FOCUS = _generic()


def to_focus(raw: pl.LazyFrame) -> pl.LazyFrame:
    names = raw.collect_schema().names()
    if "Region" in names and "RegionId" not in names:
        raw = raw.rename({"Region": "RegionId"})
    focus = _FOCUS.to_focus(raw)
    present = set(focus.collect_schema().names())
    fill = {name: pl.lit(_MICROSOFT) for name in ("ServiceProviderName", "HostProviderName")
            if name not in present}
    if "ServiceProviderName" in fill and "PublisherName" in present:
        fill["ServiceProviderName"] = pl.coalesce(pl.col("PublisherName"), pl.lit(_MICROSOFT))
    return focus.with_columns(value.alias(name) for name, value in fill.items())


def money_columns(raw: pl.DataFrame) -> list[str]:
    return _FOCUS.money_columns(raw)


def quantity_columns(raw: pl.DataFrame) -> list[str]:
    return _FOCUS.quantity_columns(raw)


def control_totals(raw: pl.DataFrame) -> dict[str, Decimal]:
    return _FOCUS.control_totals(raw)
