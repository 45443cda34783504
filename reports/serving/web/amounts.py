"""Amounts as the web view shows them: thousands separators and two decimals, rounded per
column with the largest-remainder method so shown rows add up to the shown total. Downloads
keep the exact `DECIMAL(38, 10)` values; every shown amount carries its exact value too."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from costalloc.reports.finance.rounding import CENT, largest_remainder, round_half_up

MINUS = "\u2212"  # a real minus sign: screen readers say "minus", and it lines up with digits


def text(amount: Decimal) -> str:
    """`1234.5` → `1,234.50`, `-3` → `−3.00` (the amount must already be in cents)."""
    written = f"{abs(amount):,.2f}"
    return f"{MINUS}{written}" if amount < 0 else written


def money(amount: Decimal) -> str:
    """One amount on its own, rounded half up to the cent."""
    return text(round_half_up(amount, CENT))


def column(amounts: Sequence[Decimal], total: Decimal | None = None) -> list[str]:
    """A column of amounts rounded together (largest remainder), so they add up to the
    total shown; `total` is that shown total when it is rounded elsewhere."""
    if total is not None:
        total = round_half_up(total, CENT)
    return [text(a) for a in largest_remainder(list(amounts), CENT, total)]


def percent(part: Decimal, whole: Decimal) -> str:
    """`part` as a share of `whole`; `–` when `whole` is zero."""
    return ratio(part / whole) if whole else "–"


def ratio(value: Decimal) -> str:
    """A fraction as a percentage: one decimal, two under 1 % (so a small share isn't 0.0%)."""
    share = value * 100
    written = f"{abs(share):.{2 if abs(share) < 1 else 1}f}%"
    return f"{MINUS}{written}" if share < 0 and written != "0.00%" else written


def exact(amount: Decimal) -> str:
    """The exact amount, for `data-exact` attributes and downloads."""
    return format(amount, "f")
