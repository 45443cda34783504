"""Largest-remainder rounding: rounded cells add up to the rounded total, each within a cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costalloc.reports.finance.rounding import (
    CENT,
    largest_remainder,
    quantum,
    round_half_up,
    round_nested,
    round_with_part,
)

# DECIMAL(38, 10) amounts as the warehouse holds them: up to 10 places, credits included.
amounts = st.integers(min_value=-10**16, max_value=10**16).map(lambda units: Decimal(units).scaleb(-10))
steps = st.sampled_from([Decimal("0.01"), Decimal(1), Decimal("0.001")])


@given(st.lists(amounts, max_size=40), steps)
def test_rounded_cells_add_up_to_the_rounded_total_and_stay_within_a_step(
        cells: list[Decimal], step: Decimal) -> None:
    rounded = largest_remainder(cells, step)
    assert sum(rounded, Decimal(0)) == round_half_up(sum(cells, Decimal(0)), step)
    for exact, shown in zip(cells, rounded, strict=True):
        assert shown % step == 0
        assert abs(shown - exact) < step


@given(st.lists(amounts, max_size=40))
def test_amounts_already_in_cents_are_left_alone(cells: list[Decimal]) -> None:
    in_cents = [round_half_up(c) for c in cells]
    assert largest_remainder(in_cents) == in_cents


@given(st.lists(st.lists(amounts, min_size=1, max_size=8), max_size=8), steps)
def test_nested_rounding_adds_up_at_every_level(groups: list[list[Decimal]],
                                                step: Decimal) -> None:
    total, subtotals, cells = round_nested(groups, step)
    exact = sum((sum(g, Decimal(0)) for g in groups), Decimal(0))
    assert total == round_half_up(exact, step) == sum(subtotals, Decimal(0))
    for group, subtotal, rounded in zip(groups, subtotals, cells, strict=True):
        assert sum(rounded, Decimal(0)) == subtotal
        assert abs(subtotal - sum(group, Decimal(0))) < step
        assert all(abs(r - c) < step for r, c in zip(rounded, group, strict=True))


def test_the_cents_go_to_the_largest_remainders_and_ties_to_the_first() -> None:
    # 3.015 rounds to 3.02: two of the three 1.005s are shown as 1.01.
    assert largest_remainder([Decimal("1.005")] * 3) == [Decimal("1.01"), Decimal("1.01"),
                                                         Decimal("1.00")]
    # Rounding each cell alone would show 0.33 + 0.33 + 0.33 = 0.99 under a total of 1.00.
    third = Decimal(1) / 3
    assert largest_remainder([third, third, third]) == [Decimal("0.34"), Decimal("0.33"),
                                                        Decimal("0.33")]
    # Credits too: -1.006 + 2.004 = 0.998, shown as -1.00 + 2.00 = 1.00.
    assert largest_remainder([Decimal("-1.006"), Decimal("2.004")]) == [Decimal("-1.00"),
                                                                        Decimal("2.00")]


@given(st.lists(st.tuples(amounts, st.booleans()), max_size=40), steps)
def test_the_total_and_the_part_are_each_their_exact_sum_rounded_half_up(
        cells: list[tuple[Decimal, bool]], step: Decimal) -> None:
    values, part = [v for v, _ in cells], [p for _, p in cells]
    rounded = round_with_part(values, part, step)
    assert sum(rounded, Decimal(0)) == round_half_up(sum(values, Decimal(0)), step)
    assert sum((r for r, p in zip(rounded, part, strict=True) if p), Decimal(0)) == round_half_up(
        sum((v for v, p in cells if p), Decimal(0)), step)
    assert all(r % step == 0 for r in rounded)
    assert all(abs(r - v) < 2 * step for r, v in zip(rounded, values, strict=True))


def test_the_unallocated_part_is_shown_as_every_other_report_shows_it() -> None:
    # Two unallocated cells of 0.0042 (0.0084: 0.01 wherever it is rounded on its own) and two
    # others of 0.0049. Largest remainder over the four gives both cents of the 0.02 total to
    # the 0.0049s, so the unallocated cells would add up to 0.00 beside a 0.01 elsewhere.
    cells = [Decimal("0.0042"), Decimal("0.0042"), Decimal("0.0049"), Decimal("0.0049")]
    part = [True, True, False, False]
    assert largest_remainder(cells)[:2] == [Decimal(0), Decimal(0)]
    rounded = round_with_part(cells, part)
    assert sum(rounded[:2], Decimal(0)) == round_half_up(cells[0] + cells[1]) == Decimal("0.01")
    assert sum(rounded, Decimal(0)) == round_half_up(sum(cells, Decimal(0))) == Decimal("0.02")
    # the corner: two exact half cents in opposite directions; the rest absorbs the step
    corner = round_with_part([Decimal("-0.005"), Decimal("0.01")], [True, False])
    assert corner == [Decimal("-0.01"), Decimal("0.02")]
    assert sum(corner, Decimal(0)) == round_half_up(Decimal("0.005"))


def test_a_given_total_must_be_within_a_step_of_the_exact_sum() -> None:
    assert largest_remainder([Decimal("0.504"), Decimal("0.504")], CENT,
                             total=Decimal("1.00")) == [Decimal("0.50"), Decimal("0.50")]
    with pytest.raises(ValueError, match="less than one step"):
        largest_remainder([Decimal("0.50"), Decimal("0.50")], CENT, total=Decimal("1.02"))
    with pytest.raises(ValueError, match="not a multiple"):
        largest_remainder([Decimal("0.50")], CENT, total=Decimal("0.505"))


def test_each_currency_is_shown_in_its_minor_unit() -> None:
    assert quantum("USD") == Decimal("0.01")
    assert quantum("JPY") == Decimal(1)
    assert quantum("KWD") == Decimal("0.001")
    assert largest_remainder([Decimal("100.4"), Decimal("100.4"), Decimal("100.4")],
                             quantum("JPY")) == [Decimal(101), Decimal(100), Decimal(100)]
