"""Azure cost rows (canonical column names, see `canonical.py`) → FOCUS 1.2 line items. Pure.

The mapping, column by column, follows Microsoft's own FOCUS export where Azure's cost files
carry the same information:

- `BillingAccountId`: the billing profile for MCA (where invoices are cut), the enrollment for
  EA (its `BillingProfileId` equals its `BillingAccountId`), the subscription for pay-as-you-go
  files that carry neither. `BillingAccountType` says which.
- `SubAccountId` = subscription id, `SubAccountType` = `Subscription`.
- `ServiceName` = `MeterCategory`; `ServiceCategory` / `ServiceSubcategory` from the meter
  category, else `ServiceFamily` (`services.py`).
- `ChargeCategory` from `ChargeType`: Usage, UnusedReservation and UnusedSavingsPlan → Usage;
  Purchase and Refund → Purchase (a refund is `ChargeClass` Correction); Tax → Tax;
  RoundingAdjustment → Adjustment; Credit → Credit; anything else → Adjustment.
- `BilledCost` / `EffectiveCost` by dataset (`amounts.py`).
- `PricingQuantity` = `ConsumedQuantity` = `Quantity`, in `UnitOfMeasure` as Azure writes it
  (`10 Hours`, `1 GB/Month`): Azure's cost is quantity × price in that unit, so
  `ContractedCost` = `UnitPrice` × quantity and `ListCost` = `PayGPrice` × quantity.
- `Tags`: the user's keys, unprefixed (`tag_text.py`); `RegionId` from `ResourceLocation` or
  `MeterRegion` in any spelling (`regions.py`).
- `ProviderName`, `HostProviderName`, `InvoiceIssuerName` = Microsoft (a CSP partner, when
  the file names one, issues the invoice); `PublisherName` / `ServiceProviderName` =
  Microsoft, or the publisher for Marketplace rows.
"""

from __future__ import annotations

import polars as pl

from connectors.azure import amounts
from connectors.azure.canonical import Canonical
from connectors.azure.regions import region_id, region_name
from connectors.azure.services import service_category
from connectors.azure.tag_text import tags_json
from connectors.focus import MONEY, QUANTITY

MICROSOFT = "Microsoft"
_CATEGORY = {
    "usage": "Usage", "unusedreservation": "Usage", "unusedsavingsplan": "Usage",
    "purchase": "Purchase", "refund": "Purchase", "tax": "Tax", "credit": "Credit",
    "roundingadjustment": "Adjustment", "adjustment": "Adjustment",
}
_FREQUENCY = {"usagebased": "Usage-Based", "onetime": "One-Time", "recurring": "Recurring"}
_PRICING = {"ondemand": "Standard", "spot": "Dynamic", "reservation": "Committed",
            "savingsplan": "Committed"}
_COMMITMENT_TYPE = {amounts.RESERVATION: "Reservation", amounts.SAVINGS_PLAN: "Savings Plan"}
_COMMITMENT_CATEGORY = {amounts.RESERVATION: "Usage", amounts.SAVINGS_PLAN: "Spend"}
_RESOURCE_TYPE = r"(?i)/providers/([^/]+)/([^/]+)/[^/]+(?:/([^/]+)/[^/]+)?$"


def currency(c: Canonical) -> pl.Expr:
    """The billing currency as an ISO code (upper-case); shared with the control totals."""
    return c.text("currency").str.to_uppercase()


