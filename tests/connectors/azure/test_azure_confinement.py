"""Confinement of `azure-export`: a manifest's `blobName` that climbs out of the export root
or names another container, and a local copy's file linked from outside, are refused before
anything there is read — in Azurite and in a local folder, through the production loading path."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from azure.storage.blob import ContainerClient

from costalloc.connectors.azure.blobs import CONNECTION_STRING_VARIABLE
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.azure_exports import (
    EA_SCOPE,
    BlobSink,
    ContainerSink,
    FolderSink,
    WrittenRun,
    cost_rows,
    write_export_run,
)
from tests.faults.load_path import load
from tests.faults.outside import Outside, assert_refused, plant_outside, published

OCTOBER = BillingPeriod(2026, 10)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def outside(tmp_path: Path) -> Outside:
    return plant_outside(tmp_path)


def _run(sink: BlobSink, submitted: datetime, seed: int) -> WrittenRun:
    return write_export_run(sink, export_name="ea-actual", scope=EA_SCOPE, dataset="ActualCost",
                            period="2026-10", rows=cost_rows("ea", "ActualCost", "2026-10", seed),
                            submitted=submitted, parts=2)


class Published:
    """One export run loaded; `hostile` adds a newer run whose manifest names `entry` as its
    second blob."""

    def __init__(self, sink: BlobSink, source: SourceSettings, con: duckdb.DuckDBPyConnection,
                 tmp_path: Path, read: Callable[[str], bytes],
                 write: Callable[[str, bytes], None]) -> None:
        self.sink, self.source, self.con, self.tmp_path = sink, source, con, tmp_path
        self.read, self.write = read, write
        _run(sink, NOV_1 - timedelta(days=2), seed=1)
        assert self.load("good").outcome == "loaded"
        self.before = published(con)

    def load(self, run_id: str) -> object:
        return load(self.con, self.source, OCTOBER, run_id, workdir=self.tmp_path)

    def hostile(self, entry: Callable[[str], str]) -> tuple[str, WrittenRun]:
        run = _run(self.sink, NOV_1 + timedelta(hours=1), seed=2)
        assert run.manifest is not None
        manifest = json.loads(self.read(run.manifest))
        named = entry(manifest["blobs"][1]["blobName"])
        manifest["blobs"][1]["blobName"] = named
        self.write(run.manifest, json.dumps(manifest).encode())
        return named, run


@pytest.fixture
def in_azurite(container: ContainerClient, azurite: str, tmp_path: Path,
               warehouse: duckdb.DuckDBPyConnection, outside: Outside,
               monkeypatch: pytest.MonkeyPatch) -> Published:
    monkeypatch.setenv(CONNECTION_STRING_VARIABLE, azurite)
    # the same secret, as a blob of the container outside the export root
    container.upload_blob("outside/secret.csv", outside.csv.read_bytes())
    source = SourceSettings(name="azure-ea", kind="azure-export",
                            uri=f"abfs://{container.container_name}/costalloc")
    return Published(ContainerSink(container), source, warehouse, tmp_path,
                     lambda name: container.download_blob(name).readall(),
                     lambda name, data: container.upload_blob(name, data, overwrite=True))


@pytest.mark.parametrize(("entry", "reason"), [
    (lambda ours: "costalloc/../outside/secret.csv", "`..`"),
    (lambda ours: "costalloc/%2E%2E/outside/secret.csv", "URL-encoded"),
    (lambda ours: "costalloc\\..\\outside\\secret.csv", "backslash"),
    (lambda ours: "/outside/secret.csv", "absolute"),
], ids=["dot-dot", "url-encoded", "backslashes", "absolute"])
def test_a_blob_name_leaving_the_export_root_is_refused(
        in_azurite: Published, outside: Outside, entry: Callable[[str], str],
        reason: str) -> None:
    named, run = in_azurite.hostile(entry)
    with pytest.raises(SourceError) as raised:
        in_azurite.load("hostile")
    assert_refused(raised, in_azurite.con, in_azurite.before, outside, source="azure-ea",
                   names=(str(run.manifest), named, reason, "previous load stays published"))


def test_a_blob_of_another_container_is_refused_not_read_from_ours(
        in_azurite: Published, container: ContainerClient, outside: Outside) -> None:
    account = container.url.rstrip("/").rsplit("/", 1)[0]
    _, run = in_azurite.hostile(lambda ours: f"{account}/someone-elses/{ours}")
    with pytest.raises(SourceError) as raised:
        in_azurite.load("hostile")
    assert_refused(raised, in_azurite.con, in_azurite.before, outside, source="azure-ea",
                   names=(str(run.manifest), "someone-elses`",
                          f"container `{container.container_name}`"))


def test_the_same_container_named_by_url_still_loads(in_azurite: Published,
                                                     container: ContainerClient) -> None:
    in_azurite.hostile(lambda ours: f"{container.url.rstrip('/')}/{ours}")
    assert in_azurite.load("by-url").outcome == "loaded"


def test_a_local_copy_whose_part_links_outside_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, outside: Outside) -> None:
    folder = tmp_path / "container"
    source = SourceSettings(name="azure-ea", kind="azure-export", uri=str(folder / "costalloc"))
    export = Published(FolderSink(folder), source, warehouse, tmp_path,
                       lambda name: (folder / name).read_bytes(),
                       lambda name, data: (folder / name).write_bytes(data))
    run = _run(FolderSink(folder), NOV_1 + timedelta(hours=1), seed=2)
    part = folder / run.blobs[1]
    part.unlink()
    part.symlink_to(outside.csv)
    with pytest.raises(SourceError) as raised:
        export.load("hostile")
    assert_refused(raised, warehouse, export.before, outside, source="azure-ea",
                   names=(Path(run.blobs[1]).name, "symbolic link"))
