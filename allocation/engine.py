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

from costalloc.allocation.capitalization import apply_capitalization
from costalloc.allocation.conditions import (
    TAGS_LOWER,
    account_value,
    compile_condition,
    compile_effective,
    tag_column,
    tag_value,
    with_tag_columns,
)
from costalloc.allocation.model import UNALLOCATED, RuleSet, TaggingRule, parse_template

RULE_COLUMN = "x_{dimension}_rule"
SPLIT_FLAG = "_split_{index}"
_MATCH = "_rule_match_{index}"
_CANDIDATE = "_candidate_{index}"
_CHOSEN = "_chosen_rule"


def assign_dimensions(line_items: pl.LazyFrame, ruleset: RuleSet) -> pl.LazyFrame:
    """`line_items` + one column per dimension, `x_<dimension>_rule`, the capitalization
    lineage columns and one `_split_<i>` flag per split (rows that split may take).

    Every tag a rule, split or capitalization entry reads, every rule's match and every
    templated candidate value becomes a column once (polars doesn't share repeated
    subexpressions). Per dimension, the first rule that fires is picked as a number; the value
    and rule id follow from it."""
    keys = ruleset.tag_keys()
    frame = with_tag_columns(line_items.with_columns(pl.col("Tags").cast(pl.String)
                                                     .str.to_lowercase().alias(TAGS_LOWER)),
                             ruleset, keys)
    matched: set[int] = set()
    for dimension in ruleset.dimension_order():
        # A rule's match is computed at the first dimension it sets: every `dim.` it tests is
        # set before that (see RuleSet.dimension_order).
        rules = [(index, rule) for index, rule in enumerate(ruleset.rules) if dimension in rule.set]
        literal = {index: rule.sources(dimension)[0] for index, rule in rules
                   if parse_template(rule.sources(dimension)[0]) is None}
        templated = [(index, rule) for index, rule in rules if index not in literal]
        frame = frame.with_columns(
            *((compile_condition(rule.when, ruleset, tag_columns=True)
               & compile_effective(rule.effective)).alias(_MATCH.format(index=index))
              for index, rule in rules if index not in matched),
            *(_rule_value(rule, dimension, ruleset).alias(_CANDIDATE.format(index=index))
              for index, rule in templated))
        matched.update(index for index, _ in rules)
        # A rule fires when it matches and yields a value (a literal always does); the first
        # rule in file order that fires sets the dimension.
        fires = [pl.col(_MATCH.format(index=index)) if index in literal else
                 pl.col(_MATCH.format(index=index))
                 & pl.col(_CANDIDATE.format(index=index)).is_not_null() for index, _ in rules]
        frame = frame.with_columns(pl.coalesce([
            *(pl.when(fired).then(pl.lit(index, dtype=pl.UInt32))
              for fired, (index, _) in zip(fires, rules, strict=True)),
            pl.lit(None, dtype=pl.UInt32)]).alias(_CHOSEN))
        chosen = pl.col(_CHOSEN)
        value = pl.coalesce([
            *(pl.when(chosen == index).then(pl.col(_CANDIDATE.format(index=index)))
              for index, _ in templated),
            chosen.replace_strict(literal, default=None, return_dtype=pl.String),
            pl.lit(default_value(ruleset, dimension))])
        rule_id = chosen.replace_strict({index: rule.id for index, rule in rules}, default=None,
                                        return_dtype=pl.String)
        frame = frame.with_columns(
            value.alias(dimension), rule_id.alias(RULE_COLUMN.format(dimension=dimension))
        ).drop(_CHOSEN, *(_CANDIDATE.format(index=index) for index, _ in templated))
    frame = apply_capitalization(frame, ruleset)
    flags = [(compile_condition(split.when, ruleset, tag_columns=True)
              & compile_effective(split.effective)).alias(SPLIT_FLAG.format(index=index))
             for index, split in enumerate(ruleset.splits)]
    return frame.with_columns(flags).drop(
        TAGS_LOWER, *(tag_column(key) for key in sorted(keys)),
        *(_MATCH.format(index=index) for index in sorted(matched)))


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
        raw = (tag_value(ruleset, key, tag_columns=True) if kind == "tag"
               else account_value(ruleset, key))
        normalized = (raw.replace(aliases) if aliases else raw).str.to_lowercase()
        candidates.append(normalized.replace_strict(declared, default=None,
                                                    return_dtype=pl.String))
    return pl.coalesce(candidates) if len(candidates) > 1 else candidates[0]