def to_focus(rows: pl.LazyFrame) -> pl.LazyFrame:
    """FOCUS columns (and Azure `x_` extras the contract may keep) for canonical rows."""
    c = Canonical(rows.collect_schema())
    kind = amounts.charge_type(c)
    charge_category = kind.replace_strict(_CATEGORY, default="Adjustment", return_dtype=pl.String)
    commitment = amounts.commitment(c)
    billed = amounts.billed_cost(c)
    start = c.day("date")
    period_start = pl.coalesce(c.day("billing_period_start"), start).dt.truncate("1mo")
    quantity = c.money("quantity").cast(QUANTITY)
    unit = c.text("unit_of_measure")
    unit_price = c.money("unit_price")
    payg_price = c.money("payg_price")
    contracted = pl.coalesce((unit_price * quantity).cast(MONEY), billed)
    resource_id = c.text("resource_id")
    meter_category = pl.coalesce(c.text("meter_category"), c.text("legacy_service_name"))
    category, subcategory = service_category(meter_category, c.text("service_family"))
    location = pl.coalesce(c.text("resource_location"), c.text("meter_region"))
    region = region_id(location)
    marketplace = c.lower("publisher_type") == "marketplace"
    publisher = c.text("publisher_name")
    profile, account = c.text("billing_profile_id"), c.text("billing_account_id")
    is_usage = charge_category == "Usage"
    return rows.select(
        c.text("availability_zone").alias("AvailabilityZone"),
        billed.alias("BilledCost"),
        pl.coalesce(profile, account, c.text("subscription_id")).alias("BillingAccountId"),
        pl.when(profile.is_not_null())
        .then(pl.coalesce(c.text("billing_profile_name"), c.text("billing_account_name")))
        .when(account.is_not_null()).then(c.text("billing_account_name"))
        .otherwise(c.text("subscription_name")).alias("BillingAccountName"),
        pl.when(profile.is_not_null() & account.is_not_null() & (profile != account))
        .then(pl.lit("Billing Profile"))
        .when(profile.is_not_null() | account.is_not_null()).then(pl.lit("Billing Account"))
        .otherwise(pl.lit("Subscription")).alias("BillingAccountType"),
        currency(c).alias("BillingCurrency"),
        period_start.dt.offset_by("1mo").alias("BillingPeriodEnd"),
        period_start.alias("BillingPeriodStart"),
        charge_category.alias("ChargeCategory"),
        pl.when(kind == "refund").then(pl.lit("Correction")).alias("ChargeClass"),
        pl.coalesce(c.text("product_name"), c.text("meter_name")).alias("ChargeDescription"),
        c.lower("frequency").replace_strict(_FREQUENCY, default=None, return_dtype=pl.String)
        .fill_null(pl.when(is_usage).then(pl.lit("Usage-Based"))
                   .when(charge_category == "Tax").then(pl.lit("Recurring"))
                   .otherwise(pl.lit("One-Time"))).alias("ChargeFrequency"),
        start.dt.offset_by("1d").alias("ChargePeriodEnd"),
        start.alias("ChargePeriodStart"),
        commitment.replace_strict(_COMMITMENT_CATEGORY, default=None, return_dtype=pl.String)
        .alias("CommitmentDiscountCategory"),
        pl.when(commitment.is_not_null())
        .then(pl.coalesce(c.text("benefit_id"), c.text("reservation_id")))
        .alias("CommitmentDiscountId"),
        pl.when(commitment.is_not_null())
        .then(pl.coalesce(c.text("benefit_name"), c.text("reservation_name")))
        .alias("CommitmentDiscountName"),
        pl.when(kind.is_in(("unusedreservation", "unusedsavingsplan"))).then(pl.lit("Unused"))
        .when((kind == "usage") & commitment.is_not_null()).then(pl.lit("Used"))
        .alias("CommitmentDiscountStatus"),
        commitment.replace_strict(_COMMITMENT_TYPE, default=None, return_dtype=pl.String)
        .alias("CommitmentDiscountType"),
        pl.when(is_usage).then(quantity).alias("ConsumedQuantity"),
        pl.when(is_usage).then(unit).alias("ConsumedUnit"),
        contracted.alias("ContractedCost"),
        unit_price.alias("ContractedUnitPrice"),
        amounts.effective_cost(c).alias("EffectiveCost"),
        pl.lit(MICROSOFT).alias("HostProviderName"),
        c.text("invoice_id").alias("InvoiceId"),
        pl.coalesce(c.text("partner_name"), pl.lit(MICROSOFT)).alias("InvoiceIssuerName"),
        pl.coalesce(c.money("payg_cost"), (payg_price * quantity).cast(MONEY),
                    contracted).alias("ListCost"),
        payg_price.alias("ListUnitPrice"),
        pl.when(is_usage & commitment.is_not_null()).then(pl.lit("Committed"))
        .when(charge_category.is_in(("Usage", "Purchase")))
        .then(amounts.pricing_model(c).replace_strict(_PRICING, default=None,
                                                      return_dtype=pl.String)
              .replace("Committed", "Standard").fill_null(pl.lit("Standard")))
        .alias("PricingCategory"),
        pl.coalesce(c.text("pricing_currency").str.to_uppercase(), currency(c))
        .alias("PricingCurrency"),
        quantity.alias("PricingQuantity"),
        unit.alias("PricingUnit"),
        pl.lit(MICROSOFT).alias("ProviderName"),
        pl.coalesce(publisher, pl.lit(MICROSOFT)).alias("PublisherName"),
        region.alias("RegionId"),
        region_name(region, location).alias("RegionName"),
        resource_id.str.to_lowercase().alias("ResourceId"),
        pl.coalesce(c.text("resource_name"), resource_id.str.extract(r"([^/]+)/?$"))
        .alias("ResourceName"),
        pl.coalesce(c.text("resource_type"), _resource_type(resource_id)).alias("ResourceType"),
        category.alias("ServiceCategory"),
        pl.coalesce(meter_category, c.text("consumed_service"), c.text("product_name"),
                    pl.lit("Azure")).alias("ServiceName"),
        pl.when(marketplace & publisher.is_not_null()).then(publisher)
        .otherwise(pl.lit(MICROSOFT)).alias("ServiceProviderName"),
        subcategory.alias("ServiceSubcategory"),
        pl.coalesce(c.text("product_id"), c.text("part_number")).alias("SkuId"),
        c.text("meter_name").alias("SkuMeter"),
        c.text("subscription_id").alias("SubAccountId"),
        c.text("subscription_name").alias("SubAccountName"),
        pl.when(c.text("subscription_id").is_not_null()).then(pl.lit("Subscription"))
        .alias("SubAccountType"),
        tags_json(c.text("tags")).alias("Tags"),
        c.text("charge_type").alias("x_line_item_type"),
        c.text("consumed_service").alias("x_service_code"),
        c.text("meter_subcategory").alias("x_usage_type"),
        # Azure extras: kept once the FOCUS contract lists them, dropped by `conform` until then
        amounts.dataset(c).alias("x_cost_dataset"),
        c.text("resource_group").alias("x_resource_group"),
        c.text("meter_id").alias("x_meter_id"),
        meter_category.alias("x_meter_category"),
        c.text("pricing_model").alias("x_pricing_model"),
        account.alias("x_billing_account_id"),
        c.text("invoice_section_id").alias("x_invoice_section_id"),
        c.text("invoice_section_name").alias("x_invoice_section_name"),
        c.text("cost_center").alias("x_cost_center"),
    )


def _resource_type(resource_id: pl.Expr) -> pl.Expr:
    """`/subscriptions/…/providers/Microsoft.Compute/virtualMachines/vm1` → the ARM type."""
    parts = resource_id.str.extract_groups(_RESOURCE_TYPE)
    base = parts.struct.field("1") + pl.lit("/") + parts.struct.field("2")
    child = parts.struct.field("3")
    return pl.when(child.is_not_null()).then(base + pl.lit("/") + child).otherwise(base)
