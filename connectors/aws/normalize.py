"""CUR rows (CUR 2.0 column names, see `columns.canonical`) → FOCUS 1.2 line items. Pure.

Charge categories, amortization and commitment columns follow AWS's documented semantics
(`shared/reference/provider-exports.md`); the mapping is spelled out in docs/aws.md.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from costalloc.connectors.aws.regions import NOT_A_REGION, region_name
from costalloc.connectors.aws.services import OTHER, SERVICE_CATEGORIES
from costalloc.connectors.aws.usage_units import SKU_UNIT_COLUMN, unit_from_usage_type
from costalloc.connectors.money import money, quantity, unit_price
from costalloc.connectors.timestamps import utc_time
from costalloc.connectors.units import focus_unit
from costalloc.core.focus import MONEY

_USAGE = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation")
_PURCHASE = ("Fee", "RIFee", "SavingsPlanUpfrontFee", "SavingsPlanRecurringFee")
_CREDIT = ("Credit", "Refund", "BundledDiscount", "EdpDiscount", "PrivateRateDiscount",
           "Discount", "DistributorDiscount")
_RECURRING = ("RIFee", "SavingsPlanRecurringFee", "Tax")
_ONE_TIME = ("Fee", "SavingsPlanUpfrontFee", "Credit", "Refund")
_SAVINGS_PLAN_ROWS = ("SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanUpfrontFee",
                      "SavingsPlanRecurringFee")
_RESERVATION_ROWS = ("DiscountedUsage", "RIFee")


class _Columns:
    """Column access that tolerates the columns a given export doesn't have."""

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema
        self.net = "line_item_net_unblended_cost" in schema

    def text(self, name: str) -> pl.Expr:
        if name not in self.schema:
            return pl.lit(None, dtype=pl.String)
        value = pl.col(name).cast(pl.String)
        return pl.when(value != "").then(value)

    def money(self, name: str) -> pl.Expr:
        return money(name, self.schema)

    def quantity(self, name: str) -> pl.Expr:
        return quantity(name, self.schema)

    def unit_price(self, name: str) -> pl.Expr:
        return unit_price(name, self.schema)

    def net_or_gross(self, net: str, gross: str) -> pl.Expr:
        """The net (after discounts) variant of a money column when the export carries it."""
        return self.money(net) if self.net and net in self.schema else self.money(gross)

    def time(self, name: str) -> pl.Expr:
        return utc_time(name, self.schema)

    def product(self, key: str) -> pl.Expr:
        """A product attribute: top-level `product_<key>` or inside the `product` MAP."""
        if f"product_{key}" in self.schema:
            return self.text(f"product_{key}")
        if "product" not in self.schema:
            return pl.lit(None, dtype=pl.String)
        if isinstance(self.schema["product"], pl.Map):
            return pl.col("product").map.get(key).cast(pl.String)
        if isinstance(self.schema["product"], pl.List):
            element = pl.element().struct
            return pl.col("product").list.eval(
                element.field("value").filter(element.field("key") == key)).list.first()
        return pl.col("product").str.json_path_match(f"$.{key}")


def to_focus(cur: pl.LazyFrame) -> pl.LazyFrame:
    """FOCUS rows for canonical CUR rows; `x_tags_json` becomes `Tags`.

    A recurring commitment fee (RIFee, SavingsPlanRecurringFee) is a Purchase whose
    EffectiveCost is 0 in FOCUS; the part of the commitment that went unused becomes a row of
    its own (ChargeCategory Usage, CommitmentDiscountStatus Unused, BilledCost 0), so BilledCost
    and EffectiveCost both add up to AWS's unblended and amortized totals.
    """
    focus = _one_row_per_line_item(cur)
    purchases = focus.with_columns(
        pl.when(pl.col(_UNUSED).is_not_null()).then(pl.lit(0, dtype=MONEY))
        .otherwise(pl.col("EffectiveCost")).alias("EffectiveCost"))
    zero = pl.lit(0, dtype=MONEY)
    unused = focus.filter(pl.col(_UNUSED).is_not_null() & (pl.col(_UNUSED) != 0)).with_columns(
        zero.alias("BilledCost"), zero.alias("ContractedCost"), zero.alias("ListCost"),
        pl.col(_UNUSED).alias("EffectiveCost"),
        pl.lit("Usage").alias("ChargeCategory"),
        pl.lit("Usage-Based").alias("ChargeFrequency"),
        pl.lit("Unused").alias("CommitmentDiscountStatus"),
        pl.lit("Committed").alias("PricingCategory"),
        (pl.lit("Unused commitment: ") + pl.col("ChargeDescription").fill_null("")).alias(
            "ChargeDescription"),
        pl.col("CommitmentDiscountId").alias("ResourceId"),
        pl.lit("Commitment").alias("ResourceType"),
        (pl.col("x_line_item_type") + "/Unused").alias("x_line_item_type"),
    )
    priced = pl.col("PricingQuantity").is_not_null()
    return pl.concat([purchases, unused]).drop(_UNUSED).with_columns(
        pl.col("EffectiveCost").alias("PricingCurrencyEffectiveCost"),
        pl.when(priced).then(pl.col("ListUnitPrice")).alias("ListUnitPrice"),
        pl.when(priced).then(pl.col("ContractedUnitPrice")).alias("ContractedUnitPrice"),
    ).with_columns(
        pl.col("ListUnitPrice").alias("PricingCurrencyListUnitPrice"),
        pl.col("ContractedUnitPrice").alias("PricingCurrencyContractedUnitPrice"),
    )


