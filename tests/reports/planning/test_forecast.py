"""The forecast: a known linear trend is continued exactly, scenarios, seasonality and events
apply as declared, and the workbook carries a native line chart of actuals + scenarios."""

from __future__ import annotations

import csv
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.exports import export_forecast
from costalloc.reports.planning.forecast import (
    Events,
    events_from_mapping,
    forecast,
    load_events,
    project_series,
    render,
)
from costalloc.reports.planning.specfile import SpecFileError

D = Decimal
NOV = BillingPeriod(2026, 11)
HISTORY = [BillingPeriod(2026, m) for m in range(5, 11)]  # May … October


def _linear(start: int = 100, step: int = 10) -> dict[BillingPeriod, Decimal]:
    return {p: D(start + step * i) for i, p in enumerate(HISTORY)}


def test_a_series_with_a_linear_trend_is_continued_exactly() -> None:
    result = project_series({("USD", "platform_build"): _linear()}, NOV, 6, Events())
    series = result.series[0]
    assert series.scenarios["expected"] == tuple(D(v) for v in (160, 170, 180, 190, 200, 210))
    assert (series.level, series.growth) == (D(150), D(10))
    assert series.growth_rate == D(10) / D(150)
    assert series.trend is not None and series.trend.r_squared == D(1)
    # ±5 percentage points of the level (150 → 7.50 a month) around the trend's growth
    assert series.scenarios["conservative"][:2] == (D("152.5"), D(155))
    assert series.scenarios["accelerated"][:2] == (D("167.5"), D(185))
    assert result.months[0] == NOV and result.months[-1] == BillingPeriod(2027, 4)


def test_the_trend_is_least_squares_not_the_average() -> None:
    # 100 + 8 × month plus noise that is orthogonal to the months: the fit must find 8
    noisy = dict(zip(HISTORY, (D(100), D(118), D(106), D(114), D(142), D(140)), strict=True))
    series = project_series({("USD", "experimentation"): noisy}, NOV, 1, Events()).series[0]
    assert series.growth == D(8) and series.level == D(140)
    assert series.scenarios["expected"] == (D(148),)  # not the average (120), nor last + 0


def test_seasonality_is_divided_out_of_the_history_and_applied_ahead() -> None:
    events = events_from_mapping({"seasonality": {"all": {12: 1.5}, "platform_build": {1: 2}}})
    history = {BillingPeriod(2026, m): D(100 + 10 * (m - 7)) for m in range(7, 12)}  # Jul…Nov
    series = project_series({("USD", "platform_build"): history}, BillingPeriod(2026, 12), 2,
                            events).series[0]
    assert series.scenarios["expected"] == (D(150) * D("1.5"), D(160) * 2)
    assert series.factors == (D("1.5"), D(2))


def test_known_events_add_or_scale_every_scenario_in_their_months() -> None:
    events = events_from_mapping({"currency": "USD", "events": [
        {"month": "2026-12", "workstream": "experimentation", "amount": 1000,
         "description": "fine-tuning run"},
        {"from": "2027-01", "workstream": "experimentation", "change": -50,
         "description": "pilots wound down"},
        {"month": "2026-12", "workstream": "risk_compliance", "amount": 300,
         "description": "audit"}]})
    result = project_series({("USD", "experimentation"): _linear(),
                             ("EUR", "experimentation"): _linear()}, NOV, 3, events)
    by_key = {(s.currency, s.workstream): s for s in result.series}
    usd = by_key[("USD", "experimentation")]
    assert usd.scenarios["expected"] == (D(160), D(1170), D(90))  # 170 + 1,000; 180 × 50 %
    assert usd.notes[1] == ("2026-12 experimentation +1,000 USD: fine-tuning run",)
    assert by_key[("EUR", "experimentation")].scenarios["expected"] == (D(160), D(170), D(90))
    audit = by_key[("USD", "risk_compliance")]  # no history: the event alone
    assert audit.scenarios["expected"] == (D(0), D(300), D(0)) and audit.history == ()
    _, totals = result.totals("USD")
    assert totals["expected"] == [D(160), D(1470), D(90)]


def test_a_falling_trend_stops_at_zero() -> None:
    series = project_series({("USD", "experimentation"): _linear(100, -20)}, NOV, 3,
                            Events()).series[0]
    assert series.scenarios["expected"] == (D(0), D(0), D(0))
    assert series.growth_rate is None  # the level (0) is not positive


def test_months_not_loaded_are_not_counted_as_zero_spend() -> None:
    history = {BillingPeriod(2026, 8): D(100), BillingPeriod(2026, 10): D(120)}  # September absent
    series = project_series({("USD", "platform_build"): history}, NOV, 1, Events()).series[0]
    assert series.growth == D(10) and series.scenarios["expected"] == (D(130),)


