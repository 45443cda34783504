"""Synthetic GCP Cloud Billing export data: a realistic month in the export's own nested schema.

- `generate_month`: the rows of one month as the detailed export table holds them, in two
  batches: `first` (everything exported by the day after the month ends) and `late` (usage of
  the last two days exported later, the month's tax rows, a rounding-error row, and an
  adjustment whose `invoice.month` is the *next* month) — the way GCP keeps appending.
- `create_export_table` / `insert_rows`: the same rows in a BigQuery table (the emulator in
  tests): ingestion-time partitioned by day, loaded as Parquet, like the real export.
- `write_parquet_dump` / `write_demo_month`: the rows as the Parquet files `EXPORT DATA ...
  FORMAT=PARQUET` writes, for file mode and `make demo`.

The estate: five projects with project labels and folder ancestry; resource labels in mixed
case (`Env: Prod`, `environment: dev`, `workstream`, `team`, GKE's `goog-k8s-*`), system labels,
Resource Manager tags (some inherited from the organization, one overridden on the project);
credits of seven types (committed use, spend-based committed use, sustained use, promotion,
free tier, negotiated discount), some rows with three; a commitment fee, Spot usage and
unlabelled shared networking.

Every row is drawn from counter-based random streams keyed by (seed, stream, row number), with
polars expressions over whole columns: the same seed gives the same rows, byte for byte.

Money: costs are integers of 1e-6 (micro units), a pricing quantity in hundredths times a unit
price in 1e-4, so `PricingQuantity x ContractedUnitPrice = cost` exactly. The export stores
`units / 1e6` as FLOAT; with at most six decimals that double reads back as exactly that
decimal. Expected totals are summed as integers, never as floats.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from google.cloud import bigquery

__all__ = [
    "BILLING_ACCOUNT",
    "TABLE_NAME",
    "GcpBillingMonth",
    "WrittenGcpExport",
    "arrow_schema",
    "create_export_table",
    "export_schema",
    "generate_month",
    "insert_rows",
    "write_demo_month",
    "write_parquet_dump",
]

BILLING_ACCOUNT: Final = "01A2B3-C4D5E6-F7A8B9"
TABLE_NAME: Final = "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"
ORGANIZATION: Final = "123456789012"
_MICRO: Final = 1_000_000
_PPM: Final = 1_000_000

# --------------------------------------------------------------------------------------------
# The export schema (detailed export; the standard one lacks the `_DETAILED_ONLY` fields)
# --------------------------------------------------------------------------------------------

# (name, BigQuery type, mode, sub-fields)
_Field = tuple[str, str, str, tuple[Any, ...]]


def _f(name: str, kind: str = "STRING", mode: str = "NULLABLE", *fields: _Field) -> _Field:
    return (name, kind, mode, fields)


_KEY_VALUE = (_f("key"), _f("value"))
_SCHEMA: Final[tuple[_Field, ...]] = (
    _f("billing_account_id"),
    _f("service", "RECORD", "NULLABLE", _f("id"), _f("description")),
    _f("sku", "RECORD", "NULLABLE", _f("id"), _f("description")),
    _f("usage_start_time", "TIMESTAMP"),
    _f("usage_end_time", "TIMESTAMP"),
    _f("project", "RECORD", "NULLABLE", _f("id"), _f("number"), _f("name"),
       _f("labels", "RECORD", "REPEATED", *_KEY_VALUE), _f("ancestry_numbers"),
       _f("ancestors", "RECORD", "REPEATED", _f("resource_name"), _f("display_name"))),
    _f("labels", "RECORD", "REPEATED", *_KEY_VALUE),
    _f("system_labels", "RECORD", "REPEATED", *_KEY_VALUE),
    _f("location", "RECORD", "NULLABLE", _f("location"), _f("country"), _f("region"), _f("zone")),
    _f("resource", "RECORD", "NULLABLE", _f("name"), _f("global_name")),
    _f("tags", "RECORD", "REPEATED", _f("key"), _f("value"), _f("inherited", "BOOLEAN"),
       _f("namespace")),
    _f("price", "RECORD", "NULLABLE", _f("effective_price", "NUMERIC"),
       _f("tier_start_amount", "NUMERIC"), _f("unit"), _f("pricing_unit_quantity", "NUMERIC"),
       _f("list_price", "NUMERIC"), _f("effective_price_default", "NUMERIC"),
       _f("list_price_consumption_model", "NUMERIC")),
    _f("subscription", "RECORD", "NULLABLE", _f("instance_id")),
    _f("transaction_type"),
    _f("seller_name"),
    _f("export_time", "TIMESTAMP"),
    _f("cost", "FLOAT"),
    _f("currency"),
    _f("currency_conversion_rate", "FLOAT"),
    _f("usage", "RECORD", "NULLABLE", _f("amount", "FLOAT"), _f("unit"),
       _f("amount_in_pricing_units", "FLOAT"), _f("pricing_unit")),
    _f("credits", "RECORD", "REPEATED", _f("name"), _f("amount", "FLOAT"), _f("full_name"),
       _f("id"), _f("type")),
    _f("invoice", "RECORD", "NULLABLE", _f("month"), _f("publisher_type")),
    _f("cost_type"),
    _f("adjustment_info", "RECORD", "NULLABLE", _f("id"), _f("description"), _f("mode"),
       _f("type")),
    _f("cost_at_list", "FLOAT"),
    _f("consumption_model", "RECORD", "NULLABLE", _f("id"), _f("description"),
       _f("applied_subscription_instance_id")),
    _f("cost_at_effective_price_default", "FLOAT"),
    _f("cost_at_list_consumption_model", "FLOAT"),
)
_DETAILED_ONLY: Final = frozenset({"resource", "price", "subscription", "consumption_model",
                                   "cost_at_effective_price_default",
                                   "cost_at_list_consumption_model"})
_ARROW_SCALARS: Final = {"STRING": pa.string(), "FLOAT": pa.float64(), "BOOLEAN": pa.bool_(),
                         "TIMESTAMP": pa.timestamp("us", tz="UTC"),
                         "NUMERIC": pa.decimal128(38, 9)}


def _fields(detailed: bool) -> tuple[_Field, ...]:
    return tuple(f for f in _SCHEMA if detailed or f[0] not in _DETAILED_ONLY)


def export_schema(*, detailed: bool = True) -> list[bigquery.SchemaField]:
    """The export table's BigQuery schema (detailed, or standard with `detailed=False`)."""
    from google.cloud import bigquery

    def field_of(spec: _Field) -> bigquery.SchemaField:
        name, kind, mode, children = spec
        return bigquery.SchemaField(name, kind, mode=mode,
                                    fields=[field_of(child) for child in children])

    return [field_of(spec) for spec in _fields(detailed)]


