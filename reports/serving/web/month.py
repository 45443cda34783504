"""What the month page shows, read from the totals kept per published run.

Every figure comes from `month_spend` / `month_unallocated` (see `allocation.aggregates`), rows
already summed per day and dimension combination, so a month of ten million line items costs a
few thousand rows here. A run published before those tables existed is summed once from
`allocated_costs` and kept in memory by run id (`MonthTotals`). Amounts stay exact `Decimal`s;
only the page rounds them (`amounts.py`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import duckdb
import polars as pl

from costalloc.allocation.aggregates import MonthAggregates, compute_aggregates
from costalloc.allocation.model import RuleSet
from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.budgets import Budgets
from costalloc.reports.planning.forecast import Events, Forecast, project_series
from costalloc.reports.planning.review import (
    LineReview,
    PilotReview,
    SpendRow,
    last_day,
    review_line,
    review_pilot,
)
from costalloc.sql import load

Basis = Literal["BilledCost", "EffectiveCost"]
BASES: tuple[Basis, ...] = ("BilledCost", "EffectiveCost")
TREND_MONTHS = 12
FORECAST_MONTHS = 6
FORECAST_HISTORY = 6
TOP_UNALLOCATED = 10
_MEMO_RUNS = 48  # runs whose totals were summed here (published before the tables existed)


@dataclass(frozen=True)
class Run:
    """A billing period's newest published allocation."""

    period: BillingPeriod
    run_id: str
    rules_version: str
    published_at: datetime | None
    line_items: int
    allocated_rows: int


def published_runs(con: duckdb.DuckDBPyConnection) -> list[Run]:
    """Every period with a published allocation, oldest first."""
    rows = con.sql(load("reports/finance_allocations"),
                   params={"first_period": "0000-01", "last_period": "9999-12"})
    names = rows.columns
    runs = []
    for row in rows.fetchall():
        item = dict(zip(names, row, strict=True))
        if item["x_allocation_run_id"] is None:
            continue
        runs.append(Run(BillingPeriod.parse(item["x_billing_period"]), item["x_allocation_run_id"],
                        item["x_rules_version"], item["x_published_at"], item["x_line_items"],
                        item["x_allocated_rows"]))
    return runs


class MonthTotals:
    """`month_spend` / `month_unallocated` rows by run id: from the warehouse, or summed from
    `allocated_costs` once (for runs published before those tables) and kept in memory."""

    def __init__(self, ruleset: RuleSet | None) -> None:
        self._ruleset = ruleset
        self._computed: OrderedDict[str, MonthAggregates] = OrderedDict()
        self._lock = threading.Lock()  # requests run in a thread pool

    def spend(self, con: duckdb.DuckDBPyConnection, runs: Sequence[Run]) -> pl.DataFrame:
        """The `month_spend` rows of `runs`."""
        stored = _frame(con, "reports/web_month_spend", [r.run_id for r in runs])
        found = set(stored["x_allocation_run_id"].unique()) if stored is not None else set()
        frames = [stored] if stored is not None else []
        frames += [_polars(self._aggregates(con, run).spend) for run in runs
                   if run.run_id not in found]
        frames = [f for f in frames if not f.is_empty()]
        return pl.concat(frames, how="diagonal_relaxed") if frames else _empty_spend()

    def unallocated(self, con: duckdb.DuckDBPyConnection, run: Run) -> pl.DataFrame:
        stored = _frame(con, "reports/web_month_unallocated", [run.run_id])
        if stored is not None and not stored.is_empty():
            return stored
        if stored is not None and _has_spend(con, run):
            return stored  # kept with the run: this month has no unallocated cost
        return _polars(self._aggregates(con, run).unallocated)

    def _aggregates(self, con: duckdb.DuckDBPyConnection, run: Run) -> MonthAggregates:
        with self._lock:
            if run.run_id not in self._computed:
                ruleset = (self._ruleset if self._ruleset is not None
                           and self._ruleset.version == run.rules_version else None)
                self._computed[run.run_id] = compute_aggregates(con, run.period, run.run_id,
                                                                ruleset)
                while len(self._computed) > _MEMO_RUNS:
                    self._computed.popitem(last=False)
            self._computed.move_to_end(run.run_id)
            return self._computed[run.run_id]


