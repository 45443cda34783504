"""Straight-line trends fitted by least squares, in exact decimal arithmetic.

Both the month-end projection (a trend over the last days' spend) and the forecast (a trend over
the last months') use it. `fit` returns the line through the points that minimizes the squared
distances; a single point gives a flat line through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

_PRECISION = 60
PLACES = Decimal("1e-10")  # amounts the reports show exactly: DECIMAL(38, 10)


@dataclass(frozen=True)
class Line:
    """y = intercept + slope · x, with how well it fits (R², None when y never varies)."""

    intercept: Decimal
    slope: Decimal
    r_squared: Decimal | None

    def at(self, x: Decimal | int) -> Decimal:
        with localcontext() as context:
            context.prec = _PRECISION
            return self.intercept + self.slope * Decimal(x)


def fit(xs: Sequence[Decimal | int], ys: Sequence[Decimal]) -> Line:
    """The least-squares line through (xs, ys). Needs at least one point and xs not all equal
    (when there are several points)."""
    if len(xs) != len(ys) or not xs:
        raise ValueError(f"a trend needs as many x as y values and at least one ({len(xs)}, "
                         f"{len(ys)})")
    with localcontext() as context:
        context.prec = _PRECISION
        x = [Decimal(v) for v in xs]
        n = Decimal(len(x))
        mean_x = sum(x, Decimal(0)) / n
        mean_y = sum(ys, Decimal(0)) / n
        sxx = sum(((v - mean_x) ** 2 for v in x), Decimal(0))
        syy = sum(((v - mean_y) ** 2 for v in ys), Decimal(0))
        if sxx == 0:
            if len(x) > 1:
                raise ValueError("a trend needs at least two different x values")
            return Line(mean_y, Decimal(0), None)
        sxy = sum(((a - mean_x) * (b - mean_y) for a, b in zip(x, ys, strict=True)), Decimal(0))
        slope = sxy / sxx
        r_squared = (sxy * sxy) / (sxx * syy) if syy else None
        return Line(mean_y - slope * mean_x, slope, r_squared)


def exact(amount: Decimal) -> Decimal:
    """`amount` to ten decimals, as the warehouse keeps money."""
    with localcontext() as context:
        context.prec = _PRECISION
        return amount.quantize(PLACES)
