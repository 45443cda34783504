"""Unit economics: allocated cost per unit of what the spend produced (tickets resolved, orders
routed, inferences served), per dimension value and month, with its trend.

The units come from a driver table the user keeps: CSV or Parquet with the columns `period`
(YYYY-MM), `value` (a value of the dimension, e.g. a workstream), `units`, and optionally
`unit` (what is counted). Zero or missing units are reported as such, never as infinity.

Units are counted without a currency; cost is not. Without exchange rates a value's cost per
unit is reported per billing currency: a value billed in USD and EUR gets two rows, USD cost ÷
units and EUR cost ÷ units, each *a part* of the cost per unit (marked so), never added. With
rates (`core.exchange`) each month's cost is converted into the reporting currency at that
month's rates first, and one cost per unit is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from costalloc.core.errors import ConfigurationError
from costalloc.core.exchange import ExchangeRates
from costalloc.core.period import BillingPeriod
from costalloc.sql import load

_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class UnitCost:
    period: str
    value: str
    currency: str
    cost: Decimal
    units: Decimal | None  # None: the driver table has no units for this value and month
    unit: str
    previous: Decimal | None = None  # cost per unit the month before, when both exist
    # the cost as billed, per currency: one entry, or (converted) every currency it came from
    billed_in: tuple[tuple[str, Decimal], ...] = ()
    converted: bool = False  # `cost` is the billed amounts converted into `currency`
    partial: bool = False  # not converted, and the value also has cost in another currency

    @property
    def per_unit(self) -> Decimal | None:
        if not self.units:
            return None
        return (self.cost / self.units).quantize(_PLACES)

    @property
    def change(self) -> Decimal | None:
        """Month-over-month change of the cost per unit, as a fraction."""
        if self.per_unit is None or not self.previous:
            return None
        return (self.per_unit - self.previous) / self.previous


def read_units(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise ConfigurationError(f"units file `{path}` not found (CSV or Parquet with columns "
                                 "period, value, units[, unit])")
    frame = (pl.read_parquet(path) if path.suffix == ".parquet" else
             pl.read_csv(path, infer_schema=False))
    missing = {"period", "value", "units"} - set(frame.columns)
    if missing:
        raise ConfigurationError(f"units file `{path}` lacks column(s) "
                                 f"{', '.join(sorted(missing))} (expected period, value, units"
                                 "[, unit])")
    units = frame.select(
        pl.col("period").cast(pl.String), pl.col("value").cast(pl.String),
        pl.col("units").cast(pl.String).str.strip_chars().str.to_decimal(scale=10),
        (pl.col("unit").cast(pl.String) if "unit" in frame.columns else pl.lit("units"))
        .alias("unit"))
    bad = units.filter(pl.col("units").is_null() | (pl.col("units") < 0))
    if bad.height:
        row = bad.row(0, named=True)
        raise ConfigurationError(f"units file `{path}`: `{row['value']}` in {row['period']} has "
                                 "units that are not a number >= 0")
    return units


def unit_costs(con: duckdb.DuckDBPyConnection, units: pl.DataFrame, first: BillingPeriod,
               last: BillingPeriod, *, dimension: str = "workstream",
               basis: str = "EffectiveCost", rates: ExchangeRates | None = None) -> list[UnitCost]:
    """Cost per unit for every (month, dimension value, currency) the units table names; with
    `rates`, for every (month, value) in the reporting currency (each month at its rates)."""
    spend = con.sql(load("reports/unit_cost_spend"), params={
        "dimension": dimension, "first_period": str(first.previous()),
        "last_period": str(last)}).fetchall()
    billed: dict[tuple[str, str], dict[str, Decimal]] = {}  # (period, value) → currency → cost
    for p, v, c, b, e in spend:
        billed.setdefault((str(p), str(v)), {})[str(c)] = Decimal(b if basis == "BilledCost" else e)
    if rates is not None:
        rates.require((p, c) for (p, _), amounts in billed.items() for c in amounts)
    cost: dict[tuple[str, str, str], Decimal] = {}
    for (p, v), amounts in billed.items():
        if rates is None:
            cost |= {(p, v, c): amount for c, amount in amounts.items()}
        else:
            cost[(p, v, rates.currency)] = sum(
                (rates.convert(amount, c, p) for c, amount in amounts.items()), Decimal(0))
    counted = {(str(r["period"]), str(r["value"])): (r["units"], str(r["unit"]))
               for r in units.group_by("period", "value").agg(
                   pl.col("units").sum(), pl.col("unit").first()).iter_rows(named=True)}
    results = []
    for period in [str(p) for p in first.through(last)]:
        previous_period = str(BillingPeriod.parse(period).previous())
        for (p, value, currency), amount in sorted(cost.items()):
            if p != period or not any(v == value for (_, v) in counted):
                continue
            units_now, unit = counted.get((period, value), (None, _unit_of(counted, value)))
            before = cost.get((previous_period, value, currency))
            units_before = counted.get((previous_period, value), (None, unit))[0]
            previous = (before / units_before).quantize(_PLACES) if before is not None \
                and units_before else None
            amounts = billed[(p, value)]
            results.append(UnitCost(
                period, value, currency, amount,
                Decimal(units_now) if units_now is not None else None, unit, previous,
                billed_in=tuple(sorted(amounts.items())) if rates else ((currency, amount),),
                converted=rates is not None, partial=rates is None and len(amounts) > 1))
    return results


def _unit_of(counted: dict[tuple[str, str], tuple[Decimal, str]], value: str) -> str:
    return next((unit for (_, v), (_, unit) in counted.items() if v == value), "units")


def render(results: list[UnitCost], dimension: str, basis: str,
           rates: ExchangeRates | None = None) -> str:
    if not results:
        return "No allocated cost for the values the units file names."
    title = (f"Cost per unit by {dimension} ({basis}), in {rates.currency} at the rates in "
             f"`{rates.path}`" if rates else
             f"Cost per unit by {dimension} ({basis}), per billing currency")
    lines = [title,
             f"{'period':<8} {dimension:<24} {'cost':>16}     {'units':>16} {'per unit':>16} "
             f"{'vs prior':>9}  unit"]
    for r in results:
        per_unit = f"{r.per_unit:,.4f}" if r.per_unit is not None else (
            "no units" if r.units is not None else "no data")
        per_unit += " ¹" if r.partial else "  "
        units = f"{r.units:,.0f}" if r.units is not None else "—"
        change = f"{r.change * 100:+.1f}%" if r.change is not None else ""
        lines.append(f"{r.period:<8} {r.value:<24} {r.cost:>16,.2f} {r.currency} {units:>16} "
                     f"{per_unit:>16} {change:>9}  {r.unit}")
    if any(r.partial for r in results):
        lines += ["¹ billed in several currencies: each row is one currency's cost ÷ all the "
                  "units, a part of the cost per unit in that currency, not the whole of it.",
                  "  The parts are never added. For one cost per unit give exchange rates: "
                  "--rates FILE --currency CODE, or `exchange_rates` in the configuration "
                  "(docs/currencies.md)."]
    if rates:
        used = sorted({(r.period, c) for r in results for c, _ in r.billed_in
                       if c != rates.currency})
        lines += [f"converted at {rates.quote(p, c).describe()}" for p, c in used]
    return "\n".join(lines)


def to_frame(results: list[UnitCost]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"period": r.period, "value": r.value, "currency": r.currency,
          "cost": r.cost.quantize(_PLACES),
          "units": r.units, "unit": r.unit, "cost_per_unit": r.per_unit,
          "previous_cost_per_unit": r.previous,
          "change": float(r.change) if r.change is not None else None,
          "cost_as_billed": "; ".join(f"{c} {a:f}" for c, a in r.billed_in),
          "part_of_cost_per_unit": r.partial} for r in results],
        schema_overrides={"cost": pl.Decimal(38, 10), "units": pl.Decimal(38, 10),
                          "cost_per_unit": pl.Decimal(38, 10),
                          "previous_cost_per_unit": pl.Decimal(38, 10)})
