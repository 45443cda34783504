"""The billing period: one calendar month, the unit of loading and allocation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$", re.ASCII)
_PERIOD_SHAPE = re.compile(r"^\d{4}-\d{2}$", re.ASCII)


@dataclass(frozen=True, order=True)
class BillingPeriod:
    """A calendar month, written `YYYY-MM` as finance and every provider's export name it."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> BillingPeriod:
        match = _PERIOD.match(text.strip())
        if not match:
            if _PERIOD_SHAPE.match(text.strip()):
                raise ValueError(f"billing period `{text}` is impossible: there is no month "
                                 f"{text.strip()[5:]} (in YYYY-MM, months run 01 to 12)")
            raise ValueError(f"billing period `{text}` is not of the form YYYY-MM (e.g. 2026-10)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: date) -> BillingPeriod:
        return cls(moment.year, moment.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end: the first instant of the next month (FOCUS BillingPeriodEnd)."""
        return self.next().start

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> BillingPeriod:
        return BillingPeriod(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> BillingPeriod:
        if self.month == 1:
            return BillingPeriod(self.year - 1, 12)
        return BillingPeriod(self.year, self.month - 1)

    def through(self, last: BillingPeriod) -> list[BillingPeriod]:
        """Every period from this one to `last`, both included."""
        if last < self:
            raise ValueError(f"period range ends ({last}) before it starts ({self})")
        periods = [self]
        while periods[-1] < last:
            periods.append(periods[-1].next())
        return periods

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
