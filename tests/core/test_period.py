from datetime import UTC, date, datetime

import pytest

from costalloc.core.period import BillingPeriod


def test_parse_and_bounds_are_the_calendar_month_in_utc() -> None:
    period = BillingPeriod.parse("2026-10")
    assert (period.start, period.end) == (datetime(2026, 10, 1, tzinfo=UTC),
                                          datetime(2026, 11, 1, tzinfo=UTC))
    assert str(period) == "2026-10"


def test_december_rolls_into_the_next_year_and_january_back() -> None:
    assert BillingPeriod.parse("2026-12").next() == BillingPeriod(2027, 1)
    assert BillingPeriod.parse("2027-01").previous() == BillingPeriod(2026, 12)


def test_a_range_includes_both_ends() -> None:
    months = BillingPeriod.parse("2025-11").through(BillingPeriod.parse("2026-02"))
    assert [str(m) for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "2026/10", ""])
def test_malformed_periods_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        BillingPeriod.parse(text)


def test_containing_a_day() -> None:
    assert BillingPeriod.containing(date(2026, 11, 30)) == BillingPeriod(2026, 11)
