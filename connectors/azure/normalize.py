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
- Azure counts `Quantity` in blocks of its `UnitOfMeasure` (`10 Hours`) and prices per block:
  `PricingQuantity` = `Quantity`, `PricingUnit` = the block in FOCUS unit format (`10 Hours`,
  `GB-Months`), `ConsumedQuantity` = `Quantity` × block in `ConsumedUnit` (`Hours`), see
  `units.py`. `ContractedCost` = `UnitPrice` × quantity, `ListCost` = `PayGPrice` × quantity
  (or MCA's `paygCostInBillingCurrency`). Prices and quantities are null on tax, credit and
  adjustment rows, consumption on unused-commitment rows, as FOCUS asks.
- MCA prices are in the pricing currency: unit prices in billing currency are Azure's prices ×
  `exchangeRatePricingToBilling`, and the `PricingCurrency*` columns keep Azure's own.
- `Tags`: the user's keys, unprefixed (`tag_text.py`); `RegionId` from `ResourceLocation` or
  `MeterRegion` in any spelling (`regions.py`); `ResourceType` from the ARM id, reservations and
  savings plans included (`resource_types.py`).
- `SkuId` = `ProductId` (else `PartNumber`, else the meter in files that name no product);
  `SkuPriceId` = `SkuId/MeterId`, so each has one parent SkuId.
- `ProviderName`, `HostProviderName`, `InvoiceIssuerName` = Microsoft (a CSP partner, when
  the file names one, issues the invoice); `PublisherName` / `ServiceProviderName` =
  Microsoft, or the publisher for Marketplace rows.
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors.azure import amounts
from costalloc.connectors.azure.canonical import Canonical
from costalloc.connectors.azure.distinct import per_distinct
from costalloc.connectors.azure.regions import region_id, region_name
from costalloc.connectors.azure.resource_types import resource_type
from costalloc.connectors.azure.services import service_category
from costalloc.connectors.azure.tag_text import tags_json
from costalloc.connectors.azure.units import block_size, consumed_unit, pricing_unit
from costalloc.core.focus import MONEY, QUANTITY, UNIT_PRICE

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


def currency(c: Canonical) -> pl.Expr:
    """The billing currency as an ISO code (upper-case); shared with the control totals."""
    return c.text("currency").str.to_uppercase()


def to_focus(rows: pl.LazyFrame) -> pl.LazyFrame:
    """FOCUS columns (and Azure `x_` extras the contract may keep) for canonical rows."""
    c = Canonical(rows.collect_schema())
    charge = _Charge(c)
    return rows.with_columns(charge.staged()).select(
        *_billing_account(c),
        *_charge_columns(c, charge),
        *_commitment_columns(c, charge),
        *_price_columns(c, charge),
        *_resource_columns(c, charge),
        *_provider_columns(c),
        tags_json(c.text("tags")).alias("Tags"),
        c.text("charge_type").alias("x_line_item_type"),
        c.text("consumed_service").alias("x_service_code"),
        c.text("meter_subcategory").alias("x_usage_type"),
        # Azure extras: kept once the FOCUS contract lists them, dropped by `conform` until then
        amounts.dataset(c).alias("x_cost_dataset"),
        c.text("resource_group").alias("x_resource_group"),
        c.text("meter_id").alias("x_meter_id"),
        _meter_category(c).alias("x_meter_category"),
        c.text("pricing_model").alias("x_pricing_model"),
        c.text("billing_account_id").alias("x_billing_account_id"),
        c.text("invoice_section_id").alias("x_invoice_section_id"),
        c.text("invoice_section_name").alias("x_invoice_section_name"),
        c.text("cost_center").alias("x_cost_center"),
    )


class _Charge:
    """What kind of charge each row is: computed once into staging columns (`staged`), which
    every FOCUS column then reads."""

    def __init__(self, c: Canonical) -> None:
        kind = amounts.charge_type(c)
        self._staged = {
            "_azure_kind": kind,
            "_azure_category": kind.replace_strict(_CATEGORY, default="Adjustment",
                                                   return_dtype=pl.String),
            "_azure_commitment": amounts.commitment(c),
            "_azure_billed": amounts.billed_cost(c),
            "_azure_effective": amounts.effective_cost(c),
        }
        self.kind = pl.col("_azure_kind")
        self.category = pl.col("_azure_category")
        self.commitment = pl.col("_azure_commitment")
        self.billed = pl.col("_azure_billed")
        self.effective = pl.col("_azure_effective")
        self.unused = self.kind.is_in(("unusedreservation", "unusedsavingsplan"))
        self.is_usage = self.category == "Usage"
        self.priced = self.category.is_in(("Usage", "Purchase"))

    def staged(self) -> list[pl.Expr]:
        return [value.alias(name) for name, value in self._staged.items()]


def _billing_account(c: Canonical) -> list[pl.Expr]:
    profile, account = c.text("billing_profile_id"), c.text("billing_account_id")
    return [
        pl.coalesce(profile, account, c.text("subscription_id")).alias("BillingAccountId"),
        pl.when(profile.is_not_null())
        .then(pl.coalesce(c.text("billing_profile_name"), c.text("billing_account_name")))
        .when(account.is_not_null()).then(c.text("billing_account_name"))
        .otherwise(c.text("subscription_name"))
        .fill_null(pl.coalesce(profile, account, c.text("subscription_id")))
        .alias("BillingAccountName"),
        pl.when(profile.is_not_null() & account.is_not_null() & (profile != account))
        .then(pl.lit("Billing Profile"))
        .when(profile.is_not_null() | account.is_not_null()).then(pl.lit("Billing Account"))
        .otherwise(pl.lit("Subscription")).alias("BillingAccountType"),
        currency(c).alias("BillingCurrency"),
        c.text("invoice_id").alias("InvoiceId"),
        c.text("subscription_id").alias("SubAccountId"),
        # files without names (pay-as-you-go) name an account by its id, as the portal does
        pl.coalesce(c.text("subscription_name"), c.text("subscription_id")).alias("SubAccountName"),
        pl.when(c.text("subscription_id").is_not_null()).then(pl.lit("Subscription"))
        .alias("SubAccountType"),
    ]


def _charge_columns(c: Canonical, charge: _Charge) -> list[pl.Expr]:
    start = c.day("date")
    period_start = pl.coalesce(c.day("billing_period_start"), start).dt.truncate("1mo")
    return [
        charge.billed.alias("BilledCost"),
        charge.effective.alias("EffectiveCost"),
        period_start.dt.offset_by("1mo").alias("BillingPeriodEnd"),
        period_start.alias("BillingPeriodStart"),
        charge.category.alias("ChargeCategory"),
        pl.when(charge.kind == "refund").then(pl.lit("Correction")).alias("ChargeClass"),
        pl.coalesce(c.text("product_name"), c.text("meter_name")).alias("ChargeDescription"),
        c.lower("frequency").replace_strict(_FREQUENCY, default=None, return_dtype=pl.String)
        .fill_null(pl.when(charge.is_usage).then(pl.lit("Usage-Based"))
                   .when(charge.category == "Tax").then(pl.lit("Recurring"))
                   .otherwise(pl.lit("One-Time"))).alias("ChargeFrequency"),
        start.dt.offset_by("1d").alias("ChargePeriodEnd"),
        start.alias("ChargePeriodStart"),
    ]


def _commitment_columns(c: Canonical, charge: _Charge) -> list[pl.Expr]:
    commitment = charge.commitment
    return [
        commitment.replace_strict(_COMMITMENT_CATEGORY, default=None, return_dtype=pl.String)
        .alias("CommitmentDiscountCategory"),
        pl.when(commitment.is_not_null())
        .then(pl.coalesce(c.text("benefit_id"), c.text("reservation_id")))
        .alias("CommitmentDiscountId"),
        pl.when(commitment.is_not_null())
        .then(pl.coalesce(c.text("benefit_name"), c.text("reservation_name")))
        .alias("CommitmentDiscountName"),
        pl.when(charge.unused).then(pl.lit("Unused"))
        .when((charge.kind == "usage") & commitment.is_not_null()).then(pl.lit("Used"))
        .alias("CommitmentDiscountStatus"),
        commitment.replace_strict(_COMMITMENT_TYPE, default=None, return_dtype=pl.String)
        .alias("CommitmentDiscountType"),
    ]


def _price_columns(c: Canonical, charge: _Charge) -> list[pl.Expr]:
    quantity = c.quantity("quantity")
    unit_of_measure = c.text("unit_of_measure")
    billing = currency(c)
    pricing = c.text("pricing_currency").str.to_uppercase()
    rate = c.money("exchange_rate")
    converted = pricing.is_not_null() & (pricing != billing) & rate.is_not_null() & (rate != 0)
    to_billing = pl.when(converted).then(rate).otherwise(pl.lit(1, dtype=MONEY))
    priced = charge.priced
    unit_price, payg_price = c.unit_price("unit_price"), c.unit_price("payg_price")
    contracted_unit = pl.when(priced).then((unit_price * to_billing).cast(UNIT_PRICE))
    list_unit = pl.when(priced).then((payg_price * to_billing).cast(UNIT_PRICE))
    pricing_quantity = pl.when(priced).then(quantity)
    contracted = pl.coalesce((contracted_unit * pricing_quantity).cast(MONEY), charge.billed)
    # quantities and units come in pairs: a quantity without a UnitOfMeasure counts `Units`
    consumed = charge.is_usage & ~charge.unused & quantity.is_not_null()
    model = amounts.pricing_model(c).replace_strict(_PRICING, default=None, return_dtype=pl.String)
    return [
        pl.when(consumed).then((quantity * block_size(unit_of_measure)).cast(QUANTITY))
        .alias("ConsumedQuantity"),
        pl.when(consumed).then(consumed_unit(unit_of_measure).fill_null(pl.lit("Units")))
        .alias("ConsumedUnit"),
        contracted.alias("ContractedCost"),
        contracted_unit.alias("ContractedUnitPrice"),
        pl.coalesce(c.money("payg_cost"), (list_unit * pricing_quantity).cast(MONEY), contracted)
        .alias("ListCost"),
        list_unit.alias("ListUnitPrice"),
        pl.when(charge.is_usage & charge.commitment.is_not_null()).then(pl.lit("Committed"))
        .when(priced).then(model.replace("Committed", "Standard").fill_null(pl.lit("Standard")))
        .alias("PricingCategory"),
        pl.when(converted).then(pricing).otherwise(billing).alias("PricingCurrency"),
        pl.when(converted).then((charge.effective / rate).cast(MONEY))
        .otherwise(charge.effective).alias("PricingCurrencyEffectiveCost"),
        pl.when(converted & priced).then(unit_price).otherwise(contracted_unit)
        .alias("PricingCurrencyContractedUnitPrice"),
        pl.when(converted & priced).then(payg_price).otherwise(list_unit)
        .alias("PricingCurrencyListUnitPrice"),
        pricing_quantity.alias("PricingQuantity"),
        pl.when(priced & quantity.is_not_null())
        .then(pricing_unit(unit_of_measure).fill_null(pl.lit("Units"))).alias("PricingUnit"),
    ]


def _resource_columns(c: Canonical, charge: _Charge) -> list[pl.Expr]:
    resource_id = c.text("resource_id")
    # older files name no product: their meter is the SKU then
    sku = pl.coalesce(c.text("product_id"), c.text("part_number"), c.text("meter_id"))
    meter_category = _meter_category(c)
    category, subcategory = service_category(meter_category, c.text("service_family"))
    location = pl.coalesce(c.text("resource_location"), c.text("meter_region"))
    return [
        c.text("availability_zone").alias("AvailabilityZone"),
        per_distinct(location, region_id, pl.String()).alias("RegionId"),
        per_distinct(location, lambda name: region_name(region_id(name), name), pl.String())
        .alias("RegionName"),
        resource_id.str.to_lowercase().alias("ResourceId"),
        pl.coalesce(c.text("resource_name"), per_distinct(
            resource_id, lambda rid: rid.str.extract(r"([^/]+)/?$"), pl.String()))
        .alias("ResourceName"),
        pl.coalesce(c.text("resource_type"),
                    resource_type(resource_id, pl.coalesce(c.text("consumed_service"),
                                                           meter_category)))
        .alias("ResourceType"),
        category.alias("ServiceCategory"),
        pl.coalesce(meter_category, c.text("consumed_service"), c.text("product_name"),
                    pl.lit("Azure")).alias("ServiceName"),
        subcategory.alias("ServiceSubcategory"),
        sku.alias("SkuId"),
        c.text("meter_name").alias("SkuMeter"),
        _sku_price_id(sku, c.text("meter_id"), charge).alias("SkuPriceId"),
    ]


def _provider_columns(c: Canonical) -> list[pl.Expr]:
    marketplace = c.lower("publisher_type") == "marketplace"
    publisher = c.text("publisher_name")
    return [
        pl.lit(MICROSOFT).alias("HostProviderName"),
        pl.coalesce(c.text("partner_name"), pl.lit(MICROSOFT)).alias("InvoiceIssuerName"),
        pl.lit(MICROSOFT).alias("ProviderName"),
        pl.coalesce(publisher, pl.lit(MICROSOFT)).alias("PublisherName"),
        pl.when(marketplace & publisher.is_not_null()).then(publisher)
        .otherwise(pl.lit(MICROSOFT)).alias("ServiceProviderName"),
    ]


def _meter_category(c: Canonical) -> pl.Expr:
    return pl.coalesce(c.text("meter_category"), c.text("legacy_service_name"))


def _sku_price_id(sku: pl.Expr, meter_id: pl.Expr, charge: _Charge) -> pl.Expr:
    """A product is priced per meter: `SkuId/MeterId` (one parent SkuId by construction), the
    SKU alone when the row names no meter; null on tax rows, as FOCUS requires."""
    return (pl.when(sku.is_null() | (charge.category == "Tax")).then(pl.lit(None, dtype=pl.String))
            .when(meter_id.is_not_null() & (sku != meter_id))
            .then(sku + "/" + meter_id.str.to_lowercase())
            .otherwise(sku))