_UNUSED = "_unused_commitment"


def columns_read(cur_columns: Iterable[str]) -> set[str]:
    """Which of `cur_columns` (CUR 2.0 names) `to_focus` reads: the loader decodes only
    those (and the tag and money columns) of a wide export."""
    c = _Columns(pl.Schema({name: pl.String() for name in cur_columns}))
    return {root for expr in _line_item_columns(c) for root in expr.meta.root_names()}


def _one_row_per_line_item(cur: pl.LazyFrame) -> pl.LazyFrame:
    return cur.select(_line_item_columns(_Columns(cur.collect_schema())))


def _line_item_columns(c: _Columns) -> list[pl.Expr]:
    kind = c.text("line_item_line_item_type")
    billed = pl.coalesce(c.money("line_item_net_unblended_cost"),
                         c.money("line_item_unblended_cost")) if c.net else c.money(
        "line_item_unblended_cost")
    product_code = pl.coalesce(c.text("line_item_product_code"), c.product("servicecode"))
    category, subcategory = _service_category(product_code)
    savings_plan_arn = c.text("savings_plan_savings_plan_a_r_n")
    reservation_arn = c.text("reservation_reservation_a_r_n")
    charge_category = (
        pl.when(kind.is_in(_USAGE)).then(pl.lit("Usage"))
        .when(kind.is_in(_PURCHASE)).then(pl.lit("Purchase"))
        .when(kind == "Tax").then(pl.lit("Tax"))
        .when(kind.is_in(_CREDIT)).then(pl.lit("Credit"))
        .otherwise(pl.lit("Adjustment"))
    )
    commitment_id = (
        pl.when(kind.is_in(_SAVINGS_PLAN_ROWS)).then(savings_plan_arn)
        .when(kind.is_in(_RESERVATION_ROWS) | ((kind == "Fee") & reservation_arn.is_not_null()))
        .then(reservation_arn)
    )
    is_savings_plan = kind.is_in(_SAVINGS_PLAN_ROWS)
    unit = _unit(c)
    priced = charge_category.is_in(("Usage", "Purchase")) & unit.is_not_null()
    usage_amount = c.quantity("line_item_usage_amount")
    consumed = (charge_category == "Usage") & usage_amount.is_not_null()
    rate = c.unit_price("line_item_unblended_rate")
    code = pl.coalesce(c.text("product_region_code"), c.product("region_code"),
                       c.product("region"))
    region = pl.when(~code.is_in(NOT_A_REGION)).then(code)
    sku = c.product("sku")
    resource = c.text("line_item_resource_id")
    marketplace = c.text("bill_billing_entity") == "AWS Marketplace"
    return [
        c.text("line_item_availability_zone").alias("AvailabilityZone"),
        billed.alias("BilledCost"),
        c.text("bill_payer_account_id").alias("BillingAccountId"),
        # Legacy CUR has no account names: the id stands in, as AWS's own console shows it.
        pl.coalesce(c.text("bill_payer_account_name"), c.text("bill_payer_account_id"))
        .alias("BillingAccountName"),
        pl.lit("Payer Account").alias("BillingAccountType"),
        c.text("line_item_currency_code").alias("BillingCurrency"),
        c.time("bill_billing_period_end_date").alias("BillingPeriodEnd"),
        c.time("bill_billing_period_start_date").alias("BillingPeriodStart"),
        charge_category.alias("ChargeCategory"),
        pl.when(kind == "Refund").then(pl.lit("Correction")).alias("ChargeClass"),
        c.text("line_item_line_item_description").alias("ChargeDescription"),
        pl.when(kind.is_in(_RECURRING)).then(pl.lit("Recurring"))
        .when(kind.is_in(_ONE_TIME)).then(pl.lit("One-Time"))
        .otherwise(pl.lit("Usage-Based")).alias("ChargeFrequency"),
        c.time("line_item_usage_end_date").alias("ChargePeriodEnd"),
        c.time("line_item_usage_start_date").alias("ChargePeriodStart"),
        pl.when(commitment_id.is_not_null())
        .then(pl.when(is_savings_plan).then(pl.lit("Spend")).otherwise(pl.lit("Usage")))
        .alias("CommitmentDiscountCategory"),
        commitment_id.alias("CommitmentDiscountId"),
        pl.when(commitment_id.is_not_null() & (charge_category == "Usage")).then(pl.lit("Used"))
        .alias("CommitmentDiscountStatus"),
        pl.when(commitment_id.is_not_null())
        .then(pl.when(is_savings_plan).then(pl.lit("Savings Plan"))
              .otherwise(pl.lit("Reserved Instance")))
        .alias("CommitmentDiscountType"),
        pl.when(consumed).then(usage_amount).alias("ConsumedQuantity"),
        # a quantity whose unit no source names is counted in `Units`: FOCUS wants the pair
        pl.when(consumed).then(unit.fill_null(pl.lit("Units"))).alias("ConsumedUnit"),
        c.money("line_item_unblended_cost").alias("ContractedCost"),
        pl.when(rate >= 0).then(rate).alias("ContractedUnitPrice"),
        _effective_cost(c, kind, billed).alias("EffectiveCost"),
        pl.lit("AWS").alias("HostProviderName"),
        c.text("bill_invoice_id").alias("InvoiceId"),
        pl.lit("AWS").alias("InvoiceIssuerName"),
        pl.coalesce(c.money("pricing_public_on_demand_cost"),
                    c.money("line_item_unblended_cost")).alias("ListCost"),
        c.unit_price("pricing_public_on_demand_rate").alias("ListUnitPrice"),
        pl.when(kind.is_in(("DiscountedUsage", "SavingsPlanCoveredUsage")))
        .then(pl.lit("Committed"))
        .when(c.text("pricing_term") == "Spot").then(pl.lit("Dynamic"))
        .when(charge_category.is_in(("Usage", "Purchase"))).then(pl.lit("Standard"))
        .alias("PricingCategory"),
        c.text("line_item_currency_code").alias("PricingCurrency"),
        pl.when(priced).then(usage_amount).alias("PricingQuantity"),
        pl.when(priced).then(unit).alias("PricingUnit"),
        pl.lit("AWS").alias("ProviderName"),
        pl.when(marketplace).then(pl.coalesce(c.text("line_item_legal_entity"),
                                              pl.lit("AWS Marketplace")))
        .otherwise(pl.lit("AWS")).alias("PublisherName"),
        region.alias("RegionId"),
        region_name(region, c.product("location")).alias("RegionName"),
        resource.alias("ResourceId"),
        pl.when(resource.is_not_null())
        .then(pl.coalesce(c.product("product_family"), product_code)).alias("ResourceType"),
        category.alias("ServiceCategory"),
        pl.coalesce(c.product("product_name"), c.product("servicename"), product_code,
                    pl.lit("AWS")).alias("ServiceName"),
        pl.lit("AWS").alias("ServiceProviderName"),
        subcategory.alias("ServiceSubcategory"),
        sku.alias("SkuId"),
        c.text("line_item_usage_type").alias("SkuMeter"),
        pl.when(charge_category != "Tax").then(_sku_price_id(c, sku)).alias("SkuPriceId"),
        c.text("line_item_usage_account_id").alias("SubAccountId"),
        pl.coalesce(c.text("line_item_usage_account_name"), c.text("line_item_usage_account_id"))
        .alias("SubAccountName"),
        pl.when(c.text("line_item_usage_account_id").is_not_null())
        .then(pl.lit("Linked Account")).alias("SubAccountType"),
        pl.col("x_tags_json").alias("Tags") if "x_tags_json" in c.schema
        else pl.lit(None, dtype=pl.String).alias("Tags"),
        c.text("identity_line_item_id").alias("x_provider_line_item_id"),
        kind.alias("x_line_item_type"),
        product_code.alias("x_service_code"),
        c.text("line_item_usage_type").alias("x_usage_type"),
        c.text("line_item_operation").alias("x_operation"),
        _unused_commitment(c, kind).alias(_UNUSED),
    ]


