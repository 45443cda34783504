"""Rules tooling on loaded data: coverage, never-matched and shadowed rules, diffs, explain."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import yaml

from costalloc.allocation.explain import explain
from costalloc.allocation.inspect import diff_rules, render_report, rule_statistics
from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import allocate_period
from tests.allocation.builders import OCTOBER, line_item, load_line_items

RULES = """
rules:
  - id: env-from-tag
    description: the environment tag
    when: {tag.env: present}
    set: {environment: "{tag.env}"}
  - id: also-env-from-tag
    when: {tag.env: present}
    set: {environment: production}
  - id: nothing-is-like-this
    when: {ServiceName: {prefix: Nope}}
    set: {workstream: risk_compliance}
  - id: team-typo
    when: {tag.team: present}
    set: {workstream: "{tag.team}"}
splits:
  - id: shared
    description: shared cost, evenly
    when: {ServiceName: Shared}
    method: even
    across: {workstream: [platform_build, production_operations]}
"""


def _ruleset(text: str = RULES) -> RuleSet:
    return RuleSet.model_validate(yaml.safe_load(text))


def _load(con: duckdb.DuckDBPyConnection) -> None:
    load_line_items(con, [
        line_item("60", tags={"env": "production", "team": "payments"}),
        line_item("30", tags={"env": "staging"}),
        line_item("10", ServiceName="Shared"),
    ])


def test_rules_check_reports_coverage_and_rules_that_do_nothing(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    ruleset = _ruleset()
    report = rule_statistics(warehouse, ruleset, OCTOBER)
    assert report.line_items == 3 and report.cost == Decimal(100)
    assert report.coverage("environment") == Decimal("0.9")  # the shared row has no env tag
    assert report.never_matched == ["nothing-is-like-this"]
    assert report.shadowed == ["also-env-from-tag"]
    assert report.fruitless == ["team-typo"]  # `payments` is not a declared workstream
    text = render_report(report, ruleset)
    assert "also-env-from-tag" in text and "shadowed by earlier rules" in text


def test_rules_diff_shows_how_totals_move_and_publishes_nothing(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    old = _ruleset()
    new = _ruleset(RULES.replace("[platform_build, production_operations]",
                                 "[platform_build, risk_compliance]"))
    text = diff_rules(warehouse, old, new, OCTOBER)
    assert "workstream   production_operations    USD                  5.00             " \
           "0.00            -5.00" in text
    assert "workstream   risk_compliance          USD                  0.00             " \
           "5.00             5.00" in text
    assert warehouse.sql("select count(*) from allocated_costs").fetchall() == [(0,)]
    assert warehouse.sql("select count(*) from allocation_log").fetchall() == [(0,)]


def test_rules_diff_never_prints_a_negative_zero(warehouse: duckdb.DuckDBPyConnection) -> None:
    # a third of a cent of shared cost moves: -0.0015 rounds to 0.00, not to -0.00
    load_line_items(warehouse, [line_item("0.003", ServiceName="Shared")])
    old = _ruleset()
    new = _ruleset(RULES.replace("[platform_build, production_operations]",
                                 "[platform_build, risk_compliance]"))
    text = diff_rules(warehouse, old, new, OCTOBER)
    moved = next(line for line in text.splitlines() if "production_operations" in line)
    assert moved.split()[-3:] == ["0.00", "0.00", "0.00"]
    assert "-0.00" not in text


def test_explain_tells_the_chain_of_reasons(warehouse: duckdb.DuckDBPyConnection) -> None:
    _load(warehouse)
    ruleset = _ruleset()
    allocate_period(warehouse, ruleset, OCTOBER, "run-42")
    tagged = explain(warehouse, 1, OCTOBER, None, ruleset)
    assert "environment = production: rule `env-from-tag` — the environment tag; when " \
           "tag.env is present" in tagged
    assert "workstream = unallocated: no rule set it, so it takes the default" in tagged
    shared = explain(warehouse, 3, OCTOBER, "aws", ruleset)
    assert "split into 2 part(s):" in shared
    assert "ratio 0.5 → BilledCost 5.0000000000 (last split `shared`, even on equal shares)" \
        in shared
    assert "run run-42" in shared