def test_forecast_from_the_warehouse_extends_each_workstream(
        published: duckdb.DuckDBPyConnection) -> None:
    result = forecast(published, NOV, 2, history=6)
    assert result.history == (BillingPeriod(2026, 9), BillingPeriod(2026, 10))
    rows = published.sql(
        "select x_billing_period, workstream, sum(EffectiveCost) from allocated_costs "
        "where BillingCurrency = 'USD' group by all").fetchall()
    actual = {(str(p), str(w)): D(a) for p, w, a in rows}
    for series in result.of("USD"):
        september = actual.get(("2026-09", series.workstream), D(0))
        october = actual.get(("2026-10", series.workstream), D(0))
        # two months: the line through them; November continues it (never below zero)
        assert series.scenarios["expected"][0] == max(D(0), 2 * october - september)
    text = render(result)
    assert "Assumptions" in text and "history: 2026-09..2026-10, 2 loaded month(s) of the 6" in text


def test_the_forecast_workbook_has_a_line_chart_of_actuals_and_three_scenarios(
        tmp_path: Path) -> None:
    events = events_from_mapping({"currency": "USD", "events": [
        {"month": "2026-12", "workstream": "platform_build", "amount": 50,
         "description": "load test"}]})
    result = project_series({("USD", "platform_build"): _linear(),
                             ("USD", "experimentation"): _linear(200, 5)}, NOV, 6, events)
    workbook = export_forecast(result, "xlsx", tmp_path).main
    sheet = openpyxl.load_workbook(workbook)["Forecast"]
    assert len(sheet._charts) == 3  # all workstreams + one per workstream
    with zipfile.ZipFile(workbook) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist()
                  if n.startswith("xl/charts/chart")]
    assert len(charts) == 3 and all("<c:lineChart>" in c for c in charts)
    for chart in charts:  # native series over the sheet's cells, not pictures or copies
        assert chart.count("<c:ser>") == 4
        assert all(f"<c:v>{name}</c:v>" in chart for name in ("Actual", "Conservative",
                                                                "Expected", "Accelerated"))
        assert "Forecast!$A$" in chart and "Forecast!$D$" in chart
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows.index(["Month", "Actual", "Conservative", "Expected", "Accelerated",
                         "Events and seasonality"])
    table = rows[header + 1: header + 13]
    assert [r[0] for r in table] == [str(p) for p in HISTORY] + [
        "2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"]
    assert table[0][1] == 300 and table[5][1] == 375  # both workstreams' actual months
    assert table[6][3] == 160 + 230  # November, expected
    assert table[7][3] == 170 + 235 + 50  # December with the load test
    assert any(str(r[0]).startswith("basis: EffectiveCost") for r in rows[:10])

    written = export_forecast(result, "csv", tmp_path).main
    with written.open(newline="") as stream:
        forecast_rows = list(csv.DictReader(stream))
    december = next(r for r in forecast_rows if r["workstream"] == "platform_build"
                    and r["billing_period"] == "2026-12")
    assert D(december["expected"]) == D(220) and "load test" in december["events"]
    assert sum(1 for r in forecast_rows if r["kind"] == "actual") == 12


EVENTS_BAD = """\
currency: USD
scenarios: {conservative: 5, accelerated: -5, pessimistic: 1}
seasonality:
  all: {13: 1.1}
  marketing: {1: 0.5}
events:
  - {month: 2026-12, workstream: experimentation, amount: 10, change: 5, description: both}
  - {month: 2026-12, workstream: growth, change: 5, description: unknown workstream}
  - {workstream: experimentation, amount: 5, description: no month}
"""


def test_a_bad_events_file_lists_every_problem_with_file_line(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(EVENTS_BAD)
    with pytest.raises(SpecFileError) as raised:
        load_events(path)
    message = str(raised.value)
    for expected in (
            f"{path}:2: field `scenarios.pessimistic`: unknown scenario `pessimistic`",
            f"{path}:2: field `scenarios`: the conservative delta is above the accelerated one",
            f"{path}:4: field `seasonality.all.13`: month 13: months are 1 (January) to 12",
            f"{path}:5: field `seasonality.marketing`: `marketing` is neither `all` nor a "
            "declared workstream",
            f"{path}:7: event #1: give `amount` (added to the month) or `change`",
            f"{path}:8: event #2 field `workstream`: `growth` is not a declared workstream",
            f"{path}:9: event #3: give `month` (one month) or `from` (+ `to`)"):
        assert expected in message, (expected, message)
