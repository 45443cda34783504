"""Synthetic Azure Cost Management exports, written in Azure's own blob layout.

- `write_export_run`: one run of a (2023-07-01-preview and later) export: CSV (with a UTF-8
  BOM, as Azure writes it), gzip CSV or Parquet parts, then its `manifest.json`, under
  `<root>/<export>/<yyyyMMdd-yyyyMMdd>/<yyyyMMddHHmm>/<runId>/`.
- `write_legacy_run`: one legacy export run, a single CSV `<root>/<export>/<range>/<export>_<runId>.csv`.
- `write_legacy_partitioned_run`: a legacy partitioned run with its `_manifest.json`
  (manifestVersion 2021-01-01).
- `write_demo_month`: the month `costalloc demo` loads, to a local folder standing for the
  container; `write_demo_container` writes the same to a real container (Azurite).

What a demo month holds: an EA enrollment (USD, PascalCase columns, `MM/dd/yyyy` dates,
gzip CSV in two parts with a BOM, tags with and without braces, empty tags, a tag key in two
casings, `OnDemand` pricing) and an MCA billing profile (EUR, camelCase columns, Parquet,
`On Demand` pricing, a savings plan, a rounding adjustment and a tax row). Each is exported
twice, as ActualCost and as AmortizedCost: the EA enrollment buys a reservation on the 1st
(a Purchase row in the actual data; its amortized cost spread over the covered VMs, with
unused hours when one VM is stopped), refunds an older one, and buys a Marketplace plan;
the MCA profile pays its savings plan monthly. An older, superseded ActualCost run of the
EA export (month to date on the 20th) sits beside the current one.

Rows are made vectorised with polars from a small seeded estate (subscriptions, resources,
prices, tags): one row per resource and day, the quantity varying with a deterministic
pattern of (seed, resource, day). Money is an integer number of 1e-8 units throughout, so
the totals returned are exact; CSV holds the decimal text, Parquet a double (whose shortest
text is that decimal).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, Protocol

import polars as pl
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = [
    "AzureDemoMonth", "WrittenRun", "cost_rows", "csv_bytes", "write_demo_container",
    "write_demo_month", "write_export_run", "write_legacy_partitioned_run", "write_legacy_run",
]

Flavour = Literal["ea", "mca"]
Dataset = Literal["ActualCost", "AmortizedCost"]
FileFormat = Literal["csv", "csv.gz", "parquet"]

DEMO_ROOT: Final = "costalloc"
EA_ACCOUNT: Final = "71234567"
EA_SCOPE: Final = f"/providers/Microsoft.Billing/billingAccounts/{EA_ACCOUNT}"
MCA_ACCOUNT: Final = "5e8c1a0b-7f3d-4c2a-9b1e-2d6f8a4c3e71:0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c_2019-05-31"
MCA_PROFILE: Final = "KX4Q-7ZRT-BG7-PGB"
MCA_SCOPE: Final = f"/providers/Microsoft.Billing/billingAccounts/{MCA_ACCOUNT}/billingProfiles/{MCA_PROFILE}"
_UNIT: Final = 100_000_000  # money: integers of 1e-8
_Q: Final = 10_000  # quantities and prices: integers of 1e-4
_EIGHT_PLACES: Final = Decimal("1e-8")


class BlobSink(Protocol):
    """Where blobs are written: a folder standing for a container, or a container."""

    def put(self, name: str, data: bytes) -> None: ...


class FolderSink:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def put(self, name: str, data: bytes) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class ContainerSink:
    def __init__(self, container: ContainerClient) -> None:
        self.container = container

    def put(self, name: str, data: bytes) -> None:
        self.container.upload_blob(name, data, overwrite=True)


@dataclass(frozen=True)
class WrittenRun:
    """One run as written: its manifest (if any), data blobs, rows and cost total per currency."""

    run_id: str
    dataset: str
    manifest: str | None
    blobs: tuple[str, ...]
    rows: int
    totals: dict[str, Decimal]


@dataclass(frozen=True)
class AzureDemoMonth:
    """A written demo month and what loading it must give."""

    period: str
    root: str  # the export root folder inside the container (or folder)
    rows: int  # line items a load of the current runs yields
    billed_totals: dict[str, Decimal]  # Σ BilledCost per currency (= the ActualCost totals)
    effective_totals: dict[str, Decimal]  # Σ EffectiveCost per currency (= AmortizedCost totals)
    fingerprint: str  # the delivery's fingerprint: a hash of the current run ids
    current: tuple[WrittenRun, ...] = ()
    superseded: tuple[WrittenRun, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# Public writers
# --------------------------------------------------------------------------------------------


def write_demo_month(directory: str, period: str = "2026-10", seed: int = 7) -> AzureDemoMonth:
    """A realistic Azure month in `directory`, a local folder standing for the container.

    Point an `azure-export` source at `{directory}` (or `{directory}/costalloc`).
    """
    return _write_month(FolderSink(directory), period, seed)


def write_demo_container(container: ContainerClient, period: str = "2026-10",
                         seed: int = 7) -> AzureDemoMonth:
    """The same month, uploaded to a Blob Storage container (Azurite in tests)."""
    return _write_month(ContainerSink(container), period, seed)


def write_export_run(sink: BlobSink, *, export_name: str, scope: str, dataset: str,
                     period: str, rows: pl.DataFrame, submitted: datetime,
                     file_format: FileFormat = "csv.gz", parts: int = 1, root: str = DEMO_ROOT,
                     run_id: str | None = None, bom: bool = True,
                     data_version: str = "2023-05-01") -> WrittenRun:
    """One run of a manifest.json export; `rows` are in the file's own columns (`cost_rows`)."""
    month = _month(period)
    run_id = run_id or _uuid("run", export_name, dataset, period, submitted.isoformat())
    folder = f"{root}/{export_name}/{_range(month)}/{submitted:%Y%m%d%H%M}/{run_id}"
    blobs: list[str] = []
    sizes: list[int] = []
    entries: list[dict[str, object]] = []
    for index, chunk in enumerate(_split(rows, parts)):
        name = f"{folder}/part_{index}_{index + 1:04d}.{_extension(file_format)}"
        data = (_parquet_bytes(chunk) if file_format == "parquet"
                else csv_bytes(chunk, bom=bom, compress=file_format == "csv.gz"))
        sink.put(name, data)
        blobs.append(name)
        sizes.append(len(data))
        entries.append({"blobName": name, "byteCount": len(data), "dataRowCount": chunk.height})
    manifest_name = f"{folder}/manifest.json"
    resource_id = f"{scope}/providers/Microsoft.CostManagement/exports/{export_name}"
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(sizes),
        "blobCount": len(entries),
        "dataRowCount": rows.height,
        "exportConfig": {"exportName": export_name, "resourceId": resource_id,
                         "dataVersion": data_version, "apiVersion": "2025-03-01",
                         "type": dataset, "timeFrame": "MonthToDate", "granularity": "Daily"},
        "deliveryConfig": {"partitionData": True, "dataOverwriteBehavior": "CreateNewReport",
                           "fileFormat": "Parquet" if file_format == "parquet" else "Csv",
                           "compressionMode": "gzip" if file_format == "csv.gz" else "None",
                           "containerUri": "/subscriptions/9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f/"
                                           "resourceGroups/finops/providers/Microsoft.Storage/"
                                           "storageAccounts/costexports",
                           "rootFolderPath": root},
        "runInfo": {"executionType": "Scheduled",
                    "submittedTime": submitted.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                    "runId": run_id,
                    "startDate": f"{month.isoformat()}T00:00:00",
                    "endDate": f"{_last_day(month).isoformat()}T00:00:00"},
        "blobs": entries,
    }
    sink.put(manifest_name, json.dumps(manifest, indent=2).encode())
    return WrittenRun(run_id, dataset, manifest_name, tuple(blobs), rows.height, _totals(rows))


