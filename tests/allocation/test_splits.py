"""Splits: every method, exact parts, chained splits, zero-basis handling, conservation."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costalloc.allocation.model import SPLIT_PARTITIONS, RuleSet
from costalloc.allocation.publish import allocate_period
from costalloc.allocation.splits import SPLIT_ROW_COLUMNS
from costalloc.core.errors import ConservationError
from costalloc.sql import load
from costalloc.warehouse.connection import connect
from tests.allocation.builders import OCTOBER, allocated, line_item, load_line_items, total

TAGGING = """
rules:
  - id: ws-from-tag
    when: {tag.workstream: present}
    set: {workstream: "{tag.workstream}"}
  - id: env-from-tag
    when: {tag.env: present}
    set: {environment: "{tag.env}"}
"""


NETWORK_BY_SPEND = """
splits:
  - id: network
    when: {ServiceName: AWS Transit Gateway}
    method: proportional
    across: {workstream: [platform_build, production_operations]}
"""


def _rules(splits: str, base_dir: Path | None = None) -> RuleSet:
    document = yaml.safe_load(TAGGING + splits)
    if base_dir is not None:
        document["base_dir"] = str(base_dir)
    return RuleSet.model_validate(document)


def _shared_and_owned(con: duckdb.DuckDBPyConnection, shared: str = "10") -> None:
    load_line_items(con, [
        line_item(shared, ServiceName="AWS Transit Gateway"),
        line_item("30", tags={"workstream": "platform_build"}),
        line_item("10", tags={"workstream": "production_operations"}),
    ])


def test_even_split_gives_the_remainder_to_the_largest_part_deterministically(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _shared_and_owned(warehouse)
    allocate_period(warehouse, _rules("""
splits:
  - id: shared-network
    when: {ServiceName: AWS Transit Gateway}
    method: even
    across: {workstream: [platform_build, production_operations, risk_compliance]}
"""), OCTOBER, "r")
    parts = [row for row in allocated(warehouse, "x_line_item_id", "workstream", "BilledCost",
                                      "x_split_rule", "x_split_ratio") if row[0] == 1]
    assert parts == [
        (1, "platform_build", Decimal("3.3333333334"), "shared-network",
         Decimal("0.333333333333333")),
        (1, "production_operations", Decimal("3.3333333333"), "shared-network",
         Decimal("0.333333333333333")),
        (1, "risk_compliance", Decimal("3.3333333333"), "shared-network",
         Decimal("0.333333333333333")),
    ]
    assert total(warehouse, "allocated_costs") == total(warehouse, "line_items") == Decimal(50)


def test_fixed_and_proportional_splits(warehouse: duckdb.DuckDBPyConnection) -> None:
    _shared_and_owned(warehouse, shared="100")
    load_line_items(warehouse, [line_item("8", ServiceName="Support")], source="aws-support")
    allocate_period(warehouse, _rules("""
splits:
  - id: network-by-spend
    when: {ServiceName: AWS Transit Gateway}
    method: proportional
    basis: BilledCost
    across: {workstream: [platform_build, production_operations]}
  - id: support-fixed
    when: {ServiceName: Support}
    method: fixed
    across: {workstream: [production_operations, risk_compliance]}
    shares: {production_operations: "0.75", risk_compliance: "0.25"}
"""), OCTOBER, "r")
    rows = allocated(warehouse, "x_source", "x_line_item_id", "workstream", "BilledCost",
                     "x_split_method", "x_split_basis")
    assert [r for r in rows if r[1] == 1 and r[0] == "aws"] == [
        ("aws", 1, "platform_build", Decimal("75"), "proportional", "BilledCost"),
        ("aws", 1, "production_operations", Decimal("25"), "proportional", "BilledCost")]
    assert [r for r in rows if r[0] == "aws-support"] == [
        ("aws-support", 1, "production_operations", Decimal("6"), "fixed", "fixed shares"),
        ("aws-support", 1, "risk_compliance", Decimal("2"), "fixed", "fixed shares")]


def test_a_proportional_split_within_an_account_weighs_that_accounts_spend_only(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    # SubAccountId is a line item's, not allocated_costs': the weights join it from line_items,
    # and the shared rows carry it while the split runs.
    load_line_items(warehouse, [
        line_item("100", ServiceName="AWS Transit Gateway", SubAccountId="111"),
        line_item("30", tags={"workstream": "platform_build"}, SubAccountId="111"),
        line_item("10", tags={"workstream": "production_operations"}, SubAccountId="111"),
        line_item("100", ServiceName="AWS Transit Gateway", SubAccountId="222"),
        line_item("5", tags={"workstream": "platform_build"}, SubAccountId="222"),
        line_item("15", tags={"workstream": "production_operations"}, SubAccountId="222"),
    ])
    allocate_period(warehouse, _rules("""
