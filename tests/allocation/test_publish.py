"""Allocating a loaded month in the warehouse: lineage on every row and the conservation gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.fs as pafs
import pytest

import costalloc.allocation.publish as publish
from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.errors import ConservationError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
DEMO_RULES = Path(__file__).resolve().parents[2] / "demo" / "rules.yaml"


@pytest.fixture
def loaded(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    write_cur2_export(pafs.LocalFileSystem(), str(tmp_path / "b" / "cur"), bucket="b",
                      prefix="cur", export_name="exp", period="2026-10", rows=4000, parts=2,
                      seed=21, with_net_columns=True, currencies=("USD", "EUR"))
    connector = AwsCurConnector(SourceSettings(name="aws", kind="aws-cur",
                                               uri=str(tmp_path / "b" / "cur" / "exp")))
    load_partition(warehouse, connector, OCTOBER, "load-1")
    return warehouse


def _totals(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return con.sql(f"select BillingCurrency, sum(BilledCost), sum(EffectiveCost) from {table} "
                   "group by 1 order by 1").fetchall()


def test_every_row_is_allocated_with_its_reason_and_cost_is_conserved(
        loaded: duckdb.DuckDBPyConnection) -> None:
    ruleset = load_rules(DEMO_RULES)
    result = allocate_period(loaded, ruleset, OCTOBER, "alloc-1")
    assert result.line_items == loaded.sql("select count(*) from line_items").fetchall()[0][0]
    # Splits turn one line item into several rows; every line item is there at least once.
    assert result.allocated_rows >= result.line_items
    assert loaded.sql("select count(distinct (x_source, x_line_item_id)) from allocated_costs"
                      ).fetchall()[0][0] == result.line_items
    assert _totals(loaded, "allocated_costs") == _totals(loaded, "line_items")
    assert {t["currency"] for t in result.totals} == {"EUR", "USD"}

    rows = loaded.sql("select environment, x_environment_rule, workstream, x_workstream_rule, "
                      "cost_type, x_capex_approval, AllocatedMethodDetails, x_rules_version "
                      "from allocated_costs").pl()
    assert set(rows["x_rules_version"]) == {ruleset.version}
    # CapEx exactly where an approved capitalization phase covers the row, with its evidence.
    capex = rows.filter(pl.col("cost_type") == "capex")
    assert capex.height > 0
    assert set(capex["x_capex_approval"]) == {"CFO memo 2026-05-28 (FIN-2026-114)"}
    assert rows.filter(pl.col("cost_type") == "opex")["x_capex_approval"].null_count() == \
        rows.filter(pl.col("cost_type") == "opex").height
    # A dimension has a rule id exactly when a rule set it; otherwise it is the default.
    for dimension in ("environment", "workstream"):
        set_by_rule = rows.filter(pl.col(f"x_{dimension}_rule").is_not_null())
        assert (set_by_rule[dimension] != "unallocated").all()
        assert (rows.filter(pl.col(f"x_{dimension}_rule").is_null())[dimension]
                == "unallocated").all()
    assert set(rows["x_environment_rule"].drop_nulls()) >= {"env-from-tag-or-account"}
    details = json.loads(rows["AllocatedMethodDetails"][0])
    assert set(details["x_rules"]) == {"environment", "workstream", "cost_type", "cost_center"}
    assert details["AllocatedRatio"] == "1"


def test_reallocating_the_same_month_is_a_no_op(loaded: duckdb.DuckDBPyConnection) -> None:
    ruleset = load_rules(DEMO_RULES)
    allocate_period(loaded, ruleset, OCTOBER, "alloc-1")
    first = loaded.sql("select * exclude (x_allocation_run_id, x_allocated_at) from "
                       "allocated_costs order by all").fetchall()
    allocate_period(loaded, ruleset, OCTOBER, "alloc-2")
    second = loaded.sql("select * exclude (x_allocation_run_id, x_allocated_at) from "
                        "allocated_costs order by all").fetchall()
    assert first == second


def test_an_allocation_that_loses_a_row_is_refused_and_the_last_one_stays(
        loaded: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    ruleset = load_rules(DEMO_RULES)
    allocate_period(loaded, ruleset, OCTOBER, "good")
    good = _totals(loaded, "allocated_costs")
    real = publish.assign_dimensions

    def drops_a_row(line_items: pl.LazyFrame, rules: object) -> pl.LazyFrame:
        return real(line_items, ruleset).slice(1)

    monkeypatch.setattr(publish, "assign_dimensions", drops_a_row)
    with pytest.raises(ConservationError, match=r"does not conserve cost.*Nothing was published"):
        allocate_period(loaded, ruleset, OCTOBER, "bad")
    assert _totals(loaded, "allocated_costs") == good
    log = loaded.sql("select run_id, status from allocation_log order by finished_at").fetchall()
    assert log == [("good", "published"), ("bad", "refused")]


@pytest.mark.parametrize("ghost", [
    "null",  # a second, zero-cost copy of a line item no split took
    "'ghost-split'",  # a zero-cost "part" of a line item that also kept its untaken row
])
def test_a_line_item_counted_twice_at_zero_cost_is_refused(
        loaded: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, ghost: str) -> None:
    # Totals can't see a row worth nothing; the gate's line item count does.
    ruleset = load_rules(DEMO_RULES)
    real = publish._write_tagged_rows

    def adds_a_ghost(con: duckdb.DuckDBPyConnection, *args: object) -> None:
        real(con, *args)  # type: ignore[arg-type]
        con.execute("insert into allocated_costs select * replace (0 as BilledCost, "
                    f"0 as EffectiveCost, 0 as ListCost, {ghost} as x_split_rule) "
                    "from allocated_costs where x_split_rule is null limit 1")

    monkeypatch.setattr(publish, "_write_tagged_rows", adds_a_ghost)
    with pytest.raises(ConservationError) as refused:
        allocate_period(loaded, ruleset, OCTOBER, "ghost")
    money = re.search(r"BilledCost (\S+) vs allocated (\S+),", str(refused.value))
    count = re.search(r"line items (\d+) vs (\d+)\.", str(refused.value))
    assert money is not None and count is not None
    assert money[1] == money[2]  # the money ties out ...
    assert int(count[2]) == int(count[1]) + 1  # ... the line item count does not
    assert loaded.sql("select count(*) from allocated_costs").fetchall() == [(0,)]
