"""A backfill killed midway (SIGKILL: no cleanup runs) completes on re-run, doing only what is
missing, with no line item or allocation counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from costalloc.connectors import registry
from costalloc.flows.backfill import backfill
from costalloc.flows.retries import RETRY_BASE_VARIABLE
from tests.flows import faulty_source
from tests.flows.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]
REPO = Path(__file__).resolve().parents[2]
PERIODS = ["2026-10", "2026-11", "2026-12"]
LAUNCHER = ("import sys; from tests.flows import faulty_source; faulty_source.install(); "
            "from costalloc.flows.cli import main; sys.exit(main(sys.argv[1:]))")


def test_a_killed_backfill_completes_on_rerun_without_duplicates(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    space = Workspace(tmp_path)
    journal = tmp_path / "hang.journal"
    delivered = {(name, period): space.deliver(name, period, rows=150, seed=n).billed_totals["USD"]
                 for n, (name, period) in enumerate((name, period) for period in PERIODS
                                                    for name in ("hang", "steady"))}
    hanging = {"name": "hang", "kind": faulty_source.KIND, "uri": space.export_uri("hang"),
               "options": {"fault": "hang:2026-11", "journal": str(journal)}}
    steady = {"name": "steady", "kind": "aws-cur", "uri": space.export_uri("steady")}
    config = space.configure([hanging, steady])

    # 1. A backfill that hangs reading `hang` 2026-11, once 2026-10 is loaded and allocated.
    output = tmp_path / "backfill.log"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "PREFECT_HOME": str(tmp_path / ".prefect")}
    with output.open("w") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "--config", str(config), "backfill", "--period",
             PERIODS[0], "--to", PERIODS[-1], "--max-workers", "1"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: Path(f"{journal}.hang").exists()
                  and "allocated 2026-10" in output.read_text(), child, output)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    # 2. The same backfill again (the source behaves now): only what was missing is done.
    hanging["options"] = {"journal": str(journal)}
    space.configure([hanging, steady])
    monkeypatch.setitem(registry.KINDS, faulty_source.KIND, faulty_source.ENTRY)
    monkeypatch.setenv(RETRY_BASE_VARIABLE, "0")
    report = backfill(config=str(config), periods=["2026-10..2026-12"])

    outcomes = {(r.source, str(r.period)): r.outcome for r in report.loads}
    assert outcomes == {("hang", "2026-10"): "unchanged", ("steady", "2026-10"): "unchanged",
                        ("hang", "2026-11"): "loaded", ("steady", "2026-11"): "loaded",
                        ("hang", "2026-12"): "loaded", ("steady", "2026-12"): "loaded"}
    assert [str(a.period) for a in report.allocations] == ["2026-11", "2026-12"]
    assert space.load_count() == {key: 1 for key in delivered}  # nothing loaded twice
    assert space.loaded() == delivered  # and no line item held twice
    assert space.allocated() == {period: delivered["hang", period] + delivered["steady", period]
                                 for period in PERIODS}
    assert space.query("select count(*) from partition_locks") == [(0,)]
    assert not any((tmp_path / ".costalloc-scratch").glob("*/line_items/**/*.parquet"))

    # 3. Once more: nothing left to do.
    again = backfill(config=str(config), periods=["2026-10..2026-12"])
    assert {r.outcome for r in again.loads} == {"unchanged"} and again.allocations == []


def _wait_for(condition: Callable[[], bool], child: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if condition():
            return
        if child.poll() is not None:
            pytest.fail(f"the backfill ended (exit {child.returncode}) before it hung:\n"
                        f"{output.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"the backfill did not reach 2026-11 in time:\n{output.read_text()[-3000:]}")
