"""Allocate a billing period in the warehouse and publish it only if it conserves cost.

The engine tags the period's distinct profiles (see `allocation.profiles`), not its line
items; inside one transaction that first removes the period's old allocation, the warehouse
joins those answers onto the line items, writing rows a split may take to `split_rows` and the
rest to `allocated_costs` — narrow: the line item's key, its amounts and currency, and what the
allocation decided; readers join the line item's attributes back through the view
`allocated_line_items`. Then the splits run in SQL and their rows join the rest. The
conservation audit runs before the commit: a difference of one ten-billionth of a cent rolls
everything back, and the previous allocation stays published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import polars as pl

from costalloc.allocation import splits
from costalloc.allocation.aggregates import write_aggregates
from costalloc.allocation.capitalization import CAPEX_COLUMNS
from costalloc.allocation.engine import RULE_COLUMN, SPLIT_FLAG, assign_dimensions
from costalloc.allocation.model import RuleSet
from costalloc.allocation.profiles import Profile, profile_of
from costalloc.allocation.splits import STANDARD_DIMENSIONS
from costalloc.core.errors import ConservationError
from costalloc.core.period import BillingPeriod
from costalloc.sql import fill, load, used_params
from costalloc.warehouse.connection import unordered_inserts

PROFILE_CHUNK = 250_000  # profiles tagged at once (a few hundred MB at most)
ANSWERS = ["profile_id", *STANDARD_DIMENSIONS,
           *(RULE_COLUMN.format(dimension=d) for d in STANDARD_DIMENSIONS), "x_dimensions",
           *CAPEX_COLUMNS, "AllocatedMethodDetails", "split_may_take", "split_indexes"]
TOTALS = ("source", "currency", "billed", "effective")


@dataclass(frozen=True)
class DimensionTotal:
    dimension: str
    value: str
    currency: str
    billed: Decimal
    effective: Decimal


@dataclass(frozen=True)
class AllocationResult:
    period: BillingPeriod
    line_items: int
    allocated_rows: int
    rules_version: str
    totals: list[dict[str, str]]
    by_dimension: list[DimensionTotal] = field(default_factory=list)


def allocate_period(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, period: BillingPeriod,
                    run_id: str, *, publish: bool = True) -> AllocationResult:
    """Allocate `period`; with `publish=False` compute everything, then roll it back (dry run)."""
    with unordered_inserts(con):
        return _allocate(con, ruleset, period, run_id, publish=publish)


def _allocate(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, period: BillingPeriod,
              run_id: str, *, publish: bool) -> AllocationResult:
    params: dict[str, object] = {"period": str(period)}
    profile = profile_of(ruleset)
    line_item_rows = 0
    con.begin()
    try:
        con.execute(load("allocation/delete_period"), params)
        splits.prepare(con)
        line_item_rows = _tag_profiles(con, ruleset, profile, params)
        _write_tagged_rows(con, ruleset, profile, {
            **params, "rules_version": ruleset.version, "run_id": run_id,
            "allocated_at": datetime.now(UTC)})
        splits.apply_splits(con, ruleset, period, ruleset.base_dir)
        _gate(con, period)
        totals = [dict(zip(TOTALS, row, strict=True))
                  for row in con.sql(load("allocation/period_totals"), params=params).fetchall()]
        allocated_rows = int(con.sql("select count(*) from allocated_costs "
                                     "where x_billing_period = $period",
                                     params=params).fetchall()[0][0])
        by_dimension = [DimensionTotal(*row) for row in con.sql(
            load("allocation/dimension_totals"), params=params).fetchall()]
        con.execute(load("allocation/drop_work_tables"))
        result = AllocationResult(period, line_item_rows, allocated_rows, ruleset.version, totals,
                                  by_dimension)
        if not publish:
            con.rollback()
            return result
        _record(con, run_id, period, ruleset, "published", line_item_rows, allocated_rows, totals)
        write_aggregates(con, period, run_id, ruleset)
        con.commit()
    except BaseException as error:
        con.rollback()
        if publish and isinstance(error, ConservationError):
            _record(con, run_id, period, ruleset, "refused", line_item_rows, 0, [], str(error))
        raise
    return result


def _tag_profiles(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, profile: Profile,
                  params: dict[str, object]) -> int:
    """Tag the period's profiles into `allocation_profile_answers`; the line items they cover."""
    statement = fill(load("allocation/create_profiles"), profile=profile.select_list())
    con.execute(statement, used_params(statement, {**params, **profile.params}))
    [(profiles, line_items)] = con.sql("select count(*)::bigint, coalesce(sum(line_item_count), "
                                       "0)::bigint from allocation_profiles").fetchall()
    # Chunk by chunk: when tags differ row by row nearly every line item is a profile of its
    # own, and the month's profiles at once would hold it all in memory.
    for after in range(0, max(int(profiles), 1), PROFILE_CHUNK):
        bounds = {"after": after, "last": after + PROFILE_CHUNK}
        chunk = pl.from_arrow(con.sql(load("allocation/profiles_chunk"), params=bounds)
                              .to_arrow_table())
        assert isinstance(chunk, pl.DataFrame)
        answers = answers_for(chunk, ruleset).to_arrow()  # noqa: F841 (read by DuckDB, by name)
        into = ("create or replace temp table allocation_profile_answers as" if after == 0
                else "insert into allocation_profile_answers")
        con.execute(fill(load("allocation/create_profile_answers"), into=into), bounds)
    return int(line_items)


