"""How wide a cell's value is shown: per value, and for a whole Arrow column at once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from costalloc.reports.finance.cell_width import batch_width, shown_width

MONEY = "[$USD] #,##0.00########"  # the workbook's exact amounts
CENTS = "[$EUR] #,##0.00"
RATIO = "0.0000######"
PERCENT = "0.0%"


def test_a_value_is_as_wide_as_its_format_shows_it() -> None:
    assert shown_width(Decimal("1234.5"), CENTS) == len("EUR 1,234.50")
    assert shown_width(0.4367966, MONEY) == len("USD 0.4367966")
    assert shown_width(-1234567.125, MONEY) == len("USD -1,234,567.125")
    assert shown_width(312000, MONEY) == len("USD 312,000.00")
    assert shown_width(0.5, RATIO) == len("0.5000")
    assert shown_width(Decimal("0.017"), PERCENT) == len("1.7%")
    assert shown_width(34383, "#,##0") == len("34,383")
    assert shown_width(datetime(2026, 10, 1), "yyyy-mm-dd hh:mm") == 16
    assert shown_width("production_operations", None) == 21
    assert shown_width("two\nlines here", None) == len("lines here")
    assert shown_width(1 / 3, None) == 11  # General stops at 11 characters


# DECIMAL(38, 10) amounts as the warehouse holds them, credits included
amounts = st.integers(min_value=-10**15, max_value=10**15).map(
    lambda units: Decimal(units).scaleb(-10))


@given(st.lists(amounts, min_size=1, max_size=30))
def test_a_whole_decimal_column_measures_as_its_widest_value(values: list[Decimal]) -> None:
    column = pa.array(values, pa.decimal128(38, 10))
    assert batch_width(column, MONEY) == max(shown_width(v, MONEY) for v in values)
    # a format that rounds them may carry into a new digit (99.995 → 100.00): room for it
    for code in (CENTS, RATIO):
        widest = max(shown_width(v, code) for v in values)
        assert widest <= batch_width(column, code) <= widest + 2


@given(st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), min_size=1,
                max_size=30))
def test_a_float_column_is_never_measured_narrower_than_it_shows(values: list[float]) -> None:
    column = pa.array(values, pa.float64())
    assert batch_width(column, MONEY) >= max(shown_width(v, MONEY) for v in values)


def test_text_integer_and_empty_columns() -> None:
    assert batch_width(pa.array(["aws", None, "production_operations"]), None) == 21
    assert batch_width(pa.array([7, -120_000, None]), "#,##0") == len("-120,000")
    assert batch_width(pa.array([None, None], pa.decimal128(38, 10)), MONEY) == 0
    assert batch_width(pa.array([1e-05], pa.float64()), MONEY) >= len("USD 0.00001")
