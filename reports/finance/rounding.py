"""Cent rounding for display that still adds up: the largest-remainder method.

Rounding every cell on its own makes a column of cents that misses its own rounded total by a
few cents. Largest remainder rounds every cell down to the quantum, then gives one quantum
each to the cells that lost the most, until the cells add up to the total shown. Every cell
stays within one quantum of its exact amount.

Pure functions over `Decimal`s; nothing here knows about sheets or currencies' names beyond
their minor unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

from costalloc.core.currencies import quantum as quantum  # a currency's step, used with these

CENT = Decimal("0.01")
_PRECISION = 80


def round_half_up(amount: Decimal, step: Decimal = CENT) -> Decimal:
    """`amount` to the nearest multiple of `step`, halves away from zero (the invoice's rule)."""
    with localcontext() as context:
        context.prec = _PRECISION
        return (amount / step).to_integral_value(ROUND_HALF_UP) * step


def largest_remainder(amounts: Sequence[Decimal], step: Decimal = CENT,
                      total: Decimal | None = None) -> list[Decimal]:
    """`amounts` rounded to multiples of `step` so that they add up to `total` exactly.

    `total` defaults to the exact sum rounded half-up; a given `total` (a subtotal rounded one
    level up) must be a multiple of `step` less than one `step` away from the exact sum. Ties
    in the remainders go to the earlier amount, so the result depends only on the input order.
    """
    if step <= 0:
        raise ValueError(f"rounding step must be positive, got {step}")
    with localcontext() as context:
        context.prec = _PRECISION  # DECIMAL(38, 10) sums never lose a digit
        return _largest_remainder(amounts, step, total)


def _largest_remainder(amounts: Sequence[Decimal], step: Decimal,
                       total: Decimal | None) -> list[Decimal]:
    exact = sum(amounts, Decimal(0))
    target = round_half_up(exact, step) if total is None else total
    if total is not None:
        if total % step != 0:
            raise ValueError(f"total {total} is not a multiple of the rounding step {step}")
        if abs(total - exact) >= step:
            raise ValueError(f"total {total} is {abs(total - exact)} away from the exact sum "
                             f"{exact}; it must be less than one step ({step}) away")
    floors = [(amount / step).to_integral_value(ROUND_FLOOR) * step for amount in amounts]
    short = int((target - sum(floors, Decimal(0))) / step)  # 0 <= short <= len(amounts)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(amounts[i] - floors[i]), i))
    for i in by_remainder[:short]:
        floors[i] += step
    return floors


def round_nested(groups: Sequence[Sequence[Decimal]], step: Decimal = CENT) -> tuple[
        Decimal, list[Decimal], list[list[Decimal]]]:
    """A two-level table (groups of cells) rounded so cells add up to their group's subtotal
    and the subtotals to the total: `(total, subtotals, cells)`, all shown as they are."""
    exact = [sum(cells, Decimal(0)) for cells in groups]
    subtotals = largest_remainder(exact, step)
    cells = [largest_remainder(group, step, total=subtotal)
             for group, subtotal in zip(groups, subtotals, strict=True)]
    return sum(subtotals, Decimal(0)), subtotals, cells
