"""The hard bench month (`bench.hard_cur`): AWS's layout, what it holds, exact money, and that
costalloc loads it, ties it out and allocates it with `bench/rules-hard.yaml`. Meaning, not
timing: how fast is `make bench`'s business."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bench import baseline
from bench.hard_cur import WrittenMonth, catalogue, columns, write_month
from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.connectors.aws import AwsCurConnector
from costalloc.connectors.aws.columns import needed
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
ROWS = 20_000
EXPORT = "acme-cur2-hard"
HARD_RULES = Path(__file__).parents[2] / "bench" / "rules-hard.yaml"


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> WrittenMonth:
    root = tmp_path_factory.mktemp("hard") / "bucket" / "cur"
    return write_month(root, bucket="acme-billing", prefix="cur", export_name=EXPORT,
                       period="2026-10", rows=ROWS, parts=2, seed=17, batch_rows=7_000)


def _column(month: WrittenMonth, name: str) -> list[object]:
    return [value for path in month.data_files
            for value in pq.read_table(path, columns=[name]).column(name).to_pylist()]


def test_the_manifest_lists_every_part_as_aws_writes_it(month: WrittenMonth) -> None:
    manifest = json.loads(month.manifest.read_text())
    assert month.manifest == (month.export_dir / "metadata" / "BILLING_PERIOD=2026-10"
                              / f"{EXPORT}-Manifest.json")
    assert manifest["executionId"] == month.execution_id
    assert manifest["dataFiles"] == [
        f"s3://acme-billing/cur/{EXPORT}/data/BILLING_PERIOD=2026-10/{EXPORT}-0000{n}.snappy.parquet"
        for n in (1, 2)]
    # 83 columns, the four MAP columns among them, exactly what the Parquet files hold
    assert len(manifest["columns"]) == 83
    assert {c["name"]: c["type"] for c in manifest["columns"] if c["type"].startswith("map")} == {
        "cost_category": "map<string,string>", "discount": "map<string,double>",
        "product": "map<string,string>", "resource_tags": "map<string,string>"}
    for path in month.data_files:
        assert pq.read_schema(path).names == [c["name"] for c in manifest["columns"]]
    # rows of the two parts add up to the month; the connector finds exactly these files
    assert sum(pq.read_metadata(p).num_rows for p in month.data_files) == ROWS
    connector = AwsCurConnector(SourceSettings(name="aws-hard", kind="aws-cur",
                                               uri=str(month.export_dir)))
    delivery = connector.find_delivery(OCTOBER)
    assert delivery is not None and delivery.fingerprint == month.execution_id
    assert [Path(f).name for f in delivery.files] == [p.name for p in month.data_files]


def test_the_month_has_aws_s_19_line_item_types_40_accounts_and_many_services(
        month: WrittenMonth) -> None:
    types = Counter(_column(month, "line_item_line_item_type"))
    assert set(types) == {name for name, *_ in catalogue.LINE_ITEM_TYPES} and len(types) == 19
    assert dict(types) == month.totals.by_type
    assert types["Usage"] > ROWS / 2  # usage dominates, as in a real month
    assert len(set(_column(month, "line_item_usage_account_id"))) == 40
    assert len(set(_column(month, "line_item_product_code"))) >= 60
    assert len(set(_column(month, "line_item_usage_type"))) >= 60


def test_tags_come_per_row_in_mixed_spellings(month: WrittenMonth) -> None:
    tags = [dict(row) for row in _column(month, "resource_tags")]
    keys = Counter(key for row in tags for key in row)
    assert {"user_env", "user_Env", "user_environment", "user_Environment", "user_team",
            "user_Team", "user_project", "user_Project"} <= set(keys)
    environments = {row[k] for row in tags for k in row if k.lower() in ("user_env",
                                                                          "user_environment")}
    assert {"prod", "Prod", "production", "prd", "staging", "stg", "dev", "Dev"} <= environments
    projects = Counter(row[k] for row in tags for k in row if k.lower() == "user_project")
    assert projects[catalogue.CAPITALIZED_PROJECT] > 0 and projects["Ledger-Rebuild"] > 0
    # per row, not per resource: thousands of distinct tag sets in 20k rows
    assert len({tuple(sorted(row.items())) for row in tags}) > ROWS / 4


def test_money_is_exact_in_the_doubles_shortest_text(month: WrittenMonth) -> None:
    """Each double reads back, through its shortest text, as the decimal the generator meant:
    the sums of those decimals are the generator's own integer totals."""
    for name, expected in (("line_item_net_unblended_cost", month.totals.billed),
                           ("line_item_unblended_cost", month.totals.unblended)):
        decimals = [Decimal(repr(v)) for v in _column(month, name)]
        assert all(d == d.quantize(Decimal("1e-10")) for d in decimals)
        assert sum(decimals) == expected
    for path in month.data_files:
        assert pc.max(pq.read_table(path, columns=["line_item_unblended_cost"])
                      .column(0)).as_py() < 100_000  # 15 significant digits at most


def test_it_loads_ties_out_and_the_untagged_environment_split_covers_a_tenth(
        month: WrittenMonth, warehouse: duckdb.DuckDBPyConnection) -> None:
    connector = AwsCurConnector(SourceSettings(name="aws-hard", kind="aws-cur",
                                               uri=str(month.export_dir)))
    loaded = load_partition(warehouse, connector, OCTOBER, "run-1")
    # the loader compared the export's own cost column with what landed: it ties out
    assert loaded.outcome == "loaded" and loaded.totals == {"USD": f"{month.totals.billed:f}"}
    provider_rows = warehouse.sql("select count(*) from line_items "
                                  "where x_line_item_type not like '%/Unused'").fetchall()[0][0]
    assert provider_rows == ROWS

    result = allocate_period(warehouse, load_rules(HARD_RULES), OCTOBER, "alloc-1")
    split, capex = warehouse.sql(
        "select count(distinct x_line_item_id) filter (where x_split_rule is not null), "
        "count(*) filter (where cost_type = 'capex') from allocated_costs").fetchall()[0]
    assert split / result.line_items >= 0.10
    assert capex > 0  # the ledger rebuild is in its capitalized development phase in October


def test_the_floor_reads_every_column_costalloc_reads_of_the_hard_month() -> None:
    floor = {*baseline.TEXT_COLUMNS, *baseline.MONEY_COLUMNS, *baseline.MAP_COLUMNS}
    assert set(needed(list(columns.SCHEMA.names))) <= floor
