"""`costalloc explain`: the chain of reasons behind one line item's allocation, in words."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import duckdb

from costalloc.allocation.condition_tree import Condition, Match, Parts, walk
from costalloc.allocation.model import RuleSet
from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.sql import load


def explain(con: duckdb.DuckDBPyConnection, line_item_id: int, period: BillingPeriod,
            source: str | None, ruleset: RuleSet | None) -> str:
    params = {"period": str(period), "line_item_id": line_item_id, "source": source}
    items = con.sql(load("allocation/explain_line_item"), params=params).fetchall()
    if not items:
        where = f" in source `{source}`" if source else ""
        raise CostallocError(f"no line item {line_item_id}{where} in {period}")
    if len(items) > 1:
        sources = ", ".join(str(row[0]) for row in items)
        raise CostallocError(f"line item {line_item_id} exists in several sources ({sources}); "
                             "pass --source")
    item = dict(zip(_ITEM_COLUMNS, items[0], strict=True))
    parts = con.sql(load("allocation/explain_allocations"),
                    params={"period": str(period), "line_item_id": line_item_id,
                            "source": item["x_source"]}).fetchall()
    lines = [
        f"Line item {item['x_source']} #{line_item_id} ({period}), from `{item['x_source_file']}`"
        f" (load {item['x_ingest_run_id']})",
        f"  {item['ProviderName']} · {item['ServiceName']} · account {item['SubAccountId']} · "
        f"{item['ChargeCategory']} · {item['ChargePeriodStart']:%Y-%m-%d %H:%M} UTC",
        f"  BilledCost {item['BilledCost']} {item['BillingCurrency']} · EffectiveCost "
        f"{item['EffectiveCost']} {item['BillingCurrency']}",
        f"  Tags: {item['Tags'] or '(none)'}",
    ]
    if not parts:
        lines.append("  Not allocated yet: run `costalloc reallocate --period "
                     f"{period}`.")
        return "\n".join(lines)
    first = dict(zip(_PART_COLUMNS, parts[0], strict=True))
    rules = {r.id: r for r in ruleset.rules} if ruleset else {}
    current = ruleset is not None and ruleset.version == first["x_rules_version"]
    lines.append(f"Allocated by run {first['x_allocation_run_id']} under rules version "
                 f"{first['x_rules_version']}"
                 + ("" if current or ruleset is None else
                    f" (the rules file is now {ruleset.version}; descriptions below are from it)"))
    for dimension in ("environment", "workstream", "cost_type"):
        lines.append("  " + _dimension_reason(dimension, first, rules))
    if first["x_capex_project"]:
        capex = (f"capitalized under `{first['x_capex_approval']}`, useful life "
                 f"{first['x_useful_life_months']} months" if first["x_capex_approval"] else
                 "not capitalized in this phase (OpEx)")
        lines.append(f"  project `{first['x_capex_project']}`, phase {first['x_capex_phase']}: "
                     f"{capex}")
    split_parts = [dict(zip(_PART_COLUMNS, p, strict=True)) for p in parts]
    if len(split_parts) > 1 or first["x_split_rule"]:
        lines.append(f"  split into {len(split_parts)} part(s):")
        for part in split_parts:
            details = json.loads(part["AllocatedMethodDetails"] or "{}")
            driver = (f", {details.get('UsageUnit')} {part['x_driver_quantity']}"
                      if part["x_driver_quantity"] is not None else "")
            lines.append(f"    {part['environment']:<12} {part['workstream']:<22} ratio "
                         f"{Decimal(part['x_split_ratio']).normalize()} → BilledCost "
                         f"{part['BilledCost']} (last split `{part['x_split_rule']}`, "
                         f"{part['x_split_method']} on {part['x_split_basis']}{driver})")
    return "\n".join(lines)


_ITEM_COLUMNS = ("x_source", "x_source_file", "x_ingest_run_id", "ProviderName", "ServiceName",
                 "SubAccountId", "ChargeCategory", "ChargePeriodStart", "BilledCost",
                 "EffectiveCost", "BillingCurrency", "Tags")
_PART_COLUMNS = ("environment", "workstream", "cost_type", "x_environment_rule",
                 "x_workstream_rule", "x_cost_type_rule", "x_split_rule", "x_split_method",
                 "x_split_basis", "x_split_ratio", "x_driver_quantity", "x_capex_project",
                 "x_capex_phase", "x_capex_approval", "x_useful_life_months", "BilledCost",
                 "AllocatedMethodDetails", "x_rules_version", "x_allocation_run_id")


def _dimension_reason(dimension: str, part: dict[str, Any], rules: dict[str, Any]) -> str:
    value = part[dimension]
    rule_id = part[f"x_{dimension}_rule"]
    if rule_id is None:
        return f"{dimension} = {value}: no rule set it, so it takes the default"
    if rule_id.startswith("capitalization:"):
        return f"{dimension} = {value}: the CapEx policy (project `{rule_id.split(':', 1)[1]}`)"
    rule = rules.get(rule_id)
    if rule is None:
        return f"{dimension} = {value}: rule `{rule_id}`"
    why = f" — {rule.description}" if rule.description else ""
    return f"{dimension} = {value}: rule `{rule_id}`{why}; when {describe(rule.when)}"


def describe(condition: Condition) -> str:
    """A condition in words, e.g. `tag.environment is present and ServiceName starts with X`."""
    return walk(condition, Match.words, _sentence)


def _sentence(parts: Parts[str]) -> str:
    words = [*parts.tests, *(f"({child})" for child in parts.all)]
    if parts.any:
        words.append("(" + " or ".join(parts.any) + ")")
    if parts.not_ is not None:
        words.append(f"not ({parts.not_})")
    return " and ".join(words) or "always"
