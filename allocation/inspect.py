"""What a rules file does to loaded data, before anyone publishes it: which rules match, which
never do, which are shadowed by earlier ones, and how much cost each dimension covers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import polars as pl

from costalloc.allocation.conditions import TAGS_LOWER, compile_condition, compile_effective
from costalloc.allocation.engine import RULE_COLUMN, assign_dimensions
from costalloc.allocation.model import UNALLOCATED, RuleSet
from costalloc.allocation.profiles import profile_of
from costalloc.allocation.publish import AllocationResult, allocate_period
from costalloc.core.period import BillingPeriod
from costalloc.sql import fill, load, used_params


@dataclass
class RuleUse:
    rule_id: str
    matched_rows: int = 0
    fired_rows: int = 0  # rows where this rule set at least one dimension
    open_rows: int = 0  # matched rows where one of its dimensions was left to the default


@dataclass
class RulesReport:
    period: BillingPeriod
    line_items: int = 0
    cost: Decimal = Decimal(0)
    covered: dict[str, Decimal] = field(default_factory=dict)  # dimension → |cost| allocated
    uses: dict[str, RuleUse] = field(default_factory=dict)

    @property
    def never_matched(self) -> list[str]:
        return [u.rule_id for u in self.uses.values() if u.matched_rows == 0]

    @property
    def shadowed(self) -> list[str]:
        """Rules that match rows but never set anything: earlier rules always got there first."""
        return [u.rule_id for u in self.uses.values()
                if u.matched_rows and not u.fired_rows and not u.open_rows]

    @property
    def fruitless(self) -> list[str]:
        """Rules that match rows but never yield a declared value (e.g. tag values no alias maps)."""
        return [u.rule_id for u in self.uses.values()
                if u.matched_rows and not u.fired_rows and u.open_rows]

    def coverage(self, dimension: str) -> Decimal:
        return self.covered.get(dimension, Decimal(0)) / self.cost if self.cost else Decimal(0)


def rule_statistics(con: duckdb.DuckDBPyConnection, ruleset: RuleSet,
                    period: BillingPeriod) -> RulesReport:
    """Match every rule against the period's line items, through their distinct profiles
    weighted by the line items and cost each stands for (nothing is written)."""
    report = RulesReport(period, uses={r.id: RuleUse(r.id) for r in ruleset.rules})
    profile = profile_of(ruleset)
    statement = fill(load("allocation/profile_weights"), profile=profile.select_list())
    frame = pl.from_arrow(con.sql(statement, params=used_params(
        statement, {"period": str(period), **profile.params})).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    flags = [(compile_condition(rule.when, ruleset) & compile_effective(rule.effective))
             .alias(f"_match_{index}") for index, rule in enumerate(ruleset.rules)]
    assigned = assign_dimensions(frame.lazy(), ruleset).with_columns(
        pl.col("Tags").cast(pl.String).str.to_lowercase().alias(TAGS_LOWER)
    ).with_columns(flags).collect()
    line_items = assigned["line_item_count"]
    magnitude = assigned["billed_magnitude"]
    report.line_items = int(line_items.sum())
    report.cost = Decimal(magnitude.sum() or 0)
    for dimension in ruleset.dimensions:
        report.covered[dimension] = Decimal(
            magnitude.filter(assigned[dimension] != UNALLOCATED).sum() or 0)
    for index, rule in enumerate(ruleset.rules):
        use = report.uses[rule.id]
        matched = assigned[f"_match_{index}"]
        fired = assigned.select(pl.any_horizontal(
            [pl.col(RULE_COLUMN.format(dimension=d)) == rule.id for d in rule.set])).to_series()
        left_open = assigned.select(pl.any_horizontal(
            [pl.col(RULE_COLUMN.format(dimension=d)).is_null() for d in rule.set])).to_series()
        use.matched_rows = int(line_items.filter(matched).sum())
        use.fired_rows = int(line_items.filter(fired.fill_null(False)).sum())
        use.open_rows = int(line_items.filter(matched & left_open).sum())
    return report


def render_report(report: RulesReport, ruleset: RuleSet) -> str:
    lines = [f"On {report.line_items} line items of {report.period} "
             f"(|BilledCost| {report.cost.quantize(Decimal('0.01')):,}):"]
    for dimension in ruleset.dimensions:
        lines.append(f"  {dimension:<12} {report.coverage(dimension) * 100:6.2f}% of cost allocated "
                     "by rules")
    lines.append("  rules (matched rows / rows where the rule set a dimension):")
    for use in report.uses.values():
        flag = ("  never matched" if use.rule_id in report.never_matched else
                "  shadowed by earlier rules" if use.rule_id in report.shadowed else
                "  never yields a declared value" if use.rule_id in report.fruitless else "")
        lines.append(f"    {use.rule_id:<36} {use.matched_rows:>9} / {use.fired_rows:<9}{flag}")
    return "\n".join(lines)


def diff_rules(con: duckdb.DuckDBPyConnection, old: RuleSet, new: RuleSet,
               period: BillingPeriod) -> str:
    """How totals per dimension value move from `old` to `new` (both dry runs, nothing kept)."""
    before = allocate_period(con, old, period, "diff-old", publish=False)
    after = allocate_period(con, new, period, "diff-new", publish=False)
    table = _by_value(before) | {key: (Decimal(0), Decimal(0)) for key in _by_value(after)
                                 if key not in _by_value(before)}
    moved_after = _by_value(after)
    lines = [f"Rules {old.version} → {new.version}, {period} (BilledCost):",
             f"  {'dimension':<12} {'value':<24} {'currency':<8} {'old':>16} {'new':>16} "
             f"{'change':>16}"]
    for key in sorted(table):
        old_billed = table[key][0]
        new_billed = moved_after.get(key, (Decimal(0), Decimal(0)))[0]
        change = new_billed - old_billed
        if change:
            dimension, value, currency = key
            lines.append(f"  {dimension:<12} {value:<24} {currency:<8} {_cents(old_billed):>16} "
                         f"{_cents(new_billed):>16} {_cents(change):>16}")
    if len(lines) == 2:
        lines.append("  no total moves")
    return "\n".join(lines)


def _by_value(result: AllocationResult) -> dict[tuple[str, str, str], tuple[Decimal, Decimal]]:
    return {(t.dimension, t.value, t.currency): (t.billed, t.effective)
            for t in result.by_dimension}


def _cents(amount: Decimal) -> str:
    """`amount` to the cent, halves away from zero; a change that rounds to nothing is 0.00,
    never -0.00."""
    cents = amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{cents.copy_abs() if cents.is_zero() else cents:,}"
