"""What the rules can tell apart: a line item's *profile*, the values of the columns rules read.

A month has millions of line items but only thousands of distinct combinations of tags,
accounts, services and the few other columns a rules file tests. Every rule, split and
capitalization entry gives the same answer for two line items with the same profile, so the
engine tags the distinct profiles (polars, in memory) and the warehouse joins the answers
back onto the line items in SQL. Python never touches a month's rows one by one.

Two columns are coarsened to keep profiles few without changing any answer:
- `ChargePeriodStart` only matters against the dates in the rules (`effective` windows,
  capitalization phases): it is replaced by the latest such boundary at or before it, which
  compares with every boundary exactly as the real value does;
- `ResourceId` only matters for asset-register rows (their capitalization project), unless a
  condition tests it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from costalloc.allocation.model import RuleSet
from costalloc.core.focus import ASSET_ROW_TYPES

# Columns the engine reads whatever the rules say: the account mapping and the asset register.
ALWAYS = ("x_source", "SubAccountId", "SubAccountName", "x_line_item_type", "Tags")
CHARGE_START = "ChargePeriodStart"
RESOURCE = "ResourceId"


@dataclass(frozen=True)
class ProfileColumn:
    """A column of the profile: its name and the SQL that computes it from a line item `li`."""

    name: str
    expression: str


@dataclass(frozen=True)
class Profile:
    """The columns that make up a profile under one rules file, and their SQL parameters."""

    columns: tuple[ProfileColumn, ...]
    params: dict[str, object]

    def select_list(self) -> str:
        return ", ".join(f"{c.expression} as {quoted(c.name)}" for c in self.columns)

    def join_condition(self, profile_alias: str) -> str:
        """`li` and the profile table `profile_alias` hold the same profile (nulls match)."""
        return " and ".join(f"{c.expression} is not distinct from {profile_alias}.{quoted(c.name)}"
                            for c in self.columns)


def profile_of(ruleset: RuleSet) -> Profile:
    tested = _tested_columns(ruleset)
    columns = [ProfileColumn(name, f"li.{quoted(name)}")
               for name in sorted(set(ALWAYS) | tested - {CHARGE_START, RESOURCE})]
    params: dict[str, object] = {}
    if RESOURCE in tested:
        columns.append(ProfileColumn(RESOURCE, f"li.{quoted(RESOURCE)}"))
    else:
        columns.append(ProfileColumn(RESOURCE, "case when list_contains($asset_row_types, "
                                               f"li.x_line_item_type) then li.{quoted(RESOURCE)} end"))
        params["asset_row_types"] = sorted(ASSET_ROW_TYPES)
    if CHARGE_START in tested:
        columns.append(ProfileColumn(CHARGE_START, f"li.{quoted(CHARGE_START)}"))
    else:
        boundaries = _date_boundaries(ruleset)
        if boundaries:
            columns.append(ProfileColumn(CHARGE_START, _latest_boundary(boundaries)))
            params |= {f"boundary_{i}": moment for i, moment in enumerate(boundaries)}
            params["before_boundaries"] = boundaries[0] - timedelta(days=1)
    return Profile(tuple(columns), params)


def quoted(name: str) -> str:
    """A column name for SQL text; names come from `LINE_ITEM_COLUMNS` (checked at load)."""
    return '"' + name.replace('"', '""') + '"'


def _latest_boundary(boundaries: list[datetime]) -> str:
    steps = " ".join(f"when li.{quoted(CHARGE_START)} >= $boundary_{i} then $boundary_{i}"
                     for i in reversed(range(len(boundaries))))
    return f"case {steps} else $before_boundaries end"


def _tested_columns(ruleset: RuleSet) -> set[str]:
    return {column for condition in ruleset.conditions() for column in condition.reads("column")}


def _date_boundaries(ruleset: RuleSet) -> list[datetime]:
    """Every instant a rule's outcome can change at: the starts and (exclusive) ends of
    `effective` windows and capitalization phases."""
    return sorted({moment for window in ruleset.windows() for moment in window.boundaries()})