def write_legacy_run(sink: BlobSink, *, export_name: str, period: str, rows: pl.DataFrame,
                     root: str = DEMO_ROOT, run_id: str | None = None,
                     dataset: str = "ActualCost") -> WrittenRun:
    """A legacy export run: one CSV, no manifest; the newest file of a month is current."""
    run_id = run_id or _uuid("legacy", export_name, period, rows.height)
    name = f"{root}/{export_name}/{_range(_month(period))}/{export_name}_{run_id}.csv"
    sink.put(name, csv_bytes(rows, bom=True, compress=False))
    return WrittenRun(run_id, dataset, None, (name,), rows.height, _totals(rows))


def write_legacy_partitioned_run(sink: BlobSink, *, export_name: str, period: str,
                                 rows: pl.DataFrame, submitted: datetime, parts: int = 2,
                                 root: str = DEMO_ROOT, run_id: str | None = None,
                                 dataset: str = "ActualCost") -> WrittenRun:
    """A legacy partitioned run: `000001.csv` ... and `_manifest.json` (2021-01-01)."""
    run_id = run_id or _uuid("partitioned", export_name, period, submitted.isoformat())
    folder = f"{root}/{export_name}/{_range(_month(period))}/{submitted:%Y%m%d%H%M}/{run_id}"
    blobs: list[str] = []
    sizes: list[int] = []
    entries: list[dict[str, object]] = []
    for index, chunk in enumerate(_split(rows, parts)):
        name = f"{folder}/{index + 1:06d}.csv"
        data = csv_bytes(chunk, bom=False, compress=False)
        sink.put(name, data)
        blobs.append(name)
        sizes.append(len(data))
        entries.append({"blobName": name, "byteCount": len(data), "dataRowCount": chunk.height,
                        "headerRowCount": 1})
    manifest = {"manifestVersion": "2021-01-01", "dataFormat": "csv", "blobCount": len(entries),
                "byteCount": sum(sizes), "dataRowCount": rows.height,
                "blobs": entries}
    manifest_name = f"{folder}/_manifest.json"
    sink.put(manifest_name, json.dumps(manifest, indent=4).encode())
    return WrittenRun(run_id, dataset, manifest_name, tuple(blobs), rows.height, _totals(rows))


