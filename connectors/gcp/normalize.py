"""Billing export rows (standard or detailed, from BigQuery or its Parquet dump) → FOCUS. Pure.

One export row is one line item. Its credits (CUDs, sustained use, promotions, free tier...)
stay on it: `BilledCost = cost + SUM(credits.amount)` of that row (GCP's "net cost"), and the
credit detail goes to `x_credits` (a JSON array) and `x_credit_amount`. Emitting credits as
separate Credit rows would be equally valid FOCUS, but keeping the provider's grain makes the
tie-out row for row and keeps every credit attached to the usage (and labels) it discounted.

| FOCUS                      | from the export                                                |
|----------------------------|----------------------------------------------------------------|
| BillingPeriodStart/End     | `invoice.month` (YYYYMM), not the usage day                    |
| ChargeCategory             | `cost_type`: regular → Usage (Purchase for `Commitment...`     |
|                            | SKUs), tax → Tax, adjustment and rounding error → Adjustment   |
| ChargeClass                | Correction for an adjustment of usage before its invoice month |
| BilledCost = EffectiveCost | `cost` + the row's credits (the export does not amortize)      |
| ContractedCost / ListCost  | `cost` / `cost_at_list` (else `cost`)                          |
| Commitment*                | a COMMITTED_USAGE_DISCOUNT(_DOLLAR_BASE) credit on the row     |
| BillingAccountName         | the id: the export carries no account name                     |
| InvoiceId                  | null: the export carries no invoice number                     |
| SubAccountId/Name          | `project.id` / `project.name`                                  |
| RegionId / RegionName      | `location.region` (else a multi-region `US`, `EU`) / `regions` |
| ResourceId/Name/Type       | `resource.global_name` / `.name` / its API and collection      |
| Consumed/PricingUnit       | `usage.unit` / `usage.pricing_unit` in FOCUS units (`tables`)  |
| Tags                       | see `connectors.gcp.labels`                                    |
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from costalloc.connectors.gcp.fields import Fields, decimal
from costalloc.connectors.gcp.labels import tags_json
from costalloc.connectors.gcp.regions import NOT_A_REGION, REGION_NAMES
from costalloc.connectors.gcp.services import OTHER, SERVICE_CATEGORIES
from costalloc.connectors.money import totals_by_currency
from costalloc.connectors.units import focus_unit
from costalloc.core.focus import MONEY, UTC_TIME

PROVIDER = "Google Cloud"
# Google Cloud issues the invoice of a direct billing account; FOCUS reads a different
# InvoiceIssuerName as "paid to a third party" (BilledCost would then have to be 0).
INVOICE_ISSUER = PROVIDER
# Added by the readers next to the raw rows: each row's credit amounts summed as stored (a
# float), so the ingest money check sees a non-number hidden inside the REPEATED `credits`.
CREDIT_AMOUNTS = "credits.amount"
MONEY_FIELDS = ("cost", "cost_at_list", "cost_at_effective_price_default",
                "cost_at_list_consumption_model", CREDIT_AMOUNTS)
# Read as quantities (DECIMAL(38, 18)); copied next to the raw rows like the credit amounts.
USAGE_QUANTITIES = ("usage.amount", "usage.amount_in_pricing_units")
COMMITMENT_CREDITS = {"COMMITTED_USAGE_DISCOUNT": "Usage",
                      "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE": "Spend"}
_CREDIT_FIELDS = ("type", "name", "full_name", "id", "amount")
_ZERO = Decimal(0)


def with_credit_amounts(rows: pl.DataFrame) -> pl.DataFrame:
    """Raw rows plus `credits.amount` (see CREDIT_AMOUNTS); unchanged when there are no credits."""
    fields = Fields(rows.schema)
    amount = fields.item_field("credits", "amount")
    if amount is None or not amount.is_numeric():
        return rows
    total = fields.raw("credits").list.eval(pl.element().struct.field("amount")).list.sum()
    return rows.with_columns(total.cast(pl.Float64).alias(CREDIT_AMOUNTS))


def with_checked_fields(rows: pl.DataFrame) -> pl.DataFrame:
    """Raw rows plus top-level copies of the numbers the ingest check must see inside records:
    `credits.amount` (`with_credit_amounts`) and the usage quantities (USAGE_QUANTITIES)."""
    rows = with_credit_amounts(rows)
    fields = Fields(rows.schema)
    usage = [fields.raw(path).alias(path) for path in USAGE_QUANTITIES if fields.has(path)]
    return rows.with_columns(usage) if usage else rows


def money_columns(raw: pl.DataFrame) -> list[str]:
    return [name for name in MONEY_FIELDS if name in raw.columns]


def quantity_columns(raw: pl.DataFrame) -> list[str]:
    return [name for name in USAGE_QUANTITIES if name in raw.columns]


def control_totals(raw: pl.DataFrame) -> dict[str, Decimal]:
    """Per currency, SUM(cost) + SUM(credits) of these rows: GCP's own net cost, the tie-out basis."""
    fields = Fields(raw.schema)
    return totals_by_currency(raw, billed_cost(fields), fields.text("currency"))


