"""The review and the forecast as tables for CSV files: exact amounts, one row per fact.

`review_<period>.csv` (one row per budget line), `review_pilots_<period>.csv` (one per pilot),
`review_movers_<period>.csv` (one per mover) and `forecast_<start>.csv` (one per currency ×
workstream × month, the actual months first). Money keeps ten decimals, as in the warehouse;
percentages keep four.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from costalloc.reports.planning.forecast import Forecast
from costalloc.reports.planning.review import Review, percent_text
from costalloc.reports.planning.trend import exact

MONEY = pa.decimal128(38, 10)
PERCENT = pa.decimal128(20, 4)
RATIO = pa.decimal128(38, 10)
TEXT = pa.string()

Columns = Sequence[tuple[str, pa.DataType]]


def _table(columns: Columns, rows: Sequence[Sequence[Any]]) -> pa.Table:
    schema = pa.schema([pa.field(name, kind) for name, kind in columns])
    arrays = [pa.array([row[i] for row in rows], type=kind)
              for i, (_, kind) in enumerate(columns)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else exact(value)


def _percent(ratio: Decimal | None) -> Decimal | None:
    return None if ratio is None else (ratio * 100).quantize(Decimal("0.0001"))


def _percents(values: Sequence[Decimal]) -> str:
    return ", ".join(percent_text(v) for v in values)


REVIEW_LINE_COLUMNS: Columns = (
    ("billing_period", TEXT), ("budget_line", TEXT), ("owner", TEXT), ("description", TEXT),
    ("dimensions", TEXT), ("BillingCurrency", TEXT), ("basis", TEXT), ("budget", MONEY),
    ("actual", MONEY), ("BilledCost", MONEY), ("EffectiveCost", MONEY), ("variance", MONEY),
    ("percent_used", PERCENT), ("linear_projection", MONEY), ("usage_curve_projection", MONEY),
    ("projected_percent_used", PERCENT), ("thresholds", TEXT), ("thresholds_crossed", TEXT),
    ("projected_to_cross", TEXT), ("status", TEXT), ("as_of", TEXT), ("days_elapsed", pa.int32()),
    ("days_in_month", pa.int32()), ("other_currencies", TEXT))

REVIEW_PILOT_COLUMNS: Columns = (
    ("billing_period", TEXT), ("pilot", TEXT), ("owner", TEXT), ("description", TEXT),
    ("dimensions", TEXT), ("BillingCurrency", TEXT), ("basis", TEXT), ("start", TEXT),
    ("end", TEXT), ("cap", MONEY), ("spend_to_date", MONEY), ("spend_in_period", MONEY),
    ("percent_used", PERCENT), ("spent_after_end", MONEY), ("last_spend_day", TEXT),
    ("over_cap", pa.bool_()), ("past_end", pa.bool_()), ("thresholds_crossed", TEXT),
    ("status", TEXT))

REVIEW_MOVER_COLUMNS: Columns = (
    ("billing_period", TEXT), ("previous_period", TEXT), ("BillingCurrency", TEXT),
    ("basis", TEXT), ("dimension", TEXT), ("value", TEXT), ("previous", MONEY),
    ("current", MONEY), ("change", MONEY), ("percent_change", PERCENT), ("what", TEXT),
    ("what_changed", TEXT))

FORECAST_COLUMNS: Columns = (
    ("BillingCurrency", TEXT), ("workstream", TEXT), ("billing_period", TEXT), ("kind", TEXT),
    ("basis", TEXT), ("actual", MONEY), ("conservative", MONEY), ("expected", MONEY),
    ("accelerated", MONEY), ("seasonal_factor", RATIO), ("events", TEXT),
    ("growth_per_month", MONEY), ("growth_percent_per_month", PERCENT), ("level", MONEY),
    ("r_squared", RATIO))


def review_tables(review: Review) -> dict[str, pa.Table]:
    """{file stem: table} of the review: `review`, `review_pilots`, `review_movers`."""
    period = str(review.period)
    lines = []
    for r in review.lines:
        p = r.projection
        lines.append((
            period, r.line.id, r.line.owner, r.line.description, r.line.scope.describe(),
            r.line.currency, r.line.basis, r.budget, exact(r.actual), exact(r.billed),
            exact(r.effective), _money(r.variance), _percent(r.used),
            _money(p.linear if p else None), _money(p.curve if p else None),
            _percent(r.projected_used), _percents(r.line.thresholds),
            _percents(r.crossed), _percents(r.projected_crossings), r.status(review.period),
            str(review.as_of) if review.as_of else None, review.elapsed_days,
            review.days_in_month,
            "; ".join(f"{c} {exact(a)}" for c, a in r.other_currencies) or None))
    pilots = [(
        period, p.pilot.id, p.pilot.owner, p.pilot.description, p.pilot.scope.describe(),
        p.pilot.currency, p.pilot.basis, str(p.pilot.start), str(p.pilot.end), p.pilot.cap,
        exact(p.to_date), exact(p.in_period), _percent(p.used), exact(p.after_end),
        str(p.last_spend_day) if p.last_spend_day else None, p.over_cap, p.past_end,
        _percents(p.crossed), p.status()) for p in review.pilots]
    movers = [(
        period, str(review.period.previous()), m.currency, review.basis, m.dimension, m.value,
        exact(m.previous), exact(m.current), exact(m.change), _percent(m.change_ratio), m.what,
        m.explain()) for m in review.movers]
    return {"review": _table(REVIEW_LINE_COLUMNS, lines),
            "review_pilots": _table(REVIEW_PILOT_COLUMNS, pilots),
            "review_movers": _table(REVIEW_MOVER_COLUMNS, movers)}


def forecast_table(forecast: Forecast) -> pa.Table:
    rows: list[tuple[Any, ...]] = []
    for s in forecast.series:
        history = dict(s.history)
        growth = (exact(s.growth), _percent(s.growth_rate), exact(s.level),
                  exact(s.trend.r_squared) if s.trend and s.trend.r_squared is not None
                  else None)
        for period in forecast.history:
            if period in history:
                rows.append((s.currency, s.workstream, str(period), "actual", forecast.basis,
                             exact(history[period]), None, None, None, None, None, *growth))
        for i, period in enumerate(s.months):
            rows.append((s.currency, s.workstream, str(period), "forecast", forecast.basis, None,
                         *(s.scenarios[n][i] for n in ("conservative", "expected",
                                                       "accelerated")),
                         exact(s.factors[i]), "; ".join(s.notes[i]) or None, *growth))
    return _table(FORECAST_COLUMNS, rows)
