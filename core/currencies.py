"""ISO 4217: the currency codes a billing row may carry, and the smallest amount of each."""

from __future__ import annotations

from decimal import Decimal

import pycountry

ISO_4217: frozenset[str] = frozenset(currency.alpha_3 for currency in pycountry.currencies)


def is_currency(code: str) -> bool:
    return code in ISO_4217


# ISO 4217 minor units that are not 2; every other currency is shown in cents.
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def quantum(currency: str) -> Decimal:
    """The smallest amount an invoice in `currency` shows: 0.01 for USD, 1 for JPY."""
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency.upper(), 2))
