"""The CapEx/OpEx policy: CapEx only inside an approved development phase, evidence on the row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest
import yaml
from pydantic import ValidationError

from costalloc.allocation.model import RuleSet
from costalloc.allocation.publish import allocate_period
from costalloc.core.period import BillingPeriod
from tests.allocation.builders import allocated, line_item, load_line_items

POLICY = """
rules:
  - id: ws-from-tag
    when: {tag.workstream: present}
    set: {workstream: "{tag.workstream}"}
capitalization:
  - project: support-triage-app
    when: {tag.project: support-triage}
    phases:
      - {phase: research, from: 2026-10-01, to: 2026-10-09}
      - {phase: development, from: 2026-10-10, to: 2026-10-24, capitalize: true,
         approval: "CFO memo 2026-10-08", useful_life_months: 36}
      - {phase: production, from: 2026-10-25}
"""


def _at(day: int) -> datetime:
    return datetime(2026, 10, day, 12, tzinfo=UTC)


def test_a_project_crossing_research_development_and_production(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    project = {"project": "support-triage", "workstream": "platform_build"}
    load_line_items(warehouse, [
        line_item("100", tags=project, ChargePeriodStart=_at(5)),    # research: OpEx
        line_item("200", tags=project, ChargePeriodStart=_at(10)),   # development, day one
        line_item("300", tags=project, ChargePeriodStart=_at(24)),   # development, last day
        line_item("400", tags=project, ChargePeriodStart=_at(25)),   # production: OpEx
        line_item("500", tags={"workstream": "platform_build"}, ChargePeriodStart=_at(15)),
    ])
    allocate_period(warehouse, RuleSet.model_validate(yaml.safe_load(POLICY)),
                    BillingPeriod(2026, 10), "r")
    assert allocated(warehouse, "BilledCost", "cost_type", "x_capex_phase", "x_capex_approval",
                     "x_useful_life_months", "x_cost_type_rule") == [
        (Decimal("100"), "opex", "research", None, None, None),
        (Decimal("200"), "capex", "development", "CFO memo 2026-10-08", 36,
         "capitalization:support-triage-app"),
        (Decimal("300"), "capex", "development", "CFO memo 2026-10-08", 36,
         "capitalization:support-triage-app"),
        (Decimal("400"), "opex", "production", None, None, None),
        (Decimal("500"), "opex", None, None, None, None),  # same workstream, no project: OpEx
    ]


@pytest.mark.parametrize(("policy", "message"), [
    ("rules: [{id: r, when: {ServiceName: x}, set: {cost_type: capex}}]",
     "CapEx comes only from a `capitalization` entry"),
    ("capitalization: [{project: p, when: {ServiceName: x}, phases: [{phase: development, "
     "from: 2026-01-01, capitalize: true, useful_life_months: 12}]}]",
     "capitalizes without an `approval` reference"),
    ("capitalization: [{project: p, when: {ServiceName: x}, phases: [{phase: research, "
     "from: 2026-01-01, capitalize: true, approval: memo, useful_life_months: 12}]}]",
     "research, production and maintenance costs are OpEx"),
    ("capitalization: [{project: p, when: {ServiceName: x}, phases: [{phase: development, "
     "from: 2026-01-01, capitalize: true, approval: memo}]}]", "needs `useful_life_months`"),
    ("capitalization: [{project: p, when: {ServiceName: x}, phases: ["
     "{phase: research, from: 2026-01-01, to: 2026-03-31}, "
     "{phase: development, from: 2026-03-15}]}]", "starts 2026-03-15 before phase `research`"),
    ("defaults: {cost_type: capex}", "the default cannot be capex"),
])
def test_capex_without_evidence_is_refused_at_load_time(policy: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RuleSet.model_validate(yaml.safe_load(policy))
