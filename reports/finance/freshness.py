"""Whether each source is still delivering: when it last received a delivery it had not loaded
before (`ingest_log`), against how long its provider usually goes between deliveries. The
nightly summary flags a source past that lag — an export that was deleted or stopped, a
schedule that broke — so it is noticed before finance finds a month short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from costalloc.sql import load


@dataclass(frozen=True)
class Expected:
    """A configured source and its provider's usual lag (None: no cadence to expect)."""

    source: str
    kind: str
    usual_lag: timedelta | None


@dataclass(frozen=True)
class Freshness:
    source: str
    kind: str
    usual_lag: timedelta | None
    last_new_delivery: datetime | None  # None: nothing was ever loaded
    deliveries: int
    now: datetime

    @property
    def silent_for(self) -> timedelta | None:
        return None if self.last_new_delivery is None else self.now - self.last_new_delivery

    @property
    def overdue(self) -> bool:
        if self.usual_lag is None:
            return False
        return self.silent_for is None or self.silent_for > self.usual_lag

    def describe(self) -> str:
        if self.usual_lag is None:
            return f"{self.source}: {self.kind} sources deliver on demand; not checked"
        usual = f"{self.kind} usually delivers within {duration(self.usual_lag)}"
        if self.last_new_delivery is None:
            return (f"{self.source}: no delivery has been loaded yet ({usual}); check that its "
                    "export is running")
        when = f"{self.last_new_delivery:%Y-%m-%d %H:%M} UTC"
        assert self.silent_for is not None
        if not self.overdue:
            return f"{self.source}: last new delivery {when} ({usual})"
        return (f"{self.source}: no new delivery for {duration(self.silent_for)} (last {when}); "
                f"{usual} — check that its export is still running")


def freshness(con: duckdb.DuckDBPyConnection, expected: Sequence[Expected],
              now: datetime) -> list[Freshness]:
    """Each expected source's freshness at `now` (UTC), in the order given."""
    loaded = {source: (last, count)
              for source, last, count in con.sql(load("reports/source_freshness")).fetchall()}
    return [Freshness(e.source, e.kind, e.usual_lag, *loaded.get(e.source, (None, 0)), now=now)
            for e in expected]


def freshness_markdown(rows: Sequence[Freshness]) -> str:
    """A Markdown section: one line per source, the overdue ones flagged."""
    if not rows:
        return ""
    lines = ["## Deliveries", "", "| source | last new delivery | usual lag | status |",
             "|---|---|---|---|"]
    for row in rows:
        last = (f"{row.last_new_delivery:%Y-%m-%d %H:%M} UTC" if row.last_new_delivery
                else "never")
        usual = duration(row.usual_lag) if row.usual_lag else "on demand"
        status = ("⚠️ " + row.describe().split(": ", 1)[1] if row.overdue
                  else "✅ delivering" if row.usual_lag else "–")
        lines.append(f"| {row.source} | {last} | {usual} | {status.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def duration(span: timedelta) -> str:
    """`3 days 4 hours`, `26 hours`, `45 minutes`: the two largest units that matter."""
    hours = int(span.total_seconds() // 3600)
    if hours >= 48:
        days, rest = divmod(hours, 24)
        return f"{days} days" + (f" {rest} hours" if rest else "")
    if hours >= 1:
        return f"{hours} hour" + ("s" if hours > 1 else "")
    return f"{int(span.total_seconds() // 60)} minutes"
