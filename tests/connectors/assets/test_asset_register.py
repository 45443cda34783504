"""On-premises assets: the purchase and straight-line depreciation as CapEx line items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import yaml

from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.assets import AssetRegisterConnector
from costalloc.connectors.assets.schedule import Asset, depreciation_schedule
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import load_partition

REGISTER = """\
asset_id,description,cost,currency,in_service_date,useful_life_months,salvage_value,\
environment,workstream
gpu-01,8x H100 server,312000.00,USD,2026-10-16,36,24000.00,production,production_operations
gpu-02,4x L40S dev box,60000,USD,2026-09-01,24,0,development,experimentation
"""


def test_a_server_bought_mid_month_depreciates_from_its_in_service_day() -> None:
    server = Asset("gpu-01", "8x H100", Decimal("312000"), "USD", date(2026, 10, 16), 36,
                   Decimal("24000"))
    schedule = depreciation_schedule(server)
    monthly = Decimal("288000") / 36
    assert schedule[BillingPeriod(2026, 10)] == (monthly * 16 / 31).quantize(Decimal("1e-10"))
    assert schedule[BillingPeriod(2026, 11)] == monthly
    assert len(schedule) == 37  # 16 days of October … 15 days of October 2029
    assert schedule[BillingPeriod(2029, 10)] == monthly - schedule[BillingPeriod(2026, 10)]
    assert sum(schedule.values()) == Decimal("288000")  # cost − salvage, exactly


def test_register_rows_load_as_line_items_and_allocate_as_capex(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    (tmp_path / "assets.csv").write_text(REGISTER)
    connector = AssetRegisterConnector(SourceSettings(
        name="on-prem", kind="asset-register", uri=str(tmp_path / "assets.csv")))
    october = BillingPeriod(2026, 10)
    result = load_partition(warehouse, connector, october, "r")
    assert result.outcome == "loaded"
    rows = warehouse.sql(
        "select ResourceId, x_line_item_type, ChargeCategory, BilledCost, EffectiveCost, "
        "Tags->>'environment' from line_items order by ResourceId, x_line_item_type").fetchall()
    assert rows == [
        ("gpu-01", "AssetPurchase", "Purchase", Decimal("312000"), Decimal("0"), "production"),
        ("gpu-01", "Depreciation", "Usage", Decimal("0"),
         (Decimal(8000) * 16 / 31).quantize(Decimal("1e-10")), "production"),
        ("gpu-02", "Depreciation", "Usage", Decimal("0"), Decimal("2500"), "development"),
    ]
    rules = RuleSet.model_validate(yaml.safe_load(
        "rules: [{id: env, when: {tag.environment: present}, "
        "set: {environment: '{tag.environment}'}}]"))
    allocate_period(warehouse, rules, october, "r")
    allocated = warehouse.sql("select distinct cost_type, x_capex_project, x_capex_approval, "
                              "environment from allocated_costs order by 2").fetchall()
    assert allocated == [("capex", "asset:gpu-01", "asset register `on-prem`", "production"),
                         ("capex", "asset:gpu-02", "asset register `on-prem`", "development")]
    assert load_partition(warehouse, connector, october, "r2").outcome == "unchanged"
