"""Rule dates: `effective` windows and capitalization phases name whole days, in UTC.

A window runs from midnight at the start of its first day to midnight after its last day
(both days included); either end may be open. The engine compares a line item's
`ChargePeriodStart` with these instants, and profiles coarsen that column to them, so both
read the instants from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import polars as pl


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`: where rule dates begin."""
    return datetime.combine(day, time(0), tzinfo=timezone.utc)  # noqa: UP017


def charge_start() -> pl.Expr:
    """ChargePeriodStart in UTC (DuckDB hands it over as `Etc/UTC`, polars compares zones)."""
    return pl.col("ChargePeriodStart").dt.convert_time_zone("UTC")


@dataclass(frozen=True)
class Window:
    start: datetime | None  # included
    end: datetime | None  # excluded

    @classmethod
    def of_days(cls, first: date | None, last: date | None) -> Window:
        return cls(start_of_day(first) if first is not None else None,
                   start_of_day(last + timedelta(days=1)) if last is not None else None)

    def boundaries(self) -> set[datetime]:
        """The instants where being inside the window can change."""
        return {moment for moment in (self.start, self.end) if moment is not None}

    def covers(self) -> pl.Expr:
        """Rows whose charge period starts inside the window."""
        tests = []
        if self.start is not None:
            tests.append(charge_start() >= self.start)
        if self.end is not None:
            tests.append(charge_start() < self.end)
        return pl.all_horizontal(tests) if tests else pl.lit(True)