splits:
  - id: network-by-account-spend
    when: {ServiceName: AWS Transit Gateway}
    method: proportional
    basis: BilledCost
    within: [SubAccountId]
    across: {workstream: [platform_build, production_operations]}
"""), OCTOBER, "r")
    assert warehouse.sql("select SubAccountId, workstream, BilledCost from allocated_line_items "
                         "where x_split_rule is not null order by all").fetchall() == [
        ("111", "platform_build", Decimal("75")), ("111", "production_operations", Decimal("25")),
        ("222", "platform_build", Decimal("25")), ("222", "production_operations", Decimal("75"))]
    assert total(warehouse, "allocated_costs") == total(warehouse, "line_items") == Decimal(260)


def test_split_rows_carry_what_a_split_may_partition_by_that_allocated_costs_does_not() -> None:
    con = duckdb.connect()
    con.execute(load("schema/allocated_costs"))
    kept = {row[0] for row in con.sql("describe allocated_costs").fetchall()}
    assert set(SPLIT_ROW_COLUMNS) == set(SPLIT_PARTITIONS) - kept


def test_usage_driver_records_quantities_and_ratio(warehouse: duckdb.DuckDBPyConnection,
                                                   tmp_path: Path) -> None:
    (tmp_path / "tokens.csv").write_text(
        "period,target,quantity\n2026-10,experimentation,3000000\n"
        "2026-10,production_operations,1000000\n2026-09,experimentation,99\n")
    load_line_items(warehouse, [line_item("40", ResourceId="llm-gateway")])
    allocate_period(warehouse, _rules("""
splits:
  - id: llm-gateway-by-tokens
    when: {ResourceId: llm-gateway}
    method: usage
    driver: {file: tokens.csv, name: tokens}
    across: workstream
""", base_dir=tmp_path), OCTOBER, "r")
    assert allocated(warehouse, "workstream", "BilledCost", "x_driver_quantity",
                     "x_split_basis") == [
        ("experimentation", Decimal("30"), Decimal("3000000"), "tokens"),
        ("production_operations", Decimal("10"), Decimal("1000000"), "tokens")]
    details = [json.loads(row[0]) for row in warehouse.sql(
        "select AllocatedMethodDetails from allocated_costs").fetchall()]
    assert [(d["x_split"]["target"], d["UsageQuantity"], d["UsageUnit"], d["AllocatedRatio"])
            for d in sorted(details, key=lambda d: d["x_split"]["target"])] == [
        ("experimentation", "3000000.000000000000000000", "tokens", "0.750000000000000000"),
        ("production_operations", "1000000.000000000000000000", "tokens", "0.250000000000000000")]


def test_zero_basis_fails_unless_the_split_falls_back(warehouse: duckdb.DuckDBPyConnection) -> None:
    load_line_items(warehouse, [line_item("10", ServiceName="AWS Transit Gateway")])
    split = NETWORK_BY_SPEND
    with pytest.raises(ConservationError, match=r"split `network` takes 1 row.*fallback: even"):
        allocate_period(warehouse, _rules(split), OCTOBER, "r")
    allocate_period(warehouse, _rules(split + "    fallback: even\n"), OCTOBER, "r")
    assert allocated(warehouse, "workstream", "BilledCost") == [
        ("platform_build", Decimal("5")), ("production_operations", Decimal("5"))]


def test_proportional_weights_never_add_two_currencies(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    """Without `within`, a EUR row is split by what the targets carry in EUR only: platform
    carries USD 900 and EUR 10, operations USD 100 and EUR 30. Adding the currencies would give
    910 : 130; per currency the EUR weights are 10 : 30 and the USD weights 900 : 100."""
    load_line_items(warehouse, [
        line_item("40", ServiceName="AWS Transit Gateway", BillingCurrency="EUR"),
        line_item("50", ServiceName="AWS Transit Gateway"),
        line_item("900", tags={"workstream": "platform_build"}),
        line_item("100", tags={"workstream": "production_operations"}),
        line_item("10", tags={"workstream": "platform_build"}, BillingCurrency="EUR"),
        line_item("30", tags={"workstream": "production_operations"}, BillingCurrency="EUR"),
    ])
    split = """
splits:
  - id: network
    when: {ServiceName: AWS Transit Gateway}
    method: proportional
    basis: BilledCost
    across: {workstream: [platform_build, production_operations]}
