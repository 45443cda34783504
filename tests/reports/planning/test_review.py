"""The monthly review: projections with known answers, budget lines, pilots, movers, and the
same numbers in the CSV files and the workbook's Review sheet."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.budgets import Budgets, budgets_from_mapping
from costalloc.reports.planning.exports import export_review
from costalloc.reports.planning.review import Review, project, render, review
from tests.reports.planning.budget_data import daily, spend

OCT = BillingPeriod(2026, 10)
D = Decimal


# --- projections on hand-made daily series ---------------------------------------------------

def test_a_steady_month_projects_the_same_both_ways() -> None:
    projection = project(D(100), [D(10)] * 10, 30)
    assert (projection.linear, projection.curve) == (D(300), D(300))
    assert (projection.run_rate, projection.daily_trend) == (D(10), D(0))


def test_a_climbing_month_projects_its_trend_not_its_average() -> None:
    usage = [D(10 * day) for day in range(1, 11)]  # 10, 20, … 100: 550 in 10 days
    projection = project(D(550), usage, 31)
    assert projection.linear == D(1705)  # 550 / 10 × 31
    # the last 7 days lie on 10 × day, so days 11..31 add 10 × (11 + … + 31) = 4410
    assert projection.curve == D(4960)
    assert (projection.run_rate, projection.daily_trend) == (D(100), D(10))


def test_a_falling_trend_never_projects_negative_spend() -> None:
    usage = [D(70 - 10 * i) for i in range(7)]  # 70 … 10: the trend reaches 0 on day 8
    projection = project(D(280), usage, 30)
    assert projection.curve == D(280)
    assert projection.linear == D(1200)


def test_purchases_are_booked_once_the_usage_is_extrapolated() -> None:
    # a 1,000 fee on day 1 and 10 a day of usage: linear repeats the fee, the curve does not
    projection = project(D(1100), [D(10)] * 10, 30)
    assert projection.linear == D(3300)
    assert projection.curve == D(1300)


def test_a_closed_month_projects_to_its_actual() -> None:
    usage = [D(day) for day in range(1, 31)]
    projection = project(D(465), usage, 30)
    assert projection.linear == projection.curve == D(465)
    with pytest.raises(ValueError, match="no day"):
        project(D(0), [], 30)


# --- a hand-made month ------------------------------------------------------------------------

BUDGETS = {
    "currency": "USD",
    "lines": [
        {"id": "experiments", "owner": "ml-lead", "thresholds": [50, 80, 100],
         "dimensions": {"workstream": "experimentation", "environment": "development"},
         "amounts": [{"month": "2026-10", "amount": 2000}]},
        {"id": "platform", "owner": "platform-lead",
         "dimensions": {"workstream": "platform_build", "environment": "production"},
         "amounts": [{"from": "2026-01", "monthly": 1500}]},
    ],
    "pilots": [
        {"id": "rag-pilot", "owner": "ml-lead", "start": "2026-09-15", "end": "2026-10-06",
         "cap": 150, "dimensions": {"workstream": "experimentation", "cost_center": "CC-3200"}},
        {"id": "later-pilot", "owner": "ml-lead", "start": "2026-11-01", "end": "2026-12-31",
         "cap": 10, "dimensions": {"cost_center": "CC-3200"}},
    ],
}


def _month(con: duckdb.DuckDBPyConnection) -> None:
    """September: 100 a day of experimentation. October to the 10th: experimentation usage
    climbing 10, 20, … 100 plus a 1,000 purchase; platform 50 a day; a pilot (in staging)
    that spends after its end and past its cap; unbudgeted risk cost; a little EUR."""
    daily(con, "2026-09", {d: "100" for d in range(1, 31)})
    spend(con, "2026-09-20", "100", environment="staging", cost_center="CC-3200")
    daily(con, "2026-10", {d: str(10 * d) for d in range(1, 11)})
    spend(con, "2026-10-01", "1000", category="Purchase", service="Savings Plans")
    daily(con, "2026-10", {d: "50" for d in range(1, 11)}, workstream="platform_build",
          environment="production", service="Amazon EC2", billed="60")
    spend(con, "2026-10-05", "50", environment="staging", cost_center="CC-3200")
    spend(con, "2026-10-09", "30", environment="staging", cost_center="CC-3200")
    spend(con, "2026-10-03", "25", workstream="risk_compliance", environment="production",
          service="AWS CloudTrail")
    spend(con, "2026-10-04", "7", currency="EUR")


@pytest.fixture
def month(warehouse: duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, Budgets]:
    _month(warehouse)
    return warehouse, budgets_from_mapping(BUDGETS)


def test_each_line_shows_budget_actual_variance_use_projections_and_thresholds(
        month: tuple[duckdb.DuckDBPyConnection, Budgets]) -> None:
    con, budgets = month
    result = review(con, budgets, OCT)
    assert result.as_of == date(2026, 10, 10) and result.elapsed_days == 10
    experiments, platform = result.lines
    assert experiments.budget == D(2000)
    assert experiments.actual == D(1550)  # 550 of usage + the 1,000 purchase
    assert experiments.variance == D(-450)
    assert experiments.used == D("0.775")
    assert experiments.projection is not None
    assert experiments.projection.linear == D(4805)  # 1,550 / 10 × 31
    assert experiments.projection.curve == D(5960)  # 1,550 + the climbing usage's 4,410
    assert experiments.crossed == (D(50),)
    assert experiments.projected_crossings == (D(80), D(100))
    assert experiments.status(OCT) == "50% crossed"
    assert experiments.other_currencies == (("EUR", D(7)),)

    assert (platform.budget, platform.actual, platform.billed) == (D(1500), D(500), D(600))
    assert platform.projection is not None
    assert platform.projection.curve == platform.projection.linear == D(1550)
    assert platform.crossed == () and platform.projected_crossings == (D(80), D(100))
    assert platform.status(OCT) == "projected to cross 80%"

    assert result.spend["USD"] == (D(2255), D(2155))  # platform bills 60 a day, costs 50
    assert result.uncovered == {"USD": D(105), "EUR": D(7)}  # pilot (staging) + risk; no EUR line
    assert result.overlapping("USD") == []


def test_pilots_past_their_end_or_over_their_cap_are_flagged(
        month: tuple[duckdb.DuckDBPyConnection, Budgets]) -> None:
    con, budgets = month
    rag, later = review(con, budgets, OCT).pilots
    assert (rag.to_date, rag.in_period, rag.after_end) == (D(180), D(80), D(30))
    assert rag.over_cap and rag.past_end and rag.flagged
    assert rag.last_spend_day == date(2026, 10, 9)
    assert rag.crossed == (D(80), D(100))
    assert rag.status() == ("past its end (2026-10-06): 30.00 USD spent after it; over its cap "
                            "by 30.00 USD")
    assert not later.flagged and later.status() == "not started" and later.to_date == 0

    as_of_fifth = review(con, budgets, OCT, as_of=date(2026, 10, 5)).pilots[0]
    assert (as_of_fifth.to_date, as_of_fifth.past_end, as_of_fifth.over_cap) == (D(150), False,
                                                                                 False)
    assert as_of_fifth.status() == "running, 1 day(s) left, 100% of the cap reached"


def test_movers_say_what_changed_since_last_month(
        month: tuple[duckdb.DuckDBPyConnection, Budgets]) -> None:
    con, budgets = month
    result = review(con, budgets, OCT)
    workstreams = {m.value: m for m in result.movers
                   if m.currency == "USD" and m.dimension == "workstream"}
    assert list(workstreams) == ["experimentation", "platform_build", "risk_compliance"]
    experimentation = workstreams["experimentation"]
    assert (experimentation.previous, experimentation.current) == (D(3100), D(1630))
    assert experimentation.change == D(-1470) and experimentation.what == "down"
    assert experimentation.explain() == "Amazon SageMaker −2,470.00; Savings Plans +1,000.00 (new)"
    assert workstreams["platform_build"].what == "new"
    assert workstreams["platform_build"].explain() == "Amazon EC2 +500.00 (new)"
    # every dimension's movers add up to the month's change when all values are listed
    environments = [m for m in result.movers if m.currency == "USD"
                    and m.dimension == "environment"]
    assert sum((m.change for m in environments), D(0)) == D(2155) - D(3100)
    # August was never loaded: September is compared with nothing rather than all "new"
    assert review(con, budgets, BillingPeriod(2026, 9)).movers == ()


def test_the_table_shows_the_numbers_rounded_and_flags_what_needs_attention(
        month: tuple[duckdb.DuckDBPyConnection, Budgets]) -> None:
    con, budgets = month
    text = render(review(con, budgets, OCT))
    assert "Budget review, 2026-10 — as of 2026-10-10 (10 of 31 days; month to date)" in text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("experiments "))
    experiments, details = lines[at], lines[at + 1]
    for cell in ("2,000.00", "1,550.00", "−450.00", "77.5%", "5,960.00", "!! 50% crossed"):
        assert cell in experiments  # budget, actual, variance, used, usage curve, status
    assert details == ("    owner ml-lead; thresholds 50%, 80%, 100% (crossed: 50%); linear "
                       "projection 4,805.00")
    assert "total (lines do not overlap)" in text and "3,500.00" in text and "2,050.00" in text
    assert "outside every line: 105.00 USD" in text
    assert "!! past its end (2026-10-06)" in text
    assert "[USD] workstream=experimentation" in text


def test_the_table_fits_120_columns_and_never_cuts_a_line_id(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    _month(warehouse)
    long_id = "experimentation-development-opex-fy2026-q4-eu-west-1"  # 52 characters
    budgets = budgets_from_mapping({**BUDGETS, "lines": [
        {**BUDGETS["lines"][0], "id": long_id, "owner": "head-of-machine-learning@example.com"},
        BUDGETS["lines"][1]], "pilots": [
        {**BUDGETS["pilots"][0], "id": "retrieval-augmented-support-pilot-2026"}]})
    text = render(review(warehouse, budgets, OCT))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120
    # the whole id and its figures on one line; the status that no longer fits beside them on
    # the next, whole, then the owner
    assert _block_of(lines, long_id)[:3] == [
        f"{long_id} Effective    2,000.00    1,550.00   −450.00   77.5%    5,960.00",
        "    !! 50% crossed",
        "    owner head-of-machine-learning@example.com; thresholds 50%, 80%, 100% (crossed: 50%); "
        "linear projection 4,805.00"]
    pilot = _block_of(lines, "retrieval-augmented-support-pilot-2026")
    assert pilot[1].startswith("    !! past its end (2026-10-06): 30.00 USD spent after it")
    # the longest id a budgets file allows (81) gets a line of its own, its figures under it
    longest = "x" * 81
    budgets = budgets_from_mapping({**BUDGETS, "lines": [
        {**BUDGETS["lines"][0], "id": longest}, BUDGETS["lines"][1]]})
    lines = render(review(warehouse, budgets, OCT)).splitlines()
    assert max(len(line) for line in lines) <= 120
    block = _block_of(lines, longest)
    platform = next(line for line in lines if line.startswith("platform "))
    assert block[0] == longest and block[1].strip().startswith("Effective    2,000.00")
    assert block[1].index("2,000.00") == platform.index("1,500.00")  # in the budget column


def _block_of(lines: list[str], line_id: str) -> list[str]:
    """The row of `line_id` and the indented lines under it."""
    at = next(i for i, line in enumerate(lines)
              if line == line_id or line.startswith(f"{line_id} "))
    block = [lines[at]]
    for line in lines[at + 1:]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


def test_the_review_csv_files_carry_the_exact_numbers(
        month: tuple[duckdb.DuckDBPyConnection, Budgets], tmp_path: Path) -> None:
    con, budgets = month
    extract = export_review(con, review(con, budgets, OCT), "csv", tmp_path)
    assert [p.name for p in extract.files] == [
        "review_2026-10.csv", "review_pilots_2026-10.csv", "review_movers_2026-10.csv"]
    lines = {r["budget_line"]: r for r in _csv(extract.files[0])}
    experiments = lines["experiments"]
    assert D(experiments["budget"]) == D(2000) and D(experiments["actual"]) == D(1550)
    assert D(experiments["percent_used"]) == D("77.5")
    assert D(experiments["usage_curve_projection"]) == D(5960)
    assert (experiments["thresholds_crossed"], experiments["projected_to_cross"]) == (
        "50%", "80%, 100%")
    assert (experiments["basis"], experiments["as_of"], experiments["days_elapsed"]) == (
        "EffectiveCost", "2026-10-10", "10")
    assert D(lines["platform"]["BilledCost"]) == D(600)
    pilots = {r["pilot"]: r for r in _csv(extract.files[1])}
    assert (pilots["rag-pilot"]["over_cap"], pilots["rag-pilot"]["past_end"]) == ("true", "true")
    assert D(pilots["rag-pilot"]["spent_after_end"]) == D(30)
    movers = _csv(extract.files[2])
    assert all(D(m["current"]) - D(m["previous"]) == D(m["change"]) for m in movers)


def test_the_review_sheet_comes_first_in_the_workbook(
        month: tuple[duckdb.DuckDBPyConnection, Budgets], tmp_path: Path) -> None:
    con, budgets = month
    result = review(con, budgets, OCT)
    workbook = export_review(con, result, "xlsx", tmp_path).main
    assert workbook.name == "review_2026-10.xlsx"
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames[0] == "Review" and "Summary" in book.sheetnames
    rows = [[c.value for c in row] for row in book["Review"].iter_rows()]
    header = next(r for r in rows if r[0] == "Line")
    experiments = dict(zip(header, next(r for r in rows if r[0] == "experiments"), strict=True))
    assert (experiments["Budget"], experiments["Actual"], experiments["Variance"]) == (
        2000, 1550, -450)
    assert experiments["Used"] == pytest.approx(0.775)
    assert experiments["Usage-curve projection"] == 5960
    assert experiments["Crossed"] == "50%" and experiments["Status"].startswith("50% crossed")
    total = next(r for r in rows if r[0] == "Total (lines do not overlap)")
    assert total[5:7] == [3500, 2050]
    pilot = next(r for r in rows if r[0] == "rag-pilot")
    assert "yes" in pilot and any(str(c).startswith("past its end") for c in pilot if c)
    about = {r[0]: r[1] for r in book["About"].iter_rows(values_only=True) if r[0]}
    assert "Review" in about


def test_review_of_the_demo_warehouse_ties_out_to_the_allocation(
        published: duckdb.DuckDBPyConnection) -> None:
    budgets = budgets_from_mapping({
        "currency": "USD", "lines": [
            {"id": "ml", "owner": "o", "dimensions": {"workstream": "experimentation"},
             "amounts": [{"month": "2026-10", "amount": 1000}]},
            {"id": "cc", "owner": "o", "dimensions": {"cost_center": ["CC-1100", "CC-2200"]},
             "amounts": [{"month": "2026-10", "amount": 100000}]}]})
    result: Review = review(published, budgets, OCT)
    ml, cc = result.lines
    expected = published.sql(
        "select sum(EffectiveCost), sum(BilledCost) from allocated_costs where x_billing_period "
        "= '2026-10' and BillingCurrency = 'USD' and workstream = 'experimentation'").fetchall()[0]
    assert (ml.actual, ml.billed) == (expected[0], expected[1])
    by_cost_center = published.sql(
        "select sum(EffectiveCost) from allocated_costs where x_billing_period = '2026-10' and "
        "BillingCurrency = 'USD' and x_dimensions->>'cost_center' in ('CC-1100', 'CC-2200')"
    ).fetchall()[0]
    assert cc.actual == by_cost_center[0]
    assert result.complete and ml.projection is not None
    assert ml.projection.linear == ml.projection.curve == ml.actual  # a closed month
    assert result.overlapping("USD") == [("ml", "cc")]
    assert ml.status(OCT) == "over budget" and ml.crossed == (D(80), D(100))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))
