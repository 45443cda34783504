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
from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.unit_cost import read_units, render, unit_costs
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