"""
    allocate_period(warehouse, _rules(split), OCTOBER, "r")
    parts = [row for row in allocated(warehouse, "x_line_item_id", "BillingCurrency",
                                      "workstream", "BilledCost") if row[0] in (1, 2)]
    assert parts == [(1, "EUR", "platform_build", Decimal("10.0000000000")),
                     (1, "EUR", "production_operations", Decimal("30.0000000000")),
                     (2, "USD", "platform_build", Decimal("45.0000000000")),
                     (2, "USD", "production_operations", Decimal("5.0000000000"))]


def test_a_currency_without_weights_is_named(warehouse: duckdb.DuckDBPyConnection) -> None:
    """The targets carry only USD: a EUR row has nothing to be weighted by in EUR."""
    load_line_items(warehouse, [
        line_item("40", ServiceName="AWS Transit Gateway", BillingCurrency="EUR"),
        line_item("900", tags={"workstream": "platform_build"}),
    ])
    split = NETWORK_BY_SPEND + "    within: [ProviderName]\n"
    with pytest.raises(ConservationError, match=r"split `network` takes 1 row\(s\) \(BilledCost "
                       r"40\.0+\) in partition ProviderName=AWS, BillingCurrency=EUR but"):
        allocate_period(warehouse, _rules(split), OCTOBER, "r")


def test_chained_splits_multiply_ratios_and_keep_lineage(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    load_line_items(warehouse, [line_item("9", ServiceName="Shared")])
    allocate_period(warehouse, _rules("""
splits:
  - id: env-even
    when: {ServiceName: Shared}
    method: even
    across: {environment: [staging, production]}
  - id: ws-fixed
    when: {ServiceName: Shared}
    method: fixed
    across: {workstream: [platform_build, production_operations]}
    shares: {platform_build: "0.5", production_operations: "0.5"}
"""), OCTOBER, "r")
    rows = allocated(warehouse, "environment", "workstream", "BilledCost", "x_split_ratio",
                     "x_environment_rule", "x_workstream_rule")
    assert [r[2] for r in rows] == [Decimal("2.25")] * 4
    assert {r[3] for r in rows} == {Decimal("0.25")}
    assert {(r[4], r[5]) for r in rows} == {("env-even", "ws-fixed")}
    # Each part's JSON says where it came from: both dimensions it was split on, the ratio of
    # the whole chain, and the split that made it last.
    lineage = warehouse.sql("select x_dimensions, AllocatedMethodDetails from allocated_costs "
                            "order by all").fetchall()
    dimensions = sorted((json.loads(d)["environment"], json.loads(d)["workstream"])
                        for d, _ in lineage)
    assert dimensions == [("production", "platform_build"), ("production", "production_operations"),
                          ("staging", "platform_build"), ("staging", "production_operations")]
    details = [json.loads(m) for _, m in lineage]
    assert {d["AllocatedRatio"] for d in details} == {"0.250000000000000000"}
    assert {(d["x_split"]["rule"], d["x_split"]["dimension"], d["x_split"]["ratio"])
            for d in details} == {("ws-fixed", "workstream", "0.500000000000000000")}
    assert {d["x_rules"]["workstream"] for d in details} == {None}  # no tagging rule set it


def test_a_value_cannot_be_both_source_and_target_of_splits() -> None:
    with pytest.raises(ValueError, match="both source and target"):
        _rules("""
splits:
  - id: a
    when: {dim.workstream: unallocated}
    method: even
    across: {workstream: [platform_build, production_operations]}
  - id: b
    when: {dim.workstream: platform_build}
    method: even
    across: {workstream: [risk_compliance, production_operations]}
""")


def test_fixed_shares_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match=r"targets sum to 0.9 \(platform_build=0.6, "
                                         r"production_operations=0.3\)"):
        _rules("""
splits:
  - id: s
    when: {ServiceName: x}
    method: fixed
    across: {workstream: [platform_build, production_operations]}
    shares: {platform_build: "0.6", production_operations: "0.3"}
""")


AMOUNTS = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=10,
                      allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shared=st.lists(AMOUNTS, min_size=1, max_size=6),
       owned=st.lists(st.tuples(st.sampled_from(["platform_build", "production_operations",
                                                  "risk_compliance"]),
                                st.decimals(min_value=Decimal("0.0000000001"),
                                            max_value=Decimal("5000"), places=10)),
                      min_size=1, max_size=6),
       method=st.sampled_from(["even", "proportional"]))
def test_splits_conserve_cost_exactly_for_any_amounts(tmp_path_factory: pytest.TempPathFactory,
                                                      shared: list[Decimal],
                                                      owned: list[Any], method: str) -> None:
    con = connect(tmp_path_factory.mktemp("w") / "w.duckdb")
    rows = [line_item(str(a), ServiceName="Shared") for a in shared]
    rows += [line_item(str(a), tags={"workstream": w}) for w, a in owned]
    load_line_items(con, rows)
    allocate_period(con, _rules(f"""
splits:
  - id: s
    when: {{ServiceName: Shared}}
    method: {method}
    across: {{workstream: [platform_build, production_operations, risk_compliance]}}
    fallback: even
"""), OCTOBER, "r")
    per_item = con.sql("select x_line_item_id, sum(BilledCost) from allocated_costs group by 1 "
                       "order by 1").fetchall()
    assert [amount for _, amount in per_item] == [Decimal(r["BilledCost"]) for r in rows]
    con.close()