def _unit(c: _Columns) -> pl.Expr:
    """The row's unit in FOCUS Unit Format (`connectors/tables/units.csv`): `pricing_unit`, else
    the unit of the same SKU elsewhere in the delivery, else the one its usage type implies."""
    published = pl.coalesce(c.text("pricing_unit"), c.text(SKU_UNIT_COLUMN),
                            unit_from_usage_type(c.text("line_item_usage_type")))
    return focus_unit(published, "aws")


def _sku_price_id(c: _Columns, sku: pl.Expr) -> pl.Expr:
    """One SkuPriceId per price of one SKU. AWS's rate code (`SKU.OfferTermCode.RateCode`)
    already starts with its SKU; a rate id alone is shared across SKUs, so it is composed with
    the SKU (`SKU.rateId`); a row with neither is priced by its SKU (FOCUS lets SkuPriceId equal
    SkuId). Null without a SKU."""
    code, rate_id = c.text("pricing_rate_code"), c.text("pricing_rate_id")
    return (
        pl.when(sku.is_null()).then(pl.lit(None, dtype=pl.String))
        .when(code.is_not_null() & code.str.starts_with(sku + ".")).then(code)
        .when(code.is_not_null()).then(sku + "." + code)
        .when(rate_id.is_not_null()).then(sku + "." + rate_id)
        .otherwise(sku)
    )