def arrow_schema(*, detailed: bool = True) -> pa.Schema:
    """The Arrow schema BigQuery gives the same table (reads and Parquet exports alike)."""

    def type_of(spec: _Field) -> pa.DataType:
        _, kind, mode, children = spec
        scalar = (pa.struct([pa.field(c[0], type_of(c)) for c in children]) if kind == "RECORD"
                  else _ARROW_SCALARS[kind])
        return pa.list_(scalar) if mode == "REPEATED" else scalar

    return pa.schema([pa.field(spec[0], type_of(spec)) for spec in _fields(detailed)])


# --------------------------------------------------------------------------------------------
# The estate: projects, line templates, credit plans
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Project:
    id: str
    number: str
    name: str
    folder: tuple[str, str]  # (folder number, display name)
    labels: tuple[tuple[str, str], ...]

    def record(self) -> dict[str, Any]:
        folder_number, folder_name = self.folder
        return {
            "id": self.id, "number": self.number, "name": self.name,
            "labels": [{"key": k, "value": v} for k, v in self.labels],
            "ancestry_numbers": f"/{ORGANIZATION}/{folder_number}/",
            "ancestors": [
                {"resource_name": f"projects/{self.number}", "display_name": self.name},
                {"resource_name": f"folders/{folder_number}", "display_name": folder_name},
                {"resource_name": f"organizations/{ORGANIZATION}", "display_name": "example.com"},
            ],
        }


_PROJECTS: Final = {
    "payments": _Project("payments-prod-7731", "418275630941", "Payments", ("301122334455", "Payments"),
                         (("cost-center", "cc-4410"), ("environment", "production"))),
    "payments-stg": _Project("payments-stg-7732", "418275630942", "Payments Staging",
                             ("301122334455", "Payments"), (("cost-center", "cc-4410"),)),
    "ml": _Project("ml-sandbox-4821", "529384716253", "ML Research Sandbox",
                   ("301122334466", "Research"), (("team", "ml-research"),)),
    "data": _Project("data-platform-1190", "630495827364", "Data Platform",
                     ("301122334477", "Platform"), (("team", "data"), ("Workstream", "platform"))),
    "network": _Project("shared-net-0042", "741506938475", "Shared Networking",
                        ("301122334477", "Platform"), ()),
}


@dataclass(frozen=True)
class _Credit:
    type: str
    name: str
    full_name: str
    id: str
    ppm: int  # share of the row's cost, in millionths


_CUD = _Credit("COMMITTED_USAGE_DISCOUNT", "Committed use discount: N2 Cores",
               "Committed use discount: N2 Cores in Americas for 1 Year",
               "projects/payments-prod-7731/regions/us-central1/commitments/cud-n2-2026", 550_000)
_CUD_SMALL = _Credit(_CUD.type, _CUD.name, _CUD.full_name, _CUD.id, 400_000)
_SUD = _Credit("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount",
               "Sustained Usage Discount", "SustainedUsageDiscount", 200_000)
