"""The deliveries the fuzz suite mutates, each in its provider's real layout: one delivery
published, then a newer one (the one the mutations edit), written by `costalloc.demo`'s
generators or cut from the real FOCUS sample in tests/samples.

A layout knows where its files and manifest are, which columns play which role (the cost,
the currency, a quantity...), how its manifest names a data file, and how the oracle
(`fuzz_oracle`) reads the delivery: which files a load should read — resolved from the
manifest by the providers' documented rules, independently of costalloc — and with which
row rules.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.fs as pafs

from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export, write_legacy_cur
from costalloc.demo.azure_exports import EA_SCOPE, FolderSink, cost_rows, write_export_run
from tests.faults.fuzz_oracle import Expected, MustRefuse, RowRules, expected

LOCAL = pafs.LocalFileSystem()
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MARKER = "OUTSIDE-d41d8cd98f00b204e9800998ecf8427e"  # every byte of the planted outside files
_SEED = 11


@dataclass(frozen=True)
class Current:
    """The newer delivery as written: its manifest (None: a folder source) and data files."""

    manifest: Path | None
    files: tuple[Path, ...]


@dataclass(frozen=True)
class Layout:
    """One source kind's real layout, and how the oracle reads it."""

    name: str  # the test id
    source: str  # the source's name
    period: BillingPeriod
    roles: dict[str, str]  # role (cost, currency, quantity...) → column as its files spell it
    rules: RowRules
    folder: str  # the source's `uri`, below an example's root
    kind: str
    write_published: Callable[[Path], None]
    write_current: Callable[[Path], Current]
    files_of: Callable[[Layout, Path, Current], list[tuple[str, Path]]]  # the oracle's file list
    entry_for: Callable[[Path, Path], Any] | None = None  # (root, data file) → manifest entry
    entries_key: str = ""  # the manifest's file list
    fingerprint_key: str = ""
    time_style: Callable[[datetime], str] = field(default=lambda t: f"{t:%Y-%m-%dT%H:%M:%SZ}")
    parquet: bool = False

    @property
    def has_manifest(self) -> bool:
        return self.entry_for is not None

    def settings(self, root: Path) -> SourceSettings:
        return SourceSettings(name=self.source, kind=self.kind, uri=str(root / self.folder))

    def expected(self, root: Path, current: Current) -> Expected:
        """What an honest load of the example publishes; `MustRefuse` when none exists."""
        return expected(self.files_of(self, root, current), self.rules, self.period.start)


def build_template(layout: Layout, root: Path, load: Callable[[Path], None]) -> Current:
    """Write the published delivery, `load` it, then write the newer one; plant the files
    outside every root that hostile entries point at."""
    layout.write_published(root)
    load(root)
    current = layout.write_current(root)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(f"secret {MARKER}\n{MARKER},{MARKER},{MARKER}\n")
    # a well-formed data file of the layout whose every text says the marker
    shutil.copyfile(current.files[0], outside / current.files[0].name)
    return current


# --- AWS CUR 2.0 and legacy CUR, a local copy of bucket `b` under prefix `cur` -------------------


def _cur2(file_format: str) -> Layout:
    bucket = Path("bucket") / "cur"

    def write(rows: int, parts: int, execution_id: str) -> Callable[[Path], Any]:
        return lambda root: write_cur2_export(
            LOCAL, str(root / bucket), bucket="b", prefix="cur", export_name="exp",
            period="2026-10", rows=rows, parts=parts, seed=_SEED, execution_id=execution_id,
            file_format=file_format)  # type: ignore[arg-type]

    def current(root: Path) -> Current:
        written = write(150, 3, "current-delivery")(root)
        return Current(root / bucket / written.manifest_key,
                       tuple(root / bucket / key for key in written.data_keys))

    return Layout(
        name=f"cur2-{file_format}", source="aws-cur2", period=BillingPeriod(2026, 10),
        roles=_CUR_ROLES, rules=_CUR_RULES, folder=str(bucket / "exp"), kind="aws-cur",
        write_published=write(120, 2, "published-delivery"), write_current=current,
        files_of=_manifest_files, entry_for=lambda root, path: "s3://b/cur/" + path.relative_to(
            root / bucket).as_posix(),
        entries_key="dataFiles", fingerprint_key="executionId", parquet=file_format == "parquet")


