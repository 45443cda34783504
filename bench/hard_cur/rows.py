"""One batch of the hard month: rows `first … first + count - 1` as an Arrow table. Pure.

Every value of row `r` comes from a counter-based stream, `hash(seed, stream, r)`, so a row is
the same however the month is cut into files and batches, and a batch needs nothing but its
own rows in memory.

Money is integers of 1e-10 USD (`UNIT`) until it is written: a double `units / 1e10` is the
double nearest that decimal, and as every amount stays below 100,000 USD (15 significant
digits) the double's shortest text — what a reader such as polars prints — is that decimal
exactly. Usage amounts have 4 decimals and rates 6, so amount × rate is exact in units.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from bench.hard_cur import catalogue as cat
from bench.hard_cur.columns import SCHEMA

UNIT: Final = 10**10  # money: integer units of 1e-10 USD
RATE_UNIT: Final = 10**6  # rates: 6 decimals
AMOUNT_UNIT: Final = 10**4  # usage amounts: 4 decimals

TYPES: Final = tuple(name for name, *_ in cat.LINE_ITEM_TYPES)
_T: Final = {name: index for index, name in enumerate(TYPES)}
_MONTHLY: Final = [_T[name] for name, _, monthly in cat.LINE_ITEM_TYPES if monthly]
_USAGE_LIKE: Final = [_T[name] for name in cat.USAGE_LIKE]
# Discount lines: share of the usage they discount, in percent. Their own net cost is 0: the
# net columns of the usage they discount carry it.
_DISCOUNT_PERCENT: Final = {"BundledDiscount": 100, "EdpDiscount": 5, "PrivateRateDiscount": 8,
                            "RiVolumeDiscount": 5, "SppDiscount": 3, "DistributorDiscount": 2,
                            "Discount": 10}
_DISCOUNTS: Final = [_T[name] for name in _DISCOUNT_PERCENT]
_EDP_SHARE: Final = 0.4  # usage lines whose `discount` map carries the EDP discount
_EDP_PERCENT: Final = 5
_SP_PERCENT: Final = 72  # Savings Plans rate, percent of on-demand
_RI_PERCENT: Final = 60  # reservations' effective rate, percent of on-demand
_SP_COMMITMENT_CENTS: Final = (1250, 800, 3000, 425, 200, 5500)  # per hour, per plan
_SP_UPFRONT_DOLLARS: Final = (20, 10, 50, 30, 25, 60)  # small plans, bought every month
_MANAGEMENT: Final = "acme-management"  # the account that buys commitments


@dataclass(frozen=True)
class Month:
    period: str  # YYYY-MM
    seed: int

    @property
    def start(self) -> datetime:
        year, month = map(int, self.period.split("-"))
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        start = self.start
        return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)

    @property
    def hours(self) -> int:
        return int((self.end - self.start).total_seconds()) // 3600


@dataclass
class Totals:
    """What the written rows add up to, exactly (integers of 1e-10 USD)."""

    rows: int = 0
    billed_units: int = 0  # net unblended cost: the export's cost column as costalloc reads it
    unblended_units: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, other: Totals) -> None:
        self.rows += other.rows
        self.billed_units += other.billed_units
        self.unblended_units += other.unblended_units
        for name, count in other.by_type.items():
            self.by_type[name] = self.by_type.get(name, 0) + count

    @property
    def billed(self) -> Decimal:
        return Decimal(self.billed_units) / UNIT

    @property
    def unblended(self) -> Decimal:
        return Decimal(self.unblended_units) / UNIT


def batch(month: Month, first: int, count: int) -> tuple[pa.Table, Totals]:
    """Rows `first …` of `month`, in the export's schema, with their totals."""
    draws = _draw(month.seed, first, count, month.hours)
    values = draws.lazy().select(_line_item_columns(month)).collect()
    columns = {name: _arrow(values, name, SCHEMA.field(name).type) for name in SCHEMA.names
               if name not in ("product", "cost_category")}
    columns["product"] = _map_by(draws, ["type", "usage", "region"], "product",
                                 _Product.of_row().map_entries())
    columns["cost_category"] = _map_by(draws, ["type", "account"], "cost_category",
                                       _cost_category(_account()))
    table = pa.table({name: columns[name] for name in SCHEMA.names}, schema=SCHEMA)
    sums = values.select(pl.col("_billed").cast(pl.Int128).sum(),
                         pl.col("_unblended").cast(pl.Int128).sum()).row(0)
    kinds = values.get_column("line_item_line_item_type").value_counts()
    totals = Totals(count, int(sums[0]), int(sums[1]),
                    {str(k): int(n) for k, n in kinds.iter_rows()})
    return table, totals


# --------------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------------