def billed_cost(fields: Fields) -> pl.Expr:
    return (fields.money("cost") + credit_amount(fields)).cast(MONEY)


def credit_amount(fields: Fields) -> pl.Expr:
    """The row's credits summed exactly (0 when it has none) — one row, counted once."""
    amount = fields.item_field("credits", "amount")
    if amount is None:
        return pl.lit(_ZERO, dtype=MONEY)
    amounts = fields.raw("credits").list.eval(decimal(pl.element().struct.field("amount"), amount))
    return amounts.list.sum().fill_null(_ZERO).cast(MONEY)


def to_focus(raw: pl.LazyFrame) -> pl.LazyFrame:
    """FOCUS columns (and the `x_` extras) for export rows."""
    f = Fields(raw.collect_schema())
    cost = f.money("cost")
    billed = billed_cost(f)
    cost_type = f.text("cost_type").str.to_lowercase()
    sku = f.text("sku.description")
    category = _charge_category(cost_type, sku)
    period_start, period_end = _billing_period(f)
    usage_start = pl.coalesce(f.time("usage_start_time"), period_start)
    commitment_type = _commitment_credit(f, "type")
    commitment_id = pl.when(commitment_type.is_not_null()).then(
        pl.coalesce(_commitment_credit(f, "id"), _commitment_credit(f, "full_name"),
                    _commitment_credit(f, "name"), commitment_type))
    usage_row = category == "Usage"
    priced_row = category.is_in(("Usage", "Purchase"))
    # quantities and units come in pairs: a quantity is kept only with its unit's row
    consumed = usage_row & f.quantity("usage.amount").is_not_null()
    pricing_quantity = priced_row & f.quantity("usage.amount_in_pricing_units").is_not_null()
    service = f.text("service.description")
    # a marketplace (third-party) charge names its seller; Google's own rows are Google Cloud
    third_party = f.text("transaction_type").str.starts_with("THIRD_PARTY").fill_null(False)
    seller = pl.when(third_party).then(f.text("seller_name"))
    region = _region_id(f)
    resource_id = pl.coalesce(f.text("resource.global_name"), f.text("resource.name"))
    list_unit_price = pl.when(priced_row).then(f.money("price.list_price"))
    contracted_unit_price = pl.when(priced_row).then(f.money("price.effective_price"))
    return raw.select(
        f.text("location.zone").alias("AvailabilityZone"),
        billed.alias("BilledCost"),
        f.text("billing_account_id").alias("BillingAccountId"),
        # the export has no account names: the id stands in, as on GCP's own invoice lines
        f.text("billing_account_id").alias("BillingAccountName"),
        pl.when(f.text("billing_account_id").is_not_null()).then(pl.lit("Billing Account"))
        .alias("BillingAccountType"),
        f.text("currency").alias("BillingCurrency"),
        period_end.alias("BillingPeriodEnd"),
        period_start.alias("BillingPeriodStart"),
        category.alias("ChargeCategory"),
        pl.when((cost_type == "adjustment") & (usage_start < period_start))
        .then(pl.lit("Correction")).alias("ChargeClass"),
        sku.alias("ChargeDescription"),
        pl.when(category == "Usage").then(pl.lit("Usage-Based"))
        .when(category.is_in(("Purchase", "Tax"))).then(pl.lit("Recurring"))
        .otherwise(pl.lit("One-Time")).alias("ChargeFrequency"),
        pl.coalesce(f.time("usage_end_time"), period_end).alias("ChargePeriodEnd"),
        usage_start.alias("ChargePeriodStart"),
        pl.when(commitment_id.is_not_null())
        .then(commitment_type.replace_strict(COMMITMENT_CREDITS, return_dtype=pl.String))
        .alias("CommitmentDiscountCategory"),
        commitment_id.alias("CommitmentDiscountId"),
        pl.when(commitment_id.is_not_null())
        .then(pl.coalesce(_commitment_credit(f, "full_name"), _commitment_credit(f, "name")))
        .alias("CommitmentDiscountName"),
        pl.when(commitment_id.is_not_null() & usage_row).then(pl.lit("Used"))
        .alias("CommitmentDiscountStatus"),
        pl.when(commitment_id.is_not_null()).then(pl.lit("Committed Use Discount"))
        .alias("CommitmentDiscountType"),
        pl.when(consumed).then(f.quantity("usage.amount")).alias("ConsumedQuantity"),
        pl.when(consumed).then(_unit(f.text("usage.unit"))).alias("ConsumedUnit"),
        cost.alias("ContractedCost"),
        contracted_unit_price.alias("ContractedUnitPrice"),
        billed.alias("EffectiveCost"),
        pl.lit(PROVIDER).alias("HostProviderName"),
        pl.lit(INVOICE_ISSUER).alias("InvoiceIssuerName"),
        pl.coalesce(f.money("cost_at_list"), cost).alias("ListCost"),
        list_unit_price.alias("ListUnitPrice"),
        _pricing_category(category, commitment_type, sku).alias("PricingCategory"),
        f.text("currency").alias("PricingCurrency"),
        contracted_unit_price.alias("PricingCurrencyContractedUnitPrice"),
        billed.alias("PricingCurrencyEffectiveCost"),
        list_unit_price.alias("PricingCurrencyListUnitPrice"),
        pl.when(pricing_quantity).then(f.quantity("usage.amount_in_pricing_units"))
        .alias("PricingQuantity"),
        pl.when(pricing_quantity).then(_unit(f.text("usage.pricing_unit")))
        .alias("PricingUnit"),
        pl.lit(PROVIDER).alias("ProviderName"),
        pl.coalesce(seller, pl.lit(PROVIDER)).alias("PublisherName"),
        region.alias("RegionId"),
        region.replace_strict(REGION_NAMES, default=region, return_dtype=pl.String)
        .alias("RegionName"),
        resource_id.alias("ResourceId"),
        f.text("resource.name").alias("ResourceName"),
        pl.when(resource_id.is_not_null())
        .then(pl.coalesce(_resource_type(f.text("resource.global_name")), service,
                          pl.lit(PROVIDER))).alias("ResourceType"),
        *_service_category(service),
        pl.coalesce(service, pl.lit(PROVIDER)).alias("ServiceName"),
        pl.coalesce(seller, pl.lit(PROVIDER)).alias("ServiceProviderName"),
        pl.when(category != "Tax").then(f.text("sku.id")).alias("SkuId"),
        pl.when(category != "Tax").then(sku).alias("SkuMeter"),
        pl.when(priced_row).then(f.text("sku.id")).alias("SkuPriceId"),
        f.text("project.id").alias("SubAccountId"),
        f.text("project.name").alias("SubAccountName"),
        pl.when(f.text("project.id").is_not_null()).then(pl.lit("Project")).alias("SubAccountType"),
        tags_json(f).alias("Tags"),
        f.text("cost_type").alias("x_line_item_type"),
        f.text("service.id").alias("x_service_code"),
        _credits_json(f).alias("x_credits"),
        credit_amount(f).alias("x_credit_amount"),
        _adjustment_json(f).alias("x_adjustment_info"),
        f.time("export_time").alias("x_export_time"),
    )


