"""Compile rule conditions to polars expressions over line items. Pure.

Tags are matched case-insensitively on keys and values: the engine lower-cases the `Tags`
JSON once (`_tags_lc`) and each `tag.<key>` reads the first of its aliases that is present.
Reading a key out of JSON is the costly part, and a month has a few thousand distinct tag
sets among millions of rows, so a key is looked up once per distinct `_tags_lc` value; the
engine puts each key's values in a column of its own (`tag_column`) that conditions read.
FOCUS columns match as written unless a test says `case_insensitive: true`. What each
operator does is the registry's (`allocation.operators`); this module only finds the value a
field test reads and combines the tests with `walk`.
"""

from __future__ import annotations

import polars as pl

from costalloc.allocation.condition_tree import Condition, Match, Parts, walk
from costalloc.allocation.model import UNALLOCATED, Effective, RuleSet

TAGS_LOWER = "_tags_lc"


def tag_value(ruleset: RuleSet, key: str, *, tag_columns: bool = False) -> pl.Expr:
    """The value of tag `key` (through its aliases), lower-cased; null when absent or empty.

    With `tag_columns`, read the frame's `tag_column(key)` (see `with_tag_columns`)."""
    if tag_columns:
        return pl.col(tag_column(key))
    return _lookup(ruleset, key)


def tag_column(key: str) -> str:
    return f"_tag.{key}"


def with_tag_columns(frame: pl.LazyFrame, ruleset: RuleSet, keys: set[str]) -> pl.LazyFrame:
    """`frame` (with `_tags_lc`) + one `tag_column(key)` per key: its value, as `tag_value`."""
    if not keys:
        return frame
    distinct = frame.select(TAGS_LOWER).unique().with_columns(
        _lookup(ruleset, key).alias(tag_column(key)) for key in sorted(keys))
    return frame.join(distinct, on=TAGS_LOWER, how="left", nulls_equal=True,
                      maintain_order="left")


def _lookup(ruleset: RuleSet, key: str) -> pl.Expr:
    found = [pl.col(TAGS_LOWER).str.json_path_match(_json_path(alias))
             for alias in ruleset.tag_aliases(key)]
    value = pl.coalesce(found) if len(found) > 1 else found[0]
    return value.str.strip_chars().replace("", None)


def compile_condition(condition: Condition, ruleset: RuleSet, *,
                      tag_columns: bool = False) -> pl.Expr:
    """`condition` as a boolean expression; with `tag_columns`, tags are read from the frame's
    `tag_column(key)` columns (`with_tag_columns`) instead of the JSON."""
    return walk(condition, lambda match: _field_test(match, ruleset, tag_columns), _combine)


def _combine(parts: Parts[pl.Expr]) -> pl.Expr:
    tests = [*parts.tests, *parts.all]
    if parts.any:
        tests.append(pl.any_horizontal(parts.any))
    if parts.not_ is not None:
        tests.append(~parts.not_)
    return pl.all_horizontal(tests) if tests else pl.lit(True)


def compile_effective(effective: Effective | None) -> pl.Expr:
    """Rows whose charge period starts within the rule's effective dates (both ends included)."""
    return effective.window().covers() if effective is not None else pl.lit(True)


def _field_test(match: Match, ruleset: RuleSet, tag_columns: bool) -> pl.Expr:
    """The registry's evaluation of `match` on the value its field holds."""
    operator = match.spec
    if match.kind == "tag":
        value = tag_value(ruleset, match.key, tag_columns=tag_columns)  # lower-cased already
    else:  # a `dim.` is set earlier: see RuleSet.dimension_order
        value = pl.col(match.key).cast(pl.String)
        if match.kind == "dim" and operator.reads == "presence":
            value = pl.when(value != UNALLOCATED).then(value)  # unallocated counts as absent
        elif match.fold and operator.reads == "value":
            value = value.str.to_lowercase()
    test = operator.evaluate(value, match.operand, match.fold)
    return test if operator.reads == "presence" else test.fill_null(False)


def account_value(ruleset: RuleSet, dimension: str) -> pl.Expr:
    """The `accounts:` mapping's value for `dimension`, by sub-account id or (any case) name."""
    by_key = {key.lower(): values[dimension] for key, values in ruleset.accounts.items()
              if dimension in values}
    if not by_key:
        return pl.lit(None, dtype=pl.String)
    lookups = [pl.col(column).cast(pl.String).str.to_lowercase().replace_strict(
        by_key, default=None, return_dtype=pl.String) for column in ("SubAccountId",
                                                                      "SubAccountName")]
    return pl.coalesce(lookups)


def _json_path(key: str) -> str:
    return "$['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"
