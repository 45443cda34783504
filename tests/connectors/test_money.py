from decimal import Decimal

import polars as pl

from costalloc.connectors.money import (
    BEYOND_QUANTITY,
    first_bad_money,
    money,
    quantity,
    totals_by_currency,
)


def test_floats_become_their_shortest_decimal_not_their_binary_expansion() -> None:
    frame = pl.DataFrame({"cost": [0.1, 0.1 + 0.2, 1e-11, 123456.7890123456]})
    values = frame.select(money("cost", frame.schema)).to_series().to_list()
    assert values == [Decimal("0.1"), Decimal("0.3"), Decimal("0"), Decimal("123456.7890123456")]


def test_text_money_rounds_half_up_at_ten_decimals() -> None:
    frame = pl.DataFrame({"cost": ["0.12345678915", "-3.25", None, ""]})
    values = frame.select(money("cost", frame.schema)).to_series().to_list()
    assert values == [Decimal("0.1234567892"), Decimal("-3.25"), None, None]


def test_the_first_value_that_is_not_a_number_is_found_with_its_row() -> None:
    frame = pl.DataFrame({"a": ["1", "2", "3"], "cost": ["1.5", "", "12,50"]})
    bad = first_bad_money(frame, ["a", "cost", "absent"])
    assert bad is not None and (bad.column, bad.row, bad.value) == ("cost", 2, "12,50")
    floats = pl.DataFrame({"cost": [1.0, float("nan"), float("inf")]})
    bad = first_bad_money(floats, ["cost"])
    assert bad is not None and (bad.row, bad.value) == (1, "NaN")


def test_totals_are_exact_per_currency() -> None:
    frame = pl.DataFrame({"c": ["USD", "EUR", "USD"], "x": ["0.1", "0.2", "0.2"]})
    totals = totals_by_currency(frame, money("x", frame.schema), pl.col("c"))
    assert totals == {"USD": Decimal("0.3"), "EUR": Decimal("0.2")}


def test_a_float_is_bad_exactly_when_money_cannot_read_it() -> None:
    """Floats are checked without writing them out as text; the verdict must be `money`'s."""
    values = [0.0, -0.0, 1e-300, 5e-324, 0.1, 1e27, 9.999999999999999e27, -9.999999999999999e27,
              1e28, -1e28, 3e28, 1.7976931348623157e308, float("nan"), float("inf"),
              -float("inf"), None]
    for value in values:
        frame = pl.DataFrame({"cost": [value]}, schema={"cost": pl.Float64})
        unreadable = value is not None and frame.select(
            money("cost", frame.schema)).item() is None
        assert (first_bad_money(frame, ["cost"]) is not None) == unreadable, value


def test_a_quantity_beyond_decimal_38_18_is_bad_where_money_would_hold_it() -> None:
    frame = pl.DataFrame({"usage": ["99999999999999999999.999999999999999999", "1e19",
                                    "100000000000000000000", "1e25"]})
    assert first_bad_money(frame, ["usage"]) is None  # as money these fit
    bad = first_bad_money(frame, ["usage"], ["usage"])
    assert bad is not None and (bad.row, bad.value) == (2, "100000000000000000000")
    assert bad.problem == BEYOND_QUANTITY
    assert frame.select(quantity("usage", frame.schema)).to_series().to_list()[2] is None


def test_a_float_quantity_is_bad_exactly_when_quantity_cannot_read_it() -> None:
    values = [0.0, 1e19, 9.999999999999999e19, 1e20, -1e20, 1e25, 1e-30, float("nan"), None]
    for value in values:
        frame = pl.DataFrame({"usage": [value]}, schema={"usage": pl.Float64})
        unreadable = value is not None and frame.select(
            quantity("usage", frame.schema)).item() is None
        assert (first_bad_money(frame, [], ["usage"]) is not None) == unreadable, value


def test_a_bad_value_is_quoted_cut_short_with_control_characters_escaped() -> None:
    frame = pl.DataFrame({"cost": ["1", "x" * 100_000, "1\n2"]})
    bad = first_bad_money(frame, ["cost"])
    assert bad is not None and bad.value == "x" * 120 + "…"
    bad = first_bad_money(frame.slice(2), ["cost"])
    assert bad is not None and bad.value == "1\\x0a2"
