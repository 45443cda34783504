"""`costalloc init` on the demo's AWS export: a starter configuration and rules file that
`rules check` accepts and that allocates at least 90 % of the month's cost to an environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costalloc.demo import aws_cur
from costalloc.flows.cli import main

COSTALLOC = Path(sys.executable).parent / "costalloc"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("aws")
    aws_cur.write_demo_month(str(root / "bucket"), period="2026-10")
    return root / "bucket" / "cur" / aws_cur.DEMO_EXPORT_NAME


def test_init_recognises_the_export_and_writes_files_rules_check_accepts(
        export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    assert main(["init", "--from", str(export), "--dir", str(project)]) == 0
    said = capsys.readouterr().out
    assert "aws 2026-10: delivery" in said  # the newest month with a delivery, found alone
    assert "counted 20,055 line items" in said
    config = (project / "costalloc.yaml").read_text()
    assert "kind: aws-cur" in config and "name: aws" in config
    rules = (project / "rules.yaml").read_text()
    assert "environment-from-tag-or-account" in rules
    assert '"prd": production' in rules  # the demo's hand-typed spellings get aliases
    assert re.search(r'"\d{12}": \{environment: production.*# payments-prod: ', rules)

    assert main(["--config", str(project / "costalloc.yaml"), "rules", "check",
                 str(project / "rules.yaml")]) == 0
    assert "OK" in capsys.readouterr().out

    # never overwrites what is there
    assert main(["init", "--from", str(export), "--dir", str(project)]) == 2
    assert "never overwrites your files" in capsys.readouterr().err


def test_an_export_costalloc_does_not_recognise_is_refused_with_what_was_tried(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["init", "--from", str(tmp_path / "empty"), "--dir", str(tmp_path / "p")]) == 2
    error = capsys.readouterr().err
    assert "holds no export costalloc recognises; tried aws-cur" in error
    assert "azure-export" in error and "focus" in error
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_the_starter_rules_allocate_90_percent_of_the_demo_month_to_an_environment(
        export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    assert main(["init", "--from", str(export), "--dir", str(project), "--period",
                 "2026-10"]) == 0
    promised = re.search(r"USD: the starter rules place environment ([\d.]+)%, workstream "
                         r"([\d.]+)%", capsys.readouterr().out)
    assert promised is not None
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / ".prefect")}
    env.pop("PREFECT_API_URL", None)
    backfill = subprocess.run([str(COSTALLOC), "--config", str(project / "costalloc.yaml"),
                               "backfill", "--period", "2026-10"], env=env, capture_output=True,
                              text=True, timeout=600)
    assert backfill.returncode == 0, backfill.stderr

    con = duckdb.connect(str(project / "costalloc.duckdb"), read_only=True)
    try:
        shares = con.sql(
            "select sum(BilledCost) filter (environment <> 'unallocated') / sum(BilledCost), "
            "sum(BilledCost) filter (workstream <> 'unallocated') / sum(BilledCost) "
            "from allocated_costs where x_billing_period = '2026-10'").fetchall()[0]
    finally:
        con.close()
    environment, workstream = (Decimal(share) * 100 for share in shares)
    assert environment >= 90
    # what `init` promised is what the allocation did, to the printed decimal
    assert f"{environment:.1f}" == promised.group(1)
    assert f"{workstream:.1f}" == promised.group(2)