def _frame(con: duckdb.DuckDBPyConnection, statement: str,
           run_ids: list[str]) -> pl.DataFrame | None:
    """The statement's rows, or None when the warehouse predates the month tables."""
    try:
        arrow = con.sql(load(statement), params={"run_ids": run_ids}).to_arrow_table()
    except duckdb.CatalogException:
        return None
    return _polars(arrow)


def _has_spend(con: duckdb.DuckDBPyConnection, run: Run) -> bool:
    frame = _frame(con, "reports/web_month_spend", [run.run_id])
    return frame is not None and not frame.is_empty()


def _polars(arrow: Any) -> pl.DataFrame:
    frame = pl.from_arrow(arrow)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _empty_spend() -> pl.DataFrame:
    money = pl.Decimal(38, 10)
    return pl.DataFrame(schema={
        "x_allocation_run_id": pl.String, "x_billing_period": pl.String,
        "BillingCurrency": pl.String, "x_charge_day": pl.Date, "x_is_usage": pl.Boolean,
        "environment": pl.String, "workstream": pl.String, "cost_type": pl.String,
        "x_dimensions": pl.String, "x_capex_project": pl.String, "x_capex_phase": pl.String,
        "x_capex_approval": pl.String, "x_useful_life_months": pl.Int32,
        "x_allocated_rows": pl.Int64, "BilledCost": money, "EffectiveCost": money})


# --- the month page's figures -----------------------------------------------------------------

@dataclass(frozen=True)
class Amounts:
    rows: int
    billed: Decimal
    effective: Decimal

    def on(self, basis: Basis) -> Decimal:
        return self.billed if basis == "BilledCost" else self.effective


@dataclass(frozen=True)
class Cell:
    """Allocated cost of one environment × workstream × cost type."""

    environment: str
    workstream: str
    cost_type: str
    amounts: Amounts


@dataclass(frozen=True)
class Capitalization:
    """Cost of one cost type and capitalization project, phase and approval."""

    cost_type: str
    project: str | None
    phase: str | None
    approval: str | None
    useful_life_months: int | None
    amounts: Amounts


@dataclass(frozen=True)
class MatchingRule:
    dimension: str
    rule: str
    rows: int


@dataclass(frozen=True)
class Unallocated:
    """Unallocated cost of one service or account, with the rules that match it."""

    key: str | None  # ServiceName or SubAccountId
    name: str | None  # SubAccountName for accounts
    dimensions: tuple[str, ...]  # the dimensions left unallocated
    amounts: Amounts
    rules: tuple[MatchingRule, ...] | None  # None: not computed (rules of the run not at hand)

    def catching(self, dimension: str) -> MatchingRule | None:
        """The first rule (file order) that sets `dimension` and matches this cost."""
        return next((r for r in self.rules or () if r.dimension == dimension), None)


@dataclass(frozen=True)
class TrendMonth:
    period: BillingPeriod
    by_workstream: Mapping[str, Amounts]

    def total(self, basis: Basis) -> Decimal:
        return sum((a.on(basis) for a in self.by_workstream.values()), Decimal(0))


@dataclass
class Month:
    """One period in one currency, everything the month page shows."""

    run: Run
    currency: str
    currencies: Mapping[str, Amounts]  # every currency of the period
    cells: list[Cell]
    capitalization: list[Capitalization]
    services: list[Unallocated]
    accounts: list[Unallocated]
    unallocated: Amounts
    trend: list[TrendMonth]
    basis: Basis = "EffectiveCost"  # what the charts (and the trend table) show
    budgets: Budgets | None = None
    lines: list[LineReview] = field(default_factory=list)
    pilots: list[PilotReview] = field(default_factory=list)
    as_of: date | None = None
    forecast: Forecast | None = None

    @property
    def total(self) -> Amounts:
        return self.currencies.get(self.currency, Amounts(0, Decimal(0), Decimal(0)))


