"""Exchange rates the user supplies: which rate applies to which period, exact conversion, and
every bad or missing rate named — never an assumed 1."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from costalloc.core.errors import ConfigurationError
from costalloc.core.exchange import MissingRate, read_rates
from costalloc.core.period import BillingPeriod

OCTOBER = BillingPeriod(2026, 10)


def _file(tmp_path: Path, text: str, name: str = "rates.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_period_rate_converts_exactly(tmp_path: Path) -> None:
    rates = read_rates(_file(tmp_path, "period,from_currency,to_currency,rate,source\n"
                                       "2026-09,EUR,USD,1.0850,ECB monthly average\n"
                                       "2026-10,EUR,USD,1.0712,ECB monthly average\n"
                                       "2026-10,EUR,GBP,0.8731,other reporting currency\n"),
                       "USD")
    # DECIMAL(38, 10) × the quoted rate: every digit kept, nothing rounded
    assert rates.convert(Decimal("8430.5469073400"), "EUR", OCTOBER) == Decimal(
        "9030.801847142608000")
    assert rates.convert(Decimal("100"), "EUR", "2026-09") == Decimal("108.5000")
    assert rates.convert(Decimal("7.25"), "USD", OCTOBER) == Decimal("7.25")  # no rate needed
    assert rates.quote(OCTOBER, "EUR").describe() == "2026-10 1 EUR = 1.0712 USD (rates.csv:3)"
    assert set(rates.rates) == {("2026-09", "EUR"), ("2026-10", "EUR")}  # GBP rows ignored


def test_dated_rates_give_each_month_its_latest_quote_inside_it(tmp_path: Path) -> None:
    """Daily or month-end quotes: a billing period takes the last one dated in it."""
    rates = read_rates(_file(tmp_path, "date,from_currency,to_currency,rate\n"
                                       "2026-10-30,EUR,USD,1.0690\n"
                                       "2026-10-31,EUR,USD,1.0701\n"
                                       "2026-10-15,EUR,USD,1.0800\n"
                                       "2026-11-02,EUR,USD,1.0900\n"), "USD")
    assert rates.rate(OCTOBER, "EUR") == Decimal("1.0701")
    assert rates.quote(OCTOBER, "EUR").describe() == (
        "2026-10 1 EUR = 1.0701 USD (quoted 2026-10-31, rates.csv:3)")
    with pytest.raises(MissingRate, match=r"no exchange rate EUR→USD for 2026-09"):
        rates.rate(BillingPeriod(2026, 9), "EUR")  # a November quote never applies backwards


def test_a_missing_rate_names_the_period_and_the_pair_and_is_never_inverted(
        tmp_path: Path) -> None:
    rates = read_rates(_file(tmp_path, "period,from_currency,to_currency,rate\n"
                                       "2026-09,EUR,USD,1.0850\n"
                                       "2026-10,USD,EUR,0.9335\n"), "USD")
    with pytest.raises(MissingRate) as missing:
        rates.convert(Decimal(10), "EUR", OCTOBER)
    assert str(missing.value) == (
        f"no exchange rate EUR→USD for 2026-10 in `{tmp_path / 'rates.csv'}` (it has EUR→USD "
        "for 2026-09; it quotes USD→EUR for 2026-10 (rates.csv:3), which is not inverted); add "
        "a row `2026-10,EUR,USD,<rate>` (1 EUR in USD). Nothing was converted at an assumed rate")
    with pytest.raises(MissingRate, match=r"3 exchange rates are needed and missing from .*: "
                       r"EUR→USD for 2026-10, 2026-11; JPY→USD for 2026-10; add a row"):
        rates.require([(OCTOBER, "EUR"), ("2026-11", "EUR"), (OCTOBER, "JPY"),
                       ("2026-09", "EUR"), (OCTOBER, "USD")])
    rates.require([("2026-09", "EUR"), (OCTOBER, "USD")])  # all there: nothing said


def test_every_bad_row_is_listed_with_its_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "period,from_currency,to_currency,rate\n"
                           "2026-10,EUR,USD,1.07\n"
                           "2026-13,EUR,USD,1.07\n"
                           "2026-10,EURO,USD,1.07\n"
                           "2026-10,EUR,USD,1.08\n"
                           "2026-10,USD,USD,1\n"
                           "2026-10,GBP,USD,-1.2\n"
                           "2026-10,CHF,USD,\n")
    with pytest.raises(ConfigurationError) as error:
        read_rates(path, "USD")
    assert str(error.value).splitlines() == [
        f"exchange rates file `{path}`: 6 problem(s):",
        "  rates.csv:3: `period` is `2026-13`, not a YYYY-MM",
        "  rates.csv:4: `from_currency` is `EURO`, not an ISO 4217 currency code",
        "  rates.csv:5: EUR→USD for 2026-10 is given again (first at rates.csv:2); keep one rate",
        "  rates.csv:6: converts USD into itself (its rate is 1 by definition; leave the row out)",
        "  rates.csv:7: `rate` is `-1.2`, not a number > 0 (1 GBP in USD)",
        "  rates.csv:8: `rate` is ``, not a number > 0 (1 CHF in USD)",
    ]


@pytest.mark.parametrize(("header", "expected"), [
    ("from_currency,to_currency,rate", "lacks column(s) period or date"),
    ("period,date,from_currency,to_currency,rate", "has both `period` and `date`; give one"),
    ("period,from,to,rate", "lacks column(s) from_currency, to_currency"),
])
def test_the_file_must_say_when_and_which_way(tmp_path: Path, header: str,
                                              expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        read_rates(_file(tmp_path, header + "\n"), "USD")
    assert expected in str(error.value)


def test_parquet_rates_and_an_unknown_reporting_currency(tmp_path: Path) -> None:
    path = tmp_path / "rates.parquet"
    pl.DataFrame({"period": ["2026-10"], "from_currency": ["JPY"], "to_currency": ["EUR"],
                  "rate": [Decimal("0.0061234")]},
                 schema_overrides={"rate": pl.Decimal(18, 7)}).write_parquet(path)
    rates = read_rates(path, "EUR")
    assert rates.convert(Decimal(1000000), "JPY", OCTOBER) == Decimal("6123.4000000")
    assert rates.quote(OCTOBER, "JPY").where == "rates.parquet:1"
    with pytest.raises(ConfigurationError, match="reporting currency `EURO` is not an ISO 4217"):
        read_rates(path, "EURO")
    with pytest.raises(ConfigurationError, match=r"exchange rates file .* not found"):
        read_rates(tmp_path / "nowhere.csv", "EUR")