def csv_bytes(rows: pl.DataFrame, *, bom: bool = True, compress: bool = False) -> bytes:
    """Rows as Azure writes a CSV: every value text, quoted when needed, optional BOM / gzip."""
    text = rows.select(pl.all().cast(pl.String)).write_csv(null_value="")
    data = ("\ufeff" if bom else "").encode() + text.encode()
    return gzip.compress(data, mtime=0) if compress else data


# --------------------------------------------------------------------------------------------
# The month
# --------------------------------------------------------------------------------------------


def _write_month(sink: BlobSink, period: str, seed: int) -> AzureDemoMonth:
    month = _month(period)
    after = datetime.combine(_last_day(month), datetime.min.time(), UTC) + timedelta(days=1)
    older = write_export_run(
        sink, export_name="ea-actual-daily", scope=EA_SCOPE, dataset="ActualCost", period=period,
        rows=cost_rows("ea", "ActualCost", period, seed + 1, through_day=20),
        submitted=after - timedelta(days=10, hours=19), parts=2)
    current: list[WrittenRun] = []
    datasets: tuple[Dataset, ...] = ("ActualCost", "AmortizedCost")
    for dataset in datasets:
        kind = dataset.removesuffix("Cost").lower()
        current.append(write_export_run(
            sink, export_name=f"ea-{kind}-daily", scope=EA_SCOPE, dataset=dataset,
            period=period, rows=cost_rows("ea", dataset, period, seed),
            submitted=after + timedelta(hours=5, minutes=12), parts=2))
        current.append(write_export_run(
            sink, export_name=f"mca-{kind}", scope=MCA_SCOPE, dataset=dataset, period=period,
            rows=cost_rows("mca", dataset, period, seed), file_format="parquet",
            submitted=after + timedelta(hours=6, minutes=3)))
    billed: dict[str, Decimal] = {}
    effective: dict[str, Decimal] = {}
    for run in current:
        target = billed if run.dataset == "ActualCost" else effective
        for currency, amount in run.totals.items():
            target[currency] = target.get(currency, Decimal(0)) + amount
    # a combined load reads every amortized row, plus the actual data's commitment purchases
    rows = sum(run.rows for run in current if run.dataset == "AmortizedCost")
    flavours: tuple[Flavour, ...] = ("ea", "mca")
    for flavour in flavours:
        names = _COLUMNS[flavour]
        actual = cost_rows(flavour, "ActualCost", period, seed)
        rows += actual.filter(pl.col(names["charge_type"]).is_in(["Purchase", "Refund"])
                              & pl.col(names["pricing_model"]).is_in(
                                  ["Reservation", "SavingsPlan"])).height
    ids = "+".join(sorted(run.run_id for run in current))
    fingerprint = "runs-" + hashlib.sha256(ids.encode()).hexdigest()[:16]
    return AzureDemoMonth(period, DEMO_ROOT, rows, billed, effective, fingerprint,
                          tuple(current), (older,))


def cost_rows(flavour: Flavour, dataset: Dataset, period: str, seed: int = 7,
              through_day: int | None = None) -> pl.DataFrame:
    """A month of cost rows in the flavour's own columns (all text, dates `MM/dd/yyyy`;
    MCA money as doubles, ready for Parquet). `through_day` cuts a month-to-date run."""
    month = _month(period)
    days = _last_day(month).day if through_day is None else through_day
    estate = _estate(flavour, seed)
    usage = _usage(estate, month, days, seed)
    frames = [usage.filter(~pl.col("covered")).drop("covered")]
    frames.append(_covered(usage.filter(pl.col("covered")).drop("covered"), estate, dataset, days))
    if dataset == "AmortizedCost":
        frames.append(_unused(usage.filter(pl.col("covered")).drop("covered"), estate, days))
    frames.append(_one_off(estate, month, dataset))
    lines = pl.concat([f for f in frames if f.height], how="diagonal_relaxed").sort(
        "day", "resource_id", "charge_type", nulls_last=True)
    return _render(lines, estate, month)


# --------------------------------------------------------------------------------------------
# The estate: who pays, what runs, at what price, with which tags
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Meter:
    category: str
    subcategory: str
    name: str
    family: str
    service: str  # ConsumedService
    path: str  # the resource's path below its provider, `{name}` standing for its name
    unit: str
    price: int  # 1e-4 units per unit of measure
    daily_quantity: int  # 1e-4 units, before variation
    product: str


