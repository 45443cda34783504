"""The warehouse the finance reports are tested against, and helpers to read it.

Two allocated months (September and October 2026) of AWS CUR in USD and EUR and of the demo's
on-premises asset register, allocated with the demo rules (tagging, splits, capitalization),
plus a few hand-made rows for what the demo data doesn't have.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow.fs as pafs

from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.assets import AssetRegisterConnector
from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect

SEPTEMBER = BillingPeriod(2026, 9)
OCTOBER = BillingPeriod(2026, 10)
DEMO_RULES = Path(__file__).resolve().parents[2] / "demo" / "rules.yaml"
FORMULA_RESOURCE = "=HYPERLINK(\"http://attacker.example\",\"click\")"


def build_warehouse(root: Path) -> Path:
    """Write the billing exports under `root`, load and allocate them; returns the DuckDB file."""
    path = root / "costalloc.duckdb"
    register = root / "assets.csv"
    register.write_text(resources.files("demo").joinpath("assets.csv").read_text())
    con = connect(path)
    ruleset = load_rules(DEMO_RULES)
    assets = AssetRegisterConnector(SourceSettings(name="on-prem", kind="asset-register",
                                                   uri=str(register)))
    aws = AwsCurConnector(SourceSettings(name="aws", kind="aws-cur",
                                         uri=str(root / "b" / "cur" / "exp")))
    for period, seed in ((SEPTEMBER, 31), (OCTOBER, 32)):
        write_cur2_export(pafs.LocalFileSystem(), str(root / "b" / "cur"), bucket="b",
                          prefix="cur", export_name="exp", period=str(period), rows=800,
                          seed=seed, with_net_columns=True, currencies=("USD", "EUR"))
        load_partition(con, aws, period, f"load-{period}")
        load_partition(con, assets, period, f"load-{period}")
        allocate_period(con, ruleset, period, f"alloc-{period}")
    _add_rows_the_demo_lacks(con)
    con.close()
    return path


def _add_rows_the_demo_lacks(con: duckdb.DuckDBPyConnection) -> None:
    """Edits that keep allocated = line items exactly, as the engine's output must."""
    # A capitalized phase that ended in September, so its asset is in service from October
    # (the demo's capitalized project is still in its development phase).
    con.execute("""
        update allocated_costs set cost_type = 'capex', x_cost_type_rule = 'capitalization:data-platform',
            x_capex_project = 'data-platform', x_capex_phase = 'build',
            x_capex_approval = 'Board minutes 2026-02', x_useful_life_months = 12
        where x_billing_period = '2026-09' and x_source = 'aws' and BillingCurrency = 'USD'
          and cost_type = 'opex' and x_capex_project is null and x_line_item_id % 20 = 7""")
    # A resource id someone chose to look like a spreadsheet formula.
    con.execute("update line_items set ResourceId = $id "
                "where x_billing_period = '2026-10' and x_source = 'aws' and x_line_item_id = 5",
                {"id": FORMULA_RESOURCE})


def totals(con: duckdb.DuckDBPyConnection, period: BillingPeriod | None = None) -> dict[
        str, tuple[Decimal, Decimal]]:
    """{currency: (BilledCost, EffectiveCost)} of allocated_costs, exact."""
    rows = con.sql("select BillingCurrency, sum(BilledCost), sum(EffectiveCost) "
                   "from allocated_costs where $period is null or x_billing_period = $period "
                   "group by 1", params={"period": str(period) if period else None}).fetchall()
    return {str(c): (Decimal(b), Decimal(e)) for c, b, e in rows}
