"""Rules tooling on loaded data: coverage, never-matched and shadowed rules, diffs, explain."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from costalloc.allocation.explain import explain
from costalloc.allocation.inspect import diff_rules, render_report, rule_statistics
from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import allocate_period
from costalloc.core.exchange import MissingRate, read_rates
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
    assert report.line_items == 3 and report.cost == {"USD": Decimal(100)}
    assert report.coverage("environment", "USD") == Decimal("0.9")  # the shared row: no env tag
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


def test_rules_check_coverage_is_per_currency_and_converted_only_with_rates(
        warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """USD 100 (90 with an env tag) and EUR 50 (10 with one): 90% and 20%, never 100/150."""
    load_line_items(warehouse, [
        line_item("60", tags={"env": "production"}),
        line_item("30", tags={"env": "staging"}),
        line_item("10", ServiceName="Shared"),
        line_item("10", tags={"env": "production"}, BillingCurrency="EUR"),
        line_item("-40", BillingCurrency="EUR"),  # a credit: it weighs by its size
    ])
    ruleset = _ruleset()
    report = rule_statistics(warehouse, ruleset, OCTOBER)
    assert report.cost == {"EUR": Decimal(50), "USD": Decimal(100)}
    assert report.rows == {"EUR": 2, "USD": 3}
    assert report.coverage("environment", "USD") == Decimal("0.9")
    assert report.coverage("environment", "EUR") == Decimal("0.2")
    text = render_report(report, ruleset)
    assert "(|BilledCost|: EUR 50.00 (2 line items), USD 100.00 (3 line items))" in text
    assert "  environment          20.00%         90.00%" in text
    assert "150" not in text and "all in" not in text

    rates_file = tmp_path / "rates.csv"
    rates_file.write_text("period,from_currency,to_currency,rate\n2026-10,EUR,USD,1.2\n")
    rates = read_rates(rates_file, "USD")
    # USD 90 + EUR 10 × 1.2 = 102 of USD 100 + EUR 50 × 1.2 = 160
    assert report.converted_coverage("environment", rates) == Decimal("0.6375")
    converted = render_report(report, ruleset, rates)
    assert "  environment          20.00%         90.00%         63.75%" in converted
    assert "all |BilledCost| in USD: 160.00" in converted
    assert "2026-10 1 EUR = 1.2 USD (rates.csv:2)" in converted
    rates_file.write_text("period,from_currency,to_currency,rate\n2026-09,EUR,USD,1.2\n")
    with pytest.raises(MissingRate, match="no exchange rate EUR→USD for 2026-10"):
        render_report(report, ruleset, read_rates(rates_file, "USD"))
