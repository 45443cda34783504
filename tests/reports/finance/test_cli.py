"""`costalloc export` and `costalloc serve`, in-process through the CLI's `main`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from costalloc.flows import cli


@pytest.fixture
def config(warehouse_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_LEVEL",
                 "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW",
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"):
        monkeypatch.setenv(name, "")  # main() sets defaults; keep them out of other tests
    path = tmp_path / "costalloc.yaml"
    path.write_text(f"warehouse: {warehouse_file}\nreports_dir: finance\n")
    return path


def test_export_writes_one_workbook_for_a_range_and_files_per_period(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--config", str(config), "export", "allocated", "--period", "2026-09",
                     "--to", "2026-10", "--format", "xlsx"]) == 0
    workbook = Path(capsys.readouterr().out.strip())
    assert workbook == tmp_path / "finance" / "allocated_2026-09_2026-10.xlsx"
    assert openpyxl.load_workbook(workbook, read_only=True)["About"]["B3"].value == (
        "2026-09 to 2026-10")

    assert cli.main(["--config", str(config), "export", "allocated", "--period", "2026-09",
                     "--to", "2026-10", "--format", "parquet", "--out",
                     str(tmp_path / "out")]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [
        str(tmp_path / "out" / "allocated" / f"x_billing_period={p}" / "part-0.parquet")
        for p in ("2026-09", "2026-10")]
    assert "summary" in printed.err and "allocated_columns.md" in printed.err
    assert pl.scan_parquet(tmp_path / "out" / "capex_schedule", hive_partitioning=True
                           ).collect().height > 0


def test_serve_refuses_to_start_without_tokens(config: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("COSTALLOC_API_TOKENS", raising=False)
    assert cli.main(["--config", str(config), "serve"]) == 2
    assert "COSTALLOC_API_TOKENS" in capsys.readouterr().err


def test_serve_runs_uvicorn_on_loopback_without_an_access_log(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options, app=app))
    monkeypatch.setenv("COSTALLOC_API_TOKENS", "a-long-enough-token-for-tests")
    assert cli.main(["--config", str(config), "serve", "--port", "9911"]) == 0
    assert started["host"] == "127.0.0.1" and started["port"] == 9911
    assert started["access_log"] is False  # it would log `?token=` values
    assert started["app"] is not None
