"""ISO 4217: the currency codes a billing row may carry."""

from __future__ import annotations

import pycountry

ISO_4217: frozenset[str] = frozenset(currency.alpha_3 for currency in pycountry.currencies)


def is_currency(code: str) -> bool:
    return code in ISO_4217
