"""Unit economics: cost per unit = allocated cost / units, per value and month, with its trend;
zero units are reported as such, never as infinity."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import allocate_period
from costalloc.core.errors import ConfigurationError
from costalloc.core.exchange import MissingRate, read_rates
from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.unit_cost import read_units, render, to_frame, unit_costs
from tests.allocation.builders import line_item, load_line_items

RULES = RuleSet.model_validate(yaml.safe_load(
    "rules: [{id: ws, when: {tag.ws: present}, set: {workstream: '{tag.ws}'}}]"))


def _month(con: duckdb.DuckDBPyConnection, period: BillingPeriod, ops: str, exp: str) -> None:
    start = datetime(period.year, period.month, 2, tzinfo=UTC)
    rows = [line_item(ops, tags={"ws": "production_operations"}, ChargePeriodStart=start),
            line_item(exp, tags={"ws": "experimentation"}, ChargePeriodStart=start)]
    for row in rows:
        row.update(x_billing_period=str(period), BillingPeriodStart=period.start,
                   BillingPeriodEnd=period.end)
    load_line_items(con, rows, source=f"aws-{period}")
    allocate_period(con, RULES, period, "r")


def test_cost_per_unit_and_its_trend(warehouse: duckdb.DuckDBPyConnection,
                                     tmp_path: Path) -> None:
    september, october = BillingPeriod(2026, 9), BillingPeriod(2026, 10)
    _month(warehouse, september, ops="1000", exp="50")
    _month(warehouse, october, ops="1100", exp="60")
    units = tmp_path / "units.csv"
    units.write_text("period,value,units,unit\n2026-09,production_operations,400,tickets\n"
                     "2026-10,production_operations,500,tickets\n"
                     "2026-10,experimentation,0,evaluation runs\n")
    results = unit_costs(warehouse, read_units(units), october, october)
    by_value = {r.value: r for r in results}
    tickets = by_value["production_operations"]
    assert (tickets.cost, tickets.units, tickets.per_unit) == (Decimal(1100), Decimal(500),
                                                              Decimal("2.2"))
    assert tickets.previous == Decimal("2.5") and tickets.change == Decimal("-0.12")
    runs = by_value["experimentation"]
    assert runs.units == 0 and runs.per_unit is None
    text = render(results, "workstream", "EffectiveCost")
    assert "no units" in text and "inf" not in text.lower()
    assert "-12.0%" in text


def test_a_units_file_with_bad_numbers_is_refused(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("period,value,units\n2026-10,experimentation,many\n")
    with pytest.raises(ConfigurationError, match="`experimentation` in 2026-10 has units that"):
        read_units(units)


def test_cost_per_unit_is_per_currency_unless_rates_convert_it(
        warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Tickets have no currency; cost does. October's operations cost USD 1,100 and EUR 200
    for 500 tickets: without rates two parts (2.2 USD and 0.4 EUR a ticket), never added; with
    EUR→USD 1.1, one cost per ticket: (1,100 + 220) / 500 = 2.64 USD."""
    september, october = BillingPeriod(2026, 9), BillingPeriod(2026, 10)
    _month(warehouse, september, ops="1000", exp="50")
    start = datetime(2026, 10, 2, tzinfo=UTC)
    load_line_items(warehouse, [line_item("200", tags={"ws": "production_operations"},
                                          ChargePeriodStart=start, BillingCurrency="EUR")],
                    source="azure")
    _month(warehouse, october, ops="1100", exp="60")
    units_file = tmp_path / "units.csv"
    units_file.write_text("period,value,units,unit\n2026-09,production_operations,400,tickets\n"
                          "2026-10,production_operations,500,tickets\n")
    units = read_units(units_file)

    parts = unit_costs(warehouse, units, october, october)
    assert [(r.currency, r.cost, r.per_unit, r.partial) for r in parts] == [
        ("EUR", Decimal(200), Decimal("0.4"), True),
        ("USD", Decimal(1100), Decimal("2.2"), True)]
    text = render(parts, "workstream", "EffectiveCost")
    assert "per billing currency" in text
    assert "0.4000 ¹" in text and "2.2000 ¹" in text and "2.6" not in text
    assert "¹ billed in several currencies: each row is one currency's cost ÷ all the units" \
        in text

    rates_file = tmp_path / "rates.csv"
    rates_file.write_text("period,from_currency,to_currency,rate\n2026-10,EUR,USD,1.1\n")
    rates = read_rates(rates_file, "USD")
    (tickets,) = unit_costs(warehouse, units, october, october, rates=rates)
    assert (tickets.currency, tickets.cost, tickets.per_unit, tickets.partial) == (
        "USD", Decimal("1320.0"), Decimal("2.64"), False)
    assert tickets.previous == Decimal("2.5") and tickets.change == Decimal("0.056")
    assert tickets.billed_in == (("EUR", Decimal(200)), ("USD", Decimal(1100)))
    text = render([tickets], "workstream", "EffectiveCost", rates)
    assert "in USD at the rates in" in text and "¹" not in text
    assert "converted at 2026-10 1 EUR = 1.1 USD (rates.csv:2)" in text
    row = to_frame([tickets]).row(0, named=True)
    assert row["cost_as_billed"] == "EUR 200.0000000000; USD 1100.0000000000"
    assert row["cost"] == Decimal("1320") and row["part_of_cost_per_unit"] is False

    rates_file.write_text("period,from_currency,to_currency,rate\n2026-09,EUR,USD,1.1\n")
    with pytest.raises(MissingRate, match="no exchange rate EUR→USD for 2026-10"):
        unit_costs(warehouse, units, october, october, rates=read_rates(rates_file, "USD"))
