"""`allocated_line_items`, the readers' table: the narrow `allocated_costs` joined with its line
items reads exactly as the wide `allocated_costs` did, and never pairs an allocated row with a
line item a later load put under the same id."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow.fs as pafs
import pytest

from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition
from costalloc.sql import load

OCTOBER = BillingPeriod(2026, 10)
DEMO_RULES = Path(__file__).resolve().parents[2] / "demo" / "rules.yaml"
# The wide allocated_costs as the release before schema version 4 created it (frozen).
WIDE_DDL = Path(__file__).parent / "fixtures" / "schema_v1" / "allocated_costs.sql"
KEY = ["x_source", "x_billing_period", "x_line_item_id"]


def _wide_columns() -> list[tuple[str, str]]:
    con = duckdb.connect()
    con.execute(WIDE_DDL.read_text())
    return [(name, dtype) for name, dtype, *_ in con.sql("describe allocated_costs").fetchall()]


def _load_demo_month(con: duckdb.DuckDBPyConnection, root: Path, seed: int, run_id: str) -> None:
    write_cur2_export(pafs.LocalFileSystem(), str(root / "b" / "cur"), bucket="b", prefix="cur",
                      export_name="exp", period=str(OCTOBER), rows=3000, parts=1, seed=seed,
                      execution_id=f"exec-{seed}", with_net_columns=True, currencies=("USD", "EUR"))
    load_partition(con, AwsCurConnector(SourceSettings(
        name="aws", kind="aws-cur", uri=str(root / "b" / "cur" / "exp"))), OCTOBER, run_id)


@pytest.fixture
def demo(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The demo month, loaded and allocated by the demo's rules (tags, six splits, CapEx)."""
    _load_demo_month(warehouse, tmp_path, seed=5, run_id="load-1")
    allocate_period(warehouse, load_rules(DEMO_RULES), OCTOBER, "alloc-1")
    return warehouse


def test_it_has_every_column_the_wide_table_had_in_order_with_its_type() -> None:
    con = duckdb.connect()
    for name in ("line_items", "allocated_costs", "allocated_line_items"):
        con.execute(load(f"schema/{name}"))
    view = [(name, dtype) for name, dtype, *_ in con.sql(
        "describe allocated_line_items").fetchall()]
    # quantities gained digits in version 2 (DECIMAL(38, 10) → (38, 18)); nothing else differs
    assert view == [(name, "DECIMAL(38,18)" if name == "x_driver_quantity" else dtype)
                    for name, dtype in _wide_columns()]


def test_on_the_demo_month_it_reads_the_rows_the_wide_table_held(
        demo: duckdb.DuckDBPyConnection) -> None:
    # What the wide table stored: each allocated row with its line item's attributes copied in.
    # Built here apart from the view's SQL: the narrow rows and the line items, joined in polars.
    narrow = demo.sql("select * from allocated_costs").pl()
    line_items = demo.sql("select * from line_items").pl()
    columns = [name for name, _ in _wide_columns()]
    attributes = [c for c in columns if c not in narrow.columns]
    assert attributes == ["ProviderName", "ServiceProviderName", "BillingAccountId",
                          "SubAccountId", "SubAccountName", "ServiceCategory", "ServiceName",
                          "ChargeCategory", "ChargePeriodStart", "ResourceId", "RegionId", "Tags"]
    wide = narrow.join(line_items.select(*KEY, *attributes), on=KEY, how="left").select(columns)
    assert wide.select(pl.col(attributes[0]).null_count()).item() == 0  # every row has its line item

    view = demo.sql("select * from allocated_line_items").pl()
    assert view.height == narrow.height > 3000  # the demo's splits add rows; the join loses none
    assert view.sort(columns).rows() == wide.sort(columns).rows()
    # and what matters to finance: per currency, the view adds up to the line items exactly
    assert demo.sql("select BillingCurrency, sum(BilledCost), sum(EffectiveCost) "
                    "from allocated_line_items group by 1 order by 1").fetchall() == demo.sql(
        "select BillingCurrency, sum(BilledCost), sum(EffectiveCost) from line_items "
        "group by 1 order by 1").fetchall()


def test_a_row_allocated_from_a_replaced_line_item_shows_no_attributes_until_allocated_again(
        tmp_path: Path, demo: duckdb.DuckDBPyConnection) -> None:
    # AWS restates the month: a new delivery numbers its line items afresh, so id 7 is now
    # another line item. Until the period is allocated again, allocated_costs still holds the
    # allocation of the earlier load (the last published one): the view keeps every row and its
    # amounts, and pairs none of them with the new line items.
    published = demo.sql("select count(*), sum(BilledCost) from allocated_costs").fetchall()
    _load_demo_month(demo, tmp_path, seed=6, run_id="load-2")
    assert demo.sql("select count(*), sum(BilledCost), count(ServiceName), count(Tags) "
                    "from allocated_line_items").fetchall() == [(*published[0], 0, 0)]

    allocate_period(demo, load_rules(DEMO_RULES), OCTOBER, "alloc-2")
    assert demo.sql("select distinct x_ingest_run_id from allocated_costs").fetchall() == [
        ("load-2",)]
    assert demo.sql("select count(*) - count(ServiceName), sum(BilledCost) "
                    "from allocated_line_items").fetchall() == [
        (0, demo.sql("select sum(BilledCost) from line_items").fetchall()[0][0])]


def test_the_endpoints_pages_are_the_views_rows_in_order(demo: duckdb.DuckDBPyConnection) -> None:
    # allocated_page.sql cuts its page from allocated_costs before it joins the line items: it
    # must read as the view does, column for column and row for row (the demo's chained splits
    # leave parts that differ in their ratio only).
    order = ("x_billing_period, x_source, x_line_item_id, x_split_rule nulls first, environment, "
             "workstream, cost_type, x_dimensions::varchar, x_split_ratio, BilledCost")
    view = demo.sql(f"select * from allocated_line_items order by {order}")
    params = {"first_period": "2026-10", "last_period": "2026-10"}
    pages = [demo.sql(load("reports/allocated_page"),
                      params={**params, "limit": 1000, "offset": offset})
             for offset in range(0, 5000, 1000)]
    assert pages[0].columns == view.columns
    assert [row for page in pages for row in page.fetchall()] == view.fetchall()