_SUD_SMALL = _Credit(_SUD.type, _SUD.name, _SUD.full_name, _SUD.id, 100_000)
_PROMOTION = _Credit("PROMOTION", "Startup program credit",
                     "Google for Startups Cloud Program credit", "Promotion:7c1e2a", 150_000)
_PROMOTION_SMALL = _Credit(_PROMOTION.type, _PROMOTION.name, _PROMOTION.full_name,
                           _PROMOTION.id, 50_000)
_FREE_TIER = _Credit("FREE_TIER", "Free tier", "Free tier usage", "FreeTier:cloud-run", _PPM)
_SPEND_CUD = _Credit("COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE",
                     "Committed use discount - dollar based: Cloud SQL",
                     "Committed use discount - dollar based: Cloud SQL for 1 Year",
                     "billingAccounts/01A2B3-C4D5E6-F7A8B9/commitments/cloudsql-spend-2026", 250_000)
_DISCOUNT = _Credit("DISCOUNT", "Negotiated discount", "Contract discount 8%",
                    "Discount:contract-2026", 80_000)


@dataclass(frozen=True)
class _Line:
    """Everything about a usage line except when, how much and when it was exported."""

    project: str
    service: tuple[str, str]
    sku: tuple[str, str]
    region: str | None  # None: global
    zone: str | None
    resource: str | None  # a resource name in the detailed export
    unit: str  # usage.unit
    pricing_unit: str  # usage.pricing_unit
    per_pricing_unit: float  # usage.amount per pricing unit
    price: int  # effective price, 1e-4 per pricing unit
    list_price: int  # list price, 1e-4 per pricing unit
    quantity: tuple[int, int]  # pricing quantity per hour, hundredths (low, high)
    weight: int
    labels: tuple[tuple[str, str], ...] = ()
    system_labels: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str, bool], ...] = ()
    credits: tuple[_Credit, ...] = ()


_COMPUTE = ("6F81-5844-456A", "Compute Engine")
_GKE = ("CCD8-9BF1-090E", "Kubernetes Engine")
_STORAGE = ("95FF-2EF5-5EA1", "Cloud Storage")
_BIGQUERY = ("24E6-581D-38E5", "BigQuery")
_CLOUD_SQL = ("9662-B51E-5089", "Cloud SQL")
_NETWORKING = ("E505-1604-58F8", "Networking")
_VERTEX = ("C7E2-9256-1C43", "Vertex AI")
_CLOUD_RUN = ("152E-C115-5142", "Cloud Run")
_LOGGING = ("5490-F7B7-8DF6", "Cloud Logging")
_N2 = (("compute.googleapis.com/machine_spec", "n2-standard-8"),
       ("compute.googleapis.com/cores", "8"), ("compute.googleapis.com/memory", "32768"))
_ORG_ENV = ("env", "production", True)
_HOURS = ("seconds", "hour", 3600.0)

