"""Runs started from the command line, under Prefect: what they print when stderr is a file (one
record per line, no progress bar), and a configuration without rules, which loads and allocates
everything to the defaults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from costalloc.flows.cli import main
from costalloc.flows.triage import NO_RULES_NOTE
from tests.flows.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api", "cli_environment")]
LONG_NAME = "aws-main-production-payer-account-cur-2-0-export"  # messages past 80 columns


def _without_rules(space: Workspace) -> Path:
    config = space.root / "costalloc.yaml"
    config.write_text(yaml.safe_dump({
        "warehouse": "w.duckdb",
        "sources": [{"name": LONG_NAME, "kind": "aws-cur", "uri": space.export_uri("main")}]}))
    return config


def test_a_backfill_logged_to_a_file_is_one_record_per_line_without_a_progress_bar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = Workspace(tmp_path)
    written = space.deliver("main", "2026-10", rows=120, seed=3)
    config = space.configure([{"name": LONG_NAME, "kind": "aws-cur",
                               "uri": space.export_uri("main")}])
    assert main(["backfill", "--period", "2026-10", "--config", str(config)]) == 0
    err = capsys.readouterr().err  # captured: not a terminal
    lines = err.splitlines()
    loaded = [line for line in lines if line.startswith(f"{LONG_NAME} 2026-10: loaded")]
    assert len(loaded) == 1 and len(loaded[0]) > 80  # whole, past the 80th column
    assert f"delivery {written.fingerprint}" in loaded[0]
    assert "allocated 2026-10 under rules" in err
    assert "━" not in err and "load (source × period)" not in err  # no bar, no last frame
    assert all(line.strip() for line in lines)  # nothing redrawn, no blank frames


def test_a_configuration_without_rules_loads_and_allocates_to_the_defaults(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = Workspace(tmp_path)
    written = space.deliver("main", "2026-10", rows=150, seed=5)
    config = _without_rules(space)

    assert main(["--config", str(config), "backfill", "--period", "2026-10"]) == 0
    printed = capsys.readouterr()
    assert (printed.out + printed.err).count(NO_RULES_NOTE) == 1
    assert "FAILED" not in printed.out + printed.err
    assert space.loaded() == {(LONG_NAME, "2026-10"): written.billed_totals["USD"]}
    dimensions = space.query("select environment, workstream, cost_type, count(*), "
                             "sum(BilledCost) from allocated_costs group by all")
    assert dimensions == [("unallocated", "unallocated", "opex", 150,
                           written.billed_totals["USD"])]  # every row, every cent, the defaults

    # Re-allocating without rules says the same and changes nothing.
    assert main(["--config", str(config), "reallocate", "--period", "2026-10"]) == 0
    assert NO_RULES_NOTE in capsys.readouterr().out
    assert space.allocated() == {"2026-10": Decimal(written.billed_totals["USD"])}