def _charge_category(cost_type: pl.Expr, sku: pl.Expr) -> pl.Expr:
    """`cost_type` → ChargeCategory; GCP documents regular, tax, adjustment, rounding error (an
    older table without the field is all regular). Anything else is an Adjustment, never dropped."""
    commitment_fee = sku.str.to_lowercase().str.starts_with("commitment")
    return (
        pl.when(cost_type.is_null() | (cost_type == "regular"))
        .then(pl.when(commitment_fee).then(pl.lit("Purchase")).otherwise(pl.lit("Usage")))
        .when(cost_type == "tax").then(pl.lit("Tax"))
        .otherwise(pl.lit("Adjustment"))
    )


def _pricing_category(category: pl.Expr, commitment_type: pl.Expr, sku: pl.Expr) -> pl.Expr:
    dynamic = sku.str.contains(r"(?i)\b(spot|preemptible)\b")
    return (
        pl.when(category == "Purchase").then(pl.lit("Standard"))
        .when(category != "Usage").then(pl.lit(None, dtype=pl.String))
        .when(commitment_type.is_not_null()).then(pl.lit("Committed"))
        .when(dynamic.fill_null(False)).then(pl.lit("Dynamic"))
        .otherwise(pl.lit("Standard"))
    )


def _region_id(f: Fields) -> pl.Expr:
    """`location.region`, else a multi-region location (`US`, `EU`); `global` is no region."""
    location = f.text("location.location")
    return pl.coalesce(f.text("location.region"),
                       pl.when(~location.is_in(NOT_A_REGION)).then(location))


