"""A run over sources that are not there, not reachable, or silent, as a person meets it: the
command exits 1 naming every missing source, an unreachable endpoint ends within its deadline
(the flow does not retry it again), and a source silent past its provider's usual lag is
flagged."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from costalloc.core.errors import CostallocError
from costalloc.flows.nightly import run_checked
from costalloc.flows.run_report import Step
from costalloc.flows.runners import RunnerChoice
from tests.flows.workspace import Workspace

COSTALLOC = Path(sys.executable).parent / "costalloc"
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def test_sources_pointed_at_nothing_exit_1_naming_each(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    space.deliver("waiting", "2026-09", rows=20, seed=1)  # exists; October not delivered yet
    gone = tmp_path / "gone"
    config = space.configure([
        {"name": "aws-gone", "kind": "aws-cur", "uri": str(gone / "cur" / "exp")},
        {"name": "focus-gone", "kind": "focus", "uri": str(gone / "focus")},
        {"name": "gcp-gone", "kind": "gcp-bigquery", "uri": str(gone / "gcp")},
        {"name": "azure-gone", "kind": "azure-export", "uri": str(gone / "azure")},
        {"name": "assets-gone", "kind": "asset-register", "uri": str(gone / "assets.csv")},
        {"name": "aws-waiting", "kind": "aws-cur", "uri": space.export_uri("waiting")},
    ])
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / ".prefect")}
    env.pop("PREFECT_API_URL", None)

    run = subprocess.run([str(COSTALLOC), "--config", str(config), "run", "--period", "2026-10"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "nightly run " in run.stderr and "5 step(s) failed" in run.stderr
    for source, missing in [("aws-gone", gone / "cur" / "exp"), ("focus-gone", gone / "focus"),
                            ("gcp-gone", gone / "gcp"), ("azure-gone", gone / "azure")]:
        assert f"{source} 2026-10: " in run.stderr and f"the folder `{missing}` does not exist" \
            in run.stderr, source
    assert "assets-gone 2026-10: the asset register `assets.csv` does not exist" in run.stderr
    assert "aws-waiting 2026-10: no delivery yet" in run.stdout  # the only one that may wait


def test_an_unreachable_endpoint_ends_the_run_within_its_deadline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    config = Workspace(tmp_path).configure([{
        "name": "aws-main", "kind": "aws-cur", "uri": "s3://billing/cur/exp",
        "options": {"region": "us-east-1", "retry_deadline_seconds": 3}}])

    started = time.monotonic()
    with pytest.raises(CostallocError) as raised:
        run_checked("nightly", str(config), ["2026-10"], None, False, RunnerChoice(max_workers=1),
                    progress=lambda step: None)
    # the flow's own retries (10 s, 20 s, 40 s) would take far longer: it did not retry
    assert time.monotonic() - started < 3 + 20
    assert f"aws-main 2026-10: reading the manifest under s3://billing/cur/exp: could not " \
           f"reach `127.0.0.1:{port}`; tried for " in str(raised.value)


def test_a_source_silent_past_its_usual_lag_is_flagged(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    space.deliver("main", "2026-10", rows=30, seed=2)
    config = space.configure([{"name": "aws-main", "kind": "aws-cur",
                               "uri": space.export_uri("main")}])
    steps: list[Step] = []

    def nightly() -> None:
        run_checked("nightly", str(config), ["2026-10"], None, False, RunnerChoice(max_workers=1),
                    progress=steps.append)

    nightly()
    assert not [s for s in steps if s.kind == "note"]  # delivered just now
    con = duckdb.connect(str(space.warehouse))
    con.execute("update ingest_log set finished_at = finished_at - interval 3 days")
    con.close()
    steps.clear()
    nightly()  # the export wrote nothing new: unchanged, and now three days silent

    last = datetime.now(UTC) - timedelta(days=3)
    assert [s.message for s in steps if s.kind == "note"] == [
        f"WARNING aws-main: no new delivery for 3 days (last {last:%Y-%m-%d %H:%M} UTC); aws-cur "
        "usually delivers within 24 hours — check that its export is still running"]
