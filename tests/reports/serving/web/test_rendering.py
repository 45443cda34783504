"""How the web view writes amounts and draws charts: pure functions, tiny inputs."""

from __future__ import annotations

import re
from decimal import Decimal

from costalloc.reports.serving.web import amounts, charts


def test_amounts_read_with_separators_two_decimals_and_a_real_minus() -> None:
    assert amounts.money(Decimal("1234567.005")) == "1,234,567.01"
    assert amounts.money(Decimal("-0.5")) == "\u22120.50"
    assert amounts.money(Decimal("0.0000000001")) == "0.00"
    assert amounts.exact(Decimal("12.3400000000")) == "12.3400000000"


def test_a_column_adds_up_to_its_shown_total() -> None:
    thirds = [Decimal(1) / 3] * 3
    assert amounts.column(thirds, Decimal(1)) == ["0.34", "0.33", "0.33"]  # not 0.33 × 3
    assert amounts.column([Decimal("1000.004"), Decimal("-2.001")]) == ["1,000.00", "\u22122.00"]


def test_shares_keep_small_values_visible() -> None:
    assert amounts.percent(Decimal(1), Decimal(4)) == "25.0%"
    assert amounts.percent(Decimal("0.3"), Decimal(100)) == "0.30%"
    assert amounts.percent(Decimal(-1), Decimal(8)) == "\u221212.5%"
    assert amounts.percent(Decimal(1), Decimal(0)) == "–"


def test_bars_are_an_image_with_a_title_and_put_credits_left_of_zero() -> None:
    svg = str(charts.bars([
        charts.Bar("production", (charts.Segment("platform_build", Decimal(300)),
                                  charts.Segment("experimentation", Decimal(-100)))),
        charts.Bar("dev <script>", (charts.Segment("unallocated", Decimal(50)),)),
    ], title="Cost & more", description="d", unit="USD", legend=["platform_build"]))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title id=" in svg and "Cost &amp; more" in svg
    assert "<script>" not in svg and "dev &lt;script&gt;" in svg  # labels are escaped
    zero = float(re.findall(r'<line x1="([\d.]+)"[^>]*class="zero"', svg)[0])
    rects = [(float(x), float(w)) for x, w in re.findall(
        r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="18" rx="2" fill', svg)]
    platform, credit = rects[0], rects[1]
    assert abs(platform[0] - zero) < 0.2  # starts at zero, goes right
    assert abs(credit[0] + credit[1] - zero) < 0.2  # ends at zero: drawn to the left
    assert "\u2212100.00" in svg  # the credit's own title uses a real minus
    assert 'fill="#6b7280"' in svg  # unallocated is always the neutral grey


def test_ticks_are_round_numbers_covering_the_range() -> None:
    svg = str(charts.columns(["Sep", "Oct"], {"opex": [Decimal(1200), Decimal(-300)]},
                             title="t", description="d", unit="EUR"))
    labels = re.findall(r'class="tick" text-anchor="end">([^<]+)<', svg)
    assert labels == ["\u2212500", "0", "500", "1k", "1.5k"]  # steps of 1, 2, 2.5 or 5 × 10ⁿ
