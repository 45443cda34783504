"""`costalloc review` and `costalloc forecast` end to end: the installed console script over a
copy of the demo warehouse, with the demo's rules, budgets and events beside each other."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from costalloc.flows import cli

ROOT = Path(__file__).resolve().parents[3]
COSTALLOC = Path(sys.executable).with_name("costalloc")

CROSSING = """\
currency: USD
lines:
  - id: experiments
    owner: ml-lead@acme.example
    dimensions: {workstream: experimentation}
    amounts: [{quarter: 2026-Q4, amount: 3000}]
  - id: cost-center-2200
    owner: ml-platform@acme.example
    dimensions: {cost_center: CC-2200}
    amounts: [{month: 2026-10, amount: 50000}]
"""


@pytest.fixture
def config(warehouse_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """costalloc.yaml → the warehouse, rules/rules.yaml with budgets.yaml and events.yaml
    beside it, as a user keeps them."""
    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_LEVEL",
                 "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW",
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"):
        monkeypatch.setenv(name, "")  # main() sets defaults; keep them out of other tests
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "demo" / "drivers", rules / "drivers")
    for name in ("rules.yaml", "budgets.yaml", "events.yaml"):
        shutil.copyfile(ROOT / "demo" / name, rules / name)
    path = tmp_path / "costalloc.yaml"
    path.write_text(f"warehouse: {warehouse_file}\nrules: rules/rules.yaml\nreports_dir: finance\n")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COSTALLOC), *args], capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "PREFECT_LOGGING_LEVEL": "CRITICAL"})


def test_review_prints_the_demo_budgets_against_october(config: Path) -> None:
    done = _run("--config", str(config), "review", "--period", "2026-10")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Budget review, 2026-10 — as of 2026-10-31 (31 of 31 days; the month "
                          "is complete)")
    assert "rules/budgets.yaml" in out  # found beside the rules
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 120
    at = next(i for i, line in enumerate(lines) if line.startswith("rag-support-pilot "))
    assert lines[at + 1].startswith("    !! past its end (2026-10-15)")  # too long beside the row
    assert "Largest movers vs 2026-09 (EffectiveCost)" in out


def test_review_exports_csv_with_the_crossed_thresholds(config: Path, tmp_path: Path) -> None:
    budgets = tmp_path / "crossing.yaml"
    budgets.write_text(CROSSING)
    done = _run("--config", str(config), "review", "--period", "2026-10", "--budgets",
                str(budgets), "--format", "csv", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    main = Path(done.stdout.strip())
    assert main == tmp_path / "out" / "review_2026-10.csv"
    assert "review_pilots_2026-10.csv" in done.stderr and "review_movers_2026-10.csv" in done.stderr
    with main.open(newline="") as stream:
        lines = {row["budget_line"]: row for row in csv.DictReader(stream)}
    experiments = lines["experiments"]
    assert Decimal(experiments["budget"]) == Decimal(1000)  # a third of the quarter
    assert experiments["thresholds_crossed"] == "80%, 100%" and experiments["status"] == (
        "over budget")
    assert Decimal(experiments["variance"]) == (Decimal(experiments["actual"])
                                                - Decimal(experiments["budget"]))


def test_forecast_writes_a_workbook_with_its_chart(config: Path, tmp_path: Path) -> None:
    done = _run("--config", str(config), "forecast", "--from", "2026-11", "--months", "6",
                "--format", "xlsx", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    workbook = Path(done.stdout.strip())
    assert workbook.name == "forecast_2026-11.xlsx"
    sheet = openpyxl.load_workbook(workbook)["Forecast"]
    texts = [row[0] for row in sheet.iter_rows(values_only=True) if row[0]]
    assert "event: 2026-12 experimentation +25,000 USD: one-off fine-tuning run for the support " \
           "model" in texts  # from events.yaml beside the rules
    assert len(sheet._charts) >= 2


def test_forecast_and_review_in_process(config: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--config", str(config), "forecast", "--from", "2026-11", "--months", "2",
                     "--basis", "BilledCost"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Forecast of BilledCost per workstream, 2026-11 to 2026-12")
    assert "- event: from 2027-01 production_operations +20%" in out

    assert cli.main(["--config", str(config), "review", "--period", "2026-10", "--format", "xlsx",
                     "--forecast-months", "3"]) == 0
    workbook = Path(capsys.readouterr().out.strip())
    assert workbook == tmp_path / "finance" / "review_2026-10.xlsx"
    book = openpyxl.load_workbook(workbook, read_only=True)
    assert book.sheetnames[:3] == ["Review", "Forecast", "Summary"]


def test_a_bad_budgets_file_exits_2_with_every_problem(config: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("currency: USD\nlines:\n  - id: x\n    owner: o\n"
                   "    dimensions: {workstream: platfrom_build}\n"
                   "    amounts: [{month: 2026-13, amount: 1}]\n")
    assert cli.main(["--config", str(config), "review", "--period", "2026-10", "--budgets",
                     str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costalloc: configuration error: 2 problem(s) in the budgets file")
    assert f"{bad}:5: line `x` field `dimensions.workstream`: `platfrom_build` is not a " \
           "declared value" in err
    assert f"{bad}:6: line `x` field `amounts[0].month`: billing period `2026-13` is " \
           "impossible: there is no month 13" in err

    (config.parent / "rules" / "budgets.yaml").unlink()
    assert cli.main(["--config", str(config), "review", "--period", "2026-10"]) == 2
    assert "no budgets file" in capsys.readouterr().err
