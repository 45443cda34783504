"""`budgets.yaml`: amounts spread and summed exactly, every problem reported with file:line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costalloc.allocation.loader import load_rules
from costalloc.core.period import BillingPeriod
from costalloc.reports.planning.budgets import budgets_from_mapping, budgets_path_beside, load_budgets, spread
from costalloc.reports.planning.specfile import SpecFileError

DEMO = Path(__file__).resolve().parents[3] / "demo"
DIMENSIONS = {"environment": ["development", "staging", "production"],
              "workstream": ["experimentation", "platform_build", "production_operations",
                             "risk_compliance"],
              "cost_type": ["capex", "opex"], "cost_center": ["CC-1100", "CC-3200"]}
OCT, NOV, DEC = BillingPeriod(2026, 10), BillingPeriod(2026, 11), BillingPeriod(2026, 12)


def test_a_quarter_spread_evenly_adds_up_to_the_cent() -> None:
    assert spread(Decimal(100000), [Decimal(1)] * 3, "USD") == [
        Decimal("33333.34"), Decimal("33333.33"), Decimal("33333.33")]
    assert spread(Decimal(100), [Decimal(1)] * 3, "JPY") == [Decimal(34), Decimal(33), Decimal(33)]


@given(cents=st.integers(min_value=0, max_value=10**14),
       weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=3, max_size=12).filter(
           lambda w: sum(w) > 0))
def test_spread_parts_add_up_exactly_and_stay_within_a_cent(cents: int,
                                                            weights: list[int]) -> None:
    amount = Decimal(cents).scaleb(-2)
    parts = spread(amount, [Decimal(w) for w in weights], "USD")
    assert sum(parts, Decimal(0)) == amount
    for part, weight in zip(parts, weights, strict=True):
        assert part % Decimal("0.01") == 0
        assert abs(part - amount * weight / sum(weights)) < Decimal("0.01")


def test_amounts_per_month_quarter_and_year_spread_and_sum_exactly() -> None:
    budgets = budgets_from_mapping({
        "currency": "USD",
        "profiles": {"q4-peak": [1, 1, 2], "seasonal": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]},
        "lines": [
            {"id": "platform", "owner": "platform-lead", "dimensions": {"workstream":
                                                                           "platform_build"},
             "amounts": [{"from": "2026-07", "to": "2026-09", "monthly": 9000},
                         {"quarter": "2026-Q4", "amount": "36000.01", "spread": "q4-peak"},
                         {"year": 2027, "amount": 140000, "spread": "seasonal"}]},
            {"id": "ops", "owner": "sre", "amounts": [{"from": "2026-01", "monthly": 1000}]},
        ]}, DIMENSIONS)
    platform, ops = budgets.lines
    assert [platform.amount(p) for p in (BillingPeriod(2026, 9), OCT, NOV, DEC)] == [
        Decimal(9000), Decimal(9000), Decimal(9000), Decimal("18000.01")]  # the largest remainder
    year = [platform.amount(BillingPeriod(2027, m)) for m in range(1, 13)]
    assert sum(y or 0 for y in year) == Decimal(140000)  # exactly the year's amount
    assert year[11] == Decimal(30000) and year[0] == Decimal(10000)
    assert platform.amount(BillingPeriod(2026, 6)) is None  # nothing budgeted before July
    assert ops.amount(BillingPeriod(2030, 5)) == Decimal(1000)  # `from` without `to` runs on
    assert ops.amount(BillingPeriod(2025, 12)) is None
    assert platform.thresholds == (Decimal(80), Decimal(100)) and platform.basis == "EffectiveCost"
    assert ops.scope.describe() == "all spend"


def test_lines_and_pilots_take_the_file_defaults_unless_they_say_otherwise() -> None:
    budgets = budgets_from_mapping({
        "currency": "EUR", "basis": "BilledCost", "thresholds": [50, 90],
        "lines": [{"id": "a", "owner": "o", "amounts": [{"month": "2026-10", "amount": 5}],
                   "currency": "USD", "basis": "EffectiveCost", "thresholds": [100, 75]}],
        "pilots": [{"id": "p", "owner": "o", "start": "2026-09-01", "end": "2026-10-15",
                    "cap": 2500, "dimensions": {"cost_center": ["CC-3200", "CC-1100"]}}]},
        DIMENSIONS)
    line, pilot = budgets.lines[0], budgets.pilots[0]
    assert (line.currency, line.basis, line.thresholds) == ("USD", "EffectiveCost",
                                                            (Decimal(75), Decimal(100)))
    assert (pilot.currency, pilot.basis, pilot.thresholds) == ("EUR", "BilledCost",
                                                               (Decimal(50), Decimal(90)))
    assert pilot.scope.matches({"cost_center": "CC-1100"})
    assert not pilot.scope.matches({"cost_center": "CC-2200"})
    assert budgets.dimension_names == ["cost_center"]


BAD = """\
currency: USD
profiles:
  lumpy: [1, 2]
