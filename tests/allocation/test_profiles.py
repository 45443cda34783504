"""Tagging a month's distinct profiles gives every line item the answer tagging it alone would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.fs as pafs
import pytest
import yaml

from costalloc.allocation import publish
from costalloc.allocation.engine import RULE_COLUMN, SPLIT_FLAG, assign_dimensions
from costalloc.allocation.loader import load_rules
from costalloc.allocation.model import RuleSet
from costalloc.allocation.profiles import profile_of
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.loading import load_partition
from tests.allocation.builders import OCTOBER, line_item, load_line_items

DEMO_RULES = Path(__file__).resolve().parents[2] / "demo" / "rules.yaml"
ANSWERED = ["environment", "workstream", "cost_type",
            *(RULE_COLUMN.format(dimension=d) for d in ("environment", "workstream", "cost_type")),
            "x_capex_project", "x_capex_phase", "x_capex_approval", "x_useful_life_months"]


def _one_by_one(con: duckdb.DuckDBPyConnection, ruleset: RuleSet) -> pl.DataFrame:
    """The engine run on every line item of the month (what profiles stand in for)."""
    line_items = pl.from_arrow(con.sql("select * from line_items").to_arrow_table())
    assert isinstance(line_items, pl.DataFrame)
    return assign_dimensions(line_items.lazy(), ruleset).collect()


def _compare(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, period: BillingPeriod) -> int:
    """Allocate through profiles and check each line item against the one-by-one answer;
    returns how many line items no split took (those carry the tagging answer as is)."""
    allocate_period(con, ruleset, period, "profiles")
    expected = _one_by_one(con, ruleset)
    taken_by_engine = expected.filter(pl.any_horizontal(
        [pl.col(SPLIT_FLAG.format(index=i)) for i in range(len(ruleset.splits))] or
        [pl.lit(False)]))["x_line_item_id"].sort().to_list()
    split_candidates = con.sql("select distinct x_line_item_id from allocated_costs "
                               "where x_split_rule is not null order by 1").pl()
    assert split_candidates["x_line_item_id"].to_list() == taken_by_engine
    got = con.sql(f"select x_line_item_id, {', '.join(ANSWERED)} from allocated_costs "
                  "where x_split_rule is null order by x_line_item_id").pl()
    want = (expected.filter(~pl.col("x_line_item_id").is_in(taken_by_engine))
            .select("x_line_item_id", *ANSWERED).sort("x_line_item_id"))
    assert got.rows() == want.rows()
    return got.height


@pytest.mark.parametrize("chunk", [publish.PROFILE_CHUNK, 97])
def test_the_demo_month_gets_the_same_answers_through_profiles(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, chunk: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # in one chunk, and in many (profiles are tagged a chunk at a time to bound memory)
    monkeypatch.setattr(publish, "PROFILE_CHUNK", chunk)
    tagged: list[int] = []
    answers_for = publish.answers_for
    monkeypatch.setattr(publish, "answers_for", lambda profiles, ruleset: (
        tagged.append(profiles.height), answers_for(profiles, ruleset))[1])
    write_cur2_export(pafs.LocalFileSystem(), str(tmp_path / "b" / "cur"), bucket="b",
                      prefix="cur", export_name="exp", period="2026-10", rows=3000, parts=1,
                      seed=5, with_net_columns=True)
    load_partition(warehouse, AwsCurConnector(SourceSettings(
        name="aws", kind="aws-cur", uri=str(tmp_path / "b" / "cur" / "exp"))), OCTOBER, "l")
    # Most line items are tagged as is; the rest go through the demo's six splits.
    assert _compare(warehouse, load_rules(DEMO_RULES), OCTOBER) > 2000
    assert len(tagged) == -(-sum(tagged) // chunk) and max(tagged) <= chunk
    assert chunk != 97 or len(tagged) > 10  # many chunks indeed


RULES = yaml.safe_load("""
dimensions:
  environment: [development, production]
  workstream: [experimentation, platform_build]
  cost_type: [capex, opex]
rules:
  - id: prod-from-mid-october
    when: {tag.env: present}
    set: {environment: "{tag.env}"}
    effective: {from: 2026-10-15}
  - id: one-resource
    when: {ResourceId: {equals: i-special}}
    set: {workstream: platform_build}
  - id: rest
    when: {}
    set: {workstream: experimentation}
capitalization:
  - project: assistant
    when: {tag.project: assistant}
    useful_life_months: 36
    phases:
      - {phase: research, from: 2026-01-01, to: 2026-10-09}
      - {phase: development, from: 2026-10-10, capitalize: true, approval: "memo 7"}
""")


def _at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def test_charge_dates_and_resources_are_coarsened_without_changing_any_answer(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    tags = {"env": "production", "project": "assistant"}
    load_line_items(warehouse, [
        # either side of the rule's start (10-15) and the development phase's (10-10)
        line_item("1", tags=tags, ChargePeriodStart=_at(9, 23), ResourceId="i-1"),
        line_item("2", tags=tags, ChargePeriodStart=_at(10), ResourceId="i-2"),
        line_item("3", tags=tags, ChargePeriodStart=_at(14, 23), ResourceId="i-3"),
        line_item("4", tags=tags, ChargePeriodStart=_at(15), ResourceId="i-4"),
        line_item("5", tags=tags, ChargePeriodStart=_at(31, 23), ResourceId="i-5"),
        line_item("6", ChargePeriodStart=_at(20), ResourceId="i-special"),
        line_item("7", ChargePeriodStart=_at(20), ResourceId="i-other"),
    ])
    ruleset = RuleSet.model_validate(RULES)
    assert _compare(warehouse, ruleset, OCTOBER) == 7
    got = dict(warehouse.sql("select BilledCost::int, environment || '/' || workstream || '/' || "
                             "cost_type from allocated_costs").fetchall())
    assert got == {1: "unallocated/experimentation/opex", 2: "unallocated/experimentation/capex",
                   3: "unallocated/experimentation/capex", 4: "production/experimentation/capex",
                   5: "production/experimentation/capex", 6: "unallocated/platform_build/opex",
                   7: "unallocated/experimentation/opex"}
    # Without a rule testing it, ResourceId stays out of the profile (but for asset rows).
    profile = profile_of(RuleSet.model_validate({**RULES, "rules": RULES["rules"][:1]}))
    resource = next(c for c in profile.columns if c.name == "ResourceId")
    assert "case when" in resource.expression
    assert json.dumps(sorted(profile.params["asset_row_types"])) == '["AssetPurchase", "Depreciation"]'