_METERS: Final = (
    _Meter("Virtual Machines", "Dsv5 Series", "D4s v5", "Compute", "Microsoft.Compute",
           "virtualMachines/vm-{name}", "1 Hour", 1920, 240_000,
           "Virtual Machines Dsv5 Series - D4s v5"),
    _Meter("Virtual Machines", "Esv3 Series", "E4s v3", "Compute", "Microsoft.Compute",
           "virtualMachines/vm-{name}", "1 Hour", 2520, 240_000,
           "Virtual Machines Esv3 Series - E4s v3"),
    _Meter("Storage", "Premium SSD Managed Disks", "P10 LRS Disk", "Storage", "Microsoft.Compute",
           "disks/disk-{name}", "1/Month", 1_9700, 323, "Premium SSD Managed Disks - P10 LRS"),
    _Meter("Storage", "Tiered Block Blob", "Hot LRS Data Stored", "Storage", "Microsoft.Storage",
           "storageAccounts/st{name}", "1 GB/Month", 184, 35_0000, "Blob Storage - Hot LRS"),
    _Meter("SQL Database", "General Purpose - Compute Gen5", "vCore", "Databases", "Microsoft.Sql",
           "servers/sql-{name}/databases/db-{name}", "1 Hour", 2_5100, 480_000,
           "SQL Database Single GP Gen5"),
    _Meter("Azure Kubernetes Service", "Standard", "Uptime SLA", "Containers",
           "Microsoft.ContainerService", "managedClusters/aks-{name}", "1 Hour", 1000, 240_000,
           "Azure Kubernetes Service - Standard"),
    _Meter("Bandwidth", "Inter-Region", "Intra Continent Data Transfer Out", "Networking",
           "Microsoft.Network", "networkInterfaces/nic-{name}", "1 GB", 200, 120_0000,
           "Bandwidth - Inter-Region"),
    _Meter("Key Vault", "Standard", "Operations", "Security", "Microsoft.KeyVault",
           "vaults/kv-{name}", "10K", 300, 4_2000, "Key Vault - Standard"),
    _Meter("Log Analytics", "Analytics Logs", "Data Ingestion", "Management and Governance",
           "Microsoft.OperationalInsights", "workspaces/log-{name}", "1 GB", 2_7600, 18_5000,
           "Log Analytics - Analytics Logs"),
    _Meter("Load Balancer", "Standard", "Standard Data Processed", "Networking",
           "Microsoft.Network", "loadBalancers/lb-{name}", "1 GB", 50, 300_0000,
           "Load Balancer - Standard"),
)
_TEAMS: Final = ("payments", "search", "data-platform", "ml", "identity", "growth")
_ENVIRONMENTS: Final = ("prod", "production", "staging", "dev", "Prod")
_PROJECTS: Final = ("checkout", "catalog", "lakehouse", "support-triage", "llm-assistant",
                    "onboarding")
_WORKSTREAMS: Final = ("platform", "ops", "research", "compliance", "sre")
_COST_CENTERS: Final = ("CC-1100", "CC-1200", "CC-2100", "CC-2200", "CC-3100")


@dataclass(frozen=True)
class _Estate:
    flavour: Flavour
    currency: str
    account_id: str
    account_name: str
    profile_id: str
    profile_name: str
    resources: pl.DataFrame  # one row per resource
    commitment_id: str  # the reservation (EA) or savings plan (MCA) the covered VMs use
    commitment_name: str
    commitment_daily: int  # 1e-8 units: the commitment's cost per day
    seed: int


def _estate(flavour: Flavour, seed: int) -> _Estate:
    rnd = random.Random(f"azure-demo/{flavour}/{seed}")
    ea = flavour == "ea"
    subscriptions = [(str(uuid.UUID(int=rnd.getrandbits(128), version=4)), name)
                     for name in (("corp-prod", "corp-dev", "data-prod", "shared-services")
                                  if ea else ("saas-prod", "saas-staging"))]
    regions = (("eastus", "East US", "US East"), ("westeurope", "West Europe", "EU West"),
               ("eastus2", "East US 2", "US East 2")) if ea else (
        ("germanywestcentral", "Germany West Central", "DE West Central"),
        ("westeurope", "West Europe", "EU West"))
    rows: list[dict[str, object]] = []
    for sub_id, sub_name in subscriptions:
        for index, meter in enumerate(_METERS):
            if not ea and index % 3 == 2:
                continue
            region = regions[rnd.randrange(len(regions))]
            group = f"rg-{sub_name}-{meter.service.split('.')[-1].lower()}"
            path = meter.path.format(name=f"{sub_name}-{index:02d}")
            name = path.rsplit("/", 1)[-1]
            resource_id = (f"/subscriptions/{sub_id}/resourceGroups/{group}/providers/"
                           f"{meter.service}/{path}")
            rows.append({
                "subscription_id": sub_id, "subscription_name": sub_name,
                "resource_group": group, "resource_id": resource_id, "resource_name": name,
                "location": region[0], "location_display": region[1], "meter_region": region[2],
                "meter_category": meter.category, "meter_subcategory": meter.subcategory,
                "meter_name": meter.name, "meter_id": _uuid("meter", meter.name),
                "service_family": meter.family, "consumed_service": meter.service,
                "unit_of_measure": meter.unit, "product_name": meter.product,
                "part_number": f"AAA-{int(_uuid('part', meter.name)[:5], 16) % 100000:05d}",
                "product_id": f"DZH318Z0{index:04d}",
                "price": meter.price, "payg_price": meter.price * 13 // 10,
                "daily_quantity": meter.daily_quantity,
                "tags": _tags(rnd, flavour, sub_name, len(rows)),
                "covered": meter.category == "Virtual Machines" and meter.name == (
                    "D4s v5" if ea else "E4s v3") and sub_name in ("corp-prod", "saas-prod",
                                                                  "data-prod"),
                "cost_center": f"CC-{100 + len(rows) % 7}",
            })
    resources = pl.DataFrame(rows).with_row_index("resource_index")
    covered = resources.filter(pl.col("covered")).height
    if ea:
        order = _uuid("reservation-order", seed)
        reservation = _uuid("reservation", seed)
        commitment_id = (f"/providers/Microsoft.Capacity/reservationOrders/{order}/"
                         f"reservations/{reservation}")
        name = "D4s v5 eastus 1y"
    else:
        order = _uuid("savings-plan-order", seed)
        commitment_id = (f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{order}/"
                         f"savingsPlans/{_uuid('savings-plan', seed)}")
        name = "compute-savings-plan-1y"
    # A commitment worth the covered VMs' list usage, a little more than they use
    daily = covered * 240_000 * (1920 if ea else 2520) * 9 // 10
    return _Estate(flavour, "USD" if ea else "EUR", EA_ACCOUNT if ea else MCA_ACCOUNT,
                   "Contoso Enrollment" if ea else "Contoso Ltd",
                   EA_ACCOUNT if ea else MCA_PROFILE,
                   "Contoso Enrollment" if ea else "Contoso EU Billing",
                   resources, commitment_id, name, daily, seed)


