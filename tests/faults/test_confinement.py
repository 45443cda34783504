"""Confinement: a path that comes from data (manifest entries, listed files) or from rules
(usage driver files) and would leave its root is refused before anything there is opened.

Each case plants a file outside the root holding a unique marker, points a manifest, a
symbolic link or a rules file at it, and loads through the production path: the load is
refused with one paragraph naming the source, period and offending entry; the marker appears
nowhere (error, `ingest_log`, `line_items`), and the previous publication is untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3
import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.core.errors import ConfigurationError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export, write_legacy_cur
from costalloc.demo.gcp_billing import generate_month, write_parquet_dump
from costalloc.flows.cli import main
from tests.faults.load_path import load
from tests.faults.outside import Outside, assert_refused, plant_outside, published

OCTOBER = BillingPeriod(2026, 10)
LOCAL = pafs.LocalFileSystem()


@pytest.fixture
def outside(tmp_path: Path) -> Outside:
    return plant_outside(tmp_path)


# --- AWS CUR 2.0 and legacy CUR, a local copy of the bucket ------------------------------------


class LocalExport:
    """`{tmp}/bucket/cur` stands for `s3://b/cur`; the export folder is `exp`. One delivery is
    published; `hostile` writes a newer one whose manifest names `entry` as its second file."""

    def __init__(self, tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.tmp_path = tmp_path
        self.root = tmp_path / "bucket" / "cur"
        self.con = con
        self.deliver(seed=1)
        assert self.load("good").outcome == "loaded"
        self.before = published(con)

    @property
    def folder(self) -> Path:
        return self.root / "exp"

    def deliver(self, seed: int) -> WrittenDelivery:
        return write_cur2_export(LOCAL, str(self.root), bucket="b", prefix="cur",
                                 export_name="exp", period="2026-10", rows=120, seed=seed,
                                 parts=2, file_format="csv")

    def load(self, run_id: str) -> object:
        source = SourceSettings(name="aws-main", kind="aws-cur", uri=str(self.folder))
        return load(self.con, source, OCTOBER, run_id, workdir=self.tmp_path)

    def hostile(self, entry: str) -> Path:
        written = self.deliver(seed=2)
        manifest_path = self.root / written.manifest_key
        manifest = json.loads(manifest_path.read_text())
        manifest["dataFiles"][1] = entry
        manifest_path.write_text(json.dumps(manifest))
        return manifest_path


@pytest.fixture
def export(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> LocalExport:
    return LocalExport(tmp_path, warehouse)


def _dot_dot(export: LocalExport, outside: Outside) -> str:
    return "s3://b/cur/exp/../../../outside/secret.csv"


def _encoded(export: LocalExport, outside: Outside) -> str:
    return "s3://b/cur/exp/%2e%2e/%2E%2E/%252e%252e/outside/secret.csv"


def _backslashes(export: LocalExport, outside: Outside) -> str:
    return "s3://b/cur/exp/data\\..\\..\\..\\..\\outside\\secret.csv"


def _absolute(export: LocalExport, outside: Outside) -> str:
    return str(outside.csv)


def _symlinked_file(export: LocalExport, outside: Outside) -> str:
    link = export.folder / "data" / "BILLING_PERIOD=2026-10" / "linked.csv"
    link.symlink_to(outside.csv)
    return "s3://b/cur/exp/data/BILLING_PERIOD=2026-10/linked.csv"


def _symlinked_folder(export: LocalExport, outside: Outside) -> str:
    (export.folder / "data" / "shared").symlink_to(outside.folder, target_is_directory=True)
    return "s3://b/cur/exp/data/shared/secret.csv"


@pytest.mark.parametrize(("entry", "reason"), [
    (_dot_dot, "`..`"),
    (_encoded, "URL-encoded"),
    (_backslashes, "backslash"),
    (_absolute, "absolute"),
    (_symlinked_file, "symbolic link"),
    (_symlinked_folder, "symbolic link"),
], ids=["dot-dot", "url-encoded", "backslashes", "absolute", "symlinked-file",
        "symlinked-folder"])
def test_a_cur2_manifest_entry_leaving_the_export_is_refused(
        export: LocalExport, outside: Outside, entry: Callable[[LocalExport, Outside], str],
        reason: str) -> None:
    named = entry(export, outside)
    manifest = export.hostile(named)
    with pytest.raises(SourceError) as raised:
        export.load("hostile")
    message = assert_refused(raised, export.con, export.before, outside, source="aws-main",
                             names=(manifest.name, named[:60], reason))
    assert "previous load stays published" in message


def test_a_very_long_hostile_entry_is_quoted_cut_short(export: LocalExport,
                                                       outside: Outside) -> None:
    named = "s3://b/cur/exp/" + "a/" * 2000 + "../" * 2001 + "outside/secret.csv"
    export.hostile(named)
    with pytest.raises(SourceError) as raised:
        export.load("hostile")
    message = assert_refused(raised, export.con, export.before, outside, source="aws-main",
                             names=("`..`",))
    assert len(message) < 1000, message


def test_a_legacy_report_key_leaving_the_report_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, outside: Outside) -> None:
    root = tmp_path / "bucket" / "legacy"
    source = SourceSettings(name="aws-legacy", kind="aws-cur", uri=str(root / "rep"))
    common = {"bucket": "b", "prefix": "legacy", "report_name": "rep", "period": "2026-10"}
    write_legacy_cur(LOCAL, str(root), rows=100, seed=1, **common)  # type: ignore[arg-type]
    assert load(warehouse, source, OCTOBER, "good", workdir=tmp_path).outcome == "loaded"
    before = published(warehouse)
    newer = write_legacy_cur(LOCAL, str(root), rows=100, parts=2, seed=2,
                             **common)  # type: ignore[arg-type]
    manifest_path = root / newer.manifest_key
    manifest = json.loads(manifest_path.read_text())
    manifest["reportKeys"][1] = "legacy/rep/../../../outside/secret.csv"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(SourceError) as raised:
        load(warehouse, source, OCTOBER, "hostile", workdir=tmp_path)
    assert_refused(raised, warehouse, before, outside, source="aws-legacy",
                   names=("rep-Manifest.json", "legacy/rep/../../../outside/secret.csv", "`..`"))


# --- AWS CUR 2.0 on S3 (moto's server) -----------------------------------------------------


@pytest.fixture
def s3_export(tmp_path: Path, bucket: str, s3_filesystem: pafs.S3FileSystem,
              warehouse: duckdb.DuckDBPyConnection) -> tuple[SourceSettings, list[tuple[object, ...]]]:
    source = SourceSettings(name="aws-s3", kind="aws-cur", uri=f"s3://{bucket}/cur/exp")
    write_cur2_export(s3_filesystem, f"{bucket}/cur", bucket=bucket, prefix="cur",
                      export_name="exp", period="2026-10", rows=120, parts=2, seed=1,
                      file_format="csv")
    assert load(warehouse, source, OCTOBER, "good", workdir=tmp_path).outcome == "loaded"
    return source, published(warehouse)


def _s3_hostile(bucket: str, s3_filesystem: pafs.S3FileSystem, entry: Callable[[str], str]) -> str:
    written = write_cur2_export(s3_filesystem, f"{bucket}/cur", bucket=bucket, prefix="cur",
                                export_name="exp", period="2026-10", rows=120, parts=2, seed=2,
                                file_format="csv")
    client = boto3.client("s3")
    key = f"cur/{written.manifest_key}"
    manifest = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    named = entry(manifest["dataFiles"][1])
    manifest["dataFiles"][1] = named
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    return named


def test_a_dot_dot_key_on_s3_does_not_reach_an_object_outside_the_export(
        tmp_path: Path, bucket: str, s3_filesystem: pafs.S3FileSystem,
        warehouse: duckdb.DuckDBPyConnection, outside: Outside,
        s3_export: tuple[SourceSettings, list[tuple[object, ...]]]) -> None:
    source, before = s3_export
    boto3.client("s3").put_object(Bucket=bucket, Key="payroll/secret.csv",
                                  Body=outside.csv.read_bytes())
    named = _s3_hostile(bucket, s3_filesystem,
                        lambda _: f"s3://{bucket}/cur/exp/../../payroll/secret.csv")
    with pytest.raises(SourceError) as raised:
        load(warehouse, source, OCTOBER, "hostile", workdir=tmp_path)
    assert_refused(raised, warehouse, before, outside, source="aws-s3", names=(named, "`..`"))


def test_a_data_file_in_another_bucket_is_refused_not_read_from_ours(
        tmp_path: Path, bucket: str, s3_filesystem: pafs.S3FileSystem,
        warehouse: duckdb.DuckDBPyConnection, outside: Outside,
        s3_export: tuple[SourceSettings, list[tuple[object, ...]]]) -> None:
    source, before = s3_export
    named = _s3_hostile(bucket, s3_filesystem,
                        lambda ours: ours.replace(f"s3://{bucket}/", "s3://someone-elses/"))
    with pytest.raises(SourceError) as raised:
        load(warehouse, source, OCTOBER, "hostile", workdir=tmp_path)
    assert_refused(raised, warehouse, before, outside, source="aws-s3",
                   names=(named[:100], "`someone-elses`", f"`{bucket}`"))


# --- folders that are listed: FOCUS files, a GCP Parquet dump, an asset register ------------

_FOCUS_ROW = {
    "BilledCost": "10.50", "EffectiveCost": "10.50", "ListCost": "10.50",
    "ContractedCost": "10.50", "BillingAccountId": "acct-1", "BillingCurrency": "USD",
    "BillingPeriodStart": "2026-10-01T00:00:00Z", "BillingPeriodEnd": "2026-11-01T00:00:00Z",
    "ChargePeriodStart": "2026-10-05T00:00:00Z", "ChargePeriodEnd": "2026-10-06T00:00:00Z",
    "ChargeCategory": "Usage", "ChargeDescription": "compute", "ChargeFrequency": "Usage-Based",
    "InvoiceIssuerName": "Acme Cloud", "ProviderName": "Acme Cloud",
    "PublisherName": "Acme Cloud", "ServiceProviderName": "Acme Cloud",
    "HostProviderName": "Acme Cloud", "ServiceCategory": "Compute", "ServiceName": "VMs",
}


def test_a_focus_file_linked_from_outside_the_folder_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, outside: Outside) -> None:
    folder = tmp_path / "focus"
    (folder / "BILLING_PERIOD=2026-10").mkdir(parents=True)
    (folder / "BILLING_PERIOD=2026-10" / "part-1.csv").write_text(
        ",".join(_FOCUS_ROW) + "\n" + ",".join(_FOCUS_ROW.values()) + "\n")
    source = SourceSettings(name="focus-files", kind="focus", uri=str(folder))
    assert load(warehouse, source, OCTOBER, "good", workdir=tmp_path).outcome == "loaded"
    before = published(warehouse)
    (folder / "BILLING_PERIOD=2026-10" / "part-2.csv").symlink_to(outside.csv)
    with pytest.raises(SourceError) as raised:
        load(warehouse, source, OCTOBER, "hostile", workdir=tmp_path)
    assert_refused(raised, warehouse, before, outside, source="focus-files",
                   names=("BILLING_PERIOD=2026-10/part-2.csv", "symbolic link"))


def test_a_gcp_dump_file_linked_from_outside_the_folder_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, outside: Outside) -> None:
    month = generate_month("2026-10", seed=3, rows=60, late_rows=0)
    write_parquet_dump(tmp_path / "dump", [month.first])
    source = SourceSettings(name="gcp-dump", kind="gcp-bigquery", uri=str(tmp_path / "dump"))
    assert load(warehouse, source, OCTOBER, "good", workdir=tmp_path).outcome == "loaded"
    before = published(warehouse)
    # A genuine-looking dump outside the folder, its billing account the marker.
    other = generate_month("2026-10", seed=4, rows=30, late_rows=0).first
    other = other.set_column(other.schema.get_field_index("billing_account_id"),
                             "billing_account_id", pa.array([outside.marker] * other.num_rows))
    write_parquet_dump(outside.folder / "dump", [other])
    (tmp_path / "dump" / "000000000009.parquet").symlink_to(
        outside.folder / "dump" / "000000000000.parquet")
    with pytest.raises(SourceError) as raised:
        load(warehouse, source, OCTOBER, "hostile", workdir=tmp_path)
    assert_refused(raised, warehouse, before, outside, source="gcp-dump",
                   names=("000000000009.parquet", "symbolic link"))


ASSETS = ("asset_id,description,cost,currency,in_service_date,useful_life_months\n"
          "gpu-01,8x H100 server,312000.00,USD,2026-10-16,36\n")


def test_an_asset_register_linked_from_outside_its_folder_is_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, outside: Outside) -> None:
    folder = tmp_path / "finance"
    folder.mkdir()
    (folder / "assets.csv").write_text(ASSETS)
    source = SourceSettings(name="on-prem", kind="asset-register", uri=str(folder / "assets.csv"))
    assert load(warehouse, source, OCTOBER, "good", workdir=tmp_path).outcome == "loaded"
    before = published(warehouse)
    (folder / "assets.csv").unlink()
    (folder / "assets.csv").symlink_to(outside.csv)
    with pytest.raises(SourceError) as raised:
        load(warehouse, source, OCTOBER, "hostile", workdir=tmp_path)
    assert_refused(raised, warehouse, before, outside, source="on-prem",
                   names=("assets.csv", "symbolic link"))


# --- rules: usage driver files ---------------------------------------------------------------

DRIVER = "period,target,quantity\n2026-10,platform_build,3\n2026-10,production_operations,1\n"


def _rules(folder: Path, driver_file: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - id: everything-in-production\n"
        "    when: {ChargeCategory: Usage}\n"
        "    set: {environment: production}\n"
        "splits:\n"
        "  - id: llm-gateway-by-tokens\n"
        "    when: {ChargeCategory: Usage}\n"
        "    method: usage\n"
        f"    driver: {{file: {json.dumps(driver_file)}, name: tokens}}\n"
        "    across: {workstream: [platform_build, production_operations]}\n")
    return path


@pytest.mark.parametrize("driver_file", [
    "../outside/tokens.csv",
    "drivers/../../outside/tokens.csv",
    "drivers\\..\\..\\outside\\tokens.csv",
    "%2e%2e/outside/tokens.csv",
    "{outside}/tokens.csv",
], ids=["dot-dot", "dot-dot-inside", "backslashes", "url-encoded", "absolute-outside"])
def test_rules_check_refuses_a_driver_file_outside_the_rules_folder(
        tmp_path: Path, outside: Outside, capsys: pytest.CaptureFixture[str],
        driver_file: str) -> None:
    (outside.folder / "tokens.csv").write_text(DRIVER + f"2026-10,{outside.marker},1\n")
    named = driver_file.format(outside=outside.folder)
    rules = _rules(tmp_path / "rules", named)

    assert main(["rules", "check", str(rules)]) == 2
    error = capsys.readouterr().err
    assert f"{rules}:9:" in error, error
    assert "split `llm-gateway-by-tokens` field `driver.file`" in error, error
    assert named[:40] in error and "must be inside the rules folder" in error, error
    assert outside.marker not in error and "Traceback" not in error


def test_a_driver_file_linked_from_outside_is_refused_by_rules_check(
        tmp_path: Path, outside: Outside, capsys: pytest.CaptureFixture[str]) -> None:
    (outside.folder / "tokens.csv").write_text(DRIVER)
    rules = _rules(tmp_path / "rules", "drivers/tokens.csv")
    (tmp_path / "rules" / "drivers").symlink_to(outside.folder, target_is_directory=True)

    assert main(["rules", "check", str(rules)]) == 2
    error = capsys.readouterr().err
    assert f"{rules}:9:" in error and "symbolic link" in error, error


def test_driver_files_inside_the_rules_folder_pass_by_relative_or_absolute_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rules"
    (folder / "drivers").mkdir(parents=True)
    (folder / "drivers" / "tokens.csv").write_text(DRIVER)
    (folder / "drivers" / "alias.csv").symlink_to(folder / "drivers" / "tokens.csv")
    for named in ("drivers/tokens.csv", str(folder / "drivers" / "tokens.csv"),
                  "drivers/alias.csv"):
        rules = _rules(folder, named)
        assert main(["rules", "check", str(rules)]) == 0, capsys.readouterr().err
        assert load_rules(rules).splits[0].driver is not None


def _line_items(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write_cur2_export(LOCAL, str(tmp_path / "bucket" / "cur"), bucket="b", prefix="cur",
                      export_name="exp", period="2026-10", rows=80, seed=1, file_format="csv")
    source = SourceSettings(name="aws-main", kind="aws-cur", uri=str(tmp_path / "bucket/cur/exp"))
    assert load(con, source, OCTOBER, "load", workdir=tmp_path).outcome == "loaded"


def _allocated(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.sql("select x_rules_version, workstream, sum(BilledCost) from allocated_costs "
                   "group by all order by all").fetchall()


def test_allocation_refuses_a_driver_file_that_became_a_link_outside(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, outside: Outside) -> None:
    _line_items(warehouse, tmp_path)
    folder = tmp_path / "rules"
    (folder / "drivers").mkdir(parents=True)
    (folder / "drivers" / "tokens.csv").write_text(DRIVER)
    ruleset = load_rules(_rules(folder, "drivers/tokens.csv"))
    allocate_period(warehouse, ruleset, OCTOBER, "first")
    before = _allocated(warehouse)
    assert {"platform_build", "production_operations"} <= {row[1] for row in before}

    # after `rules check`, the driver is swapped for a link to a file outside the folder
    (outside.folder / "tokens.csv").write_text(
        "period,target,quantity\n2026-10,platform_build,1\n2026-10,production_operations,"
        f"99\n2026-10,{outside.marker},1\n")
    (folder / "drivers" / "tokens.csv").unlink()
    (folder / "drivers" / "tokens.csv").symlink_to(outside.folder / "tokens.csv")
    with pytest.raises(ConfigurationError) as raised:
        allocate_period(warehouse, ruleset, OCTOBER, "second")
    message = str(raised.value)
    assert "split `llm-gateway-by-tokens`" in message and "symbolic link" in message, message
    assert outside.marker not in message
    assert _allocated(warehouse) == before, "the published allocation stays as it was"


def test_a_malformed_driver_inside_the_folder_is_one_paragraph_not_a_traceback(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    _line_items(warehouse, tmp_path)
    folder = tmp_path / "rules"
    (folder / "drivers").mkdir(parents=True)
    (folder / "drivers" / "tokens.csv").write_text(
        "period,target,quantity\n2026-10,platform_build,3,extra,fields\n\"unclosed\n")
    ruleset = load_rules(_rules(folder, "drivers/tokens.csv"))
    with pytest.raises(ConfigurationError) as raised:
        allocate_period(warehouse, ruleset, OCTOBER, "r")
    message = str(raised.value)
    assert message.startswith("split `llm-gateway-by-tokens`: driver file `drivers/tokens.csv`")
    assert "\n" not in message and len(message) < 600, message

