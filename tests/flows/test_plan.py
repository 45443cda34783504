"""Which partitions a run looks at: the previous month only while its provider may restate it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from costalloc.connectors.registry import KINDS
from costalloc.core.errors import ConfigurationError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, SourceSettings
from costalloc.flows.plan import (
    FLOW_OPTIONS,
    connector_settings,
    open_periods,
    parse_periods,
    plan,
    restatement_days,
)

OCTOBER, NOVEMBER = BillingPeriod(2026, 10), BillingPeriod(2026, 11)


def _source(kind: str, **options: object) -> SourceSettings:
    return SourceSettings(name=kind.replace("-", "_"), kind=kind, uri="x", options=options)


@pytest.mark.parametrize(("kind", "last_day_with_october"), [
    ("aws-cur", date(2026, 11, 15)),         # AWS restates N-1 for about two weeks
    ("gcp-bigquery", date(2026, 11, 5)),     # the invoice month closes within days
    ("azure-export", date(2026, 11, 10)),
    ("asset-register", None),                # our own register never restates
])
def test_the_previous_month_is_rechecked_until_its_restatement_window_closes(
        kind: str, last_day_with_october: date | None) -> None:
    assert open_periods(_source(kind), date(2026, 11, 1)) == (
        [OCTOBER, NOVEMBER] if last_day_with_october else [NOVEMBER])
    if last_day_with_october:
        assert open_periods(_source(kind), last_day_with_october) == [OCTOBER, NOVEMBER]
        after = date.fromordinal(last_day_with_october.toordinal() + 1)
        assert open_periods(_source(kind), after) == [NOVEMBER]


def test_a_source_overrides_its_window_and_its_connector_never_sees_the_option() -> None:
    source = _source("aws-cur", restatement_days=40, region="us-east-1")
    assert open_periods(source, date(2026, 12, 9)) == [NOVEMBER, BillingPeriod(2026, 12)]
    assert connector_settings(source).options == {"region": "us-east-1"}
    assert {"restatement_days"} == FLOW_OPTIONS

    for wrong in ("two weeks", True, -1, 400):
        with pytest.raises(ValidationError, match=r"source `aws_cur` \(aws-cur\): option "
                           r"`restatement_days`: .*aws-cur accepts .*`restatement_days`"):
            _source("aws-cur", restatement_days=wrong)


def test_every_kinds_window_is_its_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, kind in KINDS.items():
        closes = date(2026, 11, 1) + timedelta(days=kind.restatement_days)
        assert restatement_days(_source(name, **_required(name))) == kind.restatement_days
        assert open_periods(_source(name, **_required(name)), closes) == [NOVEMBER]

    # A kind added to the registry is planned with its own window, with no other change.
    monkeypatch.setitem(KINDS, "slow-cloud", replace(KINDS["aws-cur"], name="slow-cloud",
                                                     restatement_days=40))
    assert open_periods(_source("slow-cloud"), date(2026, 12, 10)) == [
        NOVEMBER, BillingPeriod(2026, 12)]


def _required(kind: str) -> dict[str, object]:
    return {"scope": "subscriptions/0"} if kind == "azure-cost-details" else {}


def test_a_plan_is_period_by_period_each_source_once() -> None:
    settings = Settings(warehouse=Path("w.duckdb"), sources=[_source("aws-cur"),
                                                             _source("gcp-bigquery")])
    on_the_10th = plan(settings, None, None, date(2026, 11, 10))
    assert [p.name for p in on_the_10th] == ["aws_cur 2026-10", "aws_cur 2026-11",
                                              "gcp_bigquery 2026-11"]
    named = plan(settings, [NOVEMBER, OCTOBER, NOVEMBER], ["gcp_bigquery"], date(2026, 11, 10))
    assert [p.name for p in named] == ["gcp_bigquery 2026-10", "gcp_bigquery 2026-11"]


def test_periods_and_ranges() -> None:
    assert parse_periods(["2026-11", "2026-09..2026-10", "2026-10"]) == [
        BillingPeriod(2026, 9), OCTOBER, NOVEMBER]
    with pytest.raises(ConfigurationError, match=r"ends \(2026-01\) before it starts"):
        parse_periods(["2026-03..2026-01"])
