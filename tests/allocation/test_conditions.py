"""Conditions: one registry of operators, one walker; what each operator means, how a file
that asks for something the engine cannot run is refused at load, and what `explain` says."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from costalloc.allocation.conditions import TAGS_LOWER, compile_condition
from costalloc.allocation.engine import assign_dimensions
from costalloc.allocation.explain import describe
from costalloc.allocation.loader import RuleFileError, load_rules
from costalloc.allocation.model import RuleSet
from costalloc.allocation.operators import OPERATORS
from costalloc.allocation.profiles import profile_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def _frame(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    base = {"SubAccountId": "1", "SubAccountName": "acct", "ServiceName": "Amazon EC2",
            "CommitmentDiscountId": None, "ChargePeriodStart": datetime(2026, 10, 2, tzinfo=UTC),
            "Tags": None, "BilledCost": Decimal(1)}
    return pl.DataFrame([{**base, **row} for row in rows], schema_overrides={
        "BilledCost": pl.Decimal(38, 10), "CommitmentDiscountId": pl.String}).lazy()


def _ruleset(text: str) -> RuleSet:
    return RuleSet.model_validate(yaml.safe_load(text))


def _matches(when: dict[str, Any], rows: list[dict[str, Any]]) -> list[bool]:
    ruleset = RuleSet.model_validate({"rules": [{"id": "r", "when": when,
                                                 "set": {"environment": "production"}}]})
    frame = _frame(rows).with_columns(pl.col("Tags").cast(pl.String).str.to_lowercase()
                                      .alias(TAGS_LOWER))
    return frame.select(compile_condition(ruleset.rules[0].when, ruleset)).collect()\
        .to_series().to_list()


ROWS = [{"Tags": json.dumps({"team": "ML"}), "CommitmentDiscountId": "sp-1"},
        {"Tags": None},
        {"Tags": json.dumps({"team": "  "})}]  # a blank tag is no tag


@pytest.mark.parametrize("field", ["tag.team", "CommitmentDiscountId"])
def test_present_false_means_absent_and_absent_false_means_present(field: str) -> None:
    # They used to validate and then behave as `present`.
    absent = _matches({field: "absent"}, ROWS)
    present = _matches({field: "present"}, ROWS)
    assert present == [True, False, False] and absent == [False, True, True]
    assert _matches({field: {"present": False}}, ROWS) == absent
    assert _matches({field: {"absent": False}}, ROWS) == present
    assert _matches({field: {"absent": True}}, ROWS) == absent


def test_present_false_sets_dimensions_as_written_and_explain_says_so() -> None:
    ruleset = _ruleset("""
rules:
  - id: untagged-is-experimentation
    when: {tag.team: {present: false}}
    set: {workstream: experimentation}
  - id: tagged-is-platform
    when: {tag.team: {absent: false}}
    set: {workstream: platform_build}
  - id: no-environment-yet
    when: {dim.environment: {present: false}}
    set: {cost_center: CC-1}
dimensions: {cost_center: [CC-1]}
""")
    assigned = assign_dimensions(_frame(ROWS), ruleset).collect()
    assert assigned["workstream"].to_list() == ["platform_build", "experimentation",
                                                "experimentation"]
    assert assigned["cost_center"].to_list() == ["CC-1"] * 3  # environment stays unallocated
    assert [describe(rule.when) for rule in ruleset.rules] == [
        "tag.team is absent", "tag.team is present", "dim.environment is absent"]


def test_explain_words_every_operator_and_combinator() -> None:
    ruleset = _ruleset("""
rules:
  - id: all-of-them
    when:
      ServiceName: {equals: Amazon EC2, case_insensitive: true}
      SubAccountId: ["1", "2"]
      any: [{SubAccountName: {prefix: ml-}}, {SubAccountName: {suffix: -dev}},
            {tag.project: {regex: "^llm"}}]
      all: [{tag.team: present}]
      not: {CommitmentDiscountId: absent}
    set: {environment: development}
