"""The installed `costalloc` command, end to end, as a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

COSTALLOC = Path(sys.executable).parent / "costalloc"
pytestmark = pytest.mark.slow


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_HOME": str(cwd / ".prefect")}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(COSTALLOC), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_demo_then_backfill_and_export_from_the_command_line(tmp_path: Path) -> None:
    demo = _run("demo", "--dir", "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "Allocated cost, 2026-10" in demo.stdout
    assert "unallocated:" in demo.stdout
    assert f"warehouse:     {tmp_path / 'demo' / 'costalloc.duckdb'}" in demo.stdout

    con = duckdb.connect(str(tmp_path / "demo" / "costalloc.duckdb"), read_only=True)
    loads = con.sql("select source, billing_period, raw_totals, loaded_totals from ingest_log "
                    "where status = 'loaded'").fetchall()
    assert {source for source, *_ in loads} == {"aws-demo", "gcp-demo", "azure-demo", "on-prem"}
    for source, period, raw, loaded in loads:  # every delivery tied out to its files
        assert json.loads(raw) == json.loads(loaded), (source, period)
    by_currency = con.sql("select BillingCurrency, sum(BilledCost) from line_items where "
                          "x_billing_period = '2026-10' group by 1 order by 1").fetchall()
    allocated_by_currency = con.sql(
        "select BillingCurrency, sum(BilledCost) from allocated_costs where "
        "x_billing_period = '2026-10' group by 1 order by 1").fetchall()
    allocated = con.sql("select sum(BilledCost) from allocated_costs where x_billing_period = "
                        "'2026-10' and BillingCurrency = 'USD'").fetchall()[0][0]
    con.close()
    assert allocated_by_currency == by_currency  # and allocation conserved it

    config = str(tmp_path / "demo" / "costalloc.yaml")
    backfill = _run("--config", config, "backfill", "--period", "2026-10", cwd=tmp_path)
    assert backfill.returncode == 0, backfill.stderr
    assert "already loaded" in backfill.stderr + backfill.stdout

    export = _run("--config", config, "export", "allocated", "--period", "2026-10", "--format",
                  "parquet", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    written = Path(export.stdout.strip())
    assert written == tmp_path / "out" / "allocated" / "x_billing_period=2026-10" / "part-0.parquet"
    extract = pl.read_parquet(written)
    assert extract.filter(pl.col("BillingCurrency") == "USD")["BilledCost"].sum() == allocated


def test_errors_are_one_paragraph_with_the_exit_code_that_says_whose_problem_it_is(
        tmp_path: Path) -> None:
    missing = _run("--config", "nope.yaml", "run", cwd=tmp_path)
    assert missing.returncode == 2
    assert "configuration file `nope.yaml` not found" in missing.stderr
    assert "Traceback" not in missing.stderr

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: r\n    when: {ServiceNme: x}\n    set: {environment: prod}\n")
    check = _run("rules", "check", str(rules), cwd=tmp_path)
    assert check.returncode == 2
    assert f"{rules}:2: rule `r`" in check.stderr
    assert "Traceback" not in check.stderr

    bad_period = _run("summary", "--period", "2026-13", cwd=tmp_path)
    assert bad_period.returncode == 2
    assert "YYYY-MM" in bad_period.stderr