def _unused_commitment(c: _Columns, kind: pl.Expr) -> pl.Expr:
    """For recurring commitment fees: the amortized amount that no usage consumed."""
    zero = pl.lit(0, dtype=MONEY)
    sp_unused = (c.money("savings_plan_total_commitment_to_date")
                 - c.money("savings_plan_used_commitment"))
    ri_unused = (
        c.net_or_gross("reservation_net_unused_amortized_upfront_fee_for_billing_period",
                       "reservation_unused_amortized_upfront_fee_for_billing_period")
        .fill_null(zero)
        + c.net_or_gross("reservation_net_unused_recurring_fee",
                         "reservation_unused_recurring_fee").fill_null(zero)
    )
    return (pl.when(kind == "SavingsPlanRecurringFee").then(sp_unused.fill_null(zero))
            .when(kind == "RIFee").then(ri_unused).cast(MONEY))


def _effective_cost(c: _Columns, kind: pl.Expr, billed: pl.Expr) -> pl.Expr:
    """Amortized cost by line item type, as AWS's own dashboards compute it (the unused part
    of recurring commitment fees is carried by its own row, see `to_focus`)."""
    zero = pl.lit(0, dtype=MONEY)
    sp_effective = c.net_or_gross("savings_plan_net_savings_plan_effective_cost",
                                  "savings_plan_savings_plan_effective_cost")
    ri_effective = c.net_or_gross("reservation_net_effective_cost", "reservation_effective_cost")
    return (
        pl.when(kind == "SavingsPlanCoveredUsage").then(sp_effective.fill_null(billed))
        .when(kind.is_in(("SavingsPlanNegation", "SavingsPlanUpfrontFee", "SavingsPlanRecurringFee",
                          "RIFee"))).then(zero)
        .when(kind == "DiscountedUsage").then(ri_effective.fill_null(billed))
        .when((kind == "Fee") & c.text("reservation_reservation_a_r_n").is_not_null()).then(zero)
        .otherwise(billed)
        .cast(MONEY)
    )


def _service_category(product_code: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    categories = {code: pair[0] for code, pair in SERVICE_CATEGORIES.items()}
    subcategories = {code: pair[1] for code, pair in SERVICE_CATEGORIES.items()}
    return (
        product_code.replace_strict(categories, default=OTHER[0], return_dtype=pl.String),
        product_code.replace_strict(subcategories, default=OTHER[1], return_dtype=pl.String),
    )


def control_amount(schema: pl.Schema) -> pl.Expr:
    """The export's own cost column, as BilledCost is taken from it: the tie-out basis."""
    if "line_item_net_unblended_cost" in schema:
        return pl.coalesce(money("line_item_net_unblended_cost", schema),
                           money("line_item_unblended_cost", schema))
    return money("line_item_unblended_cost", schema)
