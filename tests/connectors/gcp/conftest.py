"""The BigQuery emulator (bqemulator, in its own venv `.venv-bq`) for the GCP connector tests.

Started once per session on free ports of 127.0.0.1 through a three-line launcher that skips
the emulator's `INSTALL spatial` (it downloads a DuckDB extension, and tests run offline),
with HOME pointed at a temporary folder. Each test gets its own dataset. A missing emulator is
a failure, never a skip: `make emulators` installs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from costalloc.connectors.gcp import BigQueryExportConnector
from costalloc.core.settings import SourceSettings
from costalloc.warehouse.connection import connect

REPO = Path(__file__).resolve().parents[3]
EMULATOR_PYTHON = REPO / ".venv-bq" / "bin" / "python"
PROJECT = "test-project"
_LAUNCHER = """\
import sys, bqemulator.storage.engine as engine
engine.DuckDBEngine._load_spatial = lambda self: None   # no GEOGRAPHY type offline
from bqemulator.cli import main; sys.exit(main())
"""


@dataclass(frozen=True)
class BigQueryEmulator:
    endpoint: str
    project: str

    def client(self) -> bigquery.Client:
        """A real google-cloud-bigquery client, pointed at the emulator, without credentials."""
        return bigquery.Client(project=self.project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.endpoint))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(url: str) -> bool:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with direct.open(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigQueryEmulator]:
    if not EMULATOR_PYTHON.exists():
        pytest.fail(f"the BigQuery emulator is not installed ({EMULATOR_PYTHON} is missing): "
                    "run `make emulators`")
    workdir = tmp_path_factory.mktemp("bqemulator")
    (workdir / "home").mkdir()
    launcher = workdir / "launcher.py"
    launcher.write_text(_LAUNCHER)
    rest_port, grpc_port = _free_port(), _free_port()
    env = {**os.environ, "HOME": str(workdir / "home"), "TMPDIR": str(workdir),
           "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false"}
    log = (workdir / "emulator.log").open("wb")
    process = subprocess.Popen(
        [str(EMULATOR_PYTHON), str(launcher), "start", "--rest-host", "127.0.0.1",
         "--rest-port", str(rest_port), "--grpc-port", str(grpc_port), "--project", PROJECT,
         "--log-level", "warning"],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{rest_port}"
    readiness = f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets"
    try:
        deadline = time.monotonic() + 60
        while not _ready(readiness):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (workdir / "emulator.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"the BigQuery emulator did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.1)
        yield BigQueryEmulator(endpoint, PROJECT)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def bq_client(bigquery_emulator: BigQueryEmulator) -> bigquery.Client:
    return bigquery_emulator.client()


@pytest.fixture
def new_table(bq_client: bigquery.Client) -> Iterator[Callable[[], str]]:
    """Export table ids in a dataset of this test's own (dropped afterwards)."""
    dataset = f"{PROJECT}.billing_{uuid.uuid4().hex[:10]}"
    names = iter(range(1000))

    def make() -> str:
        return f"{dataset}.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8{next(names):02d}"

    yield make
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture
def gcp_warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


@pytest.fixture
def table_source(bq_client: bigquery.Client) -> Callable[..., BigQueryExportConnector]:
    """A table-mode connector on the emulator: REST pages (the emulator can't serve a query's
    result over the Storage Read API) of 250 rows, so a month is several batches."""

    def make(table: str, name: str = "gcp-main", **options: object) -> BigQueryExportConnector:
        settings = SourceSettings(name=name, kind="gcp-bigquery",
                                  options={"table": table, "read_api": "rest", "batch_rows": 250,
                                           **options})
        return BigQueryExportConnector(settings, client=bq_client)

    return make
