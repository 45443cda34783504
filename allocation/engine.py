"""Assign every line item a value per dimension, with the id of the rule that set it. Pure.

Rules are ordered; for each dimension the first rule that matches a row *and* yields a
declared value sets it. A rule whose value comes from a tag (`{tag.team}`) yields nothing
when the tag is absent or its value (after normalization) is not declared, so the next
rule gets its chance. What no rule sets takes the dimension's default, `unallocated`
unless the rules file says otherwise.
"""

from __future__ import annotations

import polars as pl

from allocation.conditions import TAGS_LOWER, compile_condition, compile_effective, tag_value
from allocation.model import RuleSet, TaggingRule

RULE_COLUMN = "x_{dimension}_rule"


def assign_dimensions(line_items: pl.LazyFrame, ruleset: RuleSet) -> pl.LazyFrame:
    """`line_items` plus one column per dimension and one `x_<dimension>_rule` column each."""
    tagged = line_items.with_columns(pl.col("Tags").cast(pl.String).str.to_lowercase()
                                     .alias(TAGS_LOWER))
    matches = {rule.id: compile_condition(rule.when, ruleset) & compile_effective(rule.effective)
               for rule in ruleset.rules}
    columns: list[pl.Expr] = []
    for dimension in ruleset.dimensions:
        value: pl.Expr = pl.lit(None, dtype=pl.String)
        rule_id: pl.Expr = pl.lit(None, dtype=pl.String)
        # Built from the last rule backwards so the first rule ends up outermost.
        for rule in reversed([r for r in ruleset.rules if dimension in r.set]):
            candidate = _rule_value(rule, dimension, ruleset)
            fires = matches[rule.id] & candidate.is_not_null()
            value = pl.when(fires).then(candidate).otherwise(value)
            rule_id = pl.when(fires).then(pl.lit(rule.id)).otherwise(rule_id)
        columns.append(value.fill_null(pl.lit(ruleset.dimension_default(dimension)))
                       .alias(dimension))
        columns.append(rule_id.alias(RULE_COLUMN.format(dimension=dimension)))
    return tagged.with_columns(columns).drop(TAGS_LOWER)


def _rule_value(rule: TaggingRule, dimension: str, ruleset: RuleSet) -> pl.Expr:
    tag = rule.template_tag(dimension)
    if tag is None:
        return pl.lit(rule.set[dimension])
    raw = tag_value(ruleset, tag)
    declared = ruleset.dimensions[dimension]
    aliases = ruleset.value_aliases(dimension)
    normalized = raw.replace(aliases) if aliases else raw
    return pl.when(normalized.is_in(declared)).then(normalized)
