"""What a rules file does to loaded data, before anyone publishes it: which rules match, which
never do, which are shadowed by earlier ones, and how much cost each dimension covers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import polars as pl

from costalloc.allocation.engine import RULE_COLUMN
from costalloc.allocation.matching import MATCH, matched_profiles
from costalloc.allocation.model import UNALLOCATED, RuleSet
from costalloc.allocation.profiles import profile_of
from costalloc.allocation.publish import AllocationResult, allocate_period
from costalloc.core.currencies import quantum
from costalloc.core.exchange import ExchangeRates
from costalloc.core.period import BillingPeriod
from costalloc.sql import fill, load, used_params

CURRENCY_COLUMN = "x_profile_currency"  # profile_weights.sql: the line items' BillingCurrency


@dataclass
class RuleUse:
    rule_id: str
    matched_rows: int = 0
    fired_rows: int = 0  # rows where this rule set at least one dimension
    open_rows: int = 0  # matched rows where one of its dimensions was left to the default


@dataclass
class RulesReport:
    """Per currency (amounts in two currencies are never added): how much |BilledCost| the
    period has and how much of it the rules give each dimension a value."""

    period: BillingPeriod
    line_items: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency → |BilledCost|
    rows: dict[str, int] = field(default_factory=dict)  # currency → line items
    # dimension → currency → |BilledCost| allocated by rules
    covered: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    uses: dict[str, RuleUse] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        return sorted(self.cost)

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

    def coverage(self, dimension: str, currency: str) -> Decimal:
        """The share of `currency`'s |BilledCost| the rules give `dimension` a value."""
        cost = self.cost.get(currency, Decimal(0))
        return self.covered.get(dimension, {}).get(currency, Decimal(0)) / cost if cost \
            else Decimal(0)

    def converted_cost(self, rates: ExchangeRates) -> Decimal:
        """|BilledCost| of every currency in the reporting currency (exact)."""
        return sum((rates.convert(cost, currency, self.period)
                    for currency, cost in self.cost.items()), Decimal(0))

    def converted_coverage(self, dimension: str, rates: ExchangeRates) -> Decimal:
        """The share of all |BilledCost|, converted at the period's rates, the rules place."""
        whole = self.converted_cost(rates)
        part = sum((rates.convert(amount, currency, self.period) for currency, amount
                    in self.covered.get(dimension, {}).items()), Decimal(0))
        return part / whole if whole else Decimal(0)


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
    assigned = matched_profiles(frame, ruleset)
    line_items = assigned["line_item_count"]
    report.line_items = int(line_items.sum())
    for (currency,), rows in assigned.group_by(CURRENCY_COLUMN):
        magnitude = rows["billed_magnitude"]
        report.cost[str(currency)] = Decimal(magnitude.sum() or 0)
        report.rows[str(currency)] = int(rows["line_item_count"].sum())
        for dimension in ruleset.dimensions:
            report.covered.setdefault(dimension, {})[str(currency)] = Decimal(
                magnitude.filter(rows[dimension] != UNALLOCATED).sum() or 0)
    for index, rule in enumerate(ruleset.rules):
        use = report.uses[rule.id]
        matched = assigned[MATCH.format(index=index)]
        fired = assigned.select(pl.any_horizontal(
            [pl.col(RULE_COLUMN.format(dimension=d)) == rule.id for d in rule.set])).to_series()
        left_open = assigned.select(pl.any_horizontal(
            [pl.col(RULE_COLUMN.format(dimension=d)).is_null() for d in rule.set])).to_series()
        use.matched_rows = int(line_items.filter(matched).sum())
        use.fired_rows = int(line_items.filter(fired.fill_null(False)).sum())
        use.open_rows = int(line_items.filter(matched & left_open).sum())
    return report


def render_report(report: RulesReport, ruleset: RuleSet,
                  rates: ExchangeRates | None = None) -> str:
    """Coverage per currency, side by side and never added; with `rates`, also of all the
    period's cost converted into the reporting currency."""
    currencies = report.currencies
    if rates is not None:
        rates.require((report.period, c) for c in currencies)
    magnitudes = ", ".join(f"{c} {_money(report.cost[c], c)} ({report.rows[c]} line items)"
                           for c in currencies)
    lines = [f"On {report.line_items} line items of {report.period} (|BilledCost|: "
             f"{magnitudes or 'none'}):"]
    columns = [*currencies, *([f"all in {rates.currency}"] if rates and currencies else [])]
    lines.append("  share of |BilledCost| allocated by rules, per currency"
                 + (f" and converted into {rates.currency}" if rates and currencies else "")
                 + ":")
    lines.append(f"  {'':<12} " + " ".join(f"{c:>14}" for c in columns))
    for dimension in ruleset.dimensions:
        shares = [report.coverage(dimension, c) for c in currencies]
        if rates and currencies:
            shares.append(report.converted_coverage(dimension, rates))
        lines.append(f"  {dimension:<12} " + " ".join(f"{share * 100:>13.2f}%" for share in shares))
    if rates and currencies:
        total = report.converted_cost(rates)
        lines.append(f"  all |BilledCost| in {rates.currency}: {_money(total, rates.currency)}, "
                     f"at the rates in `{rates.path}`:")
        lines += [f"    {rates.quote(report.period, c).describe()}" for c in currencies
                  if c != rates.currency]
    lines.append("  rules (matched rows / rows where the rule set a dimension):")
    for use in report.uses.values():
        flag = ("  never matched" if use.rule_id in report.never_matched else
                "  shadowed by earlier rules" if use.rule_id in report.shadowed else
                "  never yields a declared value" if use.rule_id in report.fruitless else "")
        lines.append(f"    {use.rule_id:<36} {use.matched_rows:>9} / {use.fired_rows:<9}{flag}")
    return "\n".join(lines)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(quantum(currency), ROUND_HALF_UP):,}"


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