""")
    assert describe(ruleset.rules[0].when) == (
        "ServiceName is `Amazon EC2` (any case) and SubAccountId is one of `1`, `2` and "
        "(tag.team is present) and (SubAccountName starts with `ml-` or SubAccountName ends with "
        "`-dev` or tag.project matches /^llm/) and not (CommitmentDiscountId is absent)")
    assert describe(_ruleset("rules: [{id: r, when: {}, set: {environment: staging}}]")
                    .rules[0].when) == "always"


def _rules_file(tmp_path: Path, pattern: str, field: str = "SubAccountName") -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n"
                    "  - id: fine\n    when: {ServiceName: Amazon EC2}\n"
                    "    set: {environment: production}\n"
                    "  - id: by-pattern\n"
                    f"    when: {{any: [{{{field}: {{regex: '{pattern}'}}}}]}}\n"
                    "    set: {environment: development}\n")
    return path


@pytest.mark.parametrize(("pattern", "reason"), [
    ("^(?=ml-)", "look-around, including look-ahead and look-behind, is not supported"),
    (r"^(ml)-\1", "backreferences are not supported"),
    (r"(\w{1000}){1000}", "its compiled form exceeds the engine's size limit of 10 MiB"),
])
def test_regexes_the_engine_cannot_run_are_refused_at_load(tmp_path: Path, pattern: str,
                                                           reason: str) -> None:
    # Python's `re` accepts all three; polars (Rust regex) cannot run them and allocation
    # used to die with a ComputeError after `rules check` said OK.
    assert re.compile(pattern)
    for field in ("SubAccountName", "tag.team"):  # tags run with (?i): checked that way too
        path = _rules_file(tmp_path, pattern, field)
        with pytest.raises(RuleFileError) as raised:
            load_rules(path)
        message = str(raised.value)
        assert message.startswith("1 problem(s) in the rules:\n")
        assert (f"{path}:5: rule `by-pattern` field `when.any.0.{field}`: regex "
                f"`{pattern}` does not compile in the allocation engine (Rust regex syntax): "
                f"{reason}") in message, message


def test_rust_regex_syntax_is_accepted_and_runs(tmp_path: Path) -> None:
    # Named groups written `(?<name>…)` are Rust syntax that Python's `re` refuses.
    ruleset = load_rules(_rules_file(tmp_path, "^(?<team>ml|growth)-(dev|sandbox)$"))
    assigned = assign_dimensions(_frame([{"SubAccountName": "ml-dev", "ServiceName": "x"},
                                         {"SubAccountName": "payments-dev", "ServiceName": "x"}]),
                                 ruleset).collect()
    assert assigned["x_environment_rule"].to_list() == ["by-pattern", None]
    tagged = load_rules(_rules_file(tmp_path, "^Prod", field="tag.env"))
    assert assign_dimensions(_frame([{"Tags": json.dumps({"ENV": "production"}),
                                      "ServiceName": "x"}]), tagged).collect()[
        "x_environment_rule"].to_list() == ["by-pattern"]  # tags match in any case


def test_an_overlong_regex_and_unknown_operators_are_refused_in_few_words(tmp_path: Path) -> None:
    path = _rules_file(tmp_path, "a" * 5000)
    with pytest.raises(RuleFileError, match=r"is 5000 characters long; at most 1000") as raised:
        load_rules(path)
    assert len(str(raised.value)) < 400
    path.write_text("rules:\n  - id: r\n    when: {ServiceName: {contains: EC2}}\n"
                    "    set: {environment: production}\n")
    with pytest.raises(RuleFileError, match=re.escape(
            f"{path}:2: rule `r` field `when.ServiceName`: give exactly one of "
            f"{', '.join(OPERATORS)} (unknown: 'contains')")):
        load_rules(path)


def test_conditions_nested_too_deep_are_refused(tmp_path: Path) -> None:
    when = "{ServiceName: x}"
    for _ in range(40):
        when = "{not: " + when + "}"
    path = tmp_path / "rules.yaml"
    path.write_text(f"rules:\n  - id: deep\n    when: {when}\n    set: {{environment: staging}}\n")
    with pytest.raises(RuleFileError, match=f"{path}:2: rule `deep` field `when.not.not.*"
                                            "nest all / any / not more than 16 levels deep"):
        load_rules(path)


def test_profiles_read_every_column_a_condition_tests_at_any_depth() -> None:
    ruleset = _ruleset("""
rules:
  - {id: r, when: {any: [{not: {RegionId: us-east-1}}]}, set: {environment: production}}
splits:
  - id: s
    when: {all: [{ServiceCategory: Networking}]}
    method: even
    across: {workstream: [platform_build, production_operations]}
capitalization:
  - project: p
    when: {not: {any: [{PricingCategory: Committed}, {tag.project: p}]}}
    phases: [{phase: research, from: 2026-01-01}]
""")
    names = {column.name for column in profile_of(ruleset).columns}
    assert {"RegionId", "ServiceCategory", "PricingCategory"} <= names
    assert ruleset.tag_keys() == {"project"}


def test_the_rules_reference_documents_every_operator() -> None:
    documented = re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(), flags=re.MULTILINE)
    assert [name for name in documented if name in OPERATORS] == list(OPERATORS)
