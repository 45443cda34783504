import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from costalloc.allocation.engine import assign_dimensions
from costalloc.allocation.model import RuleSet

RULES = yaml.safe_load("""
normalize:
  keys: {environment: [env, Stage]}
  values: {environment: {prod: production, PRD: production, dev: development}}
rules:
  - id: env-from-tag
    when: {tag.environment: present}
    set: {environment: "{tag.environment}"}
  - id: sandbox-account
    when: {SubAccountId: ["111"]}
    set: {environment: development, workstream: experimentation}
  - id: security
    when: {ServiceCategory: {equals: security, case_insensitive: true}}
    set: {workstream: risk_compliance}
  - id: gpu-2026
    when: {any: [{ServiceName: {prefix: Amazon Sage}}, {ServiceName: {regex: "Bedrock$"}}],
           not: {tag.team: {in: [platform]}}}
    set: {workstream: platform_build}
    effective: {from: 2026-10-15, to: 2026-12-31}
defaults: {cost_type: opex}
""")


def _line_items(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    base = {"SubAccountId": "222", "ServiceCategory": "Compute", "ServiceName": "Amazon EC2",
            "ChargePeriodStart": datetime(2026, 10, 20, tzinfo=UTC), "Tags": None,
            "BilledCost": Decimal("1")}
    return pl.DataFrame([{**base, **row} for row in rows],
                        schema_overrides={"BilledCost": pl.Decimal(38, 10)}).lazy()


def _assign(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    ruleset = RuleSet.model_validate(RULES)
    assigned = assign_dimensions(_line_items(rows), ruleset).collect()
    return assigned.select("environment", "x_environment_rule", "workstream", "x_workstream_rule",
                           "cost_type").rows()


def test_tag_values_are_normalized_through_aliases_case_insensitively() -> None:
    got = _assign([{"Tags": json.dumps({"Env": "PRD"})},
                   {"Tags": json.dumps({"stage": "Dev"})},
                   {"Tags": json.dumps({"environment": "production"})}])
    assert [row[:2] for row in got] == [("production", "env-from-tag"),
                                        ("development", "env-from-tag"),
                                        ("production", "env-from-tag")]


def test_first_match_wins_per_dimension_and_an_undeclared_tag_value_falls_through() -> None:
    got = _assign([{"Tags": json.dumps({"env": "prod"}), "SubAccountId": "111"},
                   {"Tags": json.dumps({"env": "qa"}), "SubAccountId": "111"},
                   {"Tags": json.dumps({"env": "qa"})}])
    assert got == [
        ("production", "env-from-tag", "experimentation", "sandbox-account", "opex"),
        ("development", "sandbox-account", "experimentation", "sandbox-account", "opex"),
        ("unallocated", None, "unallocated", None, "opex"),
    ]


def test_effective_dates_and_combinators() -> None:
    got = _assign([
        {"ServiceName": "Amazon SageMaker"},
        {"ServiceName": "Amazon Bedrock"},
        {"ServiceName": "Amazon Bedrock", "Tags": json.dumps({"team": "Platform"})},
        {"ServiceName": "Amazon SageMaker", "ChargePeriodStart": datetime(2026, 10, 14, 23,
                                                                          tzinfo=UTC)},
        {"ServiceCategory": "SECURITY"},
    ])
    assert [(row[2], row[3]) for row in got] == [
        ("platform_build", "gpu-2026"), ("platform_build", "gpu-2026"),
        ("unallocated", None), ("unallocated", None), ("risk_compliance", "security")]


TAG_VALUES = st.sampled_from(["prod", "PRD", "dev", "qa", "staging", "", None])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TAG_VALUES, st.sampled_from(["111", "222"]),
                          st.decimals(min_value=-10**6, max_value=10**6, places=10,
                                      allow_nan=False)), min_size=1, max_size=40))
def test_tagging_keeps_every_row_once_and_conserves_cost(rows: list[Any]) -> None:
    line_items = _line_items([
        {"Tags": json.dumps({"env": env}) if env is not None else None, "SubAccountId": account,
         "BilledCost": amount} for env, account, amount in rows])
    ruleset = RuleSet.model_validate(RULES)
    assigned = assign_dimensions(line_items, ruleset).collect()
    assert assigned.height == len(rows)
    assert assigned["BilledCost"].sum() == sum(amount for _, _, amount in rows)
    assert assigned["environment"].null_count() == 0
    assert set(assigned["environment"]) <= {"development", "staging", "production", "unallocated"}


@settings(max_examples=30, deadline=None)
@given(st.permutations(["a", "b", "c"]))
def test_reordering_rules_that_do_not_overlap_changes_nothing(order: list[str]) -> None:
    by_id = {
        "a": {"id": "a", "when": {"SubAccountId": "1"}, "set": {"environment": "production"}},
        "b": {"id": "b", "when": {"SubAccountId": "2"}, "set": {"environment": "staging"}},
        "c": {"id": "c", "when": {"ServiceCategory": "Security"},
              "set": {"workstream": "risk_compliance"}},
    }
    rows = _line_items([{"SubAccountId": "1"}, {"SubAccountId": "2", "ServiceCategory": "Security"},
                        {"SubAccountId": "3"}])
    baseline = assign_dimensions(rows, RuleSet.model_validate({"rules": list(by_id.values())}))
    shuffled = assign_dimensions(rows, RuleSet.model_validate({"rules": [by_id[k] for k in order]}))
    assert baseline.collect().equals(shuffled.collect())


def test_dimension_conditions_see_earlier_dimensions_and_unallocated_counts_as_absent() -> None:
    ruleset = RuleSet.model_validate(yaml.safe_load("""
rules:
  - id: ws-when-dev
    when: {dim.environment: development}
    set: {workstream: experimentation}
  - id: ws-when-no-env
    when: {dim.environment: absent}
    set: {workstream: risk_compliance}
  - id: env
    when: {SubAccountId: "111"}
    set: {environment: development}
"""))
    assert ruleset.dimension_order().index("environment") < ruleset.dimension_order().index(
        "workstream")
    assigned = assign_dimensions(_line_items([{"SubAccountId": "111"}, {"SubAccountId": "222"}]),
                                 ruleset).collect()
    assert assigned.select("environment", "workstream").rows() == [
        ("development", "experimentation"), ("unallocated", "risk_compliance")]
    unallocated_rule = RuleSet.model_validate(yaml.safe_load(
        "rules: [{id: r, when: {dim.environment: unallocated}, set: {workstream: "
        "platform_build}}]"))
    assert assign_dimensions(_line_items([{}]), unallocated_rule).collect()["workstream"][0] \
        == "platform_build"


def test_dimensions_that_depend_on_each_other_in_a_cycle_are_refused() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="cycle: environment → workstream → environment"):
        RuleSet.model_validate(yaml.safe_load("""
rules:
  - {id: a, when: {dim.workstream: platform_build}, set: {environment: production}}
  - {id: b, when: {dim.environment: production}, set: {workstream: platform_build}}
"""))
