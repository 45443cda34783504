"""The nightly flow and `load_partition` are one loading path: the flow's tasks are its two
halves (`stage`, `publish`), so the same delivery lands as the same line items, and the same
bad delivery is refused with the same paragraph, logged the same way."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from costalloc.core.errors import CostallocError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.flows.loading import load_partition
from costalloc.flows.nightly import nightly
from costalloc.flows.retries import RETRY_BASE_VARIABLE
from tests.flows.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]
OCTOBER = BillingPeriod(2026, 10)


def _line_items(path: Path) -> pa.Table:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql("select * exclude (x_ingest_run_id) from line_items "
                       "order by x_line_item_id").to_arrow_table()
    finally:
        con.close()


def _failures(path: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [(str(f), str(m)) for f, m in con.sql(
            "select fingerprint, message from ingest_log where status = 'failed'").fetchall()]
    finally:
        con.close()


def test_the_nightly_run_and_load_partition_load_and_refuse_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRY_BASE_VARIABLE, "0")
    space = Workspace(tmp_path)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}])
    written = space.deliver("aws", "2026-10", rows=400, seed=21)
    source = load_settings(config).source("aws")
    direct = tmp_path / "direct.duckdb"

    report = nightly(config=str(config), periods=["2026-10"])
    loaded = load_partition(direct, source, OCTOBER)

    assert loaded.fingerprint == written.fingerprint
    assert [r.describe() for r in report.loads] == [loaded.describe()]
    assert _line_items(space.warehouse).equals(_line_items(direct))
    assert loaded.duplicate_rows == report.loads[0].duplicate_rows == 0

    # A refreshed delivery that names a data file twice: refused alike, logged alike.
    manifest = space.root / "bucket" / "cur" / written.manifest_key
    document = json.loads(manifest.read_text())
    document["dataFiles"].append(document["dataFiles"][0])
    document["executionId"] = "doubled"
    manifest.write_text(json.dumps(document))

    with pytest.raises(SourceError) as refused:
        load_partition(direct, source, OCTOBER)
    with pytest.raises(CostallocError) as failed_run:
        nightly(config=str(config), periods=["2026-10"])

    assert str(failed_run.value).endswith("1 step(s) failed:\n" + str(refused.value))
    assert _failures(space.warehouse) == _failures(direct) == [("doubled", str(refused.value))]
    assert _line_items(space.warehouse).equals(_line_items(direct))  # both still the first
