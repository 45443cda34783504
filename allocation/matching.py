"""Which rules match which profiles: what `rules check` counts, and what the month page's
unallocated cost is matched with (see `allocation.aggregates`)."""

from __future__ import annotations

import polars as pl

from costalloc.allocation.conditions import TAGS_LOWER, compile_condition, compile_effective
from costalloc.allocation.engine import assign_dimensions
from costalloc.allocation.model import RuleSet

MATCH = "_match_{index}"


def matched_profiles(profiles: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """`profiles` with the dimensions the rules give them and, per rule (by index), `MATCH`:
    its condition holds and it is in force. Pure."""
    flags = [(compile_condition(rule.when, ruleset) & compile_effective(rule.effective))
             .alias(MATCH.format(index=index)) for index, rule in enumerate(ruleset.rules)]
    return assign_dimensions(profiles.lazy(), ruleset).with_columns(
        pl.col("Tags").cast(pl.String).str.to_lowercase().alias(TAGS_LOWER)
    ).with_columns(flags).collect()