def build_month(con: duckdb.DuckDBPyConnection, totals: MonthTotals, runs: Sequence[Run],
                run: Run, currency: str | None, *, basis: Basis = "EffectiveCost",
                budgets: Budgets | None = None, events: Events | None = None) -> Month:
    """The month of `run` in `currency` (default: the period's largest currency)."""
    earlier = [r for r in runs if r.period <= run.period]
    window = earlier[-max(TREND_MONTHS, FORECAST_HISTORY):]
    pilot_start = min((BillingPeriod.containing(p.start) for p in budgets.pilots),
                      default=run.period) if budgets else run.period
    wanted = {r.run_id: r for r in window} | {r.run_id: r for r in earlier
                                              if r.period >= pilot_start}
    spend = totals.spend(con, list(wanted.values()))
    own = spend.filter(pl.col("x_allocation_run_id") == run.run_id)
    currencies = {row["BillingCurrency"]: _amounts(row) for row in _summed(own, ["BillingCurrency"])}
    chosen: str = currency if currency is not None and currency in currencies else max(
        currencies, key=lambda c: (abs(currencies[c].billed), c), default=currency or "USD")
    mine = own.filter(pl.col("BillingCurrency") == chosen)
    unallocated = totals.unallocated(con, run).filter(pl.col("BillingCurrency") == chosen)
    month = Month(
        run, chosen, dict(sorted(currencies.items())),
        cells=[Cell(r["environment"], r["workstream"], r["cost_type"], _amounts(r))
               for r in _summed(mine, ["environment", "workstream", "cost_type"])],
        capitalization=[Capitalization(r["cost_type"], r["x_capex_project"], r["x_capex_phase"],
                                       r["x_capex_approval"], r["x_useful_life_months"],
                                       _amounts(r))
                        for r in _summed(mine, ["cost_type", "x_capex_project", "x_capex_phase",
                                                "x_capex_approval", "x_useful_life_months"])],
        services=_top_unallocated(unallocated, ["ServiceName"]),
        accounts=_top_unallocated(unallocated, ["SubAccountId", "SubAccountName"]),
        unallocated=_total(unallocated),
        trend=_trend(spend, [r for r in earlier if r.run_id in wanted][-TREND_MONTHS:], chosen),
        basis=basis)
    history_runs = earlier[-FORECAST_HISTORY:]
    month.forecast = project_series(
        _history(spend, history_runs), run.period.next(), FORECAST_MONTHS, events or Events(),
        history_asked=FORECAST_HISTORY, basis="EffectiveCost")
    if budgets is not None:
        _review(month, spend, budgets, run.period)
    return month