class _Draws:
    def __init__(self, seed: int, first: int, count: int) -> None:
        self.seed = seed
        self.index = pl.int_range(first, first + count, dtype=pl.UInt64, eager=True)

    def bits(self, stream: str) -> pl.Series:
        digest = hashlib.sha256(f"{self.seed}/{stream}".encode()).digest()
        return self.index.hash(seed=int.from_bytes(digest[:8], "little"))

    def uniform(self, stream: str) -> pl.Series:
        """[0, 1) from the top 53 bits."""
        return (self.bits(stream) // 2048).cast(pl.Float64) / float(2**53)

    def below(self, stream: str, n: int) -> pl.Series:
        return (self.bits(stream) % n).cast(pl.Int64)

    def choice(self, stream: str, weights: Sequence[float]) -> pl.Series:
        """Index i with probability weights[i] / sum(weights)."""
        total = sum(weights)
        edges = pl.Series(list(itertools.accumulate(w / total for w in weights))[:-1])
        return edges.search_sorted(self.uniform(stream), side="right").cast(pl.Int64)


def _shares(pairs: Sequence[tuple[str, float]]) -> list[float]:
    return [share for _, share in pairs]


_ENV_VALUES: Final = [pair for group in cat.ENVIRONMENT_VALUES for pair in group]
_TEAM_VALUES: Final = [spelling for team in cat.TEAMS for spelling in cat.TEAM_SPELLINGS[team]]


def _draw(seed: int, first: int, count: int, hours: int) -> pl.DataFrame:
    d = _Draws(seed, first, count)
    usage_weights = [1 / (i + 4) for i in range(len(cat.USAGE_TYPES))]
    account_weights = [1 / (i + 3) ** 0.5 for i in range(len(ACCOUNTS))]
    return pl.DataFrame({
        "type": d.choice("type", [share for _, share, _ in cat.LINE_ITEM_TYPES]),
        "account": d.choice("account", account_weights),
        "usage": d.choice("usage", usage_weights),
        "region": d.choice("region", [r.share for r in cat.REGIONS]),
        "hour": d.below("hour", hours),
        "resource": d.below("resource", cat.RESOURCES_PER_TYPE),
        "u_amount": d.uniform("amount"),
        "u_full_hour": d.uniform("full-hour"),
        "plan": d.below("plan", cat.SAVINGS_PLANS),
        "reservation": d.below("reservation", cat.RESERVATIONS),
        "u_money": d.uniform("money"),
        "utilization": d.below("utilization", 21) + 80,
        "u_edp": d.uniform("edp"),
        "u_env": d.uniform("env-on"), "env_key": d.choice("env-key", _shares(cat.ENVIRONMENT_KEYS)),
        "env_value": d.choice("env-value", _shares(_ENV_VALUES)),
        "u_team": d.uniform("team-on"), "team_key": d.choice("team-key", _shares(cat.TEAM_KEYS)),
        "team_value": d.below("team-value", len(_TEAM_VALUES)),
        "u_project": d.uniform("project-on"),
        "project_key": d.choice("project-key", _shares(cat.PROJECT_KEYS)),
        "project_value": d.choice("project-value", _shares(cat.PROJECTS)),
        "u_created_by": d.uniform("created-by-on"),
        "created_by": d.below("created-by", len(cat.CREATED_BY_USERS)),
        "line_item_id": d.bits("line-item-id"),  # opaque, as AWS's: one per row
    })


# --------------------------------------------------------------------------------------------
# Lookups into the catalogue
# --------------------------------------------------------------------------------------------

ACCOUNTS: Final = cat.accounts()
_U: Final = cat.USAGE_TYPES


def _lookup(index: str, values: Sequence[object], dtype: pl.DataType) -> pl.Expr:
    return pl.col(index).replace_strict(list(range(len(values))), list(values), return_dtype=dtype)


def _text(index: str, values: Sequence[str | None]) -> pl.Expr:
    return _lookup(index, values, pl.String())


def _is(*types: str) -> pl.Expr:
    return pl.col("type").is_in([_T[name] for name in types])


def _units(units: pl.Expr) -> pl.Expr:
    """Money stays integer units until `_arrow` divides it exactly (polars multiplies by the
    reciprocal, which is not the nearest double)."""
    return units


def _rate_text(units: pl.Expr) -> pl.Expr:
    """Integer units of 1e-6 → AWS's rate text with 10 places: 96000 → `0.0960000000`."""
    return pl.concat_str((units // RATE_UNIT).cast(pl.String), pl.lit("."),
                         (units % RATE_UNIT).cast(pl.String).str.pad_start(6, "0"), pl.lit("0000"))


def _dollars(u: pl.Expr, low: float, high: float) -> pl.Expr:
    """A log-uniform amount of whole cents in [low, high] USD, as units."""
    cents = (pl.lit(low * 100) * pl.lit(high / low).pow(u)).round(0).cast(pl.Int64)
    return cents * (UNIT // 100)


def _arn_list(kind: str, count: int) -> list[str]:
    management = next(a.id for a in ACCOUNTS if a.name == _MANAGEMENT)
    found = []
    for n in range(count):
        token = hashlib.sha256(f"{kind}-{n}".encode()).hexdigest()
        if kind == "savingsplan":
            found.append(f"arn:aws:savingsplans::{cat.PAYER_ACCOUNT_ID}:savingsplan/{token[:8]}-"
                         f"{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:32]}")
        else:
            found.append(f"arn:aws:ec2:us-east-1:{management}:reserved-instances/{token[:8]}-"
                         f"{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:32]}")
    return found


_MANAGEMENT_INDEX: Final = next(i for i, a in enumerate(ACCOUNTS) if a.name == _MANAGEMENT)
_SP_ARNS: Final = _arn_list("savingsplan", cat.SAVINGS_PLANS)
_RI_ARNS: Final = _arn_list("reservation", cat.RESERVATIONS)


# --------------------------------------------------------------------------------------------
# The columns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Product:
    """What a line item says about its product: depends on its type, usage type and region only."""

    is_global: pl.Expr
    region_code: pl.Expr
    product_code: pl.Expr
    service_name: pl.Expr
    base_usage: pl.Expr
    usage_type: pl.Expr
    operation: pl.Expr
    instance_type: pl.Expr

    @classmethod
    def of_row(cls) -> _Product:
        usage_like = pl.col("type").is_in(_USAGE_LIKE)
        is_global = _lookup("usage", [u.is_global for u in _U], pl.Boolean())
        region_code = pl.when(~is_global).then(_text("region", [r.code for r in cat.REGIONS]))
        region_prefix = _text("region", [r.usage_prefix for r in cat.REGIONS])
        sp_fee = _is("SavingsPlanRecurringFee", "SavingsPlanUpfrontFee")
        product_code = (
            pl.when(sp_fee).then(pl.lit("ComputeSavingsPlans"))
            .when(_is("RIFee")).then(pl.lit("AmazonEC2"))
            .when(_is("FlatRateSubscription")).then(pl.lit("AmazonQ"))
            .otherwise(_text("usage", [u.product_code for u in _U])))
        service_name = (
            pl.when(sp_fee).then(pl.lit("Savings Plans for AWS Compute usage"))
            .when(_is("RIFee")).then(pl.lit("Amazon Elastic Compute Cloud"))
            .when(_is("FlatRateSubscription")).then(pl.lit("Amazon Q"))
            .otherwise(_text("usage", [u.service_name for u in _U])))
        base_usage = _text("usage", [u.usage for u in _U])
        usage_type = (
            pl.when(sp_fee).then(pl.lit("ComputeSP:1yrNoUpfront"))
            .when(_is("RIFee")).then(pl.lit("HeavyUsage:m5.large"))
            .when(_is("FlatRateSubscription")).then(pl.lit("Q-Developer-Pro-User"))
            .when(pl.col("type").is_in(_MONTHLY)).then(None)
            .when(is_global).then(base_usage)
            .otherwise(pl.concat_str(region_prefix, pl.lit("-"), base_usage)))
        operation = pl.when(usage_like | pl.col("type").is_in(_DISCOUNTS)).then(
            _text("usage", [u.operation for u in _U]))
        instance_type = pl.when(usage_like).then(
            _text("usage", [u.instance_type or None for u in _U]))
        return cls(is_global, region_code, product_code, service_name, base_usage, usage_type,
                   operation, instance_type)

    def map_entries(self) -> list[tuple[pl.Expr, pl.Expr]]:
        """The `product` MAP: what CUR 2.0 keeps of the product besides its top-level columns."""
        compute = self.instance_type.is_not_null()
        return [
            (pl.lit("product_name"), self.service_name),
            (pl.lit("servicename"), self.service_name),
            (pl.lit("servicecode"), self.product_code),
            (pl.lit("region"), self.region_code),
            (pl.lit("usagetype"), self.usage_type),
            (pl.lit("operation"), self.operation),
            (pl.lit("instance_type"), self.instance_type),
            (pl.lit("operating_system"), pl.when(compute).then(pl.lit("Linux"))),
            (pl.lit("tenancy"), pl.when(compute).then(pl.lit("Shared"))),
            (pl.lit("vcpu"), pl.when(compute).then(pl.lit("2"))),
        ]


def _line_item_columns(month: Month) -> list[pl.Expr]:
    kind = pl.col("type")
    usage_like = kind.is_in(_USAGE_LIKE)
    monthly = kind.is_in(_MONTHLY)
    discount = kind.is_in(_DISCOUNTS)
    product = _Product.of_row()
    is_global, region_code = product.is_global, product.region_code
    product_code, service_name = product.product_code, product.service_name
    base_usage, usage_type = product.base_usage, product.usage_type
    operation, instance_type = product.operation, product.instance_type
    unit = _text("usage", [u.unit for u in _U])

    # amounts and money, in integer units
    low = _lookup("usage", [cat.AMOUNTS.get(u.unit, cat.DEFAULT_AMOUNT)[0] for u in _U], pl.Float64())
    high = _lookup("usage", [cat.AMOUNTS.get(u.unit, cat.DEFAULT_AMOUNT)[1] for u in _U],
                   pl.Float64())
    drawn = low * (high / low).pow(pl.col("u_amount"))
    hourly = (unit == "Hrs") & (pl.col("u_full_hour") < 0.8)
    amount = (pl.when(hourly).then(pl.lit(float(AMOUNT_UNIT))).otherwise(drawn * AMOUNT_UNIT)
              .round(0).cast(pl.Int64).clip(lower_bound=1))
    od_rate = _lookup("usage", [int(Decimal(u.rate) * RATE_UNIT) for u in _U], pl.Int64())
    sp_rate = od_rate * _SP_PERCENT // 100
    ri_rate = od_rate * _RI_PERCENT // 100
    od_cost = amount * od_rate  # 1e-4 × 1e-6 = 1e-10: units
    commitment = _lookup("plan", [c * (UNIT // 100) for c in _SP_COMMITMENT_CENTS], pl.Int64())
    used = commitment * pl.col("utilization") // 100
    upfront = _lookup("plan", [d * UNIT for d in _SP_UPFRONT_DOLLARS], pl.Int64())
    ri_fee = (pl.col("reservation") % 8 + 1) * (UNIT // 16)  # 0.0625 … 0.5 USD an hour
    ri_unused = ri_fee * (100 - pl.col("utilization")) // 100
    discount_percent = pl.lit(0, dtype=pl.Int64)
    for name, percent in _DISCOUNT_PERCENT.items():
        discount_percent = pl.when(_is(name)).then(pl.lit(percent)).otherwise(discount_percent)
    u_money = pl.col("u_money")
    unblended = (
        pl.when(_is("Usage", "SavingsPlanCoveredUsage")).then(od_cost)
        .when(_is("DiscountedUsage")).then(pl.lit(0, dtype=pl.Int64))
        .when(_is("SavingsPlanNegation")).then(-od_cost)
        .when(_is("SavingsPlanRecurringFee")).then(commitment)
        .when(_is("SavingsPlanUpfrontFee")).then(upfront)
        .when(_is("RIFee")).then(ri_fee)
        .when(_is("Fee")).then(_dollars(u_money, 0.5, 100))
        .when(_is("Tax")).then(_dollars(u_money, 0.01, 50))
        .when(_is("Credit")).then(-_dollars(u_money, 0.1, 30))
        .when(_is("Refund")).then(-_dollars(u_money, 0.01, 10))
        .when(discount).then(-(od_cost * discount_percent // 100))
        .when(_is("FlatRateSubscription"))
        .then(pl.when(u_money < 0.7).then(pl.lit(19 * UNIT)).otherwise(pl.lit(39 * UNIT)))
        .otherwise(pl.lit(0, dtype=pl.Int64)))
    has_edp = _is("Usage") & (pl.col("u_edp") < _EDP_SHARE)
    edp = od_cost * _EDP_PERCENT // 100
    net = (pl.when(discount).then(pl.lit(0, dtype=pl.Int64))
           .when(has_edp).then(od_cost - edp).otherwise(unblended))
    rate = (pl.when(_is("Usage", "SavingsPlanCoveredUsage", "SavingsPlanNegation")).then(od_rate)
            .when(_is("DiscountedUsage")).then(pl.lit(0, dtype=pl.Int64)))
    net_rate = pl.when(has_edp).then(od_rate * (100 - _EDP_PERCENT) // 100).otherwise(rate)
    ri_effective = amount * ri_rate
    sp_effective = amount * sp_rate
    reservation_row = _is("DiscountedUsage", "RIFee")
    plan_row = _is("SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee",
                   "SavingsPlanUpfrontFee")

    # who and when
    account = _account()
    account_id = account.replace_strict(list(range(len(ACCOUNTS))), [a.id for a in ACCOUNTS],
                                        return_dtype=pl.String)
    account_name = account.replace_strict(list(range(len(ACCOUNTS))),
                                          [a.name for a in ACCOUNTS], return_dtype=pl.String)
    start = pl.when(monthly).then(pl.lit(month.start)).otherwise(
        pl.lit(month.start) + pl.duration(hours=pl.col("hour")))
    end = pl.when(monthly).then(pl.lit(month.end)).otherwise(
        pl.lit(month.start) + pl.duration(hours=pl.col("hour") + 1))
    intervals = [_interval(month.start + timedelta(hours=h), month.start + timedelta(hours=h + 1))
                 for h in range(month.hours)]
    interval = pl.when(monthly).then(pl.lit(_interval(month.start, month.end))).otherwise(
        _text("hour", intervals))

    entity = pl.when(is_global).then(pl.lit(cat.REGIONS[0].entity)).otherwise(
        _text("region", [r.entity for r in cat.REGIONS]))
    marketplace = product_code.str.starts_with(cat.MARKETPLACE_PREFIX)
    resource = _resource_id(region_code, account_id)
    sku = pl.concat_str(pl.lit("SKU"), (pl.col("usage") * 7919 + pl.col("region") * 104729 + 10**9)
                        .cast(pl.String))
    description = (
        pl.when(_is("Usage")).then(pl.concat_str(
            pl.lit("$"), _text("usage", [u.rate for u in _U]), pl.lit(" per "), unit,
            pl.lit(" for "), base_usage))
        .when(_is("DiscountedUsage")).then(pl.concat_str(
            pl.lit("USD 0.0 hourly fee per reserved "), base_usage))
        .when(_is("SavingsPlanCoveredUsage")).then(pl.concat_str(
            pl.lit("Savings Plan covered usage: "), base_usage))
        .when(_is("SavingsPlanNegation")).then(pl.concat_str(
            pl.lit("SavingsPlanNegation used by AccountId : "), account_id,
            pl.lit(" and UsageSku : "), sku))
        .when(_is("SavingsPlanRecurringFee")).then(pl.lit("1 year No Upfront Compute Savings Plan"))
        .when(_is("SavingsPlanUpfrontFee")).then(pl.lit("1 year All Upfront Compute Savings Plan"))
        .when(_is("RIFee")).then(pl.lit("USD 0.0625 hourly fee per Linux/UNIX (Amazon VPC), "
                                        "m5.large reserved instance applied"))
        .when(_is("Tax")).then(pl.concat_str(pl.lit("Tax for product code "), product_code))
        .when(_is("Credit")).then(pl.lit("AWS Activate Credits"))
        .when(_is("Refund")).then(pl.concat_str(pl.lit("Refund for "), service_name))
        .when(_is("Fee")).then(pl.concat_str(service_name, pl.lit(" fee")))
        .when(_is("FlatRateSubscription")).then(pl.lit("Amazon Q Developer Pro subscription"))
        .otherwise(pl.concat_str(kind.replace_strict(list(range(len(TYPES))), list(TYPES),
                                                     return_dtype=pl.String),
                                 pl.lit(" for "), base_usage)))
    usage_amount = (pl.when(usage_like | discount).then(amount)
                    .when(_is("RIFee", "SavingsPlanRecurringFee")).then(pl.lit(AMOUNT_UNIT)))
    normalization = pl.when(instance_type.is_not_null()).then(pl.lit(4, dtype=pl.Int64))
    term = (pl.when(_is("DiscountedUsage")).then(pl.lit("Reserved"))
            .when(usage_like & base_usage.str.contains("Spot")).then(pl.lit("Spot"))
            .when(usage_like).then(pl.lit("OnDemand")))
    zonal = usage_like & ~is_global & _lookup("usage", [
        u.resource.startswith(("id:i-", "id:vol-", "arn:rds", "arn:elasticache")) for u in _U],
        pl.Boolean())
    zone = pl.when(zonal).then(pl.concat_str(region_code, pl.col("resource").mod(3).replace_strict(
        [0, 1, 2], ["a", "b", "c"], return_dtype=pl.String)))
    tax_type = pl.when(_is("Tax")).then(pl.when(is_global | (pl.col("region") < 2))
                                        .then(pl.lit("Sales tax")).otherwise(pl.lit("VAT")))
    bill_type = (pl.when(_is("SavingsPlanUpfrontFee")).then(pl.lit("Purchase"))
                 .when(_is("Refund")).then(pl.lit("Refund")).otherwise(pl.lit("Anniversary")))
    invoice = pl.when(marketplace).then(pl.lit("2026MP0417")).otherwise(
        pl.concat_str(pl.lit("INV-"), entity.str.slice(0, 3).str.to_uppercase(),
                      pl.lit(f"-{month.period.replace('-', '')}")))
    location = pl.when(is_global).then(pl.lit("Global")).otherwise(
        _text("region", [r.location for r in cat.REGIONS]))

    return [
        bill_type.alias("bill_bill_type"),
        pl.when(marketplace).then(pl.lit("AWS Marketplace")).otherwise(pl.lit("AWS"))
        .alias("bill_billing_entity"),
        pl.lit(month.end).alias("bill_billing_period_end_date"),
        pl.lit(month.start).alias("bill_billing_period_start_date"),
        invoice.alias("bill_invoice_id"),
        entity.alias("bill_invoicing_entity"),
        pl.lit(cat.PAYER_ACCOUNT_ID).alias("bill_payer_account_id"),
        pl.lit(cat.PAYER_ACCOUNT_NAME).alias("bill_payer_account_name"),
        *_entries("discount", [(pl.lit("edp_discount"), pl.when(has_edp).then(-edp)),
                               (pl.lit("total_discount"), pl.when(has_edp).then(-edp))]),
        pl.when(has_edp).then(_units(-edp)).alias("discount_total_discount"),
        pl.col("line_item_id").cast(pl.String).str.pad_start(20, "0").alias("identity_line_item_id"),
        interval.alias("identity_time_interval"),
        zone.alias("line_item_availability_zone"),
        _units(unblended).alias("line_item_blended_cost"),
        _rate_text(rate).alias("line_item_blended_rate"),
        pl.lit("USD").alias("line_item_currency_code"),
        pl.when(marketplace).then(service_name.str.replace(r" \(AWS Marketplace\)$", " Inc."))
        .otherwise(entity).alias("line_item_legal_entity"),
        description.alias("line_item_line_item_description"),
        kind.replace_strict(list(range(len(TYPES))), list(TYPES), return_dtype=pl.String)
        .alias("line_item_line_item_type"),
        _units(net).alias("line_item_net_unblended_cost"),
        _rate_text(net_rate).alias("line_item_net_unblended_rate"),
        normalization.alias("line_item_normalization_factor"),
        (normalization * usage_amount).alias("line_item_normalized_usage_amount"),
        operation.alias("line_item_operation"),
        product_code.alias("line_item_product_code"),
        resource.alias("line_item_resource_id"),
        tax_type.alias("line_item_tax_type"),
        _units(unblended).alias("line_item_unblended_cost"),
        _rate_text(rate).alias("line_item_unblended_rate"),
        account_id.alias("line_item_usage_account_id"),
        account_name.alias("line_item_usage_account_name"),
        usage_amount.alias("line_item_usage_amount"),
        end.alias("line_item_usage_end_date"),
        start.alias("line_item_usage_start_date"),
        usage_type.alias("line_item_usage_type"),
        pl.lit("USD").alias("pricing_currency"),
        pl.when(reservation_row).then(pl.lit("1yr")).alias("pricing_lease_contract_length"),
        pl.when(reservation_row).then(pl.lit("standard")).alias("pricing_offering_class"),
        pl.when(_is("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"))
        .then(_units(od_cost)).alias("pricing_public_on_demand_cost"),
        pl.when(usage_like).then(_rate_text(od_rate)).alias("pricing_public_on_demand_rate"),
        pl.when(reservation_row).then(pl.lit("No Upfront")).alias("pricing_purchase_option"),
        pl.when(usage_like).then(pl.concat_str(sku, pl.lit(".JRTCKXETXF.6YS6EN2CT7")))
        .alias("pricing_rate_code"),
        pl.when(usage_like).then((pl.col("usage") * 1000003 + pl.col("region") + 7 * 10**9)
                                 .cast(pl.String)).alias("pricing_rate_id"),
        term.alias("pricing_term"),
        pl.when(usage_like).then(unit).alias("pricing_unit"),
        instance_type.str.split(".").list.first().alias("product_instance_family"),
        instance_type.alias("product_instance_type"),
        location.alias("product_location"),
        pl.when(~is_global).then(pl.lit("AWS Region")).alias("product_location_type"),
        operation.alias("product_operation"),
        pl.when(usage_like).then(_text("usage", [u.family for u in _U])).alias("product_product_family"),
        region_code.alias("product_region_code"),
        product_code.alias("product_servicecode"),
        pl.when(usage_like).then(sku).alias("product_sku"),
        usage_type.alias("product_usagetype"),
        pl.when(_is("RIFee")).then(pl.lit(0, dtype=pl.Int64)).alias(
            "reservation_amortized_upfront_fee_for_billing_period"),
        pl.when(_is("DiscountedUsage")).then(_units(ri_effective))
        .alias("reservation_effective_cost"),
        pl.when(reservation_row).then(pl.lit("2027-03-01T00:00:00.000Z")).alias("reservation_end_time"),
        pl.when(_is("DiscountedUsage")).then(_units(ri_effective - ri_effective * 5 // 100))
        .alias("reservation_net_effective_cost"),
        pl.when(_is("RIFee")).then(pl.lit(0, dtype=pl.Int64)).alias(
            "reservation_net_unused_amortized_upfront_fee_for_billing_period"),
        pl.when(_is("RIFee")).then(_units(ri_unused - ri_unused * 5 // 100))
        .alias("reservation_net_unused_recurring_fee"),
        pl.when(_is("DiscountedUsage")).then(_units(ri_effective))
        .alias("reservation_recurring_fee_for_usage"),
        pl.when(reservation_row).then(_text("reservation", _RI_ARNS))
        .alias("reservation_reservation_a_r_n"),
        pl.when(reservation_row).then(pl.lit("2026-03-01T00:00:00.000Z"))
        .alias("reservation_start_time"),
        pl.when(_is("RIFee")).then(pl.lit(0, dtype=pl.Int64)).alias(
            "reservation_unused_amortized_upfront_fee_for_billing_period"),
        pl.when(_is("RIFee")).then(100 - pl.col("utilization"))
        .alias("reservation_unused_quantity"),
        pl.when(_is("RIFee")).then(_units(ri_unused)).alias("reservation_unused_recurring_fee"),
        *_tags(),
        pl.when(_is("SavingsPlanUpfrontFee")).then(_units(upfront)).alias(
            "savings_plan_amortized_upfront_commitment_for_billing_period"),
        pl.when(plan_row).then(pl.lit("2027-06-30T23:59:59.000Z")).alias("savings_plan_end_time"),
        pl.when(_is("SavingsPlanCoveredUsage"))
        .then(_units(sp_effective - sp_effective * 5 // 100))
        .alias("savings_plan_net_savings_plan_effective_cost"),
        pl.when(plan_row).then(pl.lit("ComputeSavingsPlans")).alias("savings_plan_offering_type"),
        pl.when(plan_row).then(pl.when(_is("SavingsPlanUpfrontFee")).then(pl.lit("All Upfront"))
                               .otherwise(pl.lit("No Upfront"))).alias("savings_plan_payment_option"),
        pl.when(plan_row).then(pl.lit("1yr")).alias("savings_plan_purchase_term"),
        pl.when(_is("SavingsPlanRecurringFee")).then(_units(commitment * month.hours))
        .alias("savings_plan_recurring_commitment_for_billing_period"),
        pl.when(plan_row).then(_text("plan", _SP_ARNS)).alias("savings_plan_savings_plan_a_r_n"),
        pl.when(_is("SavingsPlanCoveredUsage")).then(_units(sp_effective))
        .alias("savings_plan_savings_plan_effective_cost"),
        pl.when(_is("SavingsPlanCoveredUsage")).then(sp_rate)
        .alias("savings_plan_savings_plan_rate"),
        pl.when(plan_row).then(pl.lit("2026-07-01T00:00:00.000Z")).alias("savings_plan_start_time"),
        pl.when(_is("SavingsPlanRecurringFee")).then(_units(commitment))
        .alias("savings_plan_total_commitment_to_date"),
        pl.when(_is("SavingsPlanRecurringFee")).then(_units(used))
        .alias("savings_plan_used_commitment"),
        net.alias("_billed"),
        unblended.alias("_unblended"),
    ]


def _interval(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"


def _resource_id(region_code: pl.Expr, account_id: pl.Expr) -> pl.Expr:
    """`i-0…`, `acme-bucket-…` or `arn:aws:<service>:<region>:<account>:<kind>/<name>`."""
    kind = pl.col("type")
    resources = [u.resource for u in _U]
    prefix = _text("usage", [r.removeprefix("id:") if r.startswith("id:") else None
                             for r in resources])
    service = _text("usage", [r.split(":")[1] if r.startswith("arn:") else None
                              for r in resources])
    arn_kind = _text("usage", [r.split(":", 2)[2] if r.startswith("arn:") else None
                               for r in resources])
    number = (pl.col("resource") * 2654435761 % 10**12 + 10**12).cast(pl.String).str.slice(1)
    name = pl.concat_str(pl.col("account").replace_strict(
        list(range(len(ACCOUNTS))), [a.name for a in ACCOUNTS], return_dtype=pl.String),
        pl.lit("-"), number)
    by_id = pl.concat_str(prefix, number)
    by_arn = pl.concat_str(pl.lit("arn:aws:"), service, pl.lit(":"), region_code.fill_null(""),
                           pl.lit(":"), account_id, pl.lit(":"), arn_kind, pl.lit("/"), name)
    on_usage = kind.is_in([*_USAGE_LIKE, *_DISCOUNTS])
    return (pl.when(_is("RIFee")).then(_text("reservation", _RI_ARNS))
            .when(_is("SavingsPlanRecurringFee", "SavingsPlanUpfrontFee"))
            .then(_text("plan", _SP_ARNS))
            .when(on_usage & prefix.is_not_null()).then(by_id)
            .when(on_usage & service.is_not_null()).then(by_arn))


def _entries(name: str, pairs: Sequence[tuple[pl.Expr, pl.Expr]]) -> list[pl.Expr]:
    """A MAP column as columns `name/i/key`, `name/i/value`; an entry is absent where its
    value is null. `_arrow` makes the MAP of them."""
    return [expr.alias(f"{name}/{i}/{part}") for i, (key, value) in enumerate(pairs)
            for part, expr in (("key", key), ("value", value))]


def _tags() -> list[pl.Expr]:
    """Per-row random tags on usage-like rows: three keys in mixed spellings, and AWS's own."""
    usage_like = pl.col("type").is_in(_USAGE_LIKE)

    def tag(on: pl.Expr, key: pl.Expr, value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        return key, pl.when(usage_like & on).then(value)

    return _entries("resource_tags", [
        tag(pl.col("u_env") < cat.ENVIRONMENT_TAGGED,
            _text("env_key", [k for k, _ in cat.ENVIRONMENT_KEYS]),
            _text("env_value", [v for v, _ in _ENV_VALUES])),
        tag(pl.col("u_team") < cat.TEAM_TAGGED, _text("team_key", [k for k, _ in cat.TEAM_KEYS]),
            _text("team_value", _TEAM_VALUES)),
        tag(pl.col("u_project") < cat.PROJECT_TAGGED,
            _text("project_key", [k for k, _ in cat.PROJECT_KEYS]),
            _text("project_value", [p for p, _ in cat.PROJECTS])),
        tag(pl.col("u_created_by") < cat.CREATED_BY_TAGGED, pl.lit("aws_createdBy"),
            _text("created_by", [f"IAMUser:AIDA{n:016d}:{user}"
                                 for n, user in enumerate(cat.CREATED_BY_USERS)])),
    ])


def _account() -> pl.Expr:
    """The line item's account (its index): commitments are bought by the management account."""
    commitment_fee = _is("SavingsPlanRecurringFee", "SavingsPlanUpfrontFee", "RIFee")
    return pl.when(commitment_fee).then(pl.lit(_MANAGEMENT_INDEX)).otherwise(pl.col("account"))


def _cost_category(account: pl.Expr) -> list[tuple[pl.Expr, pl.Expr]]:
    """AWS Cost Categories, computed per account: business unit, and team for team accounts."""
    indexes = list(range(len(ACCOUNTS)))
    unit = account.replace_strict(indexes, [cat.BUSINESS_UNITS[a.team] for a in ACCOUNTS],
                                  return_dtype=pl.String)
    team = account.replace_strict(
        indexes, [None if a.name.startswith("acme-") else a.team.title() for a in ACCOUNTS],
        return_dtype=pl.String)
    return [(pl.lit("BusinessUnit"), unit), (pl.lit("Team"), team)]


def _map_by(draws: pl.DataFrame, keys: list[str], name: str,
            pairs: Sequence[tuple[pl.Expr, pl.Expr]]) -> pa.MapArray:
    """A MAP column whose entries depend on `keys` only: built once per distinct key (a few
    thousand in a batch) and taken for each row."""
    rows = draws.select(keys)
    distinct = rows.unique().with_row_index("position")
    maps = distinct.select(_entries(name, pairs))
    position = rows.join(distinct, on=keys, how="left", maintain_order="left")
    return _arrow(maps, name, SCHEMA.field(name).type).take(
        position.get_column("position").to_arrow())


# --------------------------------------------------------------------------------------------
# To Arrow
# --------------------------------------------------------------------------------------------


# Doubles written as integers of 1 / scale (money: 1e-10 USD unless listed).
_SCALES: Final = {"line_item_usage_amount": AMOUNT_UNIT,
                  "line_item_normalized_usage_amount": AMOUNT_UNIT,
                  "line_item_normalization_factor": 1, "savings_plan_savings_plan_rate": RATE_UNIT,
                  "reservation_unused_quantity": 100}


def _arrow(values: pl.DataFrame, name: str, target: pa.DataType) -> pa.Array:
    if isinstance(target, pa.MapType):
        pairs: list[tuple[pa.Array, pa.Array]] = []
        while f"{name}/{len(pairs)}/key" in values.columns:
            pairs.append((_arrow(values, f"{name}/{len(pairs)}/key", target.key_type),
                          _arrow(values, f"{name}/{len(pairs)}/value", target.item_type)))
        return _map(pairs, target)
    arrow = values.get_column(name).to_arrow()
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    if pa.types.is_floating(target):
        return pc.divide(arrow.cast(pa.float64()), float(_SCALES.get(name, UNIT)))
    return arrow.cast(target)


def _map(pairs: Sequence[tuple[pa.Array, pa.Array]], target: pa.MapType) -> pa.MapArray:
    """Entries (key, value) per row, absent where the value is null → a MAP array."""
    width, rows = len(pairs), len(pairs[0][1])
    order = pl.int_range(width * rows, dtype=pl.Int64, eager=True)
    row_major = ((order % width) * rows + order // width).to_arrow()
    keys = pa.concat_arrays([key for key, _ in pairs]).take(row_major)
    items = pa.concat_arrays([value for _, value in pairs]).take(row_major)
    present = pc.is_valid(items)
    counts = pc.cast(pc.is_valid(pairs[0][1]), pa.int32())
    for _, value in pairs[1:]:
        counts = pc.add(counts, pc.cast(pc.is_valid(value), pa.int32()))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()),
                                pc.cumulative_sum(counts).cast(pa.int32())])
    return pa.MapArray.from_arrays(offsets, keys.filter(present), items.filter(present),
                                   type=target)
