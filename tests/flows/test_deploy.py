"""deploy/: the compose file and the Dockerfile checked statically (no Docker engine needed),
prefect.yaml deployed for real — a Prefect server, a process work pool, `prefect deploy --all`,
a worker running the `nightly` deployment once — and `costalloc schedule` serving the same."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from costalloc.flows.cli import _parser
from costalloc.flows.schedule import NIGHTLY_CRON, build_deployments
from tests.flows.prefect_server import BIN, api, stop, wait
from tests.flows.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?P<rule>:?[-?][^}]*)?\}")


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return compose


def _prefect_yaml() -> dict[str, Any]:
    project: dict[str, Any] = yaml.safe_load((DEPLOY / "prefect.yaml").read_text())
    return project


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
            pending = ""
    return instructions


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


# --- static: Dockerfile ---------------------------------------------------------------------

def test_the_image_installs_the_project_and_runs_as_a_user() -> None:
    instructions = _dockerfile()
    keywords = [keyword for keyword, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")  # pinned, matches requires-python
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any("pip install ." in run for run in runs)
    user = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert json.loads(dict(instructions)["CMD"])[0] == "costalloc"
    env = " ".join(arguments for keyword, arguments in instructions if keyword == "ENV")
    assert "COSTALLOC_CONFIG=/config/costalloc.yaml" in env

    for keyword, arguments in instructions:  # what COPY takes exists in the build context
        if keyword == "COPY":
            for source in arguments.split()[:-1]:
                assert (REPO / source).exists(), source
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert {".git", ".venv*", "tests", "deploy/.env"} <= set(ignored)

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    installed = {re.split(r"[<>=!~\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert {"prefect", "prefect-dask", "duckdb"} <= installed  # `pip install .` brings the runners


# --- static: compose --------------------------------------------------------------------------

def test_the_compose_file_wires_server_database_worker_and_reports() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "worker", "reports"}
    declared_volumes = set(compose["volumes"])
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), (name, image)
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        for dependency, condition in _depends_on(service).items():
            assert dependency in services, (name, dependency)
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source.startswith("./") or source in declared_volumes, (name, mount)
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):  # secrets only from deploy/.env
                assert INTERPOLATION.fullmatch(str(value)), (name, key)

    postgres, server = services["postgres"]["environment"], services["prefect-server"]
    database = server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert database.startswith(f"postgresql+asyncpg://{postgres['POSTGRES_USER']}:")
    assert database.endswith(f"@postgres:5432/{postgres['POSTGRES_DB']}")
    server_port = _command(server)[_command(server).index("--port") + 1]

    worker = services["worker"]
    assert worker["environment"]["PREFECT_API_URL"] == f"http://prefect-server:{server_port}/api"
    script = " ".join(_command(worker))
    pools = {d["work_pool"]["name"] for d in _prefect_yaml()["deployments"]}
    assert len(pools) == 1
    pool = pools.pop()
    assert f"prefect work-pool create {pool} --type process" in script
    assert "prefect --no-prompt deploy --all" in script
    assert f"prefect worker start --pool {pool}" in script
    config = worker["environment"]["COSTALLOC_CONFIG"]
    assert any(mount.split(":")[1] == config for mount in worker["volumes"])

    reports = services["reports"]
    command = _command(reports)
    assert command[0] == "costalloc"
    args = _parser().parse_args(command[1:])  # the endpoint command as costalloc parses it
    assert args.command.__name__ == "_serve" and args.host == "0.0.0.0"
    assert f"127.0.0.1:{args.port}:{args.port}" in reports["ports"]
    assert str(args.config) == config
    assert INTERPOLATION.fullmatch(reports["environment"]["COSTALLOC_API_TOKENS"])
    data = {mount.split(":")[1] for mount in worker["volumes"] if not mount.startswith("./")}
    assert data == {mount.split(":")[1] for mount in reports["volumes"]
                    if not mount.startswith("./")}  # the endpoint reads the worker's warehouse

    example = yaml.safe_load((DEPLOY / "costalloc.example.yaml").read_text())
    assert any(example["warehouse"].startswith(path + "/") for path in data)
    for name in ("PREFECT_DB_PASSWORD", "COSTALLOC_API_TOKENS"):
        assert f"{name}=" in (DEPLOY / ".env.example").read_text()


def test_the_example_configuration_is_valid_for_every_source(tmp_path: Path) -> None:
    from costalloc.connectors.registry import connector_for
    from costalloc.core.settings import load_settings
    from costalloc.flows.plan import connector_settings, restatement_days

    (tmp_path / "costalloc.yaml").write_text((DEPLOY / "costalloc.example.yaml").read_text())
    settings = load_settings(tmp_path / "costalloc.yaml")
    assert {s.kind for s in settings.sources} >= {"aws-cur", "gcp-bigquery", "azure-export"}
    for source in settings.sources:
        assert restatement_days(source) > 0
        assert connector_for(connector_settings(source)).name == source.name


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


# --- prefect.yaml: its shape, then deployed for real ---------------------------------------

def test_the_deployments_match_their_flows() -> None:
    from prefect.flows import load_flow_from_entrypoint

    deployments = {d["name"]: d for d in _prefect_yaml()["deployments"]}
    assert set(deployments) == {"nightly", "backfill", "reallocate"}
    for name, deployment in deployments.items():
        flow = load_flow_from_entrypoint(deployment["entrypoint"])
        assert flow.name == f"costalloc-{name}"
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties)
    schedules = deployments["nightly"]["schedules"]
    assert schedules == [{"cron": NIGHTLY_CRON, "timezone": "UTC", "active": True}]
    assert "schedules" not in deployments["backfill"] and "schedules" not in deployments[
        "reallocate"]


@pytest.mark.slow
def test_prefect_yaml_deploys_and_a_worker_runs_the_nightly_deployment(
        prefect_server: dict[str, str], tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    written = space.deliver("aws", "2026-10", rows=200, seed=51)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}])
    env = {**prefect_server, "COSTALLOC_CONFIG": str(config)}

    _ok(subprocess.run([str(BIN / "prefect"), "work-pool", "create", "costalloc", "--type",
                        "process"], env=env, capture_output=True, text=True, timeout=60))
    worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "costalloc"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _ok(subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], cwd=DEPLOY,
                           env=env, capture_output=True, text=True, timeout=60))
        state = _run_deployment(env, "costalloc-nightly/nightly", {"periods": ["2026-10"]})
    finally:
        stop(worker)
    assert state == "COMPLETED"
    assert space.loaded() == {("aws", "2026-10"): written.billed_totals["USD"]}
    assert space.allocated() == {"2026-10": written.billed_totals["USD"]}

    deployment = _deployment(env, "costalloc-nightly/nightly")
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in deployment["schedules"]
            ] == [("0 3 * * *", "UTC")]
    assert deployment["work_pool_name"] == "costalloc"
    for name in ("costalloc-nightly/nightly", "costalloc-backfill/backfill",
                 "costalloc-reallocate/reallocate"):  # `costalloc schedule` serves these next
        api("DELETE", f"{env['PREFECT_API_URL']}/deployments/{_deployment(env, name)['id']}")


@pytest.mark.slow
def test_costalloc_schedule_serves_the_deployments(prefect_server: dict[str, str],
                                                  tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    written = space.deliver("aws", "2026-10", rows=150, seed=52)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}])
    log = tmp_path / "schedule.log"
    with log.open("w") as output:
        serving = subprocess.Popen([str(BIN / "costalloc"), "--config", str(config), "schedule",
                                    "--cron", "30 4 * * *"], env=prefect_server, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        wait(lambda: "being served" in log.read_text() or serving.poll() is not None, 60,
              "`costalloc schedule` to serve")
        assert serving.poll() is None, log.read_text()
        state = _run_deployment(prefect_server, "costalloc-nightly/nightly",
                                {"periods": ["2026-10"]})
        assert state == "COMPLETED", log.read_text()[-3000:]
        deployment = _deployment(prefect_server, "costalloc-nightly/nightly")
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["30 4 * * *"]
        assert deployment["parameters"] == {"config": str(config)}
        assert {"costalloc-backfill/backfill", "costalloc-reallocate/reallocate"} <= {
            f"{flow}/{name}" for flow, name in (
                ("costalloc-backfill", _deployment(prefect_server,
                                                   "costalloc-backfill/backfill")["name"]),
                ("costalloc-reallocate", _deployment(prefect_server,
                                                     "costalloc-reallocate/reallocate")["name"]))}
    finally:
        stop(serving)
    assert space.loaded() == {("aws", "2026-10"): written.billed_totals["USD"]}


def test_schedule_builds_three_deployments_and_refuses_a_bad_cron(tmp_path: Path) -> None:
    from costalloc.core.errors import ConfigurationError

    config = Workspace(tmp_path).configure([])
    nightly, backfill, reallocate = build_deployments(config)
    assert [d.name for d in (nightly, backfill, reallocate)] == ["nightly", "backfill",
                                                                  "reallocate"]
    assert [s.schedule.cron for s in nightly.schedules or []] == [  # type: ignore[union-attr]
        "0 3 * * *"]
    assert not backfill.schedules and not reallocate.schedules
    assert nightly.parameters == {"config": str(config.resolve())}
    with pytest.raises(ConfigurationError, match="schedule `every night`"):
        build_deployments(config, "every night")


def _deployment(env: dict[str, str], name: str) -> dict[str, Any]:
    """The deployment as the Prefect API describes it."""
    return api("GET", f"{env['PREFECT_API_URL']}/deployments/name/{name}")


def _run_deployment(env: dict[str, str], name: str, parameters: dict[str, Any]) -> str:
    """Start a run of deployment `name` through the API; its final state type."""
    base = env["PREFECT_API_URL"]
    created = api("POST", f"{base}/deployments/{_deployment(env, name)['id']}/create_flow_run",
                  {"parameters": parameters})
    final: list[str] = []

    def finished() -> bool:
        state = api("GET", f"{base}/flow_runs/{created['id']}")["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            final.append(state)
        return bool(final)

    wait(finished, 90, f"the run of `{name}` to finish")
    return final[0]


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done