def _summed(frame: pl.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """`frame` summed by `keys`, largest |BilledCost| first, then by key (nulls last)."""
    if frame.is_empty():
        return []
    grouped = frame.group_by(keys).agg(pl.col("x_allocated_rows").sum(),
                                       pl.col("BilledCost").sum(), pl.col("EffectiveCost").sum())
    rows = grouped.to_dicts()
    rows.sort(key=lambda r: [(r[k] is None, str(r[k] or "")) for k in keys])
    return rows


def _amounts(row: Mapping[str, Any]) -> Amounts:
    return Amounts(int(row["x_allocated_rows"]), Decimal(row["BilledCost"]),
                   Decimal(row["EffectiveCost"]))


def _total(frame: pl.DataFrame) -> Amounts:
    if frame.is_empty():
        return Amounts(0, Decimal(0), Decimal(0))
    return Amounts(int(frame["x_allocated_rows"].sum()),
                   sum(frame["BilledCost"].to_list(), Decimal(0)),
                   sum(frame["EffectiveCost"].to_list(), Decimal(0)))


def _top_unallocated(frame: pl.DataFrame, keys: list[str]) -> list[Unallocated]:
    """Unallocated cost by `keys`, largest |BilledCost| first, at most `TOP_UNALLOCATED`."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in frame.to_dicts():
        groups[tuple(row[k] for k in keys)].append(row)
    found = []
    for key, rows in groups.items():
        dimensions = sorted({d for r in rows for d in r["x_unallocated_dimensions"].split(", ")},
                            key=("environment", "workstream", "cost_type").index)
        computed = [r["x_matching_rules"] for r in rows]
        rules: tuple[MatchingRule, ...] | None = None
        if all(c is not None for c in computed):
            counted: dict[tuple[str, str], int] = {}
            for text in computed:
                for item in json.loads(text):
                    pair = (item["dimension"], item["rule"])
                    counted[pair] = counted.get(pair, 0) + int(item["rows"])
            rules = tuple(MatchingRule(d, r, n) for (d, r), n in counted.items())
        amounts = Amounts(sum(int(r["x_allocated_rows"]) for r in rows),
                          sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0)),
                          sum((Decimal(r["EffectiveCost"]) for r in rows), Decimal(0)))
        found.append(Unallocated(key[0], key[1] if len(key) > 1 else None, tuple(dimensions),
                                 amounts, rules))
    found.sort(key=lambda u: (-abs(u.amounts.billed), u.key or ""))
    return found[:TOP_UNALLOCATED]


def _trend(spend: pl.DataFrame, runs: Sequence[Run], currency: str) -> list[TrendMonth]:
    months = []
    for run in runs:
        mine = spend.filter((pl.col("x_allocation_run_id") == run.run_id)
                            & (pl.col("BillingCurrency") == currency))
        months.append(TrendMonth(run.period, {r["workstream"]: _amounts(r)
                                              for r in _summed(mine, ["workstream"])}))
    return months


def _history(spend: pl.DataFrame, runs: Sequence[Run]) -> dict[tuple[str, str], dict[
        BillingPeriod, Decimal]]:
    """{(currency, workstream): {period: EffectiveCost}}: what the forecast continues."""
    history: dict[tuple[str, str], dict[BillingPeriod, Decimal]] = defaultdict(dict)
    for run in runs:
        mine = spend.filter(pl.col("x_allocation_run_id") == run.run_id)
        for row in _summed(mine, ["BillingCurrency", "workstream"]):
            history[(row["BillingCurrency"], row["workstream"])][run.period] = Decimal(
                row["EffectiveCost"])
    return dict(history)


def spend_rows(spend: pl.DataFrame, names: Sequence[str]) -> list[SpendRow]:
    """Daily spend by the values of the dimensions `names` (what budgets and pilots read)."""
    if spend.is_empty():
        return []
    columns = [f"_dimension_{i}" for i in range(len(names))]
    keyed = spend.with_columns(
        pl.col("x_dimensions").str.json_path_match(f"$.{name}").alias(column)
        for name, column in zip(names, columns, strict=True))
    rows = []
    for row in _summed(keyed, ["x_billing_period", "BillingCurrency", "x_charge_day",
                               "x_is_usage", *columns]):
        rows.append(SpendRow(row["x_billing_period"], row["BillingCurrency"], row["x_charge_day"],
                             bool(row["x_is_usage"]),
                             {n: row[c] for n, c in zip(names, columns, strict=True)},
                             Decimal(row["BilledCost"]), Decimal(row["EffectiveCost"])))
    return rows


def _review(month: Month, spend: pl.DataFrame, budgets: Budgets, period: BillingPeriod) -> None:
    """Budget lines and pilots as `costalloc review` judges them, as of the month's last day
    with allocated cost (the review's default)."""
    rows = spend_rows(spend, budgets.dimension_names)
    own = [r for r in rows if r.period == str(period)]
    in_month = [r.day for r in own if period.first_day <= r.day <= last_day(period)]
    as_of = max(in_month, default=None)
    month.as_of = as_of
    month.budgets = budgets
    month.lines = [review_line(line, own, period, as_of) for line in budgets.lines]
    cutoff = as_of or last_day(period)
    earlier = [r for r in rows if BillingPeriod.parse(r.period) < period and r.day <= cutoff]
    for pilot in budgets.pilots:
        started = pilot.start <= last_day(period)
        month.pilots.append(review_pilot(pilot, earlier + own if started else [], period, cutoff))

