"""The month page's totals, kept per published allocation run.

The web view's month page shows a month by environment, workstream, cost type and CapEx
lineage, its daily spend (for budgets and pilots), its unallocated cost by service and account,
and the months before it. Summing a month of millions of allocated rows on every request would
take seconds, so the publish transaction writes these totals once, keyed by the run id that
`allocation_log` records (`write_aggregates`, called by `allocation.publish`):

- `month_spend`: allocated cost by currency, charge day, usage or not, every dimension and the
  CapEx lineage — tens of thousands of rows for a month of ten million;
- `month_unallocated`: unallocated cost by service and account, with the rules that match it.

Which rule would catch unallocated cost is answered as `rules check` answers "which rules
match": the rules are matched against the distinct profiles of the unallocated line items
(`allocation.matching`). A rule that sets a dimension left `unallocated` and
whose condition holds caught those line items but found no declared value for them (a missing
or unmapped tag, an account the mapping lacks); when none matches, nothing would catch them.

`compute_aggregates` gives the same rows without writing them, for a run published before the
tables existed (the web view then computes them once and keeps them in memory).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from costalloc.allocation.matching import MATCH, matched_profiles
from costalloc.allocation.model import RuleSet
from costalloc.allocation.profiles import profile_of
from costalloc.core.period import BillingPeriod
from costalloc.sql import fill, load, used_params

AGGREGATE_TABLES = ("month_spend", "month_unallocated")
_GROUP = {"x_group_currency": "BillingCurrency", "x_group_service": "ServiceName",
          "x_group_account": "SubAccountId", "x_group_account_name": "SubAccountName",
          "x_group_dimensions": "x_unallocated_dimensions"}
_SUMS = {"x_group_rows": "x_allocated_rows", "x_group_billed": "BilledCost",
         "x_group_effective": "EffectiveCost"}


@dataclass(frozen=True)
class MonthAggregates:
    """One run's `month_spend` and `month_unallocated` rows."""

    spend: pa.Table
    unallocated: pa.Table


def write_aggregates(con: duckdb.DuckDBPyConnection, period: BillingPeriod, run_id: str,
                     ruleset: RuleSet) -> None:
    """Replace `period`'s month totals with those of run `run_id` (inside its transaction)."""
    params = {"period": str(period), "run_id": run_id}
    for table in AGGREGATE_TABLES:
        con.execute(fill(load("allocation/delete_month_aggregates"), table=table),
                    {"period": str(period)})
    con.execute(fill(load("allocation/insert_month_spend"), rows=load("allocation/month_spend")),
                params)
    con.register("month_unallocated_rows", unallocated_rows(con, period, run_id, ruleset))
    try:
        con.execute(load("allocation/insert_month_unallocated"))
    finally:
        con.unregister("month_unallocated_rows")


def compute_aggregates(con: duckdb.DuckDBPyConnection, period: BillingPeriod, run_id: str,
                       ruleset: RuleSet | None) -> MonthAggregates:
    """The rows `write_aggregates` keeps, summed from the allocated rows now (nothing written).
    Without the run's rules, `x_matching_rules` stays null."""
    spend = con.sql(load("allocation/month_spend"),
                    params={"period": str(period), "run_id": run_id}).to_arrow_table()
    return MonthAggregates(spend, unallocated_rows(con, period, run_id, ruleset))


def unallocated_rows(con: duckdb.DuckDBPyConnection, period: BillingPeriod, run_id: str,
                     ruleset: RuleSet | None) -> pa.Table:
    """`month_unallocated`'s rows for `period`: unallocated cost by currency, service, account
    and the dimensions left unallocated, with the rules that match it."""
    profile = profile_of(ruleset if ruleset is not None else RuleSet())
    statement = fill(load("allocation/unallocated_profiles"), profile=profile.select_list())
    arrow = con.sql(statement, params=used_params(statement, {"period": str(period),
                                                              **profile.params})).to_arrow_table()
    profiles = pl.from_arrow(arrow)
    assert isinstance(profiles, pl.DataFrame)
    keys = list(_GROUP)
    if ruleset is None or profiles.is_empty():
        matches = profiles.select(*keys, *_SUMS).with_columns(
            pl.lit(None, dtype=pl.String).alias("x_matching_rules"))
    else:
        matches = _with_matching_rules(matched_profiles(profiles, ruleset), ruleset, keys)
    grouped = (matches.group_by(keys, maintain_order=True)
               .agg(*(pl.col(name).sum() for name in _SUMS), pl.col("x_matching_rules").first())
               .rename({**_GROUP, **_SUMS})
               .with_columns(pl.lit(run_id).alias("x_allocation_run_id"),
                             pl.lit(str(period)).alias("x_billing_period")))
    return grouped.to_arrow()


def _with_matching_rules(assigned: pl.DataFrame, ruleset: RuleSet, keys: list[str]) -> pl.DataFrame:
    """Per group (`keys`): its sums and, as JSON, each rule that sets one of the group's
    unallocated dimensions with the allocated rows where its condition holds (file order)."""
    pairs = [(index, rule.id, dimension) for index, rule in enumerate(ruleset.rules)
             for dimension in rule.set if dimension in ("environment", "workstream", "cost_type")]
    counts = [pl.when(pl.col(MATCH.format(index=index))
                      & pl.col("x_group_dimensions").str.contains(dimension, literal=True))
              .then(pl.col("x_group_rows")).otherwise(0).sum().alias(f"_rows_{n}")
              for n, (index, _, dimension) in enumerate(pairs)]
    grouped = assigned.group_by(keys, maintain_order=True).agg(
        *(pl.col(name).sum() for name in _SUMS), *counts)
    rules = [json.dumps([{"dimension": dimension, "rule": rule_id, "rows": row[f"_rows_{n}"]}
                         for n, (_, rule_id, dimension) in enumerate(pairs)
                         if row[f"_rows_{n}"]])
             for row in grouped.iter_rows(named=True)]
    return grouped.select(*keys, *_SUMS).with_columns(
        pl.Series("x_matching_rules", rules, dtype=pl.String))
