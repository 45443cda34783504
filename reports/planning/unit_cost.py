"""Unit economics: allocated cost per unit of what the spend produced (tickets resolved, orders
routed, inferences served), per dimension value and month, with its trend.

The units come from a driver table the user keeps: CSV or Parquet with the columns `period`
(YYYY-MM), `value` (a value of the dimension, e.g. a workstream), `units`, and optionally
`unit` (what is counted). Zero or missing units are reported as such, never as infinity.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from costalloc.core.errors import ConfigurationError
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
               basis: str = "EffectiveCost") -> list[UnitCost]:
    """Cost per unit for every (month, dimension value, currency) the units table names."""
    spend = con.sql(load("reports/unit_cost_spend"), params={
        "dimension": dimension, "first_period": str(first.previous()),
        "last_period": str(last)}).fetchall()
    cost = {(p, v, c): (b if basis == "BilledCost" else e) for p, v, c, b, e in spend}
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
            results.append(UnitCost(period, value, currency, Decimal(amount),
                                    Decimal(units_now) if units_now is not None else None,
                                    unit, previous))
    return results


def _unit_of(counted: dict[tuple[str, str], tuple[Decimal, str]], value: str) -> str:
    return next((unit for (_, v), (_, unit) in counted.items() if v == value), "units")


def render(results: list[UnitCost], dimension: str, basis: str) -> str:
    if not results:
        return "No allocated cost for the values the units file names."
    lines = [f"Cost per unit by {dimension} ({basis})",
             f"{'period':<8} {dimension:<24} {'cost':>16} {'units':>16} {'per unit':>14} "
             f"{'vs prior':>9}  unit"]
    for r in results:
        per_unit = f"{r.per_unit:,.4f}" if r.per_unit is not None else (
            "no units" if r.units is not None else "no data")
        units = f"{r.units:,.0f}" if r.units is not None else "—"
        change = f"{r.change * 100:+.1f}%" if r.change is not None else ""
        lines.append(f"{r.period:<8} {r.value:<24} {r.cost:>14,.2f} {r.currency} {units:>16} "
                     f"{per_unit:>14} {change:>9}  {r.unit}")
    return "\n".join(lines)


def to_frame(results: list[UnitCost]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"period": r.period, "value": r.value, "currency": r.currency, "cost": r.cost,
          "units": r.units, "unit": r.unit, "cost_per_unit": r.per_unit,
          "previous_cost_per_unit": r.previous,
          "change": float(r.change) if r.change is not None else None} for r in results],
        schema_overrides={"cost": pl.Decimal(38, 10), "units": pl.Decimal(38, 10),
                          "cost_per_unit": pl.Decimal(38, 10),
                          "previous_cost_per_unit": pl.Decimal(38, 10)})
