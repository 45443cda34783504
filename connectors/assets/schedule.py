"""Straight-line depreciation of an asset, month by month, exact to the last decimal. Pure.

Convention: depreciation starts on the in-service date, prorated by days in that first month;
each month then takes 1/useful-life of the depreciable amount (cost − salvage); the days not
depreciated in the first month fall in the month after the last full one. Amounts are the
differences of the cumulative depreciation rounded to 10 decimals, so they add up exactly to
cost − salvage.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from costalloc.core.period import BillingPeriod

_TEN_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class Asset:
    asset_id: str
    description: str
    cost: Decimal
    currency: str
    in_service: date
    useful_life_months: int
    salvage_value: Decimal = Decimal(0)

    @property
    def depreciable(self) -> Decimal:
        return self.cost - self.salvage_value


def depreciation_schedule(asset: Asset) -> dict[BillingPeriod, Decimal]:
    """Every month's depreciation, from the in-service month until fully depreciated."""
    days = calendar.monthrange(asset.in_service.year, asset.in_service.month)[1]
    first_fraction = Decimal(days - asset.in_service.day + 1) / Decimal(days)
    life = Decimal(asset.useful_life_months)
    schedule: dict[BillingPeriod, Decimal] = {}
    period = BillingPeriod.containing(asset.in_service)
    booked = Decimal(0)
    elapsed = first_fraction
    while True:
        cumulative = (asset.depreciable * min(elapsed, life) / life).quantize(
            _TEN_PLACES, rounding=ROUND_HALF_EVEN)
        schedule[period] = cumulative - booked
        booked = cumulative
        if elapsed >= life:
            break
        period = period.next()
        elapsed += 1
    return schedule
