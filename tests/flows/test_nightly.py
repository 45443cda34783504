"""The nightly flow under Prefect: only what changed is loaded, allocated periods follow their
line items and rules, and one failing source fails the run without stopping the others."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest
from prefect import flow

from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.demo.aws_cur import write_cur2_export
from costalloc.flows.nightly import nightly, run_pipeline
from costalloc.flows.reallocate import reallocate
from tests.flows.workspace import RULES

pipeline = flow(name="test-pipeline", validate_parameters=False)(run_pipeline)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]
LOCAL = pafs.LocalFileSystem()


def _workspace(tmp_path: Path, sources: dict[str, str]) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    lines = ["warehouse: w.duckdb", "rules: rules.yaml", "sources:"]
    lines += [f"  - {{name: {name}, kind: aws-cur, uri: {uri}}}" for name, uri in sources.items()]
    config = tmp_path / "costalloc.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _deliver(tmp_path: Path, export: str, rows: int, seed: int) -> Decimal:
    written = write_cur2_export(LOCAL, str(tmp_path / "bucket" / "cur"), bucket="b", prefix="cur",
                                export_name=export, period="2026-10", rows=rows, seed=seed)
    return written.billed_totals["USD"]


def _allocated_total(tmp_path: Path) -> Decimal:
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        total: Decimal = con.sql("select sum(BilledCost) from allocated_costs").fetchall()[0][0]
        return total
    finally:
        con.close()


def test_nightly_loads_new_deliveries_skips_unchanged_ones_and_reallocates(tmp_path: Path) -> None:
    config = str(_workspace(tmp_path, {"aws": "bucket/cur/main"}))
    first_total = _deliver(tmp_path, "main", 800, seed=1)

    report = nightly(config=config, periods=["2026-10"])
    assert [r.outcome for r in report.loads] == ["loaded"]
    assert [str(a.period) for a in report.allocations] == ["2026-10"]
    assert _allocated_total(tmp_path) == first_total

    report = nightly(config=config, periods=["2026-10"])
    assert [r.outcome for r in report.loads] == ["unchanged"]
    assert report.allocations == []  # nothing moved: nothing re-allocated
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    loads = con.sql("select count(*) from ingest_log where status = 'loaded'").fetchall()
    con.close()
    assert loads == [(1,)]  # the unchanged delivery was not loaded a second time

    newer_total = _deliver(tmp_path, "main", 1200, seed=2)
    report = nightly(config=config, periods=["2026-10"])
    assert [r.outcome for r in report.loads] == ["loaded"]
    assert _allocated_total(tmp_path) == newer_total != first_total


def test_a_rules_change_reallocates_without_reading_sources(tmp_path: Path) -> None:
    config = _workspace(tmp_path, {"aws": "bucket/cur/main"})
    _deliver(tmp_path, "main", 300, seed=3)
    nightly(config=str(config), periods=["2026-10"])
    (tmp_path / "rules.yaml").write_text(RULES + "  # tightened wording, new version\n")
    report = nightly(config=str(config), periods=["2026-10"])
    assert [r.outcome for r in report.loads] == ["unchanged"]
    assert len(report.allocations) == 1
    results = reallocate(config=str(config), periods=["2026-10"])
    assert results[0].line_items == report.allocations[0].line_items


def test_one_failing_source_fails_the_run_while_the_others_load(tmp_path: Path) -> None:
    config = str(_workspace(tmp_path, {"good": "bucket/cur/good", "broken": "bucket/cur/broken"}))
    good_total = _deliver(tmp_path, "good", 400, seed=4)
    _deliver(tmp_path, "broken", 400, seed=5)
    manifest = (tmp_path / "bucket" / "cur" / "broken" / "metadata" / "BILLING_PERIOD=2026-10"
                / "broken-Manifest.json")
    manifest.write_text("not json")
    with pytest.raises(CostallocError, match=r"broken 2026-10: manifest .* is not JSON"):
        nightly(config=config, periods=["2026-10"])
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    loaded = con.sql("select x_source, sum(BilledCost) from line_items group by 1").fetchall()
    con.close()
    assert loaded == [("good", good_total)]
    assert _allocated_total(tmp_path) == good_total


def test_by_default_the_previous_month_is_read_while_aws_may_still_restate_it(
        tmp_path: Path) -> None:
    config = _workspace(tmp_path, {"aws": "bucket/cur/main"})
    for period, seed in (("2026-10", 6), ("2026-11", 7)):
        write_cur2_export(LOCAL, str(tmp_path / "bucket" / "cur"), bucket="b", prefix="cur",
                          export_name="main", period=period, rows=200, seed=seed)
    settings = load_settings(config)

    report = pipeline(settings, None, today=date(2026, 11, 3))
    assert sorted((str(r.period), r.outcome) for r in report.loads) == [("2026-10", "loaded"),
                                                                        ("2026-11", "loaded")]
    assert [str(a.period) for a in report.allocations] == ["2026-10", "2026-11"]

    report = pipeline(settings, None, today=date(2026, 11, 16))  # October is final now
    assert report.periods == [BillingPeriod(2026, 11)]
    assert [(str(r.period), r.outcome) for r in report.loads] == [("2026-11", "unchanged")]
    assert report.allocations == []