_LINES: Final = (
    _Line("payments", _COMPUTE, ("2D3E-8A9C-1B4F", "N2 Instance Core running in Americas"),
          "us-central1", "us-central1-a", "payments-api-1", *_HOURS, 316, 316, (400, 800), 30,
          (("Env", "Prod"), ("team", "payments"), ("workstream", "production-operations")),
          _N2, (_ORG_ENV, ("cost-center", "cc-4410", False)), (_CUD,)),
    _Line("payments", _COMPUTE, ("5E6F-0B1D-3C2A", "N2 Instance Ram running in Americas"),
          "us-central1", "us-central1-a", "payments-api-1", "byte-seconds", "gibibyte hour",
          3600.0 * 2**30, 42, 42, (1600, 3200), 20,
          (("Env", "Prod"), ("team", "payments"), ("workstream", "production-operations")),
          _N2, (_ORG_ENV, ("cost-center", "cc-4410", False)), (_CUD_SMALL, _SUD_SMALL, _PROMOTION_SMALL)),
    _Line("payments", _COMPUTE, ("9A1B-4C7D-8E2F", "Commitment v1: N2 Cpu in Americas for 1 Year"),
          "us-central1", None, None, *_HOURS, 199, 316, (800, 800), 6, (), (), (_ORG_ENV,)),
    _Line("payments", _GKE, ("C1D2-E3F4-A5B6", "Autopilot Pod mCPU Requests (us-central1)"),
          "us-central1", None, "payments-gke", *_HOURS, 445, 445, (100, 900), 14,
          (("goog-k8s-cluster-name", "payments-gke"), ("k8s-namespace", "checkout"), ("Env", "Prod")),
          (), (_ORG_ENV,), (_DISCOUNT,)),
    _Line("payments", _CLOUD_SQL, ("7B8C-9D0E-1F2A", "Cloud SQL for PostgreSQL: Regional - vCPU in Americas"),
          "us-central1", None, "payments-db", *_HOURS, 826, 826, (400, 400), 10,
          (("Env", "Prod"), ("team", "payments")), (), (_ORG_ENV,), (_SPEND_CUD,)),
    _Line("payments-stg", _COMPUTE, ("2D3E-8A9C-1B4F", "N2 Instance Core running in Americas"),
          "us-central1", "us-central1-b", "payments-api-stg", *_HOURS, 316, 316, (200, 400), 12,
          (("environment", "staging"), ("Team", "Payments")), _N2, (_ORG_ENV,), (_SUD,)),
    _Line("payments-stg", _CLOUD_RUN, ("D4E5-F6A7-B8C9", "CPU Allocation Time (tier 1)"),
          "us-central1", None, "checkout-preview", "seconds", "vCPU-second", 1.0, 24, 24,
          (100, 5000), 6, (("environment", "staging"),), (), (_ORG_ENV,), (_FREE_TIER,)),
    _Line("ml", _VERTEX, ("A9B8-C7D6-E5F4", "Vertex AI: Online/Batch Prediction NVIDIA T4 GPU"),
          "us-central1", None, "fraud-model-endpoint", *_HOURS, 4025, 4025, (100, 200), 8,
          (("environment", "dev"), ("workstream", "experimentation"), ("team", "ml")), (),
          (_ORG_ENV,), (_PROMOTION,)),
    _Line("ml", _COMPUTE, ("F1E2-D3C4-B5A6", "Spot Preemptible N2 Instance Core running in Americas"),
          "us-east1", "us-east1-c", "trainer-spot-3", *_HOURS, 76, 316, (800, 1600), 8,
          (("environment", "dev"), ("team", "ml")), _N2, (_ORG_ENV,), ()),
    _Line("data", _BIGQUERY, ("3C2D-1E0F-A9B8", "Analysis"), "US", None, None, "bytes",
          "tebibyte", 2.0**40, 62500, 62500, (1, 40), 10,
          (("env", "prd"), ("workstream", "Platform-Build")), (),
          (_ORG_ENV, ("env", "staging", False)), ()),
    _Line("data", _STORAGE, ("E5F6-A7B8-C9D0", "Standard Storage US Multi-region"), "US", None,
          "data-lake-raw", "byte-seconds", "gibibyte month", 2.0**30 * 3600 * 730, 260, 260,
          (5000, 9000), 10, (("env", "prd"), ("team", "data")), (), (_ORG_ENV,), ()),
    _Line("data", _LOGGING, ("0A1B-2C3D-4E5F", "Log Storage cost"), None, None, None, "bytes",
          "gibibyte", 2.0**30, 5000, 5000, (10, 90), 5, (), (), (_ORG_ENV,), ()),
    _Line("network", _NETWORKING,
          ("9E8D-7C6B-5A4F", "Network Inter Region Data Transfer Out from Americas to Americas"),
          "us-central1", None, None, "bytes", "gibibyte", 2.0**30, 200, 200, (100, 3000), 10),
    _Line("network", _NETWORKING, ("1F2E-3D4C-5B6A", "Cloud NAT Gateway uptime"), "us-central1",
          None, "nat-central", *_HOURS, 140, 140, (100, 100), 6),
)


# --------------------------------------------------------------------------------------------
# Counter-based random streams, as polars expressions (splitmix64, wrapping uint64 arithmetic)
# --------------------------------------------------------------------------------------------

_GOLDEN: Final = 0x9E3779B97F4A7C15
_MIX_1: Final = 0xBF58476D1CE4E5B9
_MIX_2: Final = 0x94D049BB133111EB
_U64 = pl.UInt64