def answers_for(profiles: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """Per profile: its dimensions, the rules that set them, its CapEx treatment, lineage, and
    the splits that may take its line items. Pure."""
    dimensions = list(ruleset.dimensions)
    rule_columns = [RULE_COLUMN.format(dimension=d) for d in dimensions]
    lineage = pl.struct(
        pl.struct([pl.col(c).alias(d) for c, d in zip(rule_columns, dimensions, strict=True)])
        .alias("x_rules"),
        pl.lit(ruleset.version).alias("x_rules_version"),
        pl.lit("1").alias("AllocatedRatio"),
    ).struct.json_encode()
    flags = [pl.col(SPLIT_FLAG.format(index=index)) for index in range(len(ruleset.splits))]
    split_indexes = (pl.concat_list([pl.when(flag).then(pl.lit(index, dtype=pl.Int32))
                                     for index, flag in enumerate(flags)]).list.drop_nulls()
                     if flags else pl.lit([], dtype=pl.List(pl.Int32)))
    return (
        assign_dimensions(profiles.lazy(), ruleset)
        .with_columns(
            pl.struct(dimensions).struct.json_encode().alias("x_dimensions"),
            lineage.alias("AllocatedMethodDetails"),
            (pl.any_horizontal(flags) if flags else pl.lit(False)).alias("split_may_take"),
            split_indexes.alias("split_indexes"),
        )
        .select(ANSWERS)
        .collect()
    )


def _write_tagged_rows(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, profile: Profile,
                       params: dict[str, object]) -> None:
    """Every line item once, with its profile's answers: into `allocated_costs`, or into
    `split_rows` (and `split_candidates`) when a split may take it."""
    match = profile.join_condition("p")
    values = {**params, **profile.params}
    for target, split_may_take, columns in (("allocated_costs", False, ""),
                                            ("split_rows", True, splits.split_columns())):
        statement = fill(load("allocation/insert_tagged_rows"), target=target,
                         profile_match=match, split_columns=columns)
        con.execute(statement, used_params(statement, {**values,
                                                       "split_may_take": split_may_take}))
    if ruleset.splits:
        statement = fill(load("allocation/insert_split_candidates"), profile_match=match)
        con.execute(statement, used_params(statement, values))


def _record(con: duckdb.DuckDBPyConnection, run_id: str, period: BillingPeriod, ruleset: RuleSet,
            status: str, line_item_rows: int, allocated_rows: int, totals: list[dict[str, str]],
            message: str | None = None) -> None:
    con.execute(load("allocation/record_allocation"), {
        "run_id": run_id, "period": str(period), "rules_version": ruleset.version,
        "status": status, "line_item_rows": line_item_rows, "allocated_rows": allocated_rows,
        "totals": json.dumps(totals), "message": message})


def _gate(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> None:
    broken = con.sql(load("audits/conservation"), params={"period": str(period)}).fetchall()
    if broken:
        source, currency, sb, ab, se, ae, sn, an = broken[0]
        raise ConservationError(
            f"{period}: allocation does not conserve cost for {len(broken)} (source, currency) "
            f"pair(s); first: {source} {currency} line items BilledCost {sb} vs allocated {ab}, "
            f"EffectiveCost {se} vs {ae}, line items {sn} vs {an}. Nothing was published; the "
            "previous allocation stays.")
