"""A run with nothing to do: with no Prefect server configured, `costalloc backfill` and
`costalloc run` end without starting one (nor importing Prefect at all) and say what they
found; anything to load or allocate still goes to the flow; with a server configured, the
same run is a flow run recorded there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.flows.nightly import nightly
from costalloc.flows.nothing_to_do import finished_without_prefect
from costalloc.flows.run_report import Step
from costalloc.flows.triage import ruleset_of
from tests.flows.prefect_server import flow_runs
from tests.flows.workspace import RULES, Workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]
REPO = Path(__file__).resolve().parents[2]
OCTOBER = BillingPeriod(2026, 10)
# The command line, then whether Prefect was imported by the time it returned.
LAUNCHER = ("import sys; from costalloc.flows.cli import main; code = main(sys.argv[1:]); "
            "print('prefect imported:', 'prefect' in sys.modules, file=sys.stderr); "
            "sys.exit(code)")


def _loaded(tmp_path: Path) -> tuple[Workspace, Path, str]:
    """A month loaded and allocated; the workspace, its configuration, the delivery."""
    space = Workspace(tmp_path)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}])
    written = space.deliver("aws", "2026-10", rows=300, seed=41)
    nightly(config=str(config), periods=["2026-10"])
    return space, config, written.fingerprint


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LAUNCHER, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _without_server(home: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("PREFECT_API_URL", None)
    return env


def test_a_run_with_nothing_to_do_starts_no_prefect_server(tmp_path: Path) -> None:
    space, config, fingerprint = _loaded(tmp_path)
    version = ruleset_of(load_settings(config)).version
    home = tmp_path / "prefect-home"
    for command, stream in (("backfill", "stderr"), ("run", "stdout")):
        done = _cli(["--config", str(config), command, "--period", "2026-10"],
                    _without_server(home), tmp_path)
        assert done.returncode == 0, done.stderr
        said = getattr(done, stream)
        assert f"aws 2026-10: delivery {fingerprint} already loaded" in said
        assert f"2026-10: allocation under rules {version} is current; not re-allocated" in said
        assert "prefect imported: False" in done.stderr  # no server, no client, no engine
    assert not home.exists() or not list(home.rglob("*.db"))  # no server ever wrote its database
    assert space.load_count() == {("aws", "2026-10"): 1}


@pytest.mark.parametrize("change", ["new delivery", "new rules", "force"])
def test_anything_to_load_or_allocate_goes_to_the_flow(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    space, config, _ = _loaded(tmp_path)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.chdir(tmp_path)
    if change == "new delivery":
        space.deliver("aws", "2026-10", rows=320, seed=42)
    elif change == "new rules":
        (space.root / "rules.yaml").write_text(RULES + "# another version\n")
    told: list[Step] = []
    assert not finished_without_prefect(config, [OCTOBER], None, force=change == "force",
                                        tell=told.append)
    assert told == []  # the flow says what it does


def test_with_a_prefect_server_a_run_with_nothing_to_do_is_a_recorded_flow_run(
        tmp_path: Path, prefect_server: dict[str, str]) -> None:
    _, config, fingerprint = _loaded(tmp_path)
    before = flow_runs(prefect_server, "costalloc-backfill")

    done = _cli(["--config", str(config), "backfill", "--period", "2026-10"],
                {**prefect_server, "PYTHONPATH": str(REPO)}, tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"aws 2026-10: delivery {fingerprint} already loaded" in done.stderr
    known = {run["id"] for run in before}
    [new] = [run for run in flow_runs(prefect_server, "costalloc-backfill")
             if run["id"] not in known]
    assert new["state"]["type"] == "COMPLETED"
    assert new["parameters"]["periods"] == ["2026-10"]