_CUR_ROLES = {
    "cost": "line_item_unblended_cost", "money": "pricing_public_on_demand_cost",
    "quantity": "line_item_usage_amount", "rate": "line_item_unblended_rate",
    "currency": "line_item_currency_code", "period": "bill_billing_period_start_date",
    "time": "line_item_usage_start_date", "tags": "resource_tags",
    "id": "identity_line_item_id", "text": "line_item_line_item_description",
    "account": "bill_payer_account_id",
}
_CUR_RULES = RowRules(
    cost="line_item_unblended_cost", currency="line_item_currency_code",
    period="bill_billing_period_start_date", times=("line_item_usage_start_date",),
    money=("pricing_public_on_demand_cost",),
    quantities=("line_item_usage_amount", "line_item_unblended_rate"),
    required=("bill_payer_account_id", "line_item_line_item_type"))


def _legacy() -> Layout:
    bucket = Path("bucket")

    def write(rows: int, parts: int, assembly_id: str) -> Callable[[Path], Any]:
        return lambda root: write_legacy_cur(
            LOCAL, str(root / bucket / "cur"), bucket="b", prefix="cur", report_name="rep",
            period="2026-10", rows=rows, parts=parts, seed=_SEED, assembly_id=assembly_id)

    def current(root: Path) -> Current:
        written = write(140, 3, "current-assembly")(root)
        return Current(root / bucket / "cur" / written.manifest_key,
                       tuple(root / bucket / "cur" / key for key in written.data_keys))

    roles = {"cost": "lineItem/UnblendedCost", "money": "pricing/publicOnDemandCost",
             "quantity": "lineItem/UsageAmount", "rate": "lineItem/UnblendedRate",
             "currency": "lineItem/CurrencyCode", "period": "bill/BillingPeriodStartDate",
             "time": "lineItem/UsageStartDate", "tags": "resourceTags/user:Env",
             "id": "identity/LineItemId", "text": "lineItem/LineItemDescription",
             "account": "bill/PayerAccountId"}
    rules = RowRules(cost=roles["cost"], currency=roles["currency"], period=roles["period"],
                     times=(roles["time"],), money=(roles["money"],),
                     quantities=(roles["quantity"], roles["rate"]),
                     required=("bill/PayerAccountId", "lineItem/LineItemType"), header="stripped")
    return Layout(
        name="legacy-cur", source="aws-legacy", period=BillingPeriod(2026, 10), roles=roles,
        rules=rules, folder="bucket/cur/rep", kind="aws-cur", write_published=write(
            110, 2, "published-assembly"), write_current=current, files_of=_manifest_files,
        entry_for=lambda root, path: path.relative_to(root / bucket).as_posix(),
        entries_key="reportKeys", fingerprint_key="assemblyId")


def _manifest_files(layout: Layout, root: Path, current: Current) -> list[tuple[str, Path]]:
    """The files an AWS manifest names, by AWS's rules for a local copy of the bucket: an
    `s3://` URI (any bucket: a copy doesn't know its name) or a bare key, of which the part
    after `<export name>/` is below the export folder; it must exist there, as a regular file
    inside the folder (links followed), and no file may be named twice."""
    assert current.manifest is not None
    document = _json(current.manifest)
    fingerprint = document.get(layout.fingerprint_key)
    if not isinstance(fingerprint, str) or not fingerprint.strip():
        raise MustRefuse(f"`{layout.fingerprint_key}` is {fingerprint!r:.40}")
    entries = document.get(layout.entries_key)
    if not isinstance(entries, list) or not entries:
        raise MustRefuse(f"`{layout.entries_key}` is {entries!r:.40}")
    folder = root / layout.folder
    export = folder.name
    files: list[tuple[str, Path]] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise MustRefuse(f"entry {entry!r:.40} is not text")
        scheme, has_scheme, rest = entry.partition("://")
        key = rest.partition("/")[2] if has_scheme else entry
        if has_scheme and scheme != "s3":
            raise MustRefuse(f"entry `{entry:.60}` is not an s3:// URI")
        if key.startswith(f"{export}/"):
            tail = key[len(export) + 1:]
        elif f"/{export}/" in key:
            tail = key.partition(f"/{export}/")[2]
        else:
            raise MustRefuse(f"entry `{entry:.60}` is not below the export")
        files.append((tail, _inside(folder, tail)))
    _no_file_twice(files)
    return files