def _tags(rnd: random.Random, flavour: Flavour, subscription: str, index: int) -> str:
    tags = {"env": rnd.choice(_ENVIRONMENTS), "team": rnd.choice(_TEAMS),
            "project": rnd.choice(_PROJECTS), "ws": rnd.choice(_WORKSTREAMS),
            "cost_center": rnd.choice(_COST_CENTERS)}
    if flavour == "mca":
        return json.dumps(tags, separators=(",", ":"))
    shape = index % 5
    if shape == 0:
        return ""  # an untagged resource
    if shape == 1:  # EA's usual form: members without the outer braces
        return ",".join(f'"{k}": "{v}"' for k, v in tags.items())
    if shape == 2:  # the same key twice, in two casings: the first one counts
        return json.dumps({"Environment": tags["env"], "ENVIRONMENT": "ignored",
                           "team": tags["team"]}, separators=(",", ":"))
    if shape == 3:
        return json.dumps({"Env": tags["env"], "CostCenter": subscription}, separators=(",", ":"))
    return json.dumps(tags, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Lines: usage per resource and day, commitments, one-off charges
# --------------------------------------------------------------------------------------------


def _usage(estate: _Estate, month: date, days: int, seed: int) -> pl.DataFrame:
    """One row per resource and day; quantity = daily quantity × (0.80 … 1.20) by a pattern."""
    day = pl.DataFrame({"day": pl.date_range(month, month + timedelta(days=days - 1),
                                             eager=True)}).with_row_index("day_index")
    lines = estate.resources.join(day, how="cross")
    step = ((pl.col("resource_index").cast(pl.Int64) * 7919 + pl.col("day_index").cast(pl.Int64)
             * 104_729 + seed * 1_299_709) % 41) - 20  # -20 … 20 (%)
    vm = pl.col("meter_category") == "Virtual Machines"
    quantity = pl.when(vm).then(pl.col("daily_quantity")).otherwise(
        pl.col("daily_quantity") * (100 + step) // 100)
    return lines.with_columns(
        quantity.alias("quantity"),
        (quantity * pl.col("price")).alias("cost"),
        pl.lit("Usage").alias("charge_type"),
        pl.lit("UsageBased").alias("frequency"),
        pl.lit("OnDemand" if estate.flavour == "ea" else "On Demand").alias("pricing_model"),
    )


def _covered(rows: pl.DataFrame, estate: _Estate, dataset: Dataset, days: int) -> pl.DataFrame:
    """VM usage a commitment covers: cost 0 in actual data; its share of the commitment,
    amortized, when the VM ran (a VM is stopped for three days mid-month)."""
    stopped = _stopped(rows)
    running = rows.filter(~stopped)
    count = rows.select(pl.col("resource_id").n_unique()).item()
    share = estate.commitment_daily // max(count, 1)
    return running.with_columns(
        pl.lit(0 if dataset == "ActualCost" else share, dtype=pl.Int64).alias("cost"),
        pl.lit(_commitment_model(estate)).alias("pricing_model"),
        pl.lit(estate.commitment_id).alias("benefit_id"),
        pl.lit(estate.commitment_name).alias("benefit_name"),
    )


def _unused(rows: pl.DataFrame, estate: _Estate, days: int) -> pl.DataFrame:
    """The amortized commitment nobody used: one row per stopped VM-day (amortized data only)."""
    count = rows.select(pl.col("resource_id").n_unique()).item()
    share = estate.commitment_daily // max(count, 1)
    remainder = estate.commitment_daily - share * count
    stopped = rows.filter(_stopped(rows)).with_columns(pl.lit(share, dtype=pl.Int64).alias("cost"))
    per_day = rows.select("day").unique().sort("day").with_columns(
        pl.lit(remainder, dtype=pl.Int64).alias("cost"))
    unused = pl.concat([stopped.select("day", "cost"), per_day.filter(pl.col("cost") > 0)])
    kind = "UnusedReservation" if estate.flavour == "ea" else "UnusedSavingsPlan"
    first = estate.resources.row(0, named=True)
    return unused.with_columns(
        pl.lit(0, dtype=pl.Int64).alias("quantity"),
        pl.lit(kind).alias("charge_type"),
        pl.lit("UsageBased").alias("frequency"),
        pl.lit(_commitment_model(estate)).alias("pricing_model"),
        pl.lit(estate.commitment_id).alias("benefit_id"),
        pl.lit(estate.commitment_name).alias("benefit_name"),
        pl.lit(first["subscription_id"]).alias("subscription_id"),
        pl.lit(first["subscription_name"]).alias("subscription_name"),
        pl.lit("Virtual Machines").alias("meter_category"),
        pl.lit("Compute").alias("service_family"),
        pl.lit("Microsoft.Capacity" if estate.flavour == "ea" else "Microsoft.BillingBenefits")
        .alias("consumed_service"),
        pl.lit("1 Hour").alias("unit_of_measure"),
        pl.lit(estate.commitment_name).alias("product_name"),
        pl.lit(0, dtype=pl.Int64).alias("price"),
        pl.lit(0, dtype=pl.Int64).alias("payg_price"),
    )


def _stopped(rows: pl.DataFrame) -> pl.Expr:
    """The first covered VM is stopped from the 10th to the 12th."""
    first_vm = str(rows.select(pl.col("resource_id").min()).item())
    return (pl.col("resource_id") == pl.lit(first_vm)) & pl.col("day").dt.day().is_between(10, 12)


def _one_off(estate: _Estate, month: date, dataset: Dataset) -> pl.DataFrame:
    """Purchases, refunds, rounding and tax for the month."""
    first = estate.resources.row(0, named=True)
    days = _last_day(month).day
    rows: list[dict[str, object]] = []
    common = {"subscription_id": first["subscription_id"],
              "subscription_name": first["subscription_name"], "quantity": _Q,
              "unit_of_measure": "1 Month", "service_family": "Compute"}
    if dataset == "ActualCost":
        if estate.flavour == "ea":
            upfront = estate.commitment_daily * 365
            rows.append({**common, "day": month, "charge_type": "Purchase",
                         "frequency": "OneTime", "pricing_model": "Reservation",
                         "cost": upfront, "benefit_id": estate.commitment_id,
                         "benefit_name": estate.commitment_name, "product_name": estate.commitment_name,
                         "meter_category": "Virtual Machines", "consumed_service": "Microsoft.Capacity",
                         "term": "12", "price": upfront // _Q})
            rows.append({**common, "day": month + timedelta(days=13), "charge_type": "Refund",
                         "frequency": "OneTime", "pricing_model": "Reservation",
                         "cost": -120 * _UNIT - 45_000_000,
                         "benefit_id": estate.commitment_id.replace("reservations/",
                                                                    "reservations/0"),
                         "benefit_name": "E4s v3 westeurope 1y (exchanged)",
                         "product_name": "Reserved VM Instance, Standard_E4s_v3, EU West, 1 Year",
                         "meter_category": "Virtual Machines",
                         "consumed_service": "Microsoft.Capacity", "term": "12",
                         "quantity": -_Q, "price": 1_204_500})
        else:
            monthly = estate.commitment_daily * days
            rows.append({**common, "day": month, "charge_type": "Purchase",
                         "frequency": "Recurring", "pricing_model": "SavingsPlan",
                         "cost": monthly, "benefit_id": estate.commitment_id,
                         "benefit_name": estate.commitment_name,
                         "product_name": "Savings plan for compute, 1 year, monthly",
                         "meter_category": "Virtual Machines",
                         "consumed_service": "Microsoft.BillingBenefits", "term": "12",
                         "price": monthly // _Q})
    if estate.flavour == "ea":
        rows.append({**common, "day": month + timedelta(days=4), "charge_type": "Purchase",
                     "frequency": "Recurring", "pricing_model": "OnDemand",
                     "cost": 499 * _UNIT, "publisher_type": "Marketplace",
                     "publisher_name": "Datadog, Inc.", "product_name": "Datadog Pro (Monthly)",
                     "meter_category": "SaaS", "consumed_service": "Microsoft.SaaS",
                     "service_family": "Management and Governance", "price": 499 * _Q})
    else:
        rows.append({**common, "day": _last_day(month), "charge_type": "RoundingAdjustment",
                     "frequency": "OneTime", "pricing_model": None, "cost": 1_234,
                     "quantity": 0, "product_name": "Rounding adjustment",
                     "meter_category": None, "service_family": None, "price": 0})
        rows.append({**common, "day": _last_day(month), "charge_type": "Tax",
                     "frequency": "Recurring", "pricing_model": None, "cost": 18 * _UNIT + 7_500,
                     "quantity": 0, "product_name": "VAT", "meter_category": None,
                     "service_family": None, "price": 0})
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("cost").cast(pl.Int64), pl.col("quantity").cast(pl.Int64),
        pl.col("price").cast(pl.Int64), pl.col("price").cast(pl.Int64).alias("payg_price"))


def _commitment_model(estate: _Estate) -> str:
    return "Reservation" if estate.flavour == "ea" else "SavingsPlan"


# --------------------------------------------------------------------------------------------
# Rendering in the flavour's own columns
# --------------------------------------------------------------------------------------------

# internal name → column, per flavour (order is the file's column order)
_COLUMNS: Final[dict[str, dict[str, str]]] = {
    "ea": {
        "invoice_section_name": "InvoiceSectionName", "account_name": "AccountName",
        "account_owner": "AccountOwnerId", "subscription_id": "SubscriptionId",
        "subscription_name": "SubscriptionName", "resource_group": "ResourceGroup",
        "location": "ResourceLocation", "date": "Date", "product_name": "ProductName",
        "meter_category": "MeterCategory", "meter_subcategory": "MeterSubCategory",
        "meter_id": "MeterId", "meter_name": "MeterName", "meter_region": "MeterRegion",
        "unit_of_measure": "UnitOfMeasure", "quantity": "Quantity",
        "effective_price": "EffectivePrice", "cost": "CostInBillingCurrency",
        "cost_center": "CostCenter", "consumed_service": "ConsumedService",
        "resource_id": "ResourceId", "tags": "Tags", "offer_id": "OfferId",
        "additional_info": "AdditionalInfo", "resource_name": "ResourceName",
        "reservation_id": "ReservationId", "reservation_name": "ReservationName",
        "unit_price": "UnitPrice", "term": "Term", "publisher_type": "PublisherType",
        "publisher_name": "PublisherName", "charge_type": "ChargeType",
        "frequency": "Frequency", "pricing_model": "PricingModel",
        "billing_account_id": "BillingAccountId", "billing_account_name": "BillingAccountName",
        "currency": "BillingCurrencyCode", "period_start": "BillingPeriodStartDate",
        "period_end": "BillingPeriodEndDate", "billing_profile_id": "BillingProfileId",
        "billing_profile_name": "BillingProfileName", "part_number": "PartNumber",
        "payg_price": "PayGPrice", "service_family": "ServiceFamily",
        "benefit_id": "benefitId", "benefit_name": "benefitName",
    },
    "mca": {
        "invoice_id": "invoiceId", "billing_account_id": "billingAccountId",
        "billing_account_name": "billingAccountName", "billing_profile_id": "billingProfileId",
        "billing_profile_name": "billingProfileName", "invoice_section_name": "invoiceSectionName",
        "cost_center": "costCenter", "period_end": "billingPeriodEndDate",
        "period_start": "billingPeriodStartDate", "date": "date",
        "service_family": "serviceFamily", "consumed_service": "consumedService",
        "meter_id": "meterId", "meter_name": "meterName", "meter_category": "meterCategory",
        "meter_subcategory": "meterSubCategory", "meter_region": "meterRegion",
        "product_id": "ProductId", "product_name": "ProductName",
        "subscription_id": "SubscriptionId", "subscription_name": "subscriptionName",
        "publisher_type": "publisherType", "publisher_name": "publisherName",
        "resource_group": "resourceGroupName", "resource_id": "ResourceId",
        "location": "resourceLocation", "location_display": "location",
        "effective_price": "effectivePrice", "quantity": "quantity",
        "unit_of_measure": "unitOfMeasure", "charge_type": "chargeType",
        "currency": "billingCurrency", "pricing_currency": "pricingCurrency",
        "cost": "costInBillingCurrency", "cost_in_pricing_currency": "costInPricingCurrency",
        "payg_cost": "paygCostInBillingCurrency", "exchange_rate": "exchangeRatePricingToBilling",
        "additional_info": "additionalInfo", "tags": "tags", "payg_price": "PayGPrice",
        "frequency": "frequency", "term": "term", "pricing_model": "pricingModel",
        "unit_price": "unitPrice", "benefit_id": "benefitId", "benefit_name": "benefitName",
    },
}


def _render(lines: pl.DataFrame, estate: _Estate, month: date) -> pl.DataFrame:
    ea = estate.flavour == "ea"
    last = _last_day(month)
    money = _money_text if ea else _money_double
    reservation = pl.when(pl.col("benefit_id").str.contains("reservations/"))
    values: dict[str, pl.Expr] = {
        "invoice_section_name": pl.lit("Engineering" if ea else "Platform"),
        "invoice_id": pl.lit(None, dtype=pl.String) if ea else pl.lit(f"E{month:%Y%m}00042"),
        "account_name": pl.lit("Cloud Platform"), "account_owner": pl.lit("cloud@contoso.com"),
        "billing_account_id": pl.lit(estate.account_id),
        "billing_account_name": pl.lit(estate.account_name),
        "billing_profile_id": pl.lit(estate.profile_id),
        "billing_profile_name": pl.lit(estate.profile_name),
        "date": pl.col("day").dt.strftime("%m/%d/%Y") if ea else pl.col("day").cast(pl.Datetime("us")),
        "period_start": pl.lit(month.strftime("%m/%d/%Y")) if ea else pl.lit(
            datetime.combine(month, datetime.min.time())),
        "period_end": pl.lit(last.strftime("%m/%d/%Y")) if ea else pl.lit(
            datetime.combine(last, datetime.min.time())),
        "quantity": _quantity_text(pl.col("quantity")),
        "unit_price": _quantity_text(pl.col("price")),
        "effective_price": _quantity_text(pl.col("price")),
        "payg_price": _quantity_text(pl.col("payg_price")),
        "cost": money(pl.col("cost")),
        "cost_in_pricing_currency": money(pl.col("cost")),
        "payg_cost": money(pl.when(pl.col("charge_type") == "Usage")
                           .then(pl.col("quantity") * pl.col("payg_price")).otherwise(pl.col("cost"))),
        "exchange_rate": pl.lit("1"),
        "currency": pl.lit(estate.currency), "pricing_currency": pl.lit(estate.currency),
        "offer_id": pl.lit("MS-AZR-0017P"),
        "additional_info": pl.when(pl.col("meter_category") == "Virtual Machines")
        .then(pl.lit('{"ServiceType":"Standard_D4s_v5","VCPUs":4}')),
        "reservation_id": reservation.then(pl.col("benefit_id").str.extract(r"reservations/(.+)$")),
        "reservation_name": reservation.then(pl.col("benefit_name")),
        "publisher_type": pl.coalesce(pl.col("publisher_type"), pl.lit("Azure"))
        if "publisher_type" in lines.columns else pl.lit("Azure"),
        "publisher_name": pl.coalesce(pl.col("publisher_name"), pl.lit("Microsoft"))
        if "publisher_name" in lines.columns else pl.lit("Microsoft"),
        "term": pl.col("term") if "term" in lines.columns else pl.lit(None, dtype=pl.String),
    }
    columns = _COLUMNS[estate.flavour]
    present = set(lines.columns)
    selected = []
    for internal, column in columns.items():
        value = values.get(internal)
        if value is None:
            value = pl.col(internal) if internal in present else pl.lit(None, dtype=pl.String)
        selected.append(value.alias(column))
    return lines.select(selected)


def _money_text(units: pl.Expr) -> pl.Expr:
    """Integer 1e-8 units → decimal text, e.g. 123456789 → `1.23456789`, -5 → `-0.00000005`."""
    magnitude = units.abs()
    whole = (magnitude // _UNIT).cast(pl.String)
    fraction = (magnitude % _UNIT).cast(pl.String).str.zfill(8).str.strip_chars_end("0")
    text = pl.when(fraction == "").then(whole).otherwise(whole + pl.lit(".") + fraction)
    return pl.when(units < 0).then(pl.lit("-") + text).otherwise(text)


def _money_double(units: pl.Expr) -> pl.Expr:
    return units.cast(pl.Float64) / _UNIT


def _quantity_text(units: pl.Expr) -> pl.Expr:
    """Integer 1e-4 units → decimal text."""
    magnitude = units.abs()
    whole = (magnitude // _Q).cast(pl.String)
    fraction = (magnitude % _Q).cast(pl.String).str.zfill(4).str.strip_chars_end("0")
    text = pl.when(fraction == "").then(whole).otherwise(whole + pl.lit(".") + fraction)
    return pl.when(units < 0).then(pl.lit("-") + text).otherwise(text)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _totals(rows: pl.DataFrame) -> dict[str, Decimal]:
    """Σ of the cost column per currency, read back exactly from what was written (empty for
    rows without the usual cost and currency columns)."""
    cost = next((c for c in rows.columns if c.lower() in ("costinbillingcurrency", "pretaxcost")),
                None)
    currency = next((c for c in rows.columns
                     if c.lower() in ("billingcurrencycode", "billingcurrency", "currency")), None)
    if cost is None or currency is None:
        return {}
    totals: dict[str, Decimal] = {}
    for code, amount in rows.select(currency, cost).iter_rows():
        # a double holds the nearest value to an 8-place decimal: rounding recovers it
        try:
            value = (Decimal(repr(amount)).quantize(_EIGHT_PLACES) if isinstance(amount, float)
                     else Decimal(amount))
        except (InvalidOperation, TypeError):
            continue  # a value a test broke on purpose: not money, not counted
        totals[code] = totals.get(code, Decimal(0)) + value
    return totals


def _month(period: str) -> date:
    year, _, month = period.partition("-")
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"period `{period}` is not of the form YYYY-MM") from None


def _last_day(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _range(month: date) -> str:
    return f"{month:%Y%m%d}-{_last_day(month):%Y%m%d}"


def _extension(file_format: FileFormat) -> str:
    return {"csv": "csv", "csv.gz": "csv.gz", "parquet": "snappy.parquet"}[file_format]


def _split(rows: pl.DataFrame, parts: int) -> Sequence[pl.DataFrame]:
    parts = max(1, min(parts, rows.height or 1))
    size = -(-rows.height // parts)
    return [rows.slice(index * size, size) for index in range(parts)]


def _parquet_bytes(rows: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(rows.to_arrow(), buffer, compression="snappy")
    return buffer.getvalue()


def _uuid(*parts: object) -> str:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