def _resource_type(global_name: pl.Expr) -> pl.Expr:
    """`//compute.googleapis.com/projects/p/zones/z/instances/123` → `compute.googleapis.com/instances`:
    the API and the collection the resource belongs to (null when the name has no collection)."""
    return global_name.str.replace(r"^//([^/]+)/(?:.*/)?([A-Za-z]+)/[^/]+$", "${1}/${2}").pipe(
        lambda kind: pl.when(kind != global_name).then(kind))


def _unit(unit: pl.Expr) -> pl.Expr:
    """A GCP unit in FOCUS Unit Format (`connectors/tables/units.csv`); `Units` when the export
    gives a quantity without one, so the quantity and unit stay a pair as FOCUS requires."""
    return focus_unit(unit, "gcp").fill_null(pl.lit("Units"))


def _billing_period(f: Fields) -> tuple[pl.Expr, pl.Expr]:
    """`invoice.month` `202610` → [2026-10-01, 2026-11-01) in UTC; null when unreadable."""
    month = f.text("invoice.month")
    start = ((month + "01").str.to_date("%Y%m%d", strict=False)
             .cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(UTC_TIME))
    return start, start.dt.offset_by("1mo")


def _commitment_credit(f: Fields, name: str) -> pl.Expr:
    """Field `name` of the row's first committed-use-discount credit (null without one)."""
    if f.item_field("credits", "type") is None or f.item_field("credits", name) is None:
        return pl.lit(None, dtype=pl.String)
    element = pl.element().struct
    chosen = f.raw("credits").list.eval(
        element.field(name).cast(pl.String)
        .filter(element.field("type").is_in(list(COMMITMENT_CREDITS))))
    value = chosen.list.first()
    return pl.when(value != "").then(value)


def _credits_json(f: Fields) -> pl.Expr:
    """`[{"type":…,"name":…,"full_name":…,"id":…,"amount":"-1.25"}]`; amounts as exact decimal
    text; null when the row has no credits."""
    present = [name for name in _CREDIT_FIELDS if f.item_field("credits", name) is not None]
    if "amount" not in present:
        return pl.lit(None, dtype=pl.String)
    amount_dtype = f.item_field("credits", "amount")
    assert amount_dtype is not None
    element = pl.element().struct
    parts = [
        decimal(element.field(name), amount_dtype).cast(pl.String).alias(name) if name == "amount"
        else element.field(name).cast(pl.String).alias(name)
        for name in present
    ]
    encoded = f.raw("credits").list.eval(pl.struct(parts).struct.json_encode()).list.join(",")
    return pl.when(encoded.is_not_null() & (encoded != "")).then("[" + encoded + "]")


def _adjustment_json(f: Fields) -> pl.Expr:
    """`adjustment_info` (id, description, mode, type) as a JSON object; null when empty."""
    dtype = f.dtype("adjustment_info")
    if not isinstance(dtype, pl.Struct):
        return pl.lit(None, dtype=pl.String)
    names = [item.name for item in dtype.fields]
    empty = pl.all_horizontal([f.text(f"adjustment_info.{name}").is_null() for name in names])
    return pl.when(~empty).then(f.raw("adjustment_info").struct.json_encode())


def _service_category(service: pl.Expr) -> list[pl.Expr]:
    categories = {name: pair[0] for name, pair in SERVICE_CATEGORIES.items()}
    subcategories = {name: pair[1] for name, pair in SERVICE_CATEGORIES.items()}
    return [
        service.replace_strict(categories, default=OTHER[0], return_dtype=pl.String)
        .alias("ServiceCategory"),
        service.replace_strict(subcategories, default=OTHER[1], return_dtype=pl.String)
        .alias("ServiceSubcategory"),
    ]
