"""`costalloc summary` on a warehouse billed in USD and EUR: one block per currency, never
added; with exchange rates, one more block converting each month at its own rate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costalloc.core.exchange import read_rates
from costalloc.flows import cli
from costalloc.reports.finance.rounding import largest_remainder
from costalloc.reports.finance.summary import allocation_summary, render
from tests.reports.builders import OCTOBER, SEPTEMBER, totals

RATES = "period,from_currency,to_currency,rate\n2026-09,EUR,USD,1.0850\n2026-10,EUR,USD,1.0712\n"


@pytest.fixture
def rates_file(tmp_path: Path) -> Path:
    path = tmp_path / "rates.csv"
    path.write_text(RATES)
    return path


def test_each_currency_alone_then_all_converted_at_each_months_rate(
        published: duckdb.DuckDBPyConnection, rates_file: Path) -> None:
    native = allocation_summary(published, SEPTEMBER, OCTOBER)
    assert native.currencies == ["EUR", "USD"] and native.converted is None
    both = totals(published)
    assert {c: native.total(c) for c in native.currencies} == {c: b for c, (b, _) in both.items()}
    assert "all currencies" not in render(native)

    rates = read_rates(rates_file, "USD")
    summary = allocation_summary(published, SEPTEMBER, OCTOBER, rates)
    assert summary.rows == native.rows  # the billing currencies' own figures stay as they are
    assert summary.converted is not None
    september, october = totals(published, SEPTEMBER), totals(published, OCTOBER)
    expected = (september["USD"][0] + october["USD"][0] + september["EUR"][0] * Decimal("1.0850")
                + october["EUR"][0] * Decimal("1.0712"))
    assert summary.converted.total("USD") == expected  # exact: nothing rounded before display
    assert summary.converted.currencies == ["USD"]

    text = render(summary)
    block = text[text.index("[all currencies in USD, at the rates in"):]
    shown_total = largest_remainder([r.billed_cost for r in summary.converted.rows])
    assert f"{'total':<48} {sum(shown_total, Decimal(0)):>16,}" in block
    assert "converted at 2026-09 1 EUR = 1.085 USD (rates.csv:2)" in block
    assert "converted at 2026-10 1 EUR = 1.0712 USD (rates.csv:3)" in block


@pytest.fixture
def config(warehouse_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "costalloc.yaml"
    path.write_text(f"warehouse: {warehouse_file}\n")
    return path


def test_the_command_line_converts_with_rates_from_options_or_configuration(
        config: Path, rates_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--config", str(config), "summary", "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "[EUR]" in out and "[USD]" in out and "all currencies" not in out

    assert cli.main(["--config", str(config), "summary", "--period", "2026-10", "--rates",
                     str(rates_file), "--currency", "usd"]) == 0
    assert "[all currencies in USD, at the rates in" in capsys.readouterr().out

    assert cli.main(["--config", str(config), "summary", "--period", "2026-10", "--rates",
                     str(rates_file)]) == 2
    assert "--rates needs the currency to convert into" in capsys.readouterr().err

    config.write_text(config.read_text() + f"reporting_currency: EUR\nexchange_rates: "
                                           f"{rates_file.name}\n")
    assert cli.main(["--config", str(config), "summary", "--period", "2026-10"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("costalloc: configuration error: no exchange rate USD→EUR for "
                            "2026-10 in")
    assert "which is not inverted" in error and "Nothing was converted" in error

    assert cli.main(["--config", str(config), "summary", "--period", "2026-10",
                     "--currency", "USD"]) == 0  # the option overrides the configuration
    assert "[all currencies in USD" in capsys.readouterr().out


def test_rules_check_prints_coverage_per_currency(
        config: Path, rates_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = Path(__file__).resolve().parents[3] / "demo" / "rules.yaml"
    assert cli.main(["--config", str(config), "rules", "check", str(rules), "--period",
                     "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "share of |BilledCost| allocated by rules, per currency:" in out
    header = next(line for line in out.splitlines() if line.strip().startswith("EUR"))
    assert header.split() == ["EUR", "USD"]
    assert cli.main(["--config", str(config), "rules", "check", str(rules), "--period",
                     "2026-10", "--rates", str(rates_file), "--currency", "USD"]) == 0
    out = capsys.readouterr().out
    assert "per currency and converted into USD:" in out
    assert "2026-10 1 EUR = 1.0712 USD (rates.csv:3)" in out
