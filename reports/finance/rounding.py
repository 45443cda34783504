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
    return _spread(amounts, step, target)


def _spread(amounts: Sequence[Decimal], step: Decimal, target: Decimal) -> list[Decimal]:
    """Every amount rounded down, then the steps still missing from `target` handed out by
    largest remainder. When `target` is within a step of the exact sum, 0 <= short <= n and no
    amount moves more than a step; further away, every amount takes its share first."""
    floors = [(amount / step).to_integral_value(ROUND_FLOOR) * step for amount in amounts]
    short = int((target - sum(floors, Decimal(0))) / step)
    if not amounts:
        if short:
            raise ValueError(f"nothing to round to the total {target}")
        return []
    each, extra = divmod(short, len(amounts))
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(amounts[i] - floors[i]), i))
    for rank, i in enumerate(by_remainder):
        floors[i] += step * (each + (1 if rank < extra else 0))
    return floors


def round_with_part(amounts: Sequence[Decimal], in_part: Sequence[bool],
                    step: Decimal = CENT) -> list[Decimal]:
    """`amounts` rounded so that all of them add up to their exact sum rounded half-up, and
    the ones `in_part` (the unallocated cells of a table, say) add up to *their* exact sum
    rounded half-up.

    The two figures a reader compares with other reports (the total and the part) are then the
    invoice's rounding of their exact amounts, wherever they are shown, and every other figure
    of a table built from these cells (a subtotal, a marginal) is a plain sum of them, so the
    same cells give the same figure in every table. Each cell stays within one step of its
    exact amount, except in one corner: when both sums sit exactly half a step from their
    rounding, in opposite directions, one cell outside the part may take a second step.
    """
    if len(amounts) != len(in_part):
        raise ValueError(f"{len(amounts)} amounts but {len(in_part)} part flags")
    with localcontext() as context:
        context.prec = _PRECISION
        part = [a for a, p in zip(amounts, in_part, strict=True) if p]
        rest = [a for a, p in zip(amounts, in_part, strict=True) if not p]
        total = round_half_up(sum(amounts, Decimal(0)), step)
        part_total = round_half_up(sum(part, Decimal(0)), step)
        shown_part = iter(_spread(part, step, part_total))
        shown_rest = iter(_spread(rest, step, total - part_total))
        return [next(shown_part) if p else next(shown_rest) for p in in_part]


def round_nested(groups: Sequence[Sequence[Decimal]], step: Decimal = CENT) -> tuple[
        Decimal, list[Decimal], list[list[Decimal]]]:
    """A two-level table (groups of cells) rounded so cells add up to their group's subtotal
    and the subtotals to the total: `(total, subtotals, cells)`, all shown as they are."""
    exact = [sum(cells, Decimal(0)) for cells in groups]
    subtotals = largest_remainder(exact, step)
    cells = [largest_remainder(group, step, total=subtotal)
             for group, subtotal in zip(groups, subtotals, strict=True)]
    return sum(subtotals, Decimal(0)), subtotals, cells
