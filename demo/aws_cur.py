"""Synthetic AWS billing exports, written in AWS's own layouts.

- `write_cur2_export`: one CUR 2.0 (AWS Data Exports) delivery: snappy Parquet or gzip CSV
  parts under `<export>/data/BILLING_PERIOD=YYYY-MM/`, then `<export>-Manifest.json` under
  `<export>/metadata/BILLING_PERIOD=YYYY-MM/`. A later delivery of the same month with another
  execution id goes to a `<timestamp>-<executionId>/` sub-folder (create-new mode); the
  manifest is rewritten and names only the newest files.
- `write_legacy_cur`: one legacy CUR assembly: gzip CSV with `category/Name` headers, or the
  Athena Parquet flavour with snake_case columns, under
  `<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/`, then the month's `<report>-Manifest.json`.
- `write_demo_month`: the month `costalloc demo` loads, with a superseded delivery first.

How rows are made: a seeded *estate* (accounts, resources with tags, reservations, savings
plans) is expanded into line *templates* (everything about a line except when, how much and its
id). Each row draws its line item type, template, hour and amount from counter-based random
streams keyed by (seed, stream name, row number), all with pyarrow compute. A row therefore
doesn't depend on how rows are split into parts or batches, and at most `batch_rows` rows are
in memory at once.

Money: every amount is an integer number of 1e-8 units, below 200,000 in magnitude. Parquet
holds `units / 1e8` as a double, the nearest double to that decimal; with at most 8 decimals and
14 significant digits it reads back exactly through `repr` or a cast to DECIMAL(38, 10). CSV
holds the decimal text with 10 places. Totals are summed as integers, never as floats.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any, Final, Literal, cast

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

__all__ = ["WrittenDelivery", "write_cur2_export", "write_demo_month", "write_legacy_cur"]

Granularity = Literal["hourly", "daily"]

DEMO_EXPORT_NAME: Final = "costalloc-demo"
DEMO_BUCKET: Final = "costalloc-demo-billing"
DEMO_PREFIX: Final = "cur"


@dataclass(frozen=True)
class WrittenDelivery:
    """What one call wrote: its manifest, the data files that manifest lists, and their totals."""

    manifest_key: str  # relative to `root`
    data_keys: tuple[str, ...]  # relative to `root`
    fingerprint: str  # executionId (CUR 2.0) or assemblyId (legacy)
    rows: int
    billed_totals: dict[str, Decimal]  # net unblended cost when written, else unblended
    unblended_totals: dict[str, Decimal]


# --------------------------------------------------------------------------------------------
# Public writers
# --------------------------------------------------------------------------------------------


def write_cur2_export(
    filesystem: pafs.FileSystem,
    root: str,
    *,
    bucket: str,
    prefix: str,
    export_name: str,
    period: str,
    rows: int,
    file_format: Literal["parquet", "csv"] = "parquet",
    parts: int = 1,
    seed: int = 0,
    execution_id: str | None = None,
    with_net_columns: bool = False,
    currencies: tuple[str, ...] = ("USD",),
    granularity: Granularity = "daily",
    delivered_at: datetime | None = None,
    batch_rows: int = 200_000,
) -> WrittenDelivery:
    """Write one CUR 2.0 delivery of `rows` line items for `period` ("YYYY-MM").

    `root` is the folder on `filesystem` that stands for `s3://{bucket}/{prefix}`. The first
    delivery of a month writes its parts straight into the period folder; a delivery with a
    different execution id than the current manifest's goes to `{delivered_at}-{executionId}/`
    below it, so earlier files stay where they were. `delivered_at` defaults to a time after
    the month that grows with each delivery, so paths are deterministic.
    """
    month = _Period.parse(period)
    _check_common(rows, parts, batch_rows, currencies, granularity)
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format `{file_format}`: expected `parquet` or `csv`")
    execution_id = execution_id or _stable_uuid(
        "cur2", bucket, prefix, export_name, period, seed, rows, file_format, parts,
        with_net_columns, currencies, granularity)
    manifest_key = f"{export_name}/metadata/BILLING_PERIOD={period}/{export_name}-Manifest.json"
    data_folder = f"{export_name}/data/BILLING_PERIOD={period}"
    previous = _read_json(filesystem, _join(root, manifest_key))
    if previous is not None and previous.get("executionId") == execution_id:
        data_folder = _folder_of(previous, bucket, prefix) or data_folder  # a rerun, in place
    elif previous is not None:
        stamp = delivered_at or _next_delivery_time(filesystem, _join(root, data_folder), month)
        data_folder += f"/{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}-{execution_id}"
    extension = ".snappy.parquet" if file_format == "parquet" else ".csv.gz"
    data_keys = tuple(f"{data_folder}/{export_name}-{n:05d}{extension}"
                      for n in range(1, _part_count(rows, parts) + 1))

    templates = _templates(seed, period, currencies, granularity)
    columns = _cur2_columns(with_net_columns)
    totals = _Totals()
    plan = _plan(templates, rows, with_net_columns)
    for key, (first, count) in zip(data_keys, _part_ranges(rows, parts), strict=True):
        batches = _batches(templates, plan, seed, first, count, batch_rows, month, granularity,
                           with_net_columns, _cur2_template_columns(), totals)
        path = _join(root, key)
        if file_format == "parquet":
            _write_parquet(filesystem, path, (_cur2_parquet(b, columns) for b in batches),
                           _cur2_arrow_schema(columns), batch_rows)
        else:
            _write_csv(filesystem, path, (_cur2_text(b, columns) for b in batches),
                       [c.name for c in columns])

    payer = templates.payer_account_id
    manifest = {
        "executionId": execution_id,
        "exportArn": (f"arn:aws:bcm-data-exports:us-east-1:{payer}:export/{export_name}-"
                      f"{_stable_uuid('export', bucket, prefix, export_name)}"),
        "billingPeriod": {"start": _iso_millis(month.start), "end": _iso_millis(month.end)},
        "columns": [{"name": c.name, "type": c.cur2_type} for c in columns],
        "dataFiles": [f"s3://{_join(bucket, prefix, key)}" for key in data_keys],
        "additionalOutputFiles": [],
    }
    _write_json(filesystem, _join(root, manifest_key), manifest)
    return WrittenDelivery(manifest_key, data_keys, execution_id, rows,
                           totals.billed(with_net_columns), totals.unblended())


def write_legacy_cur(
    filesystem: pafs.FileSystem,
    root: str,
    *,
    bucket: str,
    prefix: str,
    report_name: str,
    period: str,
    rows: int,
    flavour: Literal["csv", "parquet"] = "csv",
    parts: int = 1,
    seed: int = 0,
    assembly_id: str | None = None,
    currencies: tuple[str, ...] = ("USD",),
    environment_tag: str | None = None,
    granularity: Granularity = "hourly",
    batch_rows: int = 200_000,
) -> WrittenDelivery:
    """Write one legacy CUR assembly of `rows` line items for `period` ("YYYY-MM").

    `flavour="csv"`: `{report}-{n}.csv.gz` with `category/Name` headers. `flavour="parquet"`:
    the Athena-integration flavour, `{report}-{n:05d}.snappy.parquet` with snake_case columns
    and flattened tags (`resource_tags_user_env`). The environment tag is activated as
    `user:Env` in even months and `user:Environment` in odd ones unless `environment_tag`
    names it, because legacy columns follow whatever tags were active that month.
    """
    month = _Period.parse(period)
    _check_common(rows, parts, batch_rows, currencies, granularity)
    if flavour not in ("csv", "parquet"):
        raise ValueError(f"flavour `{flavour}`: expected `csv` or `parquet`")
    env_key = environment_tag or ("user:Env" if month.start.month % 2 == 0 else "user:Environment")
    assembly_id = assembly_id or _stable_uuid(
        "legacy", bucket, prefix, report_name, period, seed, rows, flavour, parts, currencies,
        env_key, granularity)
    span = f"{month.start:%Y%m%d}-{month.end:%Y%m%d}"
    manifest_key = f"{report_name}/{span}/{report_name}-Manifest.json"
    if flavour == "csv":
        names = [f"{report_name}-{n}.csv.gz" for n in range(1, _part_count(rows, parts) + 1)]
    else:
        names = [f"{report_name}-{n:05d}.snappy.parquet"
                 for n in range(1, _part_count(rows, parts) + 1)]
    data_keys = tuple(f"{report_name}/{span}/{assembly_id}/{name}" for name in names)

    templates = _templates(seed, period, currencies, granularity)
    columns = _legacy_columns(templates, env_key)
    totals = _Totals()
    needed = sorted({c.source for c in columns if c.source in templates.table.column_names})
    plan = _plan(templates, rows, False)
    for key, (first, count) in zip(data_keys, _part_ranges(rows, parts), strict=True):
        batches = _batches(templates, plan, seed, first, count, batch_rows, month, granularity,
                           False, needed, totals)
        path = _join(root, key)
        if flavour == "parquet":
            _write_parquet(filesystem, path, (_legacy_parquet(b, columns) for b in batches),
                           _legacy_arrow_schema(columns), batch_rows)
        else:
            _write_csv(filesystem, path, (_legacy_text(b, columns) for b in batches),
                       [c.name for c in columns])

    manifest = {
        "assemblyId": assembly_id,
        "account": templates.payer_account_id,
        "columns": [{"category": c.category, "name": c.legacy_name, "type": c.legacy_type}
                    for c in columns],
        "charset": "UTF-8",
        "compression": "GZIP" if flavour == "csv" else "Parquet",
        "contentType": "text/csv" if flavour == "csv" else "Parquet",
        "reportId": hashlib.sha256(f"{bucket}/{prefix}/{report_name}".encode()).hexdigest(),
        "reportName": report_name,
        "billingPeriod": {"start": _aws_stamp(month.start), "end": _aws_stamp(month.end)},
        "bucket": bucket,
        "reportKeys": [_join(prefix, key) for key in data_keys],
    }
    _write_json(filesystem, _join(root, manifest_key), manifest)
    return WrittenDelivery(manifest_key, data_keys, assembly_id, rows, totals.billed(False),
                           totals.unblended())


def write_demo_month(directory: str, period: str = "2026-10", seed: int = 7) -> WrittenDelivery:
    """A realistic CUR 2.0 month in a local copy of the bucket: `{directory}/cur/costalloc-demo/`.

    An earlier, smaller delivery of the same month is written first and then superseded, the
    way AWS refreshes the current month, so a reader that doesn't follow the newest manifest
    double counts.
    """
    filesystem = pafs.LocalFileSystem()
    root = _join(os.path.abspath(directory), DEMO_PREFIX)
    common: dict[str, Any] = {"bucket": DEMO_BUCKET, "prefix": DEMO_PREFIX,
                              "export_name": DEMO_EXPORT_NAME, "period": period,
                              "file_format": "parquet", "parts": 2, "with_net_columns": True}
    month = _Period.parse(period)
    write_cur2_export(filesystem, root, rows=17_500, seed=seed + 1,
                      delivered_at=month.end + timedelta(days=1, hours=4), **common)
    return write_cur2_export(filesystem, root, rows=20_000, seed=seed,
                             delivered_at=month.end + timedelta(days=2, hours=4), **common)


# --------------------------------------------------------------------------------------------
# Billing period, paths, small helpers
# --------------------------------------------------------------------------------------------

_PERIOD_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_UNIT: Final = 100_000_000  # money and quantities are integers of 1e-8
_GZIP_LEVEL: Final = 2
_TEN_PLACES: Final = Decimal("0.0000000001")


@dataclass(frozen=True)
class _Period:
    label: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, period: str) -> _Period:
        match = _PERIOD_PATTERN.match(period)
        if match is None:
            raise ValueError(f"period `{period}`: expected `YYYY-MM`, e.g. `2026-10`")
        year, month = int(match[1]), int(match[2])
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return cls(period, start, end)

    @property
    def hours(self) -> int:
        return int((self.end - self.start).total_seconds()) // 3600


def _check_common(rows: int, parts: int, batch_rows: int, currencies: Sequence[str],
                  granularity: str) -> None:
    if granularity not in ("hourly", "daily"):
        raise ValueError(f"granularity `{granularity}`: expected `hourly` or `daily`")
    if rows < 0:
        raise ValueError(f"rows {rows}: must be 0 or more")
    if parts < 1:
        raise ValueError(f"parts {parts}: must be 1 or more")
    if batch_rows < 1:
        raise ValueError(f"batch_rows {batch_rows}: must be 1 or more")
    bad = [c for c in currencies if not re.fullmatch(r"[A-Z]{3}", c)]
    if not currencies or bad:
        raise ValueError(f"currencies {tuple(currencies)!r}: expected ISO 4217 codes like `USD`")


def _part_count(rows: int, parts: int) -> int:
    return max(1, min(parts, rows))


def _part_ranges(rows: int, parts: int) -> list[tuple[int, int]]:
    count = _part_count(rows, parts)
    sizes = [rows // count + (1 if i < rows % count else 0) for i in range(count)]
    starts = [sum(sizes[:i]) for i in range(count)]
    return list(zip(starts, sizes, strict=True))


def _join(first: str, *rest: str) -> str:
    """Path segments joined by single slashes; a leading slash on `first` is kept."""
    tail = [p.strip("/") for p in rest if p.strip("/")]
    head = first.rstrip("/")
    if not head:
        return ("/" if first.startswith("/") else "") + "/".join(tail)
    return "/".join([head, *tail])


def _stable_uuid(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _iso_millis(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.000Z"


def _aws_stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}.000Z"


def _decimal(units: int) -> Decimal:
    return (Decimal(units) / _UNIT).quantize(_TEN_PLACES)


def _rate_text(rate: float) -> str:
    return f"{rate:.10f}"


def _short(rate: float) -> str:
    return f"{rate:.10f}".rstrip("0").rstrip(".")


def _units(amount: float) -> int:
    return round(amount * _UNIT)


# --------------------------------------------------------------------------------------------
# Counter-based random streams (pyarrow compute, wrapping uint64 arithmetic: splitmix64)
# --------------------------------------------------------------------------------------------

_GOLDEN: Final = 0x9E3779B97F4A7C15
_MIX_1: Final = 0xBF58476D1CE4E5B9
_MIX_2: Final = 0x94D049BB133111EB


def _u64(value: int) -> pa.Scalar:
    return pa.scalar(value, pa.uint64())


class _Draws:
    """Random numbers for rows `start .. start+count-1`, one independent stream per name."""

    def __init__(self, seed: int, start: int, count: int) -> None:
        self._seed = seed
        self._counter = pl.int_range(start, start + count, dtype=pl.UInt64, eager=True).to_arrow()

    @property
    def rows(self) -> pa.Array:
        """The global row numbers, as int64."""
        return pc.cast(self._counter, pa.int64())

    def bits(self, stream: str) -> pa.Array:
        key = int.from_bytes(hashlib.sha256(f"{self._seed}/{stream}".encode()).digest()[:8],
                             "little")
        x = pc.add(pc.multiply(self._counter, _u64(_GOLDEN)), _u64(key))
        x = pc.multiply(pc.bit_wise_xor(x, pc.shift_right(x, _u64(30))), _u64(_MIX_1))
        x = pc.multiply(pc.bit_wise_xor(x, pc.shift_right(x, _u64(27))), _u64(_MIX_2))
        return pc.bit_wise_xor(x, pc.shift_right(x, _u64(31)))

    def uniform(self, stream: str) -> pa.Array:
        """Doubles in [0, 1)."""
        top = pc.cast(pc.shift_right(self.bits(stream), _u64(11)), pa.float64())
        return pc.multiply(top, 2.0 ** -53)

    def below(self, stream: str, bound: int | pa.Array) -> pa.Array:
        """Integers in [0, bound)."""
        return pc.cast(pc.floor(pc.multiply(self.uniform(stream), bound)), pa.int64())


# --------------------------------------------------------------------------------------------
# The catalogue: regions, instance types, services and what their resources are billed for
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    code: str
    prefix: str  # usage type prefix
    location: str
    price: float  # list price relative to us-east-1


_REGIONS: Final = (
    _Region("us-east-1", "USE1", "US East (N. Virginia)", 1.0),
    _Region("us-east-2", "USE2", "US East (Ohio)", 1.0),
    _Region("us-west-2", "USW2", "US West (Oregon)", 1.0),
    _Region("eu-west-1", "EU", "EU (Ireland)", 1.07),
    _Region("eu-central-1", "EUC1", "EU (Frankfurt)", 1.15),
    _Region("eu-west-2", "EUW2", "EU (London)", 1.12),
    _Region("ap-southeast-2", "APS2", "Asia Pacific (Sydney)", 1.25),
    _Region("ap-northeast-1", "APN1", "Asia Pacific (Tokyo)", 1.28),
)
_REGION_BY_CODE: Final = {r.code: r for r in _REGIONS}
_GLOBAL: Final = _Region("global", "", "Global", 1.0)

_SIZE_FACTORS: Final = {"nano": 0.25, "micro": 0.5, "small": 1, "medium": 2, "large": 4,
                        "xlarge": 8, "2xlarge": 16, "4xlarge": 32, "8xlarge": 64,
                        "12xlarge": 96, "16xlarge": 128, "24xlarge": 192}


@dataclass(frozen=True)
class _Sized:
    """An instance type (or a Bedrock model): its list price per hour (per 1K input tokens)."""

    name: str
    price: float
    vcpu: int = 0
    memory: str = ""
    family: str = ""
    processor: str = ""

    @property
    def normalization(self) -> float:
        return float(_SIZE_FACTORS.get(self.name.rsplit(".", 1)[-1], 0))


_SIZED: Final = {s.name: s for s in (
    _Sized("t3.medium", 0.0416, 2, "4 GiB", "General purpose", "Intel Skylake E5 2686 v5"),
    _Sized("m5.large", 0.096, 2, "8 GiB", "General purpose", "Intel Xeon Platinum 8175"),
    _Sized("m5.xlarge", 0.192, 4, "16 GiB", "General purpose", "Intel Xeon Platinum 8175"),
    _Sized("m6i.2xlarge", 0.384, 8, "32 GiB", "General purpose", "Intel Xeon 8375C (Ice Lake)"),
    _Sized("m7g.large", 0.0816, 2, "8 GiB", "General purpose", "AWS Graviton3 Processor"),
    _Sized("c6i.xlarge", 0.17, 4, "8 GiB", "Compute optimized", "Intel Xeon 8375C (Ice Lake)"),
    _Sized("c7g.2xlarge", 0.289, 8, "16 GiB", "Compute optimized", "AWS Graviton3 Processor"),
    _Sized("r6g.xlarge", 0.2016, 4, "32 GiB", "Memory optimized", "AWS Graviton2 Processor"),
    _Sized("r5.2xlarge", 0.504, 8, "64 GiB", "Memory optimized", "Intel Xeon Platinum 8175"),
    _Sized("g5.xlarge", 1.006, 4, "16 GiB", "GPU instance", "AMD EPYC 7R32"),
    _Sized("p4d.24xlarge", 32.7726, 96, "1152 GiB", "GPU instance", "Intel Xeon Platinum 8275L"),
    _Sized("db.t4g.medium", 0.065, 2, "4 GiB", "General purpose", "AWS Graviton2"),
    _Sized("db.m6g.large", 0.152, 2, "8 GiB", "General purpose", "AWS Graviton2"),
    _Sized("db.r6g.large", 0.225, 2, "16 GiB", "Memory optimized", "AWS Graviton2"),
    _Sized("db.r6g.xlarge", 0.45, 4, "32 GiB", "Memory optimized", "AWS Graviton2"),
    _Sized("ml.t3.medium", 0.05, 2, "4 GiB", "Standard"),
    _Sized("ml.m5.xlarge", 0.23, 4, "16 GiB", "Standard"),
    _Sized("ml.g5.2xlarge", 1.515, 8, "32 GiB", "Accelerated Computing"),
    _Sized("ml.p3.2xlarge", 3.825, 8, "61 GiB", "Accelerated Computing"),
    _Sized("Claude3.5Sonnet", 0.003),
    _Sized("Claude3Haiku", 0.00025),
    _Sized("Llama3-1-70B", 0.00099),
    _Sized("TitanEmbeddingsG1-Text", 0.0001),
)}

_PRODUCT_NAMES: Final = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonRDS": "Amazon Relational Database Service",
    "AWSLambda": "AWS Lambda",
    "AmazonSageMaker": "Amazon SageMaker",
    "AmazonBedrock": "Amazon Bedrock",
    "AmazonCloudWatch": "AmazonCloudWatch",
    "AWSDataTransfer": "AWS Data Transfer",
    "AmazonEKS": "Amazon Elastic Container Service for Kubernetes",
    "AmazonDynamoDB": "Amazon DynamoDB",
    "AmazonVPC": "Amazon Virtual Private Cloud",
    "AWSELB": "Elastic Load Balancing",
    "AmazonECS": "Amazon Elastic Container Service",
    "AmazonRoute53": "Amazon Route 53",
    "AWSSupportBusiness": "AWS Support (Business)",
    "AWSDeveloperSupport": "AWS Support (Developer)",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
}


@dataclass(frozen=True)
class _Usage:
    """One usage type a resource is billed for."""

    usage_type: str  # "{size}" stands for the resource's instance type or model
    operation: str
    unit: str
    family: str
    price: float | None = None  # list price per unit in us-east-1; None: the size's price
    scale: float | None = None  # typical units per hour, drawn log-uniformly; None: per hour
    decimals: int = 8  # quantities are whole multiples of 10**-decimals
    product_code: str | None = None  # when it isn't the resource's service (data transfer)
    bare_in_us_east_1: bool = False  # older services carry no region prefix in us-east-1
    description: str = "${price} per {unit} for {usage_type} in {location}"
    attributes: tuple[tuple[str, str], ...] = ()
    savings_plan: bool = False  # covered by Compute Savings Plans


@dataclass(frozen=True)
class _ResourceKind:
    name: str
    product_code: str
    weight: float
    resource_id: str  # format: {region} {account} {name} {hex} {token}
    usages: tuple[_Usage, ...]
    sizes: tuple[str, ...] = ()
    zonal: bool = False
    reservable: bool = False
    regions: tuple[str, ...] | None = None
    is_global: bool = False


_EC2_OS: Final = (("operatingSystem", "Linux"), ("tenancy", "Shared"),
                  ("capacitystatus", "Used"), ("licenseModel", "No License required"),
                  ("preInstalledSw", "NA"), ("currentGeneration", "Yes"))
_OUTBOUND: Final = (("transferType", "AWS Outbound"), ("toLocation", "External"),
                    ("toLocationType", "Other"))

_KINDS: Final = (
    _ResourceKind("instance", "AmazonEC2", 30, "i-0{hex}", (
        _Usage("BoxUsage:{size}", "RunInstances", "Hrs", "Compute Instance",
               bare_in_us_east_1=True, savings_plan=True, attributes=_EC2_OS,
               description="${price} per On Demand Linux {size} Instance Hour"),
        _Usage("DataTransfer-Out-Bytes", "RunInstances", "GB", "Data Transfer", 0.09, 0.3,
               product_code="AWSDataTransfer", bare_in_us_east_1=True, attributes=_OUTBOUND,
               description="${price} per GB - first 10 TB / month data transfer out beyond "
                           "the global free tier"),
        _Usage("DataTransfer-Regional-Bytes", "InterZone-In", "GB", "Data Transfer", 0.01, 1.0,
               bare_in_us_east_1=True, attributes=(("transferType", "IntraRegion"),),
               description="${price} per GB - regional data transfer - in/out/between EC2 AZs "
                           "or using elastic IPs or ELB"),
    ), sizes=("t3.medium", "m5.large", "m5.xlarge", "m6i.2xlarge", "m7g.large", "c6i.xlarge",
              "c7g.2xlarge", "r6g.xlarge", "r5.2xlarge"), zonal=True, reservable=True),
    _ResourceKind("volume", "AmazonEC2", 18, "vol-0{hex}", (
        _Usage("EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "GB-Mo", "Storage", 0.08, 0.3,
               bare_in_us_east_1=True,
               attributes=(("volumeApiName", "gp3"), ("volumeType", "General Purpose"),
                           ("storageMedia", "SSD-backed")),
               description="${price} per GB-month of General Purpose (gp3) provisioned storage "
                           "- {location}"),
    ), zonal=True),
    _ResourceKind("nat", "AmazonEC2", 1.5,
                  "arn:aws:ec2:{region}:{account}:natgateway/nat-0{hex}", (
        _Usage("NatGateway-Hours", "NatGateway", "Hrs", "NAT Gateway", 0.045,
               bare_in_us_east_1=True, description="${price} per NAT Gateway Hour"),
        _Usage("NatGateway-Bytes", "NatGateway", "GB", "NAT Gateway", 0.045, 3.0,
               bare_in_us_east_1=True,
               description="${price} per GB Data Processed by NAT Gateways"),
    )),
    _ResourceKind("bucket", "AmazonS3", 9, "{name}-{token}", (
        _Usage("TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", "Storage", 0.023, 1.5,
               bare_in_us_east_1=True,
               attributes=(("storageClass", "General Purpose"), ("volumeType", "Standard")),
               description="${price} per GB - first 50 TB / month of storage used"),
        _Usage("Requests-Tier1", "PutObject", "Requests", "API Request", 0.000005, 400, 0,
               bare_in_us_east_1=True, attributes=(("group", "S3-API-Tier1"),),
               description="${price} per 1,000 PUT, COPY, POST, or LIST requests"),
        _Usage("Requests-Tier2", "GetObject", "Requests", "API Request", 0.0000004, 4000, 0,
               bare_in_us_east_1=True, attributes=(("group", "S3-API-Tier2"),),
               description="${price} per 10,000 GET and all other requests"),
        _Usage("DataTransfer-Out-Bytes", "GetObject", "GB", "Data Transfer", 0.09, 0.2,
               product_code="AWSDataTransfer", bare_in_us_east_1=True, attributes=_OUTBOUND,
               description="${price} per GB - first 10 TB / month data transfer out beyond "
                           "the global free tier"),
    )),
    _ResourceKind("function", "AWSLambda", 10,
                  "arn:aws:lambda:{region}:{account}:function:{name}", (
        _Usage("Lambda-GB-Second", "Invoke", "Lambda-GB-Second", "Serverless", 0.0000166667,
               900, 3, bare_in_us_east_1=True, savings_plan=True,
               attributes=(("group", "AWS-Lambda-Duration"),),
               description="AWS Lambda - Total Compute - {location}"),
        _Usage("Request", "Invoke", "Requests", "Serverless", 0.0000002, 3000, 0,
               bare_in_us_east_1=True, attributes=(("group", "AWS-Lambda-Requests"),),
               description="AWS Lambda - Total Requests - {location}"),
    )),
    _ResourceKind("log_group", "AmazonCloudWatch", 8,
                  "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{name}", (
        _Usage("DataProcessing-Bytes", "PutLogEvents", "GB", "Data Payload", 0.5, 0.05,
               bare_in_us_east_1=True,
               description="${price} per GB custom log data ingested - {location}"),
        _Usage("TimedStorage-ByteHrs", "HourlyStorageMetering", "GB-Mo", "Storage Snapshot",
               0.03, 0.2, bare_in_us_east_1=True,
               description="${price} per GB-mo of log storage - {location}"),
    )),
    _ResourceKind("database", "AmazonRDS", 4, "arn:aws:rds:{region}:{account}:db:{name}", (
        _Usage("InstanceUsage:{size}", "CreateDBInstance:0014", "Hrs", "Database Instance",
               bare_in_us_east_1=True,
               attributes=(("databaseEngine", "PostgreSQL"), ("deploymentOption", "Single-AZ")),
               description="${price} per RDS {size} Single-AZ instance hour (or partial hour) "
                           "running PostgreSQL"),
        _Usage("RDS:GP3-Storage", "CreateDBInstance:0014", "GB-Mo", "Database Storage", 0.115,
               0.4, bare_in_us_east_1=True,
               attributes=(("databaseEngine", "PostgreSQL"), ("volumeType", "General Purpose-GP3")),
               description="${price} per GB-month of provisioned GP3 storage running PostgreSQL"),
    ), sizes=("db.t4g.medium", "db.m6g.large", "db.r6g.large", "db.r6g.xlarge"), zonal=True,
        reservable=True),
    _ResourceKind("table", "AmazonDynamoDB", 4,
                  "arn:aws:dynamodb:{region}:{account}:table/{name}", (
        _Usage("TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", "Database Storage", 0.25, 0.05,
               bare_in_us_east_1=True,
               description="${price} per GB-Month of storage used beyond first 25 free GB-Months"),
        _Usage("ReadRequestUnits", "PayPerRequestThroughput", "ReadRequestUnits",
               "Amazon DynamoDB PayPerRequest Throughput", 0.00000025, 20000, 0,
               bare_in_us_east_1=True, description="${price} per read request unit"),
        _Usage("WriteRequestUnits", "PayPerRequestThroughput", "WriteRequestUnits",
               "Amazon DynamoDB PayPerRequest Throughput", 0.00000125, 4000, 0,
               bare_in_us_east_1=True, description="${price} per write request unit"),
    )),
    _ResourceKind("load_balancer", "AWSELB", 3,
                  "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/{hex}", (
        _Usage("LoadBalancerUsage", "LoadBalancing:Application", "Hrs",
               "Load Balancer-Application", 0.0225, bare_in_us_east_1=True,
               description="${price} per Application LoadBalancer-hour (or partial hour)"),
        _Usage("LCUUsage", "LoadBalancing:Application", "LCU-Hrs", "Load Balancer-Application",
               0.008, 2.0, bare_in_us_east_1=True,
               description="${price} per used Application load balancer capacity unit-hour"),
    )),
    _ResourceKind("fargate", "AmazonECS", 3, "arn:aws:ecs:{region}:{account}:service/{name}", (
        _Usage("Fargate-vCPU-Hours:perCPU", "FargateTask", "hours", "Compute", 0.04048, 2.0,
               savings_plan=True, description="AWS Fargate - vCPU - {location}"),
        _Usage("Fargate-GB-Hours", "FargateTask", "hours", "Compute", 0.004445, 4.0,
               savings_plan=True, description="AWS Fargate - Memory - {location}"),
    )),
    _ResourceKind("cluster", "AmazonEKS", 1, "arn:aws:eks:{region}:{account}:cluster/{name}", (
        _Usage("AmazonEKS-Hours:perCluster", "CreateOperation", "Hours", "Compute", 0.10,
               description="Amazon EKS cluster usage in {location}"),
    )),
    _ResourceKind("tgw_attachment", "AmazonVPC", 1,
                  "arn:aws:ec2:{region}:{account}:transit-gateway-attachment/tgw-attach-0{hex}", (
        _Usage("TransitGateway-Hours", "TransitGatewayVPC", "Hrs", "AWS Transit Gateway", 0.05,
               attributes=(("group", "AWSTransitGateway"),),
               description="${price} per TransitGateway-Hours"),
        _Usage("TransitGateway-Bytes", "TransitGatewayVPC", "GB", "AWS Transit Gateway", 0.02,
               8.0, attributes=(("group", "AWSTransitGateway"),),
               description="${price} per GB of TransitGateway data processed"),
    )),
    _ResourceKind("endpoint", "AmazonSageMaker", 1.5,
                  "arn:aws:sagemaker:{region}:{account}:endpoint/{name}", (
        _Usage("Host:{size}", "RunInstance", "Hrs", "ML Instance",
               description="${price} per Hosted {size} in {location}"),
    ), sizes=("ml.t3.medium", "ml.m5.xlarge", "ml.g5.2xlarge")),
    _ResourceKind("training_job", "AmazonSageMaker", 1,
                  "arn:aws:sagemaker:{region}:{account}:training-job/{name}", (
        _Usage("Train:{size}", "CreateTrainingJob", "Hrs", "ML Instance", scale=0.3,
               description="${price} per Training {size} in {location}"),
    ), sizes=("ml.m5.xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge")),
    _ResourceKind("inference_profile", "AmazonBedrock", 1.5,
                  "arn:aws:bedrock:{region}:{account}:application-inference-profile/{token}", (
        _Usage("{size}-input-tokens", "InvokeModelInference", "1K tokens", "Amazon Bedrock",
               scale=400, decimals=3, description="${price} per 1K input tokens for {size}"),
        _Usage("{size}-output-tokens", "InvokeModelInference", "1K tokens", "Amazon Bedrock",
               scale=60, decimals=3, description="${price} per 1K output tokens for {size}"),
    ), sizes=("Claude3.5Sonnet", "Claude3Haiku", "Llama3-1-70B"),
        regions=("us-east-1", "us-west-2", "eu-central-1")),
    _ResourceKind("hosted_zone", "AmazonRoute53", 1, "arn:aws:route53:::hostedzone/Z0{token}", (
        _Usage("DNS-Queries", "Query", "Queries", "DNS Query", 0.0000004, 20000, 0,
               description="${price} per 1M queries for the first 1 Billion queries"),
    ), is_global=True),
)
_KIND_BY_NAME: Final = {k.name: k for k in _KINDS}

_BARE_SIZES: Final = {"instance": ("g5.xlarge", "p4d.24xlarge", "m5.xlarge")}  # ML accounts' EC2
_OUTPUT_TOKEN_PRICE: Final = 5.0  # output tokens cost five times the input price


@dataclass(frozen=True)
class _Team:
    name: str
    workstream: str
    business_unit: str
    cost_center: str
    projects: tuple[str, ...]
    focus: Mapping[str, float]  # resource kind weight multipliers


_TEAMS: Final = (
    _Team("platform", "platform_build", "Engineering", "CC-1100",
          ("ci-runners", "shared-network", "observability", "k8s-platform"),
          {"cluster": 4, "instance": 1.5, "load_balancer": 2}),
    _Team("payments", "production_operations", "Engineering", "CC-1200",
          ("checkout", "ledger", "fraud-scoring"), {"database": 3, "table": 2, "fargate": 2}),
    _Team("data", "data_platform", "Data & AI", "CC-2100",
          ("data-lake", "etl-pipelines", "bi-warehouse"),
          {"bucket": 3, "function": 2, "table": 2}),
    _Team("ml", "ml_research", "Data & AI", "CC-2200",
          ("rec-engine", "llm-assistant", "forecasting"),
          {"endpoint": 10, "training_job": 10, "inference_profile": 8, "bucket": 2}),
    _Team("support", "customer_support", "Go-to-market", "CC-3100",
          ("support-triage", "helpdesk-bot"), {"inference_profile": 10, "function": 2}),
    _Team("growth", "growth_marketing", "Go-to-market", "CC-3200",
          ("web-frontend", "experiments", "email-campaigns"),
          {"load_balancer": 2, "function": 2, "bucket": 1.5}),
)
_TEAM_BY_NAME: Final = {t.name: t for t in _TEAMS}
_NETWORK_FOCUS: Final = {"tgw_attachment": 40, "nat": 15, "hosted_zone": 10}
_SHARED_FOCUS: Final = {"log_group": 3, "bucket": 2}

# How people spell an environment when they tag by hand, and how often.
_ENV_SPELLINGS: Final = {
    "prod": (("prod", 50), ("Prod", 15), ("production", 20), ("prd", 15)),
    "staging": (("stg", 55), ("staging", 45)),
    "dev": (("dev", 60), ("development", 40)),
}
_COMPONENTS: Final = ("api", "worker", "web", "batch", "ingest", "cache", "search", "jobs",
                      "sync", "gateway", "scheduler", "reports")
_PEOPLE: Final = ("alice", "bilal", "chen", "dana", "emeka", "fatima", "goran", "hana")
_ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
_UPPER_ALPHABET: Final = _ID_ALPHABET.upper()

# Tag keys as activated in the console (legacy spelling); CUR 2.0 keys are their snake case.
_ENV_TAG: Final = "user:Environment"
_TAG_KEYS: Final = (_ENV_TAG, "user:Team", "user:Workstream", "user:Project",
                    "user:CostCenter", "aws:createdBy")
_COST_CATEGORIES: Final = ("BusinessUnit", "Team")


# --------------------------------------------------------------------------------------------
# The estate: accounts, resources and commitments, seeded and independent of the month
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Account:
    id: str
    name: str
    team: _Team
    environment: str  # prod, staging, dev
    focus: Mapping[str, float]
    home: _Region
    size: int  # how many resources


@dataclass(frozen=True)
class _Resource:
    kind: _ResourceKind
    account: _Account
    region: _Region
    resource_id: str
    zone: str
    size: str | None
    tags: Mapping[str, str]
    eks_node: bool


@dataclass(frozen=True)
class _Reservation:
    arn: str
    account: _Account
    region: _Region
    kind: _ResourceKind
    size: str
    count: int
    start: datetime
    years: int


@dataclass(frozen=True)
class _SavingsPlan:
    arn: str
    hourly_commitment: float
    discount: float  # SP rate = on-demand price x (1 - discount)
    start: datetime


@dataclass(frozen=True)
class _Estate:
    payer: _Account
    accounts: tuple[_Account, ...]
    resources: tuple[_Resource, ...]
    reservations: tuple[_Reservation, ...]
    savings_plans: tuple[_SavingsPlan, ...]


def _hex(rnd: random.Random, digits: int = 16) -> str:
    return f"{rnd.getrandbits(4 * digits):0{digits}x}"


def _token(rnd: random.Random, length: int, alphabet: str = _ID_ALPHABET) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(length))


@lru_cache(maxsize=8)
def _estate(seed: int) -> _Estate:
    rnd = random.Random(f"costalloc-aws-estate/{seed}")
    used_ids: set[str] = set()

    def account_id(leading_zero: bool = False) -> str:
        while True:
            candidate = f"{rnd.randrange(10**11):012d}" if leading_zero else \
                f"{rnd.randrange(10**11, 10**12)}"
            if candidate not in used_ids:
                used_ids.add(candidate)
                return candidate

    use1 = _REGION_BY_CODE["us-east-1"]
    platform = _TEAM_BY_NAME["platform"]
    payer = _Account(account_id(), "acme-management", platform, "prod", _SHARED_FOCUS, use1, 12)
    accounts = [
        payer,
        _Account(account_id(leading_zero=True), "acme-network-hub", platform, "prod",
                 _NETWORK_FOCUS, use1, 90),
        _Account(account_id(), "acme-log-archive", platform, "prod", _SHARED_FOCUS, use1, 70),
        _Account(account_id(), "acme-security-tooling", platform, "prod", _SHARED_FOCUS,
                 _REGION_BY_CODE["us-east-2"], 50),
        _Account(account_id(), "acme-shared-services", platform, "prod", platform.focus, use1, 90),
        _Account(account_id(), "acme-ml-training", _TEAM_BY_NAME["ml"], "prod",
                 _TEAM_BY_NAME["ml"].focus, _REGION_BY_CODE["us-west-2"], 80),
    ]
    homes = ("us-east-1", "us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1",
             "eu-west-2", "ap-southeast-2", "ap-northeast-1", "us-east-2")
    for team in _TEAMS:
        home = _REGION_BY_CODE[rnd.choice(homes)]
        for environment, low, high in (("prod", 130, 220), ("staging", 50, 90),
                                       ("dev", 35, 70), ("sandbox", 15, 35)):
            env = "dev" if environment == "sandbox" else environment
            accounts.append(_Account(account_id(), f"{team.name}-{environment}", team, env,
                                     team.focus, home, rnd.randint(low, high)))

    resources: list[_Resource] = []
    names_seen: set[str] = set()
    for account in accounts:
        weights = [k.weight * account.focus.get(k.name, 1.0) for k in _KINDS]
        for kind in rnd.choices(_KINDS, weights=weights, k=account.size):
            resources.append(_resource(rnd, kind, account, names_seen))

    reservable = [r for r in resources if r.kind.reservable and r.size]
    reservations: list[_Reservation] = []
    picked: set[tuple[str, str]] = set()
    for resource in rnd.sample(reservable, k=min(14, len(reservable))):
        key = (resource.region.code, resource.size or "")
        if key in picked:
            continue
        picked.add(key)
        owner = rnd.choice((payer, resource.account))
        if resource.kind.product_code == "AmazonEC2":
            arn = (f"arn:aws:ec2:{resource.region.code}:{owner.id}:reserved-instances/"
                   f"{uuid.UUID(int=rnd.getrandbits(128), version=4)}")
        else:
            arn = (f"arn:aws:rds:{resource.region.code}:{owner.id}:ri:"
                   f"{resource.account.team.name}-{resource.size}-ri-{len(reservations) + 1}")
        start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=rnd.randint(0, 540),
                                                                  hours=rnd.randint(0, 23))
        reservations.append(_Reservation(arn, owner, resource.region, resource.kind,
                                         resource.size or "", rnd.randint(1, 4), start,
                                         rnd.choice((1, 1, 3))))
    savings_plans = tuple(
        _SavingsPlan(f"arn:aws:savingsplans::{payer.id}:savingsplan/"
                     f"{uuid.UUID(int=rnd.getrandbits(128), version=4)}",
                     commitment, discount,
                     datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=rnd.randint(0, 500)))
        for commitment, discount in ((8.5, 0.28), (15.0, 0.34), (4.25, 0.25)))
    return _Estate(payer, tuple(accounts), tuple(resources), tuple(reservations), savings_plans)


def _resource(rnd: random.Random, kind: _ResourceKind, account: _Account,
              names_seen: set[str]) -> _Resource:
    if kind.is_global:
        region = _GLOBAL
    elif kind.regions is not None:
        region = (account.home if account.home.code in kind.regions
                  else _REGION_BY_CODE[kind.regions[0]])
    else:
        region = account.home if rnd.random() < 0.8 else rnd.choice(_REGIONS)
    project = rnd.choice(account.team.projects)
    name = f"{project}-{rnd.choice(_COMPONENTS)}-{account.environment}"
    while name in names_seen:
        name = f"{project}-{rnd.choice(_COMPONENTS)}-{account.environment}-{rnd.randint(2, 999)}"
    names_seen.add(name)
    sizes = _BARE_SIZES.get(kind.name, kind.sizes) if account.team.name == "ml" else kind.sizes
    size = rnd.choice(sizes) if sizes else None
    resource_id = kind.resource_id.format(
        region=region.code, account=account.id, name=name, hex=_hex(rnd),
        token=_token(rnd, 12) if kind.name != "hosted_zone" else
        _token(rnd, 18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    if kind.name == "fargate":
        resource_id = resource_id.replace(f"service/{name}", f"service/{project}-cluster/{name}")
    zone = f"{region.code}{rnd.choice('abc')}" if kind.zonal else ""
    eks_node = kind.name == "instance" and account.team.name == "platform" and rnd.random() < 0.4
    return _Resource(kind, account, region, resource_id, zone, size,
                     _resource_tags(rnd, account, project), eks_node)


def _resource_tags(rnd: random.Random, account: _Account, project: str) -> dict[str, str]:
    """Activated cost allocation tags, as people really apply them: partly, and inconsistently."""
    if rnd.random() < 0.15:
        return {}
    tags: dict[str, str] = {}
    if rnd.random() < 0.95:
        spellings = _ENV_SPELLINGS[account.environment]
        tags[_ENV_TAG] = rnd.choices([s for s, _ in spellings], [w for _, w in spellings])[0]
    style = rnd.random()
    if style < 0.8:
        tags["user:Team" if style < 0.4 else "user:Workstream"] = (
            account.team.name if style < 0.4 else account.team.workstream)
    else:
        tags["user:Team"] = account.team.name
        tags["user:Workstream"] = account.team.workstream
    if rnd.random() < 0.85:
        tags["user:Project"] = project
    if rnd.random() < 0.7:
        tags["user:CostCenter"] = account.team.cost_center
    if rnd.random() < 0.6:
        principal = _token(rnd, 17, _UPPER_ALPHABET)
        tags["aws:createdBy"] = (f"AssumedRole:AROA{principal}:terraform" if rnd.random() < 0.7
                                 else f"IAMUser:AIDA{principal}:{rnd.choice(_PEOPLE)}")
    return tags


# --------------------------------------------------------------------------------------------
# Templates: one per (resource, usage type, line item type), plus fees, taxes and credits
# --------------------------------------------------------------------------------------------

_LINE_TYPES: Final = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage",
                      "SavingsPlanNegation", "SavingsPlanRecurringFee", "EdpDiscount", "RIFee",
                      "Tax", "Credit", "Fee")
_T = {name: code for code, name in enumerate(_LINE_TYPES)}
# Hourly (or daily) lines: share of those rows per line item type. EdpDiscount rows exist only
# with net columns; otherwise their share is Usage's.
_HOURLY_SHARES: Final = {"Usage": 0.80, "DiscountedUsage": 0.05,
                         "SavingsPlanCoveredUsage": 0.055, "SavingsPlanNegation": 0.055,
                         "SavingsPlanRecurringFee": 0.002, "EdpDiscount": 0.038}
# Monthly lines (one per reservation, per account and service, per support plan) take one
# row in `_MONTHLY_EVERY`, up to one row per template.
_MONTHLY: Final = ("RIFee", "Tax", "Credit", "Fee")
_MONTHLY_EVERY: Final = 40
_EDP_RATE: Final = 0.03  # the enterprise discount on net columns
# EdpDiscount rows are sized so that, summed, they come to _EDP_RATE of usage.
_EDP_ROW_FACTOR: Final = _EDP_RATE * _HOURLY_SHARES["Usage"] / _HOURLY_SHARES["EdpDiscount"]
# Monthly adjustments as a share of the usage they relate to (expected over the delivery).
_ADJUSTMENT_RATES: Final = {"Tax": 0.08, "VAT": 0.2, "Credit": 0.05,
                            "AWSSupportBusiness": 0.07, "AWSDeveloperSupport": 0.03}
_MAX_ADJUSTMENT: Final = 150_000.0  # keeps every amount exactly representable as a double
_MEAN_SPREAD: Final = 9.9 / (2 * 2.302585092994046)  # E[10 ** (2u - 1)] for u ~ U(0, 1)
_MODE_PER_HOUR, _MODE_DRAWN, _MODE_FIXED = 0, 1, 2

# Product attributes that CUR 2.0 keeps as top-level `product_*` columns; the rest go to the
# `product` map. Legacy CUR has one `product/<attribute>` column for each.
_PRODUCT_TOP_LEVEL: Final = (
    "comment", "feeCode", "feeDescription", "fromLocation", "fromLocationType", "fromRegionCode",
    "instanceFamily", "instanceType", "instancesku", "location", "locationType", "operation",
    "pricingUnit", "productFamily", "regionCode", "servicecode", "sku", "toLocation",
    "toLocationType", "toRegionCode", "usagetype")


@dataclass
class _Templates:
    payer_account_id: str
    table: pa.Table  # string / map columns, one row per template
    params: dict[str, pa.Array]  # numeric parameters, one row per template
    pool_members: pa.Array  # hourly template indices grouped by line item type
    pool_start: pa.Array  # per line item type code
    pool_size: pa.Array
    monthly: pa.Array  # monthly template indices, in the order deliveries include them
    adjustments: tuple[tuple[int, float, str], ...]  # (template, rate, spend group)
    spend: Mapping[str, float]  # expected usage cost per usage row, by spend group
    product_attributes: tuple[str, ...]


class _TemplateRows:
    """Accumulates templates as dicts; turns them into arrow columns once."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.pools: dict[str, list[int]] = {name: [] for name in _LINE_TYPES}

    def add(self, line_type: str, row: dict[str, Any]) -> None:
        row["line_item_line_item_type"] = line_type
        row["_type"] = _T[line_type]
        self.pools[line_type].append(len(self.rows))
        self.rows.append(row)