def _inside(folder: Path, relative: str) -> Path:
    """`relative` as a regular file inside `folder` (links resolved), or `MustRefuse`."""
    if not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative:
        raise MustRefuse(f"`{relative:.60}` is not a relative path")
    real = Path(os.path.realpath(folder / relative))
    if not real.is_relative_to(os.path.realpath(folder)) or not real.is_file():
        raise MustRefuse(f"`{relative:.60}` is not a file inside `{folder.name}`")
    return real


def _no_file_twice(files: list[tuple[str, Path]]) -> None:
    seen = [path for _, path in files]
    if len(set(seen)) != len(seen):
        raise MustRefuse("a data file is listed twice")


def _json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as error:
        raise MustRefuse(f"manifest: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise MustRefuse("the manifest is not an object")
    return document


# --- an Azure Cost Management export (EA ActualCost, CSV with a BOM), a local container copy ---


def _azure_rows(newer: bool) -> pl.DataFrame:
    rows = cost_rows("ea", "ActualCost", "2026-10", seed=_SEED)
    usage = rows.filter(pl.col("ChargeType") == "Usage")
    if not newer:
        return usage.slice(0, 80)
    # the month's purchase and refund, and usage rows the published run did not have
    return pl.concat([rows.filter(pl.col("ChargeType") != "Usage"), usage.slice(200, 130)])


def _azure() -> Layout:
    def run(newer: bool, day: int, parts: int) -> Callable[[Path], Any]:
        return lambda root: write_export_run(
            FolderSink(root / "container"), export_name="ea-actual", scope=EA_SCOPE,
            dataset="ActualCost", period="2026-10", rows=_azure_rows(newer), parts=parts,
            file_format="csv", submitted=datetime(2026, 11, day, 6, tzinfo=UTC))

    def current(root: Path) -> Current:
        written = run(True, 2, 3)(root)
        container = root / "container"
        assert written.manifest is not None
        return Current(container / written.manifest, tuple(container / b for b in written.blobs))

    roles = {"cost": "CostInBillingCurrency", "quantity": "Quantity", "rate": "UnitPrice",
             "money": "PayGPrice", "currency": "BillingCurrencyCode",
             "period": "BillingPeriodStartDate", "time": "Date", "tags": "Tags",
             "text": "ProductName", "account": "BillingAccountId"}
    rules = RowRules(cost=roles["cost"], currency=roles["currency"], period=roles["period"],
                     times=("Date",), quantities=("Quantity", "UnitPrice", "PayGPrice",
                                                  "EffectivePrice"),
                     period_fallback="Date", period_month=True, header="any-case")
    return Layout(
        name="azure-ea-csv", source="azure-ea", period=BillingPeriod(2026, 10), roles=roles,
        rules=rules, folder="container", kind="azure-export", write_published=run(False, 1, 2),
        write_current=current, files_of=_azure_files,
        entry_for=lambda root, path: {"blobName": path.relative_to(root / "container").as_posix(),
                                      "byteCount": path.stat().st_size if path.exists() else 0},
        entries_key="blobs", fingerprint_key="runInfo.runId",
        time_style=lambda t: f"{t:%m/%d/%Y}")


def _azure_files(layout: Layout, root: Path, current: Current) -> list[tuple[str, Path]]:
    """The blobs the newest run's manifest names, by Azure's rules for a local copy of a
    container: a blob is named from the container, with the container in front, or as a URL;
    the listed blob whose name the entry ends with is the one meant. A `dataRowCount` that is
    a whole number must equal the blob's data rows."""
    assert current.manifest is not None
    container = root / layout.folder
    if not current.manifest.is_file():  # the older run is current again: already published
        raise MustRefuse("the newer run's manifest is gone")
    document = _json(current.manifest)
    run_info, config = document.get("runInfo"), document.get("exportConfig")
    if not isinstance(run_info, dict) or not isinstance(config, dict):
        raise MustRefuse("`runInfo` / `exportConfig` is not an object")
    if not isinstance(run_info.get("runId"), str) or not run_info["runId"].strip():
        raise MustRefuse(f"`runInfo.runId` is {run_info.get('runId')!r:.40}")
    blobs = document.get("blobs")
    if not isinstance(blobs, list) or not blobs:
        raise MustRefuse(f"`blobs` is {blobs!r:.40}")
    listed = {p.relative_to(container).as_posix() for p in container.rglob("*") if p.is_file()}
    files: list[tuple[str, Path]] = []
    for blob in blobs:
        if not isinstance(blob, dict) or not isinstance(blob.get("blobName"), str):
            raise MustRefuse(f"blob entry {blob!r:.40} names no blob")
        name = blob["blobName"]
        path = name.split("://", 1)[1].partition("/")[2] if "://" in name else name
        segments = [s for s in path.split("?", 1)[0].split("/") if s]
        if ".." in segments:
            raise MustRefuse(f"`{name:.60}` climbs out with `..`")
        found = next(("/".join(segments[start:]) for start in range(len(segments))
                      if "/".join(segments[start:]) in listed), None)
        if found is None:
            raise MustRefuse(f"`{name:.60}` is not a blob of the container")
        if not found.lower().endswith((".csv", ".csv.gz", ".parquet")):
            raise MustRefuse(f"`{name:.60}` is not a data file")
        files.append((found, _inside(container, found)))
        rows = blob.get("dataRowCount")
        if isinstance(rows, int | str) and not isinstance(rows, bool) and str(rows).isascii() \
                and str(rows).isdigit():
            counted = expected([(found, files[-1][1])], layout.rules, layout.period.start).rows
            if int(rows) != counted[found]:
                raise MustRefuse(f"`{found}` holds {counted[found]} rows, its manifest {rows}")
    _no_file_twice(files)
    return files


# --- FOCUS files in a folder: rows of the FinOps Foundation's FOCUS 1.0 sample ----------------


def _sample() -> pl.DataFrame:
    return pl.read_csv(SAMPLES / "focus" / "1.0" / "focus_sample.csv", infer_schema=False)


def _focus() -> Layout:
    def write_published(root: Path) -> None:
        folder = root / "focus"
        folder.mkdir(parents=True)
        _write_focus_csv(_sample().slice(0, 90), folder / "focus-published.csv")

    def current(root: Path) -> Current:
        folder = root / "focus"
        (folder / "focus-published.csv").unlink()
        sample = _sample()
        # the sample's one October row sits in the second part: it belongs to another load
        october = sample.filter(pl.col("BillingPeriodStart").str.starts_with("2024-10"))
        parts = (sample.slice(100, 90), pl.concat([sample.slice(190, 80), october]))
        files = (folder / "part-00000.csv", folder / "part-00001.csv")
        for part, path in zip(parts, files, strict=True):
            _write_focus_csv(part, path)
        return Current(None, files)

    roles = {"cost": "BilledCost", "money": "EffectiveCost", "quantity": "ConsumedQuantity",
             "rate": "ListUnitPrice", "currency": "BillingCurrency",
             "period": "BillingPeriodStart", "time": "ChargePeriodStart", "tags": "Tags",
             "text": "ChargeDescription", "account": "BillingAccountId"}
    rules = RowRules(cost="BilledCost", currency="BillingCurrency", period="BillingPeriodStart",
                     times=("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodEnd"),
                     money=("EffectiveCost", "ListCost", "ContractedCost"),
                     quantities=("ConsumedQuantity", "PricingQuantity", "ListUnitPrice",
                                 "ContractedUnitPrice"),
                     required=("BillingAccountId", "ChargeCategory", "ProviderName",
                               "ServiceName"),
                     null_text=("NULL",), other_periods="skip",
                     derived=(("ListCost", "ListUnitPrice", "PricingQuantity"),
                              ("ContractedCost", "ContractedUnitPrice", "PricingQuantity")))
    return Layout(
        name="focus-csv", source="focus", period=BillingPeriod(2024, 9), roles=roles,
        rules=rules, folder="focus", kind="focus", write_published=write_published,
        write_current=current, files_of=_folder_files,
        time_style=lambda t: f"{t:%Y-%m-%d %H:%M:%S}")


def _write_focus_csv(rows: pl.DataFrame, path: Path) -> None:
    rows.write_csv(path, quote_style="non_numeric")


def _folder_files(layout: Layout, root: Path, current: Current) -> list[tuple[str, Path]]:
    """Every CSV / Parquet file in the folder (a FOCUS export names none in a manifest)."""
    folder = root / layout.folder
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.name.endswith((".parquet", ".csv", ".csv.gz", ".csv.gzip")))
    return [(posixpath.normpath(name), _inside(folder, name)) for name in names]


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    _cur2("parquet"), _cur2("csv"), _legacy(), _azure(), _focus())}
