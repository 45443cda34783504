"""Compile rule conditions to polars expressions over line items. Pure.

Tags are matched case-insensitively on keys and values: the engine lower-cases the `Tags`
JSON once (`_tags_lc`) and each `tag.<key>` reads the first of its aliases that is present.
Reading a key out of JSON is the costly part, and a month has a few thousand distinct tag
sets among millions of rows, so a key is looked up once per distinct `_tags_lc` value; the
engine puts each key's values in a column of its own (`tag_column`) that conditions read.
FOCUS columns match as written unless a test says `case_insensitive: true`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import polars as pl

from costalloc.allocation.model import UNALLOCATED, Condition, Effective, Match, RuleSet

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
    parts = [_field_test(name, match, ruleset, tag_columns)
             for name, match in condition.fields.items()]
    parts += [compile_condition(child, ruleset, tag_columns=tag_columns)
              for child in condition.all]
    if condition.any:
        parts.append(pl.any_horizontal([compile_condition(c, ruleset, tag_columns=tag_columns)
                                        for c in condition.any]))
    if condition.not_ is not None:
        parts.append(~compile_condition(condition.not_, ruleset, tag_columns=tag_columns))
    if not parts:
        return pl.lit(True)
    return pl.all_horizontal(parts)


def compile_effective(effective: Effective | None) -> pl.Expr:
    """Rows whose charge period starts within the rule's effective dates (both ends included)."""
    if effective is None:
        return pl.lit(True)
    tests = []
    if effective.from_ is not None:
        tests.append(charge_start() >= start_of_day(effective.from_))
    if effective.to is not None:
        tests.append(charge_start() < start_of_day(effective.to + timedelta(days=1)))
    return pl.all_horizontal(tests)


def charge_start() -> pl.Expr:
    """ChargePeriodStart in UTC (DuckDB hands it over as `Etc/UTC`, polars compares zones)."""
    return pl.col("ChargePeriodStart").dt.convert_time_zone("UTC")


def _field_test(name: str, match: Match, ruleset: RuleSet, tag_columns: bool) -> pl.Expr:
    is_tag = name.startswith("tag.")
    if is_tag:
        value = tag_value(ruleset, name[4:], tag_columns=tag_columns)
    elif name.startswith("dim."):
        value = pl.col(name[4:]).cast(pl.String)  # set earlier: see RuleSet.dimension_order
    else:
        value = pl.col(name).cast(pl.String)
    fold = is_tag or match.case_insensitive
    if match.present or match.absent:
        if name.startswith("dim."):  # an unallocated dimension counts as absent
            value = pl.when(value != UNALLOCATED).then(value)
        return value.is_not_null() if match.present else value.is_null()
    if fold and not is_tag:
        value = value.str.to_lowercase()

    def literal(text: str) -> str:
        return text.lower() if fold else text

    if match.equals is not None:
        test = value == literal(match.equals)
    elif match.in_ is not None:
        test = value.is_in([literal(item) for item in match.in_])
    elif match.prefix is not None:
        test = value.str.starts_with(literal(match.prefix))
    elif match.suffix is not None:
        test = value.str.ends_with(literal(match.suffix))
    else:
        pattern = match.regex or ""
        test = value.str.contains(f"(?i){pattern}" if fold else pattern)
    return test.fill_null(False)


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


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`: where rule dates (`effective`, phases) begin."""
    return datetime.combine(day, time(0), tzinfo=timezone.utc)  # noqa: UP017