lines:
  - id: fine
    owner: finance@acme.example
    dimensions: {workstream: experimentation}
    amounts:
      - {month: 2026-10, amount: 100}
  - id: broken
    owner: ml@acme.example
    dimensions: {workstream: platfrom_build, team: ml, cost_type: capx}
    amounts:
      - {quarter: 2026-Q5, amount: 300}
      - {month: 2026-10, amount: 10.005}
      - {month: 2026-11, monthly: 5}
      - {year: 2026, amount: 1200, spread: lumpy}
    colour: red
  - id: fine
    owner: someone
    amounts: [{month: 2026-10, amount: 1}]
pilots:
  - id: pilot-backwards
    owner: ml@acme.example
    start: 2026-10-31
    end: 2026-10-01
    cap: 100
  - id: pilot-in-yen
    owner: ml@acme.example
    currency: XXQ
    start: 2026-10-01
    end: 2026-10-31
    cap: 100
"""


def test_a_bad_budgets_file_lists_every_problem_with_file_line_id_and_field(
        tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text(BAD)
    with pytest.raises(SpecFileError) as raised:
        load_budgets(path, DIMENSIONS)
    message = str(raised.value)
    lines = message.splitlines()
    assert lines[0].startswith(f"{len(lines) - 1} problem(s) in the budgets file")
    expected = [
        (3, "field `profiles.lumpy`", "2 weights: a profile spreads a quarter (3 weights) or a "
         "year (12)"),
        (12, "line `broken` field `dimensions.workstream`", "`platfrom_build` is not a declared "
         "value of `workstream` (expected one of experimentation, platform_build"),
        (12, "line `broken` field `dimensions.team`", "unknown dimension `team`"),
        (12, "line `broken` field `dimensions.cost_type`", "`capx` is not a declared value"),
        (14, "line `broken` field `amounts[0].quarter`", "not of the form YYYY-Qn"),
        (16, "line `broken` field `amounts[2]`", "`month` needs `amount`"),
        (18, "line `broken` field `colour`", "Extra inputs are not permitted (found 'red')"),
        (19, "line `fine` field `id`", "id `fine` is already used by lines[0]"),
        (23, "pilot `pilot-backwards`", "`end` (2026-10-01) is before `start` (2026-10-31)"),
        (30, "pilot `pilot-in-yen` field `currency`", "`XXQ` is not an ISO 4217 currency code"),
    ]
    for line, where, what in expected:
        assert any(text.startswith(f"{path}:{line}: {where}") and what in text
                   for text in lines), (line, where, what, message)


def test_more_decimals_than_the_currency_has_and_months_budgeted_twice_are_refused() -> None:
    with pytest.raises(SpecFileError) as raised:
        budgets_from_mapping({"currency": "USD", "lines": [{
            "id": "twice", "owner": "o", "amounts": [
                {"month": "2026-10", "amount": "10.005"},
                {"quarter": "2026-Q4", "amount": 300},
                {"year": 2026, "amount": 1200, "spread": "nope"}]}]})
    message = str(raised.value)
    assert "field `amounts[0].amount`: 10.005 has more decimals than USD has" in message
    assert "field `amounts[1]`: 2026-10 is already budgeted by amounts[0] (and 2 more " \
           "month(s))" not in message  # the quarter only repeats October
    assert "field `amounts[1]`: 2026-10 is already budgeted by amounts[0]" in message
    assert "field `amounts[2].spread`: unknown profile `nope` (known: even)" in message


def test_without_the_rules_only_the_fixed_cost_types_are_checked() -> None:
    budgets = budgets_from_mapping({"currency": "USD", "lines": [{
        "id": "a", "owner": "o", "dimensions": {"team": "ml"},
        "amounts": [{"month": "2026-10", "amount": 1}]}]})
    assert budgets.dimension_names == ["team"]
    with pytest.raises(SpecFileError, match="`capx` is not a declared value of `cost_type`"):
        budgets_from_mapping({"currency": "USD", "lines": [{
            "id": "a", "owner": "o", "dimensions": {"cost_type": "capx"},
            "amounts": [{"month": "2026-10", "amount": 1}]}]})


def test_yaml_errors_and_missing_files_say_where(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text("currency: USD\nlines:\n  - id: [unclosed\n")
    with pytest.raises(SpecFileError, match=rf"{path}:\d+: not valid YAML"):
        load_budgets(path)
    with pytest.raises(SpecFileError, match="not found"):
        load_budgets(tmp_path / "absent.yaml")


def test_the_default_budgets_file_sits_beside_the_rules(tmp_path: Path) -> None:
    assert budgets_path_beside(tmp_path / "rules.yaml", tmp_path / "cfg") == (
        tmp_path / "budgets.yaml")
    (tmp_path / "rules").mkdir()
    assert budgets_path_beside(tmp_path / "rules", tmp_path / "cfg") == tmp_path / "budgets.yaml"
    assert budgets_path_beside(None, tmp_path / "cfg") == tmp_path / "cfg" / "budgets.yaml"


def test_the_demo_budgets_and_events_are_valid_against_the_demo_rules() -> None:
    from costalloc.reports.planning.forecast import load_events

    dimensions = load_rules(DEMO / "rules.yaml").dimensions
    budgets = load_budgets(DEMO / "budgets.yaml", dimensions)
    assert budgets.lines and budgets.pilots and budgets.basis == "EffectiveCost"
    assert any(p.end < OCT.end.date() for p in budgets.pilots)  # a pilot that ended in October
    events = load_events(DEMO / "events.yaml", dimensions)
    assert events.events