def _mix(value: pl.Expr) -> pl.Expr:
    z = value + pl.lit(_GOLDEN, dtype=_U64)
    z = z.xor(z // pl.lit(1 << 30, dtype=_U64)) * pl.lit(_MIX_1, dtype=_U64)
    z = z.xor(z // pl.lit(1 << 27, dtype=_U64)) * pl.lit(_MIX_2, dtype=_U64)
    return z.xor(z // pl.lit(1 << 31, dtype=_U64))


def _uniform(seed: int, stream: str, row: pl.Expr) -> pl.Expr:
    """A float in [0, 1) for each row, from (seed, stream, row) only."""
    key = int.from_bytes(hashlib.sha256(f"{seed}/{stream}".encode()).digest()[:8], "big")
    bits = _mix(_mix(row.cast(_U64) + pl.lit(key, dtype=_U64)))
    return (bits // pl.lit(1 << 11, dtype=_U64)).cast(pl.Float64) / float(1 << 53)


def _scaled(units: pl.Expr, places: int) -> pl.Expr:
    """`units / 10**places` as the double nearest that decimal (plain float division in polars
    may be off by one ulp, which would turn 20.58 into 20.580000000000002)."""
    divisor: int = 10**places
    return (units.cast(pl.Decimal(38, places)) / divisor).cast(pl.Float64)


def _below(seed: int, stream: str, row: pl.Expr, bound: pl.Expr | int) -> pl.Expr:
    """An integer in [0, bound) for each row."""
    return (_uniform(seed, stream, row) * bound).floor().cast(pl.Int64)


# --------------------------------------------------------------------------------------------
# The month
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GcpBillingMonth:
    """One generated month: the rows of each export batch and what they must add up to."""

    period: str  # YYYY-MM, the usage month
    first: pa.Table  # exported by the day after the month ends
    late: pa.Table  # exported later (late usage, tax, rounding error, next month's adjustment)
    net_units: dict[tuple[str, str, str], int] = field(repr=False)  # (batch, YYYYMM, currency)
    row_counts: dict[tuple[str, str], int] = field(repr=False)  # (batch, YYYYMM)

    @property
    def invoice_month(self) -> str:
        return self.period.replace("-", "")

    @property
    def next_invoice_month(self) -> str:
        return _next_month(self.invoice_month)

    @property
    def rows(self) -> pa.Table:
        """The whole table once every batch has arrived."""
        return pa.concat_tables([self.first, self.late])

    def expected_totals(self, invoice_month: str, *, late: bool = True) -> dict[str, Decimal]:
        """SUM(cost) + SUM(credits) per currency for one invoice month, exactly."""
        batches = ("first", "late") if late else ("first",)
        totals: dict[str, int] = {}
        for (batch, month, currency), units in self.net_units.items():
            if batch in batches and month == invoice_month:
                totals[currency] = totals.get(currency, 0) + units
        return {currency: Decimal(units) / _MICRO for currency, units in totals.items()}

    def expected_rows(self, invoice_month: str, *, late: bool = True) -> int:
        batches = ("first", "late") if late else ("first",)
        return sum(n for (batch, month), n in self.row_counts.items()
                   if batch in batches and month == invoice_month)


def generate_month(period: str = "2026-10", *, seed: int = 7, rows: int = 2_000,
                   late_rows: int = 200, currency: str = "USD",
                   detailed: bool = True) -> GcpBillingMonth:
    """Rows of the export table for usage month `period` (YYYY-MM).

    `rows` usage rows are in the first batch and `late_rows` in the late one, which also holds
    one tax row per project, a rounding-error row and an adjustment invoiced the next month.
    """
    if rows < 1 or late_rows < 0:
        raise ValueError(f"rows {rows}, late_rows {late_rows}: need rows >= 1 and late_rows >= 0")
    start = _month_start(period)
    end = _month_start(_next_period(period))
    cutoff = end + timedelta(days=1)
    hours = int((end - start).total_seconds()) // 3600
    first = _usage(seed, 0, rows, start, hours_from=0, hours=hours - 20, export_from=None,
                   currency=currency)
    late = _usage(seed, 10_000_000, late_rows, start, hours_from=hours - 48, hours=48,
                  export_from=cutoff, currency=currency)
    usage = pl.concat([first, late])
    extra = _month_end_rows(usage, start, end, cutoff, currency)
    late = pl.concat([late, extra], how="diagonal_relaxed")
    net_units: dict[tuple[str, str, str], int] = {}
    row_counts: dict[tuple[str, str], int] = {}
    for batch, frame in (("first", first), ("late", late)):
        sums = (frame.group_by("x_month", "currency")
                .agg((pl.col("x_cost") + pl.col("x_credit")).sum().alias("net"), pl.len()))
        for month, row_currency, net, count in sums.iter_rows():
            net_units[(batch, month, row_currency)] = int(net)
            row_counts[(batch, month)] = row_counts.get((batch, month), 0) + int(count)
    return GcpBillingMonth(period, _to_arrow(first, detailed), _to_arrow(late, detailed),
                           net_units, row_counts)


def _usage(seed: int, first_row: int, count: int, start: datetime, *, hours_from: int, hours: int,
           export_from: datetime | None, currency: str) -> pl.DataFrame:
    """`count` usage rows: a line template, an hour, a quantity and an export delay each."""
    lines = _lines_frame()
    weights = pl.Series([line.weight for line in _LINES], dtype=pl.Float64).cum_sum()
    row = pl.int_range(first_row, first_row + count, dtype=pl.Int64, eager=True)
    draws = pl.DataFrame({"row": row}).with_columns(
        (_uniform(seed, "line", pl.col("row")) * float(weights[-1])).alias("u"),
        (_below(seed, "hour", pl.col("row"), hours) + hours_from).alias("hour"),
        _uniform(seed, "quantity", pl.col("row")).alias("q"),
        (_below(seed, "delay", pl.col("row"), 19 * 60) + 60).alias("delay_minutes"),
    )
    draws = draws.with_columns(pl.Series("line", weights.search_sorted(draws["u"], side="right"),
                                         dtype=pl.Int64))
    frame = draws.join(lines, on="line", how="left", maintain_order="left")
    usage_start = pl.lit(start) + pl.duration(hours=pl.col("hour"))
    export_time = (usage_start + pl.duration(hours=1, minutes=pl.col("delay_minutes"))
                   if export_from is None
                   else pl.lit(export_from) + pl.duration(minutes=pl.col("delay_minutes") * 2))
    quantity = (pl.col("q_low") + (pl.col("q") * (pl.col("q_high") - pl.col("q_low") + 1)).floor()
                .cast(pl.Int64))
    frame = frame.with_columns(
        usage_start.alias("usage_start_time"),
        (usage_start + pl.duration(hours=1)).alias("usage_end_time"),
        export_time.alias("export_time"),
        quantity.alias("x_quantity"),
    ).with_columns(
        (pl.col("x_quantity") * pl.col("price_units")).alias("x_cost"),
        (pl.col("x_quantity") * pl.col("list_units")).alias("x_list"),
    )
    frame = _with_credits(frame)
    hundredths = _scaled(pl.col("x_quantity"), 2)
    return frame.select(
        pl.col("row"),
        pl.lit(BILLING_ACCOUNT).alias("billing_account_id"),
        "service", "sku", "usage_start_time", "usage_end_time", "project", "labels",
        "system_labels", "location", "resource", "tags",
        pl.struct(
            _per_unit_price("price_units").alias("effective_price"),
            pl.lit(0, dtype=pl.Decimal(38, 9)).alias("tier_start_amount"),
            pl.col("pricing_unit").alias("unit"),
            pl.lit(1, dtype=pl.Decimal(38, 9)).alias("pricing_unit_quantity"),
            _per_unit_price("list_units").alias("list_price"),
            _per_unit_price("price_units").alias("effective_price_default"),
            _per_unit_price("list_units").alias("list_price_consumption_model"),
        ).alias("price"),
        pl.lit(None, dtype=pl.Struct({"instance_id": pl.String})).alias("subscription"),
        pl.lit("GOOGLE").alias("transaction_type"),
        pl.lit(None, dtype=pl.String).alias("seller_name"),
        "export_time",
        _scaled(pl.col("x_cost"), 6).alias("cost"),
        pl.lit(currency).alias("currency"),
        pl.lit(1.0).alias("currency_conversion_rate"),
        pl.struct(
            (hundredths * pl.col("per_pricing_unit")).alias("amount"),
            pl.col("unit"),
            hundredths.alias("amount_in_pricing_units"),
            pl.col("pricing_unit"),
        ).alias("usage"),
        "credits",
        pl.struct(pl.lit(start.strftime("%Y%m")).alias("month"),
                  pl.lit("Google").alias("publisher_type")).alias("invoice"),
        pl.lit("regular").alias("cost_type"),
        pl.lit(None, dtype=_ADJUSTMENT).alias("adjustment_info"),
        _scaled(pl.col("x_list"), 6).alias("cost_at_list"),
        pl.struct(pl.lit("default").alias("id"), pl.lit("Default").alias("description"),
                  pl.lit(None, dtype=pl.String).alias("applied_subscription_instance_id"))
        .alias("consumption_model"),
        _scaled(pl.col("x_cost"), 6).alias("cost_at_effective_price_default"),
        _scaled(pl.col("x_list"), 6).alias("cost_at_list_consumption_model"),
        pl.lit(start.strftime("%Y%m")).alias("x_month"),
        "x_cost", "x_credit", "x_project_key",
    )


def _per_unit_price(column: str) -> pl.Expr:
    """A price in 1e-4 currency units as BigQuery NUMERIC (decimal, 9 places)."""
    return (pl.col(column).cast(pl.Decimal(38, 9)) / 10_000).cast(pl.Decimal(38, 9))


_ADJUSTMENT = pl.Struct({"id": pl.String, "description": pl.String, "mode": pl.String,
                         "type": pl.String})
_CREDIT_STRUCT = pl.Struct({"name": pl.String, "amount": pl.Float64, "full_name": pl.String,
                            "id": pl.String, "type": pl.String})


def _with_credits(frame: pl.DataFrame) -> pl.DataFrame:
    """Each row's credits from its line's plan: amount = -(cost x share), in whole micro units."""
    plans = pl.DataFrame(
        [{"line": i, "slot": slot, "name": c.name, "full_name": c.full_name, "id": c.id,
          "type": c.type, "ppm": c.ppm}
         for i, line in enumerate(_LINES) for slot, c in enumerate(line.credits)],
        schema={"line": pl.Int64, "slot": pl.Int64, "name": pl.String, "full_name": pl.String,
                "id": pl.String, "type": pl.String, "ppm": pl.Int64})
    credits = (
        frame.select("row", "line", "x_cost")
        .join(plans, on="line", how="inner")
        .sort("row", "slot")
        .with_columns((-(pl.col("x_cost") * pl.col("ppm") // _PPM)).alias("units"))
    )
    per_row = credits.group_by("row", maintain_order=True).agg(
        pl.struct(pl.col("name"), _scaled(pl.col("units"), 6).alias("amount"),
                  pl.col("full_name"), pl.col("id"), pl.col("type")).alias("credits"),
        pl.col("units").sum().alias("x_credit"),
    )
    return (
        frame.join(per_row, on="row", how="left", maintain_order="left")
        .with_columns(pl.col("credits").fill_null(pl.lit([], dtype=pl.List(_CREDIT_STRUCT))),
                      pl.col("x_credit").fill_null(0))
    )


def _month_end_rows(usage: pl.DataFrame, start: datetime, end: datetime, cutoff: datetime,
                    currency: str) -> pl.DataFrame:
    """Tax per project (8.25% of its net usage), a rounding error, and an adjustment of this
    month's usage that GCP invoices next month."""
    month = start.strftime("%Y%m")
    next_month = _next_month(month)
    net = (usage.group_by("x_project_key", maintain_order=True)
           .agg((pl.col("x_cost") + pl.col("x_credit")).sum().alias("net")).sort("x_project_key"))
    taxes = [(key, int(units) * 825 // 10_000) for key, units in net.iter_rows()]
    invoice_sku = ("0000-0000-0001", "Invoice")
    specials = [
        _special(project=_PROJECTS[key], service=invoice_sku, sku=("TAX-US-SALES", "Tax: US sales tax"),
                 cost_units=units, cost_type="tax", month=month, start=start, end=end,
                 export_time=cutoff + timedelta(hours=50), currency=currency)
        for key, units in taxes
    ]
    specials.append(_special(project=None, service=invoice_sku, sku=("ROUNDING", "Rounding error"),
                             cost_units=-3_172, cost_type="rounding error", month=month,
                             start=start, end=end, export_time=cutoff + timedelta(hours=51),
                             currency=currency))
    adjustment_day = start + timedelta(days=13)
    specials.append(_special(
        project=_PROJECTS["payments"], service=_COMPUTE,
        sku=("2D3E-8A9C-1B4F", "N2 Instance Core running in Americas"), cost_units=-12_340_000,
        cost_type="adjustment", month=next_month, start=adjustment_day,
        end=adjustment_day + timedelta(days=1), export_time=end + timedelta(days=2, hours=3),
        currency=currency,
        adjustment={"id": "ADJ-2026-4821", "description": "Goodwill credit for incident INC-4821",
                    "mode": "MANUAL_ADJUSTMENT", "type": "GENERAL_ADJUSTMENT"}))
    return pl.DataFrame(specials, schema=usage.schema)


def _special(*, project: _Project | None, service: tuple[str, str], sku: tuple[str, str],
             cost_units: int, cost_type: str, month: str, start: datetime, end: datetime,
             export_time: datetime, currency: str,
             adjustment: dict[str, str] | None = None) -> dict[str, Any]:
    """One non-usage row (a handful per month, so a plain record)."""
    cost = cost_units / _MICRO
    return {
        "row": -1, "billing_account_id": BILLING_ACCOUNT,
        "service": {"id": service[0], "description": service[1]},
        "sku": {"id": sku[0], "description": sku[1]},
        "usage_start_time": start, "usage_end_time": end,
        "project": project.record() if project else None,
        "labels": [], "system_labels": [], "location": None, "resource": None, "tags": [],
        "price": None, "subscription": None, "transaction_type": "GOOGLE", "seller_name": None,
        "export_time": export_time, "cost": cost, "currency": currency,
        "currency_conversion_rate": 1.0, "usage": None, "credits": [],
        "invoice": {"month": month, "publisher_type": "Google"}, "cost_type": cost_type,
        "adjustment_info": adjustment, "cost_at_list": cost, "consumption_model": None,
        "cost_at_effective_price_default": cost, "cost_at_list_consumption_model": cost,
        "x_month": month, "x_cost": cost_units, "x_credit": 0,
        "x_project_key": next((k for k, p in _PROJECTS.items() if p == project), None),
    }


def _lines_frame() -> pl.DataFrame:
    """The line templates as a frame (fourteen rows), joined onto the drawn rows."""
    key_value = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))
    records = []
    for i, line in enumerate(_LINES):
        project = _PROJECTS[line.project]
        location = None if line.region is None else {
            "location": line.region, "country": "US", "region": line.region if "-" in line.region else None,
            "zone": line.zone}
        resource = None if line.resource is None else {
            "name": line.resource, "global_name": _global_name(line, project)}
        records.append({
            "line": i, "x_project_key": line.project,
            "service": {"id": line.service[0], "description": line.service[1]},
            "sku": {"id": line.sku[0], "description": line.sku[1]},
            "project": project.record(),
            "labels": [{"key": k, "value": v} for k, v in line.labels],
            "system_labels": [{"key": k, "value": v} for k, v in line.system_labels],
            "location": location, "resource": resource,
            "tags": [{"key": k, "value": v, "inherited": inherited,
                      "namespace": ORGANIZATION if inherited else project.id}
                     for k, v, inherited in line.tags],
            "unit": line.unit, "pricing_unit": line.pricing_unit,
            "per_pricing_unit": line.per_pricing_unit, "price_units": line.price,
            "list_units": line.list_price, "q_low": line.quantity[0], "q_high": line.quantity[1],
        })
    return pl.DataFrame(records, schema_overrides={"labels": key_value, "system_labels": key_value})


def _global_name(line: _Line, project: _Project) -> str:
    """The resource's full name, `//<api>/<path>`, as the detailed export writes it."""
    templates = {
        "Compute Engine": "//compute.googleapis.com/projects/{p}/zones/{z}/instances/{n}",
        "Kubernetes Engine": "//container.googleapis.com/projects/{p}/locations/{r}/clusters/{n}",
        "Cloud SQL": "//sqladmin.googleapis.com/projects/{p}/instances/{n}",
        "Cloud Run": "//run.googleapis.com/projects/{p}/locations/{r}/services/{n}",
        "Vertex AI": "//aiplatform.googleapis.com/projects/{p}/locations/{r}/endpoints/{n}",
        "Cloud Storage": "//storage.googleapis.com/projects/_/buckets/{n}",
        "Networking": "//compute.googleapis.com/projects/{p}/regions/{r}/routers/{n}",
    }
    template = templates.get(line.service[1], "//cloudresourcemanager.googleapis.com/projects/{p}/{n}")
    return template.format(p=project.id, z=line.zone, r=line.region, n=line.resource)


def _to_arrow(frame: pl.DataFrame, detailed: bool) -> pa.Table:
    """The export columns, in the export's order and Arrow types; helper columns dropped."""
    schema = arrow_schema(detailed=detailed)
    return frame.select(schema.names).to_arrow().cast(schema)


def _month_start(period: str) -> datetime:
    year, month = (int(part) for part in period.split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


def _next_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def _next_month(invoice_month: str) -> str:
    return _next_period(f"{invoice_month[:4]}-{invoice_month[4:]}").replace("-", "")


# --------------------------------------------------------------------------------------------
# BigQuery (the emulator in tests)
# --------------------------------------------------------------------------------------------


def create_export_table(client: bigquery.Client, table_id: str, *,
                        detailed: bool = True) -> bigquery.Table:
    """The export table, ingestion-time partitioned by day as GCP creates it (dataset included)."""
    from google.cloud import bigquery

    project, dataset, _ = table_id.split(".")
    client.create_dataset(f"{project}.{dataset}", exists_ok=True)
    table = bigquery.Table(table_id, schema=export_schema(detailed=detailed))
    table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY)
    return client.create_table(table, exists_ok=True)


def insert_rows(client: bigquery.Client, table_id: str, rows: pa.Table) -> None:
    """Append `rows` with a Parquet load job (nested columns intact, no per-row JSON)."""
    from google.cloud import bigquery

    buffer = io.BytesIO()
    pq.write_table(rows, buffer)
    buffer.seek(0)
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET,
                                    write_disposition=bigquery.WriteDisposition.WRITE_APPEND)
    client.load_table_from_file(buffer, table_id, job_config=config).result()


# --------------------------------------------------------------------------------------------
# Parquet dump (file mode, `make demo`)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenGcpExport:
    """What `write_demo_month` wrote: the dump folder (a source's `uri`), and the truth."""

    uri: str
    files: tuple[str, ...]
    period: str
    rows: int  # rows of invoice month `period`
    totals: dict[str, Decimal]  # SUM(cost) + SUM(credits) of invoice month `period`, per currency
    next_month_rows: int
    next_month_totals: dict[str, Decimal]
    month: GcpBillingMonth = field(repr=False)


def write_parquet_dump(directory: str | Path, tables: Sequence[pa.Table], *,
                       rows_per_file: int = 50_000) -> tuple[str, ...]:
    """The rows as `EXPORT DATA OPTIONS(uri='<directory>/*.parquet', format='PARQUET')` leaves
    them: `000000000000.parquet`, `000000000001.parquet`, ... A new dump replaces the old one."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    table = pa.concat_tables(tables)
    names = []
    for number, offset in enumerate(range(0, max(table.num_rows, 1), rows_per_file)):
        path = folder / f"{number:012d}.parquet"
        pq.write_table(table.slice(offset, rows_per_file), path, compression="snappy")
        names.append(str(path))
    return tuple(names)


def write_demo_month(directory: str, period: str = "2026-10", seed: int = 7) -> WrittenGcpExport:
    """A realistic GCP month dumped to `{directory}/gcp/<export table name>/` (point a
    `gcp-bigquery` source's `uri` there). Both batches are in the dump, so it holds invoice
    month `period` and the next month's adjustment."""
    month = generate_month(period, seed=seed, rows=6_000, late_rows=600)
    folder = Path(directory) / "gcp" / TABLE_NAME
    files = write_parquet_dump(folder, [month.first, month.late])
    return WrittenGcpExport(
        uri=str(folder), files=files, period=period,
        rows=month.expected_rows(month.invoice_month),
        totals=month.expected_totals(month.invoice_month),
        next_month_rows=month.expected_rows(month.next_invoice_month),
        next_month_totals=month.expected_totals(month.next_invoice_month),
        month=month)