@lru_cache(maxsize=4096)
def _snake(name: str) -> str:
    """A legacy name as AWS snake-cases it: `SavingsPlanARN` → `savings_plan_a_r_n`."""
    spaced = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return re.sub(r"[^a-z0-9]+", "_", spaced).strip("_")


def _sku(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return "".join(_UPPER_ALPHABET[b % 32] for b in digest[:16])


def _digits(count: int, *parts: object) -> str:
    value = int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")
    return f"{value % 10**count:0{count}d}"


def _usage_type(region: _Region, base: str, bare_in_us_east_1: bool) -> str:
    if region.code == "global" or (bare_in_us_east_1 and region.code == "us-east-1"):
        return base
    return f"{region.prefix}-{base}"


@lru_cache(maxsize=16)
def _templates(seed: int, period: str, currencies: tuple[str, ...],
               granularity: Granularity) -> _Templates:
    estate = _estate(seed)
    month = _Period.parse(period)
    rnd = random.Random(f"costalloc-aws-templates/{seed}/{period}")
    currency = {a.id: currencies[i % len(currencies)] for i, a in enumerate(estate.accounts)}
    rows = _TemplateRows()

    def account_columns(account: _Account) -> dict[str, Any]:
        code = currency[account.id]
        entity = "Amazon Web Services, Inc." if code == "USD" else "Amazon Web Services EMEA SARL"
        return {
            "bill_bill_type": "Anniversary",
            "bill_billing_entity": "AWS",
            "bill_invoice_id": _digits(10, estate.payer.id, code, period),
            "bill_invoicing_entity": entity,
            "bill_payer_account_id": estate.payer.id,
            "bill_payer_account_name": estate.payer.name,
            "line_item_usage_account_id": account.id,
            "line_item_usage_account_name": account.name,
            "line_item_currency_code": code,
            "line_item_legal_entity": entity,
            "pricing_currency": "USD",
            "cost_category": {"BusinessUnit": account.team.business_unit,
                              "Team": account.team.name.title()},
            "account_tags": {"accountTag/Owner": f"{account.team.name}-leads@example.com",
                             "accountTag/Environment": account.environment},
        }

    ri_by_key = {(r.region.code, r.size): r for r in estate.reservations}
    for resource in estate.resources:
        for usage in resource.kind.usages:
            base = _usage_row(resource, usage, account_columns(resource.account))
            rows.add("Usage", base)
            edp = dict(base, line_item_line_item_description="Enterprise Discount Program Discount",
                       line_item_unblended_rate=None, line_item_blended_rate=None,
                       line_item_net_unblended_rate=None, pricing_public_on_demand_rate=None,
                       pricing_term=None, pricing_rate_code=None, pricing_rate_id=None,
                       _sign=-1, _factor=_EDP_ROW_FACTOR, _public=False, _discountable=False,
                       _split=False, split_line_item_parent_resource_id=None)
            rows.add("EdpDiscount", edp)
            reservation = ri_by_key.get((resource.region.code, resource.size or ""))
            reservable = resource.kind.reservable and "{size}" in usage.usage_type
            if reservation is not None and reservable:
                rows.add("DiscountedUsage", _discounted_row(base, reservation))
            if usage.savings_plan:
                plan = estate.savings_plans[int(_digits(4, resource.resource_id)) %
                                            len(estate.savings_plans)]
                covered, negation = _savings_plan_rows(base, plan, resource.account.id)
                rows.add("SavingsPlanCoveredUsage", covered)
                rows.add("SavingsPlanNegation", negation)

    for reservation in estate.reservations:
        rows.add("RIFee", _ri_fee_row(reservation, account_columns(reservation.account), month))
    for plan in estate.savings_plans:
        rows.add("SavingsPlanRecurringFee",
                 _savings_plan_fee_row(plan, account_columns(estate.payer), month))

    codes_by_account: dict[str, set[str]] = {}
    for resource in estate.resources:
        codes = codes_by_account.setdefault(resource.account.id, set())
        codes.update(u.product_code or resource.kind.product_code for u in resource.kind.usages)
    for account in estate.accounts:
        columns = account_columns(account)
        for code in sorted(codes_by_account.get(account.id, ())):
            rows.add("Tax", _adjustment_row(code, columns, "Tax"))
            if rnd.random() < 0.4:
                rows.add("Credit", _adjustment_row(code, columns, "Credit"))
        support = "AWSSupportBusiness" if account is estate.payer or account.environment == "prod" \
            else "AWSDeveloperSupport"
        rows.add("Fee", _adjustment_row(support, columns, "Fee"))

    return _freeze_templates(estate, rows, rnd, 1.0 if granularity == "hourly" else 24.0)


def _product(resource: _Resource | None, code: str, usage_type: str, operation: str,
             family: str, region: _Region,
             extra: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    attributes = {
        "ProductName": _PRODUCT_NAMES[code],
        "servicecode": code,
        "servicename": _PRODUCT_NAMES[code],
        "usagetype": usage_type,
        "operation": operation,
        "productFamily": family,
        "sku": _sku(code, usage_type, operation, region.code),
    }
    if region.code != "global":
        attributes |= {"location": region.location, "locationType": "AWS Region",
                       "region": region.code, "regionCode": region.code}
    else:
        attributes |= {"location": "Global", "locationType": "AWS Region"}
    if family == "Data Transfer" and region.code != "global":
        attributes |= {"fromLocation": region.location, "fromLocationType": "AWS Region",
                       "fromRegionCode": region.code}
        if "toLocation" not in dict(extra):
            attributes |= {"toLocation": region.location, "toLocationType": "AWS Region",
                           "toRegionCode": region.code}
    attributes |= dict(extra)
    if resource is not None and resource.size and resource.kind.name != "inference_profile":
        sized = _SIZED[resource.size]
        attributes |= {"instanceType": resource.size, "instanceFamily": sized.family,
                       "vcpu": str(sized.vcpu), "memory": sized.memory}
        if sized.processor:
            attributes["physicalProcessor"] = sized.processor
        if sized.normalization:
            attributes["normalizationSizeFactor"] = _short(sized.normalization)
    return attributes


def _usage_row(resource: _Resource, usage: _Usage, account: dict[str, Any]) -> dict[str, Any]:
    code = usage.product_code or resource.kind.product_code
    size = resource.size or ""
    usage_type = _usage_type(resource.region, usage.usage_type.format(size=size),
                             usage.bare_in_us_east_1)
    if usage.price is not None:
        list_price = usage.price
    else:
        list_price = _SIZED[size].price * (_OUTPUT_TOKEN_PRICE if "output" in usage.usage_type
                                           else 1.0)
    price = round(list_price * resource.region.price, 10)
    product = _product(resource if usage.price is None else None, code, usage_type,
                       usage.operation, usage.family, resource.region, usage.attributes)
    sized = _SIZED.get(size)
    normalization = sized.normalization if (sized and usage.price is None) else 0.0
    description = usage.description.format(price=_short(price), unit=usage.unit, size=size,
                                           usage_type=usage_type,
                                           location=resource.region.location)
    tags = dict(resource.tags)
    split = resource.eks_node and usage.price is None  # EKS nodes' instance hours
    return account | {
        "line_item_availability_zone": resource.zone or None,
        "line_item_product_code": code,
        "line_item_usage_type": usage_type,
        "line_item_operation": usage.operation,
        "line_item_resource_id": resource.resource_id,
        "line_item_line_item_description": description,
        "line_item_unblended_rate": _rate_text(price),
        "line_item_blended_rate": _rate_text(price),
        "line_item_net_unblended_rate": _rate_text(price * (1 - _EDP_RATE)),
        "line_item_tax_type": None,
        "pricing_public_on_demand_rate": _rate_text(price),
        "pricing_term": "OnDemand",
        "pricing_unit": usage.unit,
        "pricing_rate_code": f"{product['sku']}.JRTCKXETXF.6YS6EN2CT7",
        "pricing_rate_id": _digits(10, product["sku"], "OnDemand"),
        "product": product,
        "resource_tags": tags,
        "split_line_item_parent_resource_id": resource.resource_id if split else None,
        "_mode": _MODE_PER_HOUR if usage.scale is None else _MODE_DRAWN,
        "_scale": usage.scale or 1.0,
        "_decimals": usage.decimals,
        "_price": price,
        "_normalization": normalization,
        "_public": True,
        "_discountable": True,
        "_split": split,
    }


def _discounted_row(base: dict[str, Any], reservation: _Reservation) -> dict[str, Any]:
    effective = round(base["_price"] * 0.62, 8)
    sized = _SIZED[reservation.size]
    return base | {
        "line_item_line_item_description": (
            f"{reservation.size} reserved instance applied"
            if reservation.kind.name == "instance"
            else f"RDS {reservation.size} reserved instance applied"),
        "line_item_unblended_rate": _rate_text(0),
        "line_item_blended_rate": _rate_text(effective),
        "line_item_net_unblended_rate": _rate_text(0),
        "pricing_term": "Reserved",
        "pricing_lease_contract_length": f"{reservation.years}yr",
        "pricing_offering_class": "standard",
        "pricing_purchase_option": "Partial Upfront",
        "pricing_rate_code": f"{base['product']['sku']}.4NA7Y494T4.6YS6EN2CT7",
        "pricing_rate_id": _digits(10, base["product"]["sku"], "Reserved"),
        "reservation_reservation_a_r_n": reservation.arn,
        "reservation_availability_zone": base["line_item_availability_zone"],
        "reservation_start_time": _iso_millis(reservation.start),
        "reservation_end_time": _iso_millis(reservation.start + timedelta(days=365 *
                                                                           reservation.years)),
        "reservation_modification_status": "Original",
        "reservation_subscription_id": _digits(10, reservation.arn),
        "reservation_normalized_units_per_reservation": _short(sized.normalization),
        "_effective_price": effective,
        "_upfront_share": 0.5,
        "_sign": 0,
        "_split": False,
        "split_line_item_parent_resource_id": None,
    }


def _savings_plan_rows(base: dict[str, Any], plan: _SavingsPlan,
                       account_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rate = round(base["_price"] * (1 - plan.discount), 8)
    plan_columns = {
        "savings_plan_savings_plan_a_r_n": plan.arn,
        "savings_plan_start_time": _iso_millis(plan.start),
        "savings_plan_end_time": _iso_millis(plan.start + timedelta(days=365)),
        "savings_plan_offering_type": "ComputeSavingsPlans",
        "savings_plan_payment_option": "No Upfront",
        "savings_plan_purchase_term": "1yr",
        "_plan_rate": rate,
        "_split": False,
        "split_line_item_parent_resource_id": None,
    }
    covered = base | plan_columns | {"_effective_price": rate}
    negation = base | plan_columns | {
        "line_item_line_item_description": (f"SavingsPlanNegation used by AccountId : "
                                            f"{account_id} and UsageSku : "
                                            f"{base['product']['sku']}"),
        "line_item_unblended_rate": _rate_text(-base["_price"]),
        "line_item_blended_rate": _rate_text(-base["_price"]),
        "line_item_net_unblended_rate": _rate_text(-base["_price"] * (1 - _EDP_RATE)),
        "pricing_public_on_demand_rate": None,
        "_sign": -1,
        "_public": False,
    }
    return covered, negation


def _ri_fee_row(reservation: _Reservation, account: dict[str, Any],
                month: _Period) -> dict[str, Any]:
    sized = _SIZED[reservation.size]
    hourly = round(sized.price * reservation.region.price * 0.62, 8)
    recurring = round(hourly * 0.5, 8)
    ec2 = reservation.kind.name == "instance"
    code = "AmazonEC2" if ec2 else "AmazonRDS"
    usage_type = _usage_type(reservation.region, f"HeavyUsage:{reservation.size}", True)
    operation = "RunInstances" if ec2 else "CreateDBInstance:0014"
    product = _product(None, code, usage_type, operation,
                       "Compute Instance" if ec2 else "Database Instance", reservation.region,
                       (("instanceType", reservation.size),))
    hours = month.hours * reservation.count
    return account | {
        "line_item_product_code": code,
        "line_item_usage_type": usage_type,
        "line_item_operation": operation,
        "line_item_resource_id": None,
        "line_item_line_item_description": (
            f"USD {recurring:.4f} hourly fee per "
            f"{'Linux/UNIX (Amazon VPC)' if ec2 else 'PostgreSQL'}, {reservation.size} instance"),
        "line_item_unblended_rate": _rate_text(recurring),
        "line_item_blended_rate": _rate_text(recurring),
        "line_item_net_unblended_rate": _rate_text(recurring * (1 - _EDP_RATE)),
        "pricing_term": "Reserved",
        "pricing_unit": "Hrs",
        "pricing_lease_contract_length": f"{reservation.years}yr",
        "pricing_offering_class": "standard",
        "pricing_purchase_option": "Partial Upfront",
        "product": product,
        "resource_tags": {},
        "reservation_reservation_a_r_n": reservation.arn,
        "reservation_start_time": _iso_millis(reservation.start),
        "reservation_end_time": _iso_millis(reservation.start + timedelta(days=365 *
                                                                           reservation.years)),
        "reservation_modification_status": "Original",
        "reservation_subscription_id": _digits(10, reservation.arn),
        "reservation_number_of_reservations": str(reservation.count),
        "reservation_units_per_reservation": str(month.hours),
        "reservation_total_reserved_units": str(hours),
        "reservation_normalized_units_per_reservation": _short(sized.normalization * month.hours),
        "reservation_total_reserved_normalized_units": _short(sized.normalization * hours),
        "_mode": _MODE_FIXED,
        "_fixed_amount": _units(hours),
        "_price": recurring,
        "_upfront_price": round(hourly - recurring, 8),
        "_upfront_value": _units(round((hourly - recurring) * 8760 * reservation.years
                                       * reservation.count, 2)),
        "_normalization": sized.normalization,
        "_whole_month": True,
        "_discountable": True,
    }


def _savings_plan_fee_row(plan: _SavingsPlan, account: dict[str, Any],
                          month: _Period) -> dict[str, Any]:
    code = "ComputeSavingsPlans"
    usage_type = "ComputeSP:1yrNoUpfront"
    return account | {
        "line_item_product_code": code,
        "line_item_usage_type": usage_type,
        "line_item_operation": "",
        "line_item_resource_id": plan.arn,
        "line_item_line_item_description": "1 year No Upfront Compute Savings Plan",
        "line_item_unblended_rate": _rate_text(plan.hourly_commitment),
        "line_item_blended_rate": _rate_text(plan.hourly_commitment),
        "line_item_net_unblended_rate": _rate_text(plan.hourly_commitment * (1 - _EDP_RATE)),
        "pricing_unit": "Hrs",
        "product": _product(None, code, usage_type, "", "Savings Plan", _GLOBAL),
        "resource_tags": {},
        "savings_plan_savings_plan_a_r_n": plan.arn,
        "savings_plan_start_time": _iso_millis(plan.start),
        "savings_plan_end_time": _iso_millis(plan.start + timedelta(days=365)),
        "savings_plan_offering_type": "ComputeSavingsPlans",
        "savings_plan_payment_option": "No Upfront",
        "savings_plan_purchase_term": "1yr",
        "_mode": _MODE_PER_HOUR,
        "_price": plan.hourly_commitment,
        "_commitment_month": _units(plan.hourly_commitment * month.hours),
        "_discountable": True,
    }


def _adjustment_row(code: str, account: dict[str, Any], line_type: str) -> dict[str, Any]:
    """Tax, Credit or Fee: whole-month lines sized as a share of the usage they relate to."""
    usd = account["line_item_currency_code"] == "USD"
    account_id = account["line_item_usage_account_id"]
    if line_type == "Tax":
        description, rate = f"Tax for product code {code}", _ADJUSTMENT_RATES[
            "Tax" if usd else "VAT"]
    elif line_type == "Credit":
        description, rate = "AWS Promotional Credit", _ADJUSTMENT_RATES["Credit"]
    else:
        description, rate = f"{_PRODUCT_NAMES[code]} fee", _ADJUSTMENT_RATES[code]
    usage_type = "Dollar" if line_type == "Fee" else ""
    return account | {
        "line_item_product_code": code,
        "line_item_usage_type": usage_type,
        "line_item_operation": "",
        "line_item_line_item_description": description,
        "line_item_tax_type": ("Sales Tax" if usd else "VAT") if line_type == "Tax" else None,
        "product": {"ProductName": _PRODUCT_NAMES[code], "servicecode": code,
                    "servicename": _PRODUCT_NAMES[code]}
        | ({"productFamily": "Fee", "usagetype": usage_type, "sku": _sku(code, usage_type)}
           if line_type == "Fee" else {}),
        "resource_tags": {},
        "_mode": _MODE_FIXED,
        "_fixed_amount": _UNIT,
        "_adjustment": (rate, account_id if line_type == "Fee" else f"{account_id}|{code}"),
        "_sign": -1 if line_type == "Credit" else 1,
        "_whole_month": True,
        "_public": False,
        "_discountable": line_type == "Fee",
    }


_PARAM_TYPES: Final = {
    "_type": (pa.int64(), 0), "_mode": (pa.int64(), _MODE_PER_HOUR), "_scale": (pa.float64(), 1.0),
    "_decimals": (pa.int64(), 8), "_price": (pa.float64(), 0.0),
    "_effective_price": (pa.float64(), 0.0), "_plan_rate": (pa.float64(), 0.0),
    "_fixed_amount": (pa.int64(), _UNIT), "_adjusted": (pa.bool_(), False),
    "_sign": (pa.int64(), 1), "_factor": (pa.float64(), 1.0),
    "_normalization": (pa.float64(), 0.0), "_upfront_share": (pa.float64(), 0.0),
    "_upfront_price": (pa.float64(), 0.0), "_upfront_value": (pa.int64(), 0),
    "_commitment_month": (pa.int64(), 0), "_whole_month": (pa.bool_(), False),
    "_public": (pa.bool_(), False), "_discountable": (pa.bool_(), False),
    "_split": (pa.bool_(), False),
}
_TEXT_MAP = pa.map_(pa.string(), pa.string())


def _json(mapping: Mapping[str, str]) -> str:
    return json.dumps(dict(mapping), separators=(",", ":"), ensure_ascii=False)


def _freeze_templates(estate: _Estate, rows: _TemplateRows, rnd: random.Random,
                      slot_hours: float) -> _Templates:
    records = rows.rows
    for record in records:
        record["_adjusted"] = "_adjustment" in record
    params = {
        name: pa.array([r.get(name, default) for r in records], type)
        for name, (type, default) in _PARAM_TYPES.items()
    }
    spec_text = {s.key for s in _spec() if s.kind == "text"} - {"identity_line_item_id",
                                                                "identity_time_interval"}
    text_columns = sorted(({k for r in records for k in r if not k.startswith("_")} | spec_text)
                          - {"product", "resource_tags", "cost_category", "account_tags"})
    columns: dict[str, pa.Array] = {
        name: pa.array([r.get(name) for r in records], pa.string()) for name in text_columns
    }
    products = [r["product"] for r in records]
    attributes = sorted({a for p in products for a in p})
    memo: dict[tuple[str, int], Any] = {}

    def once(kind: str, source: Mapping[str, str], make: Any) -> Any:
        """Templates copied from one another share their dicts: convert each dict once."""
        key = (kind, id(source))
        if key not in memo:
            memo[key] = make(source)
        return memo[key]

    for attribute in sorted(set(attributes) | set(_PRODUCT_TOP_LEVEL)):
        columns[f"product/{attribute}"] = pa.array([p.get(attribute) for p in products],
                                                   pa.string())
    in_map = [once("product", p, lambda p: {_snake(a): v for a, v in p.items()
                                             if a not in _PRODUCT_TOP_LEVEL})
              for p in products]
    columns["product"] = pa.array([list(m.items()) for m in in_map], _TEXT_MAP)
    columns["product#json"] = pa.array([once("json", m, _json) for m in in_map], pa.string())
    tags = [r.get("resource_tags", {}) for r in records]
    snake_tags = [once("tags", t, lambda t: {_snake(k): v for k, v in t.items()})
                  for t in tags]
    columns["resource_tags"] = pa.array([list(t.items()) for t in snake_tags], _TEXT_MAP)
    columns["resource_tags#json"] = pa.array([once("json", t, _json) for t in snake_tags],
                                             pa.string())
    all_tags = [t | r["account_tags"] for t, r in zip(snake_tags, records, strict=True)]
    columns["tags"] = pa.array([list(t.items()) for t in all_tags], _TEXT_MAP)
    columns["tags#json"] = pa.array([_json(t) for t in all_tags], pa.string())
    for key in _TAG_KEYS:
        columns[f"resourceTags/{key}"] = pa.array([t.get(key) for t in tags], pa.string())
    categories = [r["cost_category"] for r in records]
    columns["cost_category"] = pa.array([list(c.items()) for c in categories], _TEXT_MAP)
    columns["cost_category#json"] = pa.array([once("json", c, _json) for c in categories],
                                             pa.string())
    for name in _COST_CATEGORIES:
        columns[f"costCategory/{name}"] = pa.array([c.get(name) for c in categories], pa.string())

    members: list[int] = []
    starts, sizes = [], []
    for name in _LINE_TYPES:
        pool = [] if name in _MONTHLY else list(rows.pools[name])
        rnd.shuffle(pool)  # so a pool's order says nothing about accounts or services
        starts.append(len(members))
        sizes.append(len(pool))
        members.extend(pool)
    monthly = [i for name in _MONTHLY for i in rows.pools[name]]
    rnd.shuffle(monthly)
    spend: dict[str, float] = {}
    for i in rows.pools["Usage"]:
        record = records[i]
        expected = record["_price"] * slot_hours * (
            record["_scale"] * _MEAN_SPREAD if record["_mode"] == _MODE_DRAWN else 1.0)
        account_id = record["line_item_usage_account_id"]
        for group in (account_id, f"{account_id}|{record['line_item_product_code']}"):
            spend[group] = spend.get(group, 0.0) + expected
    adjustments = tuple((i, *r["_adjustment"]) for i, r in enumerate(records)
                        if "_adjustment" in r)
    # Text is dictionary-encoded: a batch takes int32 indices, and Parquet gets its dictionary
    # pages without hashing every value again.
    table = pa.table({name: pc.dictionary_encode(values) if values.type == pa.string() else values
                      for name, values in columns.items()})
    return _Templates(
        payer_account_id=estate.payer.id,
        table=table,
        params=params,
        pool_members=pa.array(members, pa.int64()),
        pool_start=pa.array(starts, pa.int64()),
        pool_size=pa.array(sizes, pa.int64()),
        monthly=pa.array(monthly, pa.int64()),
        adjustments=adjustments,
        spend=spend,
        product_attributes=tuple(["ProductName", *(a for a in attributes if a != "ProductName")]),
    )


# --------------------------------------------------------------------------------------------
# Rows: a batch of line items as canonical columns (money as int64 units of 1e-8)
# --------------------------------------------------------------------------------------------


class _Totals:
    def __init__(self) -> None:
        self.net: dict[str, int] = {}
        self.gross: dict[str, int] = {}

    def add(self, currency: pa.Array, unblended: pa.Array, net: pa.Array | None) -> None:
        table = pa.table({"currency": pc.cast(currency, pa.string()), "gross": unblended,
                          "net": net if net is not None else unblended})
        for row in table.group_by("currency").aggregate(
                [("gross", "sum"), ("net", "sum")]).to_pylist():
            code = row["currency"]
            self.gross[code] = self.gross.get(code, 0) + int(row["gross_sum"])
            self.net[code] = self.net.get(code, 0) + int(row["net_sum"])

    def unblended(self) -> dict[str, Decimal]:
        return {code: _decimal(units) for code, units in sorted(self.gross.items())}

    def billed(self, with_net: bool) -> dict[str, Decimal]:
        chosen = self.net if with_net else self.gross
        return {code: _decimal(units) for code, units in sorted(chosen.items())}


@dataclass(frozen=True)
class _Plan:
    """How one delivery's rows are laid out; the same for every part and batch of it."""

    rows: int
    monthly_rows: int
    bounds: tuple[float, ...]  # cumulative share bounds of the hourly line item types
    adjustment_money: pa.Array  # per template: Tax/Credit/Fee amount in units, else 0


def _plan(templates: _Templates, rows: int, with_net: bool) -> _Plan:
    monthly_rows = min(len(templates.monthly), rows // _MONTHLY_EVERY)
    sizes = templates.pool_size.to_pylist()
    shares = dict(_HOURLY_SHARES)
    for name in shares:
        if name != "Usage" and (sizes[_T[name]] == 0 or (name == "EdpDiscount" and not with_net)):
            shares["Usage"] += shares[name]
            shares[name] = 0.0
    hourly = [n for n in _LINE_TYPES if n not in _MONTHLY]
    bounds, total = [], 0.0
    for position, name in enumerate(hourly[:-1]):
        total += shares[name]
        later = sum(shares[n] for n in hourly[position + 1:])
        bounds.append(total if later > 0 else 2.0)  # 2.0: never reached by u < 1
    usage_rows = (rows - monthly_rows) * shares["Usage"] / max(sizes[_T["Usage"]], 1)
    money = [0] * templates.table.num_rows
    for index, rate, group in templates.adjustments:
        expected = rate * templates.spend.get(group, 0.0) * usage_rows
        money[index] = _units(round(min(expected, _MAX_ADJUSTMENT), 8))
    return _Plan(rows, monthly_rows, tuple(bounds), pa.array(money, pa.int64()))


def _batches(templates: _Templates, plan: _Plan, seed: int, first: int, count: int,
             batch_rows: int, month: _Period, granularity: Granularity, with_net: bool,
             needed: Sequence[str], totals: _Totals) -> Iterator[dict[str, pa.Array]]:
    for start in range(first, first + count, batch_rows):
        size = min(batch_rows, first + count - start)
        batch = _line_items(templates, plan, _Draws(seed, start, size), month, granularity,
                            with_net, needed)
        totals.add(batch["line_item_currency_code"], batch["line_item_unblended_cost"],
                   batch.get("line_item_net_unblended_cost"))
        yield batch


_NULL_INT = pa.scalar(None, pa.int64())


def _times(k: pa.Array, factor: float | pa.Array) -> pa.Array:
    """Units x factor, rounded half to even to whole units."""
    return pc.cast(pc.round(pc.multiply(pc.cast(k, pa.float64()), factor)), pa.int64())


def _only(mask: pa.Array, values: pa.Array | int) -> pa.Array:
    return pc.if_else(mask, values, _NULL_INT)


def _less_discount(units: pa.Array) -> pa.Array:
    return pc.subtract(units, _times(units, _EDP_RATE))


@lru_cache(maxsize=16)
def _slots(period: str, granularity: Granularity) -> dict[str, pa.Array]:
    """Usage windows: one per hour (or day) of the month, and a last one for the whole month."""
    month = _Period.parse(period)
    step = timedelta(hours=1 if granularity == "hourly" else 24)
    starts = []
    moment = month.start
    while moment < month.end:
        starts.append(moment)
        moment += step
    ends = [min(s + step, month.end) for s in starts]
    starts.append(month.start)
    ends.append(month.end)
    return {
        "start_ms": pa.array([int(s.timestamp() * 1000) for s in starts], pa.int64()),
        "end_ms": pa.array([int(e.timestamp() * 1000) for e in ends], pa.int64()),
        "start_iso": pa.array([_iso(s) for s in starts], pa.string()),
        "end_iso": pa.array([_iso(e) for e in ends], pa.string()),
        "interval": pc.dictionary_encode(pa.array(
            [f"{_iso(s)}/{_iso(e)}" for s, e in zip(starts, ends, strict=True)], pa.string())),
        "hours": pa.array([(e - s).total_seconds() / 3600 for s, e in zip(starts, ends,
                                                                          strict=True)],
                          pa.float64()),
    }


@lru_cache(maxsize=1)
def _id_pairs() -> pa.Array:
    return pa.array([a + b for a in _ID_ALPHABET for b in _ID_ALPHABET], pa.string())


def _line_item_ids(draws: _Draws) -> pa.Array:
    """52 base32 characters, like AWS's identity_line_item_id."""
    pairs = _id_pairs()
    pieces: list[pa.Array] = []
    for word in range(5):
        bits = draws.bits(f"line_item_id/{word}")
        for shift in range(0, 60, 10):
            if len(pieces) < 26:
                index = pc.bit_wise_and(pc.shift_right(bits, _u64(shift)), _u64(1023))
                pieces.append(pc.take(pairs, index))
    return pc.binary_join_element_wise(*pieces, "")


def _pick_templates(templates: _Templates, plan: _Plan, draws: _Draws) -> pa.Array:
    """Each row's template: monthly lines spread evenly, the rest drawn by line item type."""
    u = draws.uniform("line_item_type")
    line_type = pc.cast(pc.greater_equal(u, 2.0), pa.int64())  # all zero: Usage
    for bound in plan.bounds:
        line_type = pc.add(line_type, pc.cast(pc.greater_equal(u, bound), pa.int64()))
    start = pc.take(templates.pool_start, line_type)
    size = pc.take(templates.pool_size, line_type)
    offset = pc.cast(pc.floor(pc.multiply(draws.uniform("template"), size)), pa.int64())
    hourly = pc.take(templates.pool_members, pc.add(start, offset))
    if plan.monthly_rows == 0:
        return hourly
    # Row i is the k-th monthly row when floor(i*m/n) steps up to k+1 at i+1.
    m, n = plan.monthly_rows, plan.rows
    k = pc.divide(pc.multiply(draws.rows, m), n)
    k_next = pc.divide(pc.multiply(pc.add(draws.rows, 1), m), n)
    monthly = pc.take(templates.monthly, pc.min_element_wise(k, m - 1))
    return pc.if_else(pc.not_equal(k, k_next), monthly, hourly)


def _line_items(templates: _Templates, plan: _Plan, draws: _Draws, month: _Period,
                granularity: Granularity, with_net: bool,
                needed: Sequence[str]) -> dict[str, pa.Array]:
    index = _pick_templates(templates, plan, draws)
    picked = templates.table.select(list(needed)).take(index)
    out: dict[str, pa.Array] = {name: picked.column(name).combine_chunks()
                                for name in picked.column_names}
    p = {name: pc.take(values, index) for name, values in templates.params.items()}
    is_type = {name: pc.equal(p["_type"], code) for name, code in _T.items()}

    slots = _slots(month.label, granularity)
    whole_month_slot = len(slots["hours"]) - 1
    slot = pc.if_else(p["_whole_month"], whole_month_slot,
                      draws.below("usage_start", whole_month_slot))
    hours = pc.take(slots["hours"], slot)
    out["identity_line_item_id"] = _line_item_ids(draws)
    out["identity_time_interval"] = pc.take(slots["interval"], slot)
    out["line_item_usage_start_date"] = pc.cast(pc.take(slots["start_ms"], slot),
                                                pa.timestamp("ms", tz="UTC"))
    out["line_item_usage_end_date"] = pc.cast(pc.take(slots["end_ms"], slot),
                                              pa.timestamp("ms", tz="UTC"))
    out["line_item_usage_start_date#iso"] = pc.take(slots["start_iso"], slot)
    out["line_item_usage_end_date#iso"] = pc.take(slots["end_iso"], slot)
    count = len(index)
    for column, moment in (("bill_billing_period_start_date", month.start),
                           ("bill_billing_period_end_date", month.end)):
        out[column] = pa.repeat(pa.scalar(moment, pa.timestamp("ms", tz="UTC")), count)
        out[f"{column}#iso"] = pa.repeat(pa.scalar(_iso(moment)), count)

    # Quantities: per hour of the window, drawn log-uniformly around a scale, or fixed.
    per_hour = pc.cast(pc.round(pc.multiply(hours, float(_UNIT))), pa.int64())
    spread = pc.power(10.0, pc.subtract(pc.multiply(draws.uniform("amount"), 2.0), 1.0))
    quantum = pc.power(10.0, p["_decimals"])
    drawn = pc.multiply(pc.multiply(p["_scale"], hours), spread)
    drawn = pc.max_element_wise(pc.round(pc.multiply(drawn, quantum)), 1.0)
    drawn = pc.cast(pc.multiply(drawn, pc.divide(float(_UNIT), quantum)), pa.int64())
    amount = pc.if_else(pc.equal(p["_mode"], _MODE_PER_HOUR), per_hour,
                        pc.if_else(pc.equal(p["_mode"], _MODE_DRAWN), drawn, p["_fixed_amount"]))

    on_demand = _times(amount, p["_price"])
    effective = _times(amount, p["_effective_price"])
    adjustment = _times(pc.take(plan.adjustment_money, index),
                        pc.add(0.8, pc.multiply(draws.uniform("adjustment"), 0.4)))
    base = pc.if_else(p["_adjusted"], adjustment, _times(on_demand, p["_factor"]))
    unblended = pc.multiply(base, p["_sign"])
    share = pc.divide(pc.round(pc.multiply(draws.uniform("share"), 10_000.0)), 10_000.0)

    out["line_item_usage_amount"] = amount
    has_factor = pc.greater(p["_normalization"], 0.0)
    out["line_item_normalization_factor"] = _only(
        has_factor, pc.cast(pc.multiply(p["_normalization"], float(_UNIT)), pa.int64()))
    out["line_item_normalized_usage_amount"] = _only(has_factor,
                                                     _times(amount, p["_normalization"]))
    out["line_item_unblended_cost"] = unblended
    out["line_item_blended_cost"] = pc.if_else(is_type["DiscountedUsage"], effective, unblended)
    out["pricing_public_on_demand_cost"] = pc.if_else(p["_public"], on_demand, 0)

    # Reservations: the RI-covered usage and the monthly RI fee.
    discounted, ri_fee = is_type["DiscountedUsage"], is_type["RIFee"]
    upfront_for_usage = _times(effective, p["_upfront_share"])
    upfront_for_period = _times(amount, p["_upfront_price"])
    unused_quantity = _times(amount, pc.multiply(share, 0.25))
    unused_share = pc.multiply(share, 0.25)
    reservation = {
        "reservation_effective_cost": _only(discounted, effective),
        "reservation_amortized_upfront_cost_for_usage": _only(discounted, upfront_for_usage),
        "reservation_recurring_fee_for_usage": _only(
            discounted, pc.subtract(effective, upfront_for_usage)),
        "reservation_amortized_upfront_fee_for_billing_period": _only(ri_fee, upfront_for_period),
        "reservation_unused_amortized_upfront_fee_for_billing_period": _only(
            ri_fee, _times(upfront_for_period, unused_share)),
        "reservation_unused_recurring_fee": _only(ri_fee, _times(unblended, unused_share)),
        "reservation_upfront_value": _only(ri_fee, p["_upfront_value"]),
    }
    out |= reservation
    out["reservation_unused_quantity"] = _only(ri_fee, unused_quantity)
    out["reservation_unused_normalized_unit_quantity"] = _only(
        ri_fee, _times(unused_quantity, p["_normalization"]))

    # Savings plans: covered usage at the plan rate, its negation, the hourly commitment fee.
    covered, negation = is_type["SavingsPlanCoveredUsage"], is_type["SavingsPlanNegation"]
    fee = is_type["SavingsPlanRecurringFee"]
    commitment = {
        "savings_plan_savings_plan_effective_cost": _only(covered, effective),
        "savings_plan_total_commitment_to_date": _only(fee, unblended),
        "savings_plan_used_commitment": _only(
            fee, _times(unblended, pc.add(0.75, pc.multiply(share, 0.25)))),
        "savings_plan_recurring_commitment_for_billing_period": _only(fee,
                                                                      p["_commitment_month"]),
        "savings_plan_amortized_upfront_commitment_for_billing_period": _only(fee, 0),
    }
    out |= commitment
    out["savings_plan_savings_plan_rate"] = _only(
        pc.or_(covered, negation), pc.cast(pc.round(pc.multiply(p["_plan_rate"], float(_UNIT))),
                                           pa.int64()))

    # Split cost allocation: EKS nodes' cost shared between pods and unused capacity.
    split = pc.and_(p["_split"], is_type["Usage"])
    ratio = pc.add(0.2, pc.multiply(share, 0.75))
    split_cost = _times(unblended, ratio)
    split_columns = {
        "split_line_item_split_cost": _only(split, split_cost),
        "split_line_item_unused_cost": _only(split, pc.subtract(unblended, split_cost)),
        "split_line_item_public_on_demand_split_cost": _only(split, _times(on_demand, ratio)),
        "split_line_item_public_on_demand_unused_cost": _only(
            split, pc.subtract(on_demand, _times(on_demand, ratio))),
    }
    out |= split_columns
    out["split_line_item_split_usage"] = _only(split, _times(amount, ratio))
    out["split_line_item_actual_usage"] = _only(split, amount)
    out["split_line_item_reserved_usage"] = _only(split, 0)
    out["split_line_item_split_usage_ratio"] = _only(
        split, pc.cast(pc.round(pc.multiply(ratio, float(_UNIT))), pa.int64()))

    # Discounts: the EDP discount on discountable lines, net columns, the discount map.
    discount = (pc.if_else(p["_discountable"], _times(unblended, _EDP_RATE), 0) if with_net
                else pa.repeat(pa.scalar(0, pa.int64()), count))
    has_discount = pc.not_equal(discount, 0)
    out["discount_total_discount"] = _only(has_discount, pc.negate(discount))
    out["discount_bundled_discount"] = pa.nulls(count, pa.int64())
    out["discount"], out["discount#json"] = _discount_map(has_discount, pc.negate(discount))
    if with_net:
        # EdpDiscount lines carry the discount in unblended cost; net cost already has it.
        out["line_item_net_unblended_cost"] = pc.if_else(
            is_type["EdpDiscount"], 0, pc.subtract(unblended, discount))
        for gross, net in _NET_COUNTERPARTS:
            out[net] = _less_discount(out[gross])
    return out


def _net_counterparts() -> tuple[tuple[str, str], ...]:
    """(gross, net) money column pairs: `reservation_effective_cost`, `reservation_net_...`."""
    return tuple((s.key.replace("_net_", "_", 1), s.key) for s in _spec()
                 if s.scope == "net" and s.kind == "money"
                 and s.key != "line_item_net_unblended_cost")


def _discount_map(present: pa.Array, units: pa.Array) -> tuple[pa.Array, pa.Array]:
    """`{"edp_discount": x}` where a discount applies, else null: as a MAP and as JSON text."""
    lengths = pc.cast(present, pa.int32())
    offsets = pa.concat_arrays([pa.array([0], pa.int32()),
                                pc.cumulative_sum(lengths).cast(pa.int32())])
    values = pc.filter(units, present)
    keys = pa.repeat(pa.scalar("edp_discount"), len(values))
    items = pc.divide(pc.cast(values, pa.float64()), float(_UNIT))
    mapped = pa.MapArray.from_arrays(offsets, keys, items,
                                     type=pa.map_(pa.string(), pa.float64()),
                                     mask=pc.invert(present))
    text = pc.if_else(present, pc.binary_join_element_wise(
        '{"edp_discount":', _decimal_text(units), "}", ""), pa.scalar(None, pa.string()))
    return mapped, text


def _decimal_text(units: pa.Array) -> pa.Array:
    """Integer units of 1e-8 as decimal text with 10 places: 123456789 → `1.2345678900`."""
    magnitude = pc.abs(units)
    whole = pc.divide(magnitude, _UNIT)
    fraction = pc.subtract(magnitude, pc.multiply(whole, _UNIT))
    text = pc.binary_join_element_wise(
        pc.cast(whole, pa.string()), ".",
        pc.utf8_lpad(pc.cast(fraction, pa.string()), width=8, padding="0"), "00", "")
    return pc.if_else(pc.less(units, 0), pc.binary_join_element_wise("-", text, ""), text)


# --------------------------------------------------------------------------------------------
# Columns as each flavour writes them
# --------------------------------------------------------------------------------------------

ColumnKind = Literal["text", "time", "money", "number", "text_map", "number_map"]


@dataclass(frozen=True)
class _Column:
    """One output column: its name, where its values come from and how they are typed."""

    name: str  # as written in the file
    source: str  # canonical key in a batch, or a template column
    kind: ColumnKind
    category: str = ""  # legacy manifest
    legacy_name: str = ""  # legacy manifest

    @property
    def cur2_type(self) -> str:
        return {"text": "string", "time": "timestamp", "money": "double", "number": "double",
                "text_map": "map<string,string>", "number_map": "map<string,double>"}[self.kind]

    @property
    def legacy_type(self) -> str:
        optional = self.category in ("reservation", "savingsPlan", "resourceTags",
                                     "costCategory", "product")
        if self.kind == "time":
            return "DateTime"
        if self.source == "identity_time_interval":
            return "Interval"
        if self.kind in ("money", "number") or self.legacy_name.endswith("Rate"):
            return "OptionalBigDecimal" if optional else "BigDecimal"
        return "OptionalString" if optional else "String"


# (category, legacy name, kind, scope); scope: "" both, "cur2" CUR 2.0 only, "net" CUR 2.0
# with net columns only, "product" a product attribute (top level in CUR 2.0).
_SPEC: Final = """
identity LineItemId text
identity TimeInterval text
bill InvoiceId text
bill InvoicingEntity text
bill BillingEntity text
bill BillType text
bill PayerAccountId text
bill PayerAccountName text cur2
bill BillingPeriodStartDate time
bill BillingPeriodEndDate time
lineItem UsageAccountId text
lineItem UsageAccountName text cur2
lineItem LineItemType text
lineItem UsageStartDate time
lineItem UsageEndDate time
lineItem ProductCode text
lineItem UsageType text
lineItem Operation text
lineItem AvailabilityZone text
lineItem ResourceId text
lineItem UsageAmount number
lineItem NormalizationFactor number
lineItem NormalizedUsageAmount number
lineItem CurrencyCode text
lineItem UnblendedRate text
lineItem UnblendedCost money
lineItem BlendedRate text
lineItem BlendedCost money
lineItem NetUnblendedRate text net
lineItem NetUnblendedCost money net
lineItem LineItemDescription text
lineItem TaxType text
lineItem LegalEntity text
pricing LeaseContractLength text
pricing OfferingClass text
pricing PurchaseOption text
pricing RateCode text
pricing RateId text
pricing currency text
pricing publicOnDemandCost money
pricing publicOnDemandRate text
pricing term text
pricing unit text
reservation AmortizedUpfrontCostForUsage money
reservation AmortizedUpfrontFeeForBillingPeriod money
reservation AvailabilityZone text
reservation EffectiveCost money
reservation EndTime text
reservation ModificationStatus text
reservation NetAmortizedUpfrontCostForUsage money net
reservation NetAmortizedUpfrontFeeForBillingPeriod money net
reservation NetEffectiveCost money net
reservation NetRecurringFeeForUsage money net
reservation NetUnusedAmortizedUpfrontFeeForBillingPeriod money net
reservation NetUnusedRecurringFee money net
reservation NetUpfrontValue money net
reservation NormalizedUnitsPerReservation text
reservation NumberOfReservations text
reservation RecurringFeeForUsage money
reservation ReservationARN text
reservation StartTime text
reservation SubscriptionId text
reservation TotalReservedNormalizedUnits text
reservation TotalReservedUnits text
reservation UnitsPerReservation text
reservation UnusedAmortizedUpfrontFeeForBillingPeriod money
reservation UnusedNormalizedUnitQuantity number
reservation UnusedQuantity number
reservation UnusedRecurringFee money
reservation UpfrontValue money
savingsPlan AmortizedUpfrontCommitmentForBillingPeriod money
savingsPlan EndTime text
savingsPlan InstanceTypeFamily text
savingsPlan NetAmortizedUpfrontCommitmentForBillingPeriod money net
savingsPlan NetRecurringCommitmentForBillingPeriod money net
savingsPlan NetSavingsPlanEffectiveCost money net
savingsPlan OfferingType text
savingsPlan PaymentOption text
savingsPlan PurchaseTerm text
savingsPlan RecurringCommitmentForBillingPeriod money
savingsPlan Region text
savingsPlan SavingsPlanARN text
savingsPlan SavingsPlanEffectiveCost money
savingsPlan SavingsPlanRate number
savingsPlan StartTime text
savingsPlan TotalCommitmentToDate money
savingsPlan UsedCommitment money
splitLineItem ActualUsage number cur2
splitLineItem NetSplitCost money net
splitLineItem NetUnusedCost money net
splitLineItem ParentResourceId text cur2
splitLineItem PublicOnDemandSplitCost money cur2
splitLineItem PublicOnDemandUnusedCost money cur2
splitLineItem ReservedUsage number cur2
splitLineItem SplitCost money cur2
splitLineItem SplitUsage number cur2
splitLineItem SplitUsageRatio number cur2
splitLineItem UnusedCost money cur2
discount BundledDiscount money cur2
discount TotalDiscount money cur2
"""


@dataclass(frozen=True)
class _Spec:
    category: str
    name: str
    kind: ColumnKind
    scope: str

    @property
    def key(self) -> str:
        return f"{_snake(self.category)}_{_snake(self.name)}"


def _spec() -> list[_Spec]:
    specs = []
    for line in _SPEC.strip().splitlines():
        category, name, kind, *scope = line.split()
        specs.append(_Spec(category, name, kind, scope[0] if scope else ""))  # type: ignore[arg-type]
    return specs


_NET_COUNTERPARTS: Final = _net_counterparts()
_CUR2_MAPS: Final = (("cost_category", "text_map"), ("discount", "number_map"),
                     ("product", "text_map"), ("resource_tags", "text_map"), ("tags", "text_map"))


@lru_cache(maxsize=2)
def _cur2_columns(with_net: bool) -> tuple[_Column, ...]:
    columns = [_Column(s.key, s.key, s.kind) for s in _spec()
               if s.scope != "net" or with_net]
    columns += [_Column(f"product_{_snake(a)}", f"product/{a}", "text")
                for a in _PRODUCT_TOP_LEVEL]
    columns += [_Column(name, name, kind) for name, kind in _CUR2_MAPS]  # type: ignore[arg-type]
    return tuple(sorted(columns, key=lambda c: c.name))


def _cur2_template_columns() -> list[str]:
    names = {c.source for c in _cur2_columns(True) if c.kind == "text"} - {
        "identity_line_item_id", "identity_time_interval"}
    maps = [name for name, _ in _CUR2_MAPS if name != "discount"]
    return sorted(names | set(maps) | {f"{m}#json" for m in maps})


def _legacy_columns(templates: _Templates, env_key: str) -> tuple[_Column, ...]:
    """Legacy CUR's dynamic schema: fixed columns, the month's product attributes and tags."""
    specs = [s for s in _spec() if s.scope == ""]
    order = ("identity", "bill", "lineItem", "product", "pricing", "reservation", "savingsPlan")
    columns = []
    for category in order:
        if category == "product":
            columns += [_Column(f"product/{a}", f"product/{a}", "text", "product", a)
                        for a in templates.product_attributes]
            continue
        columns += [_Column(f"{s.category}/{s.name}", s.key, s.kind, s.category, s.name)
                    for s in specs if s.category == category]
    tag_keys = sorted((env_key if k == _ENV_TAG else k, k) for k in _TAG_KEYS)
    columns += [_Column(f"resourceTags/{shown}", f"resourceTags/{key}", "text", "resourceTags",
                        shown) for shown, key in tag_keys]
    columns += [_Column(f"costCategory/{n}", f"costCategory/{n}", "text", "costCategory", n)
                for n in _COST_CATEGORIES]
    return tuple(columns)


_ARROW_TYPES: Final = {"text": pa.dictionary(pa.int32(), pa.string()),
                       "time": pa.timestamp("ms", tz="UTC"), "money": pa.float64(),
                       "number": pa.float64(), "text_map": _TEXT_MAP,
                       "number_map": pa.map_(pa.string(), pa.float64())}


def _arrow_type(column: _Column) -> pa.DataType:
    """How a batch holds the column; Parquet stores dictionary text as plain strings."""
    return pa.string() if column.source == "identity_line_item_id" else _ARROW_TYPES[column.kind]


def _cur2_arrow_schema(columns: Sequence[_Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, _arrow_type(c)) for c in columns])


def _legacy_arrow_schema(columns: Sequence[_Column]) -> pa.Schema:
    return pa.schema([pa.field(_legacy_snake(c), _arrow_type(c)) for c in columns])


def _legacy_snake(column: _Column) -> str:
    return f"{_snake(column.category)}_{_snake(column.legacy_name)}"


def _typed(batch: Mapping[str, pa.Array], column: _Column) -> pa.Array:
    values = batch[column.source]
    if column.kind in ("money", "number"):
        return pc.divide(pc.cast(values, pa.float64()), float(_UNIT))
    return values


def _text(batch: Mapping[str, pa.Array], column: _Column) -> pa.Array:
    if column.kind in ("money", "number"):
        return _decimal_text(batch[column.source])
    if column.kind == "time":
        return batch[f"{column.source}#iso"]
    if column.kind in ("text_map", "number_map"):
        return batch[f"{column.source}#json"]
    return batch[column.source]


def _cur2_parquet(batch: Mapping[str, pa.Array], columns: Sequence[_Column]) -> pa.Table:
    return pa.table([_typed(batch, c) for c in columns], schema=_cur2_arrow_schema(columns))


def _cur2_text(batch: Mapping[str, pa.Array], columns: Sequence[_Column]) -> pa.Table:
    return pa.table({c.name: _text(batch, c) for c in columns})


def _legacy_parquet(batch: Mapping[str, pa.Array], columns: Sequence[_Column]) -> pa.Table:
    return pa.table([_typed(batch, c) for c in columns], schema=_legacy_arrow_schema(columns))


def _legacy_text(batch: Mapping[str, pa.Array], columns: Sequence[_Column]) -> pa.Table:
    return pa.table({c.name: _text(batch, c) for c in columns})


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _make_parent(filesystem: pafs.FileSystem, path: str) -> None:
    """Local folders must exist before writing; object stores have no folders to make."""
    if filesystem.type_name not in ("s3", "gcs"):
        parent = path.rsplit("/", 1)[0]
        if parent:
            filesystem.create_dir(parent, recursive=True)


def _write_parquet(filesystem: pafs.FileSystem, path: str, tables: Iterator[pa.Table],
                   schema: pa.Schema, row_group_rows: int) -> None:
    _make_parent(filesystem, path)
    with filesystem.open_output_stream(path, compression=None) as sink, \
            pq.ParquetWriter(sink, schema, compression="snappy", store_schema=False) as writer:
        for table in tables:
            writer.write_table(table, row_group_size=row_group_rows)


def _write_csv(filesystem: pafs.FileSystem, path: str, tables: Iterator[pa.Table],
               header: Sequence[str]) -> None:
    """gzip CSV, header first, values quoted only where needed (as AWS writes them).

    A fast gzip level (CSV rows run to ~1.5 KB) and no timestamp in the gzip header, so the
    same seed gives the same bytes.
    """
    _make_parent(filesystem, path)
    with filesystem.open_output_stream(path, compression=None) as sink, \
            gzip.GzipFile(filename="", fileobj=sink, mode="wb", compresslevel=_GZIP_LEVEL,
                          mtime=0) as zipped:
        written = 0
        for table in tables:
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame.write_csv(cast(IO[bytes], zipped), include_header=written == 0)
            written += 1
        if not written:  # an empty delivery still has its header row
            pl.DataFrame(schema=dict.fromkeys(header, pl.String)).write_csv(
                cast(IO[bytes], zipped))


def _write_json(filesystem: pafs.FileSystem, path: str, document: Mapping[str, Any]) -> None:
    _make_parent(filesystem, path)
    with filesystem.open_output_stream(path, compression=None) as sink:
        sink.write(json.dumps(document, indent=2).encode())


def _read_json(filesystem: pafs.FileSystem, path: str) -> dict[str, Any] | None:
    if filesystem.get_file_info(path).type != pafs.FileType.File:
        return None
    with filesystem.open_input_stream(path, compression=None) as stream:
        document = json.loads(stream.read())
    return document if isinstance(document, dict) else None


def _folder_of(manifest: Mapping[str, Any], bucket: str, prefix: str) -> str | None:
    """The folder (relative to the export's root) of a CUR 2.0 manifest's data files."""
    files = manifest.get("dataFiles")
    base = f"s3://{_join(bucket, prefix)}/"
    if not isinstance(files, list) or not files or not str(files[0]).startswith(base):
        return None
    return str(files[0]).removeprefix(base).rsplit("/", 1)[0]


def _next_delivery_time(filesystem: pafs.FileSystem, folder: str, month: _Period) -> datetime:
    """A deterministic delivery time after the month, one hour later per delivery so far."""
    entries = filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    deliveries = sum(1 for e in entries if e.type == pafs.FileType.Directory)
    return month.end + timedelta(days=1, hours=deliveries + 1)

