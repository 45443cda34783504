"""`export allocated --focus-version 1.3`: the allocated rows as FOCUS 1.3 Cost and Usage rows,
checked against the 1.3 column definitions (`tests/samples/focus/focus_1_3_cost_and_usage_
columns.tsv`, from the FinOps Foundation's requirements model). focus-validator 2.2.1 bundles
only the 1.2 rules, so the 1.3 allocation rules are checked here."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from costalloc.flows import cli
from costalloc.reports.finance.extracts import export_period
from tests.reports.builders import OCTOBER

COLUMNS_1_3 = Path(__file__).resolve().parents[2] / "samples" / "focus" / \
    "focus_1_3_cost_and_usage_columns.tsv"
ALLOCATION = ("AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId",
              "AllocatedResourceName", "AllocatedTags")


def _columns_1_3() -> dict[str, dict[str, str]]:
    with COLUMNS_1_3.open(newline="") as stream:
        rows = csv.DictReader(stream, delimiter="\t")
        return {row["column"]: row for row in rows if not row["column"].endswith("Object")}


def test_allocated_rows_are_focus_1_3_rows_with_allocation_columns(
        published: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    extract = export_period(published, "allocated", OCTOBER, "parquet", tmp_path,
                            focus_version="1.3")
    rows = pl.read_parquet(extract.main)
    definitions = _columns_1_3()
    # every 1.3 column the data generator supports is there (contracts are not: ContractApplied
    # is required only when contract commitments are supported)
    expected = set(definitions) - {"ContractApplied"}
    assert expected <= set(rows.columns), sorted(expected - set(rows.columns))
    for name in ALLOCATION:
        assert rows.schema[name] == pl.String, name

    split = rows.filter(pl.col("AllocatedMethodId").is_not_null())
    untouched = rows.filter(pl.col("AllocatedMethodId").is_null())
    assert split.height > 0 and untouched.height > 0  # the demo rules split shared costs
    # "AllocatedMethodId MUST be null when a charge is not related to a split", and so must
    # AllocatedResourceId, AllocatedMethodDetails and AllocatedTags
    assert untouched.select(pl.col(list(ALLOCATION)).null_count()).row(0) == (untouched.height,) * 5
    # "AllocatedResourceName MUST be null when AllocatedResourceId is null" and not otherwise
    assert split.filter(pl.col("AllocatedResourceId").is_null()
                        != pl.col("AllocatedResourceName").is_null()).height == 0
    assert split.get_column("AllocatedResourceId").null_count() < split.height
    for details, tags, method in split.select("AllocatedMethodDetails", "AllocatedTags",
                                              "AllocatedMethodId").iter_rows():
        parsed = json.loads(details)
        assert parsed["x_split"]["rule"] == method
        assert Decimal(parsed["AllocatedRatio"]) > 0
        assert set(json.loads(tags)) >= {"environment", "workstream", "cost_type"}

    # the allocated rows still add up to the line items, per currency
    line_items = dict(published.sql(
        "select BillingCurrency, sum(BilledCost) from line_items where x_billing_period = "
        "$period group by 1", params={"period": str(OCTOBER)}).fetchall())
    allocated = dict(rows.group_by("BillingCurrency").agg(pl.col("BilledCost").sum()).iter_rows())
    assert allocated == line_items


def test_the_cli_writes_the_focus_1_3_rows_and_refuses_other_tables(
        warehouse_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_LEVEL",
                 "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW",
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"):
        monkeypatch.setenv(name, "")  # main() sets defaults; keep them out of other tests
    config = tmp_path / "costalloc.yaml"
    config.write_text(f"warehouse: {warehouse_file}\nreports_dir: finance\n")
    assert cli.main(["--config", str(config), "export", "allocated", "--period", "2026-10",
                     "--format", "parquet", "--focus-version", "1.3", "--out",
                     str(tmp_path / "out")]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == (tmp_path / "out" / "allocated_focus_1_3" / "x_billing_period=2026-10"
                       / "part-0.parquet")
    assert set(ALLOCATION) <= set(pl.read_parquet(written).columns)
    assert cli.main(["--config", str(config), "export", "line-items", "--period", "2026-10",
                     "--focus-version", "1.3"]) == 2
    assert "--focus-version writes `allocated`" in capsys.readouterr().err
