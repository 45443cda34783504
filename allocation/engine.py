"""Assign every line item a value per dimension, with the id of the rule that set it. Pure.

Dimensions are set one after another in `RuleSet.dimension_order()`, so a rule for
`workstream` may test `dim.environment`. For each dimension the first rule (in file order)
that matches a row *and* yields a declared value sets it. A value source that yields nothing
(an absent tag, an undeclared value, an account not in the mapping) lets the next source of
the same rule, then the next rule, have its turn. What no rule sets takes the default:
`unallocated`, or `opex` for cost_type (CapEx needs evidence, see `capitalization`).
"""

from __future__ import annotations

import polars as pl

from allocation.capitalization import apply_capitalization
from allocation.conditions import (
    TAGS_LOWER,
    account_value,
    compile_condition,
    compile_effective,
    tag_value,
)
from allocation.model import UNALLOCATED, RuleSet, TaggingRule, parse_template

RULE_COLUMN = "x_{dimension}_rule"
SPLIT_FLAG = "_split_{index}"


def assign_dimensions(line_items: pl.LazyFrame, ruleset: RuleSet) -> pl.LazyFrame:
    """`line_items` + one column per dimension, `x_<dimension>_rule`, the capitalization
    lineage columns and one `_split_<i>` flag per split (rows that split may take)."""
    frame = line_items.with_columns(pl.col("Tags").cast(pl.String).str.to_lowercase()
                                    .alias(TAGS_LOWER))
    matches = {rule.id: compile_condition(rule.when, ruleset) & compile_effective(rule.effective)
               for rule in ruleset.rules}
    for dimension in ruleset.dimension_order():
        value: pl.Expr = pl.lit(None, dtype=pl.String)
        rule_id: pl.Expr = pl.lit(None, dtype=pl.String)
        # Built from the last rule backwards so the first rule ends up outermost.
        for rule in reversed([r for r in ruleset.rules if dimension in r.set]):
            candidate = _rule_value(rule, dimension, ruleset)
            fires = matches[rule.id] & candidate.is_not_null()
            value = pl.when(fires).then(candidate).otherwise(value)
            rule_id = pl.when(fires).then(pl.lit(rule.id)).otherwise(rule_id)
        frame = frame.with_columns(
            value.fill_null(pl.lit(default_value(ruleset, dimension))).alias(dimension),
            rule_id.alias(RULE_COLUMN.format(dimension=dimension)))
    frame = apply_capitalization(frame, ruleset)
    flags = [(compile_condition(split.when, ruleset) & compile_effective(split.effective))
             .alias(SPLIT_FLAG.format(index=index)) for index, split in enumerate(ruleset.splits)]
    return frame.with_columns(flags).drop(TAGS_LOWER)


def default_value(ruleset: RuleSet, dimension: str) -> str:
    if dimension == "cost_type":
        return ruleset.defaults.get("cost_type", "opex")
    return ruleset.defaults.get(dimension, UNALLOCATED)


def _rule_value(rule: TaggingRule, dimension: str, ruleset: RuleSet) -> pl.Expr:
    # Tag values are compared lower-cased; a match yields the value as the rules declare it.
    declared = {value.lower(): value for value in ruleset.dimensions[dimension]}
    aliases = ruleset.value_aliases(dimension)
    candidates = []
    for source in rule.sources(dimension):
        template = parse_template(source)
        if template is None:
            candidates.append(pl.lit(source))
            continue
        kind, key = template
        raw = tag_value(ruleset, key) if kind == "tag" else account_value(ruleset, key)
        normalized = (raw.replace(aliases) if aliases else raw).str.to_lowercase()
        candidates.append(normalized.replace_strict(declared, default=None,
                                                    return_dtype=pl.String))
    return pl.coalesce(candidates) if len(candidates) > 1 else candidates[0]
