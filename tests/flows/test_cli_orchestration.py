"""The orchestration options of the command line: where sources are read, and the schedule.
Wrong values are configuration errors (exit 2) said in one paragraph, before any source is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from costalloc.flows.cli import main
from tests.flows.workspace import Workspace

pytestmark = pytest.mark.usefixtures("cli_environment")


def test_a_bad_schedule_is_refused_before_anything_is_served(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = Workspace(tmp_path).configure([])
    assert main(["--config", str(config), "schedule", "--cron", "at three"]) == 2
    assert "schedule `at three` is not a cron expression" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
@pytest.mark.parametrize(("options", "message"), [
    (["--dask-address", "tcp://scheduler:8786"], "a Dask address was given with the `threads` "
     "task runner; pass `--task-runner dask`"),
    (["--max-workers", "0"], "max workers is 0; it must be at least 1"),
])
def test_runner_options_that_cannot_work_are_configuration_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str],
        message: str) -> None:
    space = Workspace(tmp_path)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}])
    assert main(["--config", str(config), "run", "--period", "2026-10", *options]) == 2
    assert message in capsys.readouterr().err
    assert not space.warehouse.exists() or space.query("select count(*) from ingest_log") == [(0,)]


@pytest.mark.parametrize(("options", "message"), [
    (["--task-runner", "dask", "--dask-cluster", "no_such_package.Cluster"],
     "Dask cluster class `no_such_package.Cluster`: cannot import `no_such_package`"),
    (["--task-runner", "dask", "--dask-cluster", "distributed.NoSuchCluster"],
     "Dask cluster class `distributed.NoSuchCluster`: `distributed` has no `NoSuchCluster`"),
    (["--task-runner", "dask", "--dask-address", "tcp://scheduler:8786", "--dask-cluster",
      "distributed.LocalCluster"], "a Dask scheduler's address or a cluster class to start, not both"),
    (["--task-runner", "dask", "--dask-option", "n_workers=2"],
     "Dask cluster options were given without a cluster class"),
    (["--dask-cluster", "distributed.LocalCluster"], "a Dask cluster class was given with the "
     "`threads` task runner"),
    (["--task-runner", "dask", "--dask-cluster", "distributed.LocalCluster", "--dask-option",
      "n_workers"], "--dask-option `n_workers` is not KEY=VALUE"),
])
@pytest.mark.parametrize("command", [["run"], ["backfill", "--period", "2026-10"]])
def test_dask_cluster_options_that_cannot_work_are_said_before_anything_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str,
        command: list[str]) -> None:
    space = Workspace(tmp_path)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}])
    space.deliver("aws", "2026-10", rows=50, seed=3)
    assert main(["--config", str(config), *command, *options]) == 2
    assert message in capsys.readouterr().err
    assert not space.warehouse.exists()  # nothing was read, nothing was written
