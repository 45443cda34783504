"""The month totals a publish keeps for the web view: they add up to what was published, belong to
the run that published them, and name the rule that would catch unallocated cost."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import yaml

from costalloc.allocation.aggregates import compute_aggregates
from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import allocate_period
from tests.allocation.builders import OCTOBER, line_item, load_line_items

RULES = """
dimensions:
  workstream: [experimentation, platform_build, production_operations, risk_compliance]
rules:
  - id: env-from-tag
    when: {tag.env: present}
    set: {environment: "{tag.env}"}
  - id: team-to-workstream
    when: {tag.team: present}
    set: {workstream: "{tag.team}"}
  - id: data-services
    when: {ServiceName: {prefix: Data}}
    set: {workstream: platform_build}
capitalization:
  - project: assistant
    when: {tag.project: assistant}
    phases:
      - {phase: development, from: 2026-01-01, capitalize: true, approval: "CFO memo 7",
         useful_life_months: 36}
"""


def _ruleset(text: str = RULES) -> RuleSet:
    return RuleSet.model_validate(yaml.safe_load(text))


def _load(con: duckdb.DuckDBPyConnection) -> None:
    load_line_items(con, [
        line_item("10.25", tags={"env": "production", "team": "platform_build"}),
        line_item("4.50", tags={"env": "production", "team": "wizards"}, ServiceName="Search"),
        line_item("3.00", tags={"env": "production", "team": "wizards"}, ServiceName="Search"),
        line_item("2.00", ServiceName="Queue", SubAccountId="222"),
        line_item("7.75", tags={"env": "staging", "project": "assistant"},
                  ServiceName="Data Lake"),
        line_item("-1.25", tags={"env": "production"}, ServiceName="Queue", SubAccountId="222",
                  ChargeCategory="Credit"),
    ])


def _spend(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str, str], Decimal]:
    rows = con.sql("select environment, workstream, cost_type, sum(BilledCost) from month_spend "
                   "where x_allocation_run_id = $run group by all", params={"run": run_id})
    return {(e, w, c): Decimal(b) for e, w, c, b in rows.fetchall()}


def test_publishing_keeps_the_months_totals_under_its_run_id(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    allocate_period(warehouse, _ruleset(), OCTOBER, "run-1")
    published = {(e, w, c): Decimal(b) for e, w, c, b in warehouse.sql(
        "select environment, workstream, cost_type, sum(BilledCost) from allocated_costs "
        "group by all").fetchall()}
    assert _spend(warehouse, "run-1") == published
    assert sum(published.values()) == Decimal("26.25")
    capex = warehouse.sql("select x_capex_project, x_capex_phase, x_capex_approval, "
                          "x_useful_life_months, sum(BilledCost) from month_spend "
                          "where cost_type = 'capex' group by all").fetchall()
    assert capex == [("assistant", "development", "CFO memo 7", 36, Decimal("7.75"))]
    # Daily spend, split into usage and the rest (budgets project usage only).
    assert warehouse.sql("select x_charge_day::varchar, x_is_usage, sum(BilledCost) "
                         "from month_spend group by all order by all").fetchall() == [
        ("2026-10-02", False, Decimal("-1.25")), ("2026-10-02", True, Decimal("27.50"))]

    # A re-allocation replaces the period's totals: only the new run's remain.
    allocate_period(warehouse, _ruleset(), OCTOBER, "run-2")
    runs = {r[0] for r in warehouse.sql("select distinct x_allocation_run_id from month_spend "
                                        "union select distinct x_allocation_run_id "
                                        "from month_unallocated").fetchall()}
    assert runs == {"run-2"}


def test_a_dry_run_keeps_nothing(warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    allocate_period(warehouse, _ruleset(), OCTOBER, "dry", publish=False)
    assert warehouse.sql("select count(*) from month_spend").fetchall() == [(0,)]


def test_unallocated_cost_names_the_rule_that_matches_it_or_none(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    allocate_period(warehouse, _ruleset(), OCTOBER, "run-1")
    rows = warehouse.sql("select ServiceName, SubAccountId, x_unallocated_dimensions, "
                         "x_allocated_rows, BilledCost, x_matching_rules from month_unallocated "
                         "order by ServiceName, BilledCost").fetchall()
    by_service = {(s, b): (a, d, n, json.loads(m)) for s, a, d, n, b, m in rows}
    # `wizards` is no declared workstream: the tag rule matches both rows but yields nothing.
    assert by_service[("Search", Decimal("7.50"))] == (
        "111", "workstream", 2, [{"dimension": "workstream", "rule": "team-to-workstream",
                                  "rows": 2}])
    # No tag at all: nothing sets either dimension; no rule matches.
    assert by_service[("Queue", Decimal("2.00"))] == ("222", "environment, workstream", 1, [])
    # A credit with an environment but no team: the workstream stays open, no rule matches.
    assert by_service[("Queue", Decimal("-1.25"))] == ("222", "workstream", 1, [])
    assert len(rows) == 3


def test_computing_the_totals_gives_what_the_publish_kept(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    ruleset = _ruleset()
    allocate_period(warehouse, ruleset, OCTOBER, "run-1")
    computed = compute_aggregates(warehouse, OCTOBER, "run-1", ruleset)
    kept = warehouse.sql("select * from month_spend").to_arrow_table()
    key = ["x_charge_day", "environment", "workstream", "cost_type", "x_is_usage"]
    assert computed.spend.sort_by([(k, "ascending") for k in key]).to_pylist() == (
        kept.sort_by([(k, "ascending") for k in key]).to_pylist())
    assert sorted(map(str, computed.unallocated.to_pylist())) == sorted(map(str, warehouse.sql(
        "select * from month_unallocated").to_arrow_table().select(
        computed.unallocated.column_names).to_pylist()))
    # Without the run's rules, the amounts are the same and the rules column is left empty.
    bare = compute_aggregates(warehouse, OCTOBER, "run-1", None).unallocated
    assert set(bare.column("x_matching_rules").to_pylist()) == {None}
    assert sum(bare.column("BilledCost").to_pylist()) == Decimal("8.25")
